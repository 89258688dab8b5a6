"""JPEG codec.

Spec: ITU-T T.81 (ISO/IEC 10918-1) Annex B; XMP Part 3 §1.1.3; EXIF 2.32 §4.5.
GB carrier (TC260-PG-20259A clause 6, [H]): an APP1 segment whose payload starts
``http://ns.adobe.com/xap/1.0/\\0``, holding an XMP packet with ``TC260:AIGC`` (bare JSON).
Also reads (Annex B, rules §H 6-7): EXIF APP1 ``UserComment`` (IFD0 or Exif sub-IFD) with
``{"AIGC":{...}}``; a bare ``AIGC{...}`` blob glued into any APPn or COM segment.
Writing merges into the first standard XMP segment (or inserts one after the leading APP0/APP1
run), removes AIGC labels from every other carrier (GB 6.1 c), and copies the rest verbatim.
ExtendedXMP is not written: a packet over 65502 bytes is an error (rules §C.6).

Segment layout: ``FF`` marker, then for all but SOI/EOI/RSTn/TEM a u16be length that counts
itself, then the payload. ``FF`` fill bytes may precede a marker. After SOS comes entropy-coded
data; metadata never follows it, so reading stops at SOS.
Essence: every non-APPn, non-COM segment before SOS (marker + payload: DQT, SOF, DHT, DRI...)
and everything from SOS to the end of the file (scan data, EOI, trailing data such as MPF images).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _exif, _xmp
from aiglabel.codecs._meta import Collector, decode_text
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

XMP_SIG = b"http://ns.adobe.com/xap/1.0/\x00"
EXIF_SIG = b"Exif\x00\x00"
SOI, SOS, EOI = 0xD8, 0xDA, 0xD9
APP0, APP1, APP15, COM = 0xE0, 0xE1, 0xEF, 0xFE
# Markers without a length field: TEM, RST0-7, SOI, EOI.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8), SOI, EOI})
MAX_XMP_PACKET = 0xFFFF - 2 - len(XMP_SIG)


@dataclass(frozen=True, slots=True)
class Segment:
    """A marker segment: ``offset`` of its ``FF``, ``payload_offset``/``length`` of its data."""

    offset: int
    marker: int
    payload_offset: int
    length: int

    @property
    def end(self) -> int:
        return self.payload_offset + self.length

    @property
    def is_app(self) -> bool:
        return APP0 <= self.marker <= APP15

    @property
    def carrier_name(self) -> str:
        if self.is_app:
            return f"app{self.marker - APP0}"
        return "com" if self.marker == COM else f"{self.marker:02x}"


def iter_segments(src: Source) -> Iterator[Segment]:
    """Walk marker segments from SOI up to and including SOS (or EOI)."""
    if src.read_upto(0, 2) != b"\xff\xd8":
        msg = "not a JPEG file (no SOI marker)"
        raise CorruptFileError(msg, path=src.name)
    pos = 2
    count = 0
    while True:
        window = src.read_at(pos, 4) if pos + 4 <= src.size else src.read_at(pos, 2)
        if window[0] != 0xFF:
            msg = f"expected a marker at byte {pos}, found {window[0]:#04x}"
            raise CorruptFileError(msg, path=src.name)
        start = pos
        while window[1] == 0xFF:  # fill bytes (T.81 B.1.1.2)
            pos += 1
            window = src.read_at(pos, 4) if pos + 4 <= src.size else src.read_at(pos, 2)
        marker = window[1]
        count += 1
        if count > src.limits.max_items:
            msg = f"more than {src.limits.max_items} segments"
            raise LimitExceededError(msg, path=src.name)
        if marker in _STANDALONE:
            yield Segment(start, marker, pos + 2, 0)
            if marker == EOI:
                return
            pos += 2
            continue
        if len(window) < 4:
            msg = f"truncated segment header at byte {pos}"
            raise CorruptFileError(msg, path=src.name)
        (length,) = struct.unpack(">H", window[2:4])
        if length < 2 or pos + 2 + length > src.size:
            msg = f"truncated: segment {marker:#04x} at byte {pos} runs past the end"
            raise CorruptFileError(msg, path=src.name)
        seg = Segment(start, marker, pos + 4, length - 2)
        yield seg
        if marker == SOS:
            return
        pos = seg.end


def _bare_blobs(payload: bytes) -> list[tuple[int, int]]:
    """Find ``AIGC{...}`` blobs in a segment payload: (start, end) of each, ``AIGC`` included."""
    out: list[tuple[int, int]] = []
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        i = payload.find(b"AIGC{", pos)
        if i < 0:
            return out
        text = payload[i + 4 :].decode("utf-8", errors="replace")
        try:
            _, consumed = decoder.raw_decode(text)
            end = i + 4 + len(text[:consumed].encode("utf-8", errors="replace"))
        except ValueError:
            end = len(payload)
        out.append((i, end))
        pos = end


def _segment_bytes(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


@register
class JpegCodec(CodecBase):
    """JPEG/JFIF/EXIF: XMP APP1 label; reads EXIF UserComment and bare APPn blobs too."""

    name = "jpeg"
    description = "JPEG (JFIF/EXIF)"
    mimes = ("image/jpeg",)
    extensions = (".jpg", ".jpeg", ".jpe", ".jfif")
    carriers = (
        CarrierInfo("jpeg:app1:xmp", "write", "APP1 XMP, TC260:AIGC (20259A)"),
        CarrierInfo("jpeg:app1:exif:UserComment", "alternative",
                    "Annex B: EXIF UserComment, {\"AIGC\":{...}}", "wrapped"),
        CarrierInfo("jpeg:appN:AIGC", "read", "bare AIGC{...} in an APPn segment", None),
        CarrierInfo("jpeg:com:AIGC", "read", "bare AIGC{...} in a COM segment", None),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        return Confidence.STRONG if head.startswith(b"\xff\xd8\xff") else Confidence.NO

    def _metadata_segments(self, src: Source) -> Iterator[tuple[Segment, bytes]]:
        for seg in iter_segments(src):
            if seg.is_app or seg.marker == COM:
                yield seg, src.read_metadata(seg.payload_offset, seg.length, "APP segment")

    def read_labels(self, src: Source) -> list[FoundLabel]:
        out: list[FoundLabel] = []
        for seg, payload in self._metadata_segments(src):
            if seg.marker == APP1 and payload.startswith(XMP_SIG):
                out.extend(_xmp.find_labels(payload[len(XMP_SIG) :], "jpeg:app1:xmp", seg.offset))
            elif seg.marker == APP1 and payload.startswith(EXIF_SIG):
                out.extend(_exif.find_labels(payload[6:], "jpeg:app1:exif", seg.offset))
            elif b"AIGC{" in payload:
                carrier = f"jpeg:{seg.carrier_name}:AIGC"
                for start, end in _bare_blobs(payload):
                    out.append(
                        FoundLabel.from_text(
                            carrier, payload[start:end], offset=seg.offset, form="aigc-prefixed"
                        )
                    )
        return out

    def metadata(self, src: Source) -> list[MetadataItem]:
        """EXIF strings (carrier ``jpeg:app1:exif``, key = the tag name), XMP packets
        (``jpeg:app1:xmp``, key ``xmp``; ExtendedXMP parts are not joined) and COM text
        (``jpeg:com``, key ``comment``), in file order, from the segments before SOS.
        A damaged segment list ends the walk with what was found."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "JPEG"):
                for seg in iter_segments(src):
                    if out.full:
                        break
                    if seg.marker not in (APP1, COM):
                        continue
                    # A payload is at most 65533 bytes (u16be length - 2); read what fits.
                    n = out.want(seg.length)
                    payload = src.read_metadata(seg.payload_offset, n, "APP segment")
                    if seg.marker == COM:
                        out.add("jpeg:com", "comment", decode_text(payload).strip(), seg.offset)
                    elif payload.startswith(XMP_SIG):
                        packet = _xmp.decode_packet(payload[len(XMP_SIG) :])
                        out.add("jpeg:app1:xmp", "xmp", packet, seg.offset)
                    elif payload.startswith(EXIF_SIG):
                        _exif.collect(payload[len(EXIF_SIG) :], "jpeg:app1:exif", out, seg.offset)
        except CorruptFileError:
            pass  # truncated or damaged after the items found so far
        return out.items

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label_json = to_json(record)
        segments = list(iter_segments(src))
        if segments[-1].marker != SOS:
            msg = "JPEG has no image data (no SOS segment)"
            raise CorruptFileError(msg, path=src.name)
        replace: dict[int, bytes | None] = {}
        removed: list[str] = []
        xmp_index: int | None = None
        xmp_packet: bytes | None = None
        insert_after = -1  # last segment of the leading APP0/APP1 run; -1 = right after SOI
        leading = True
        for i, seg in enumerate(segments):
            if leading and seg.marker in (APP0, APP1):
                insert_after = i
            else:
                leading = False
            if not (seg.is_app or seg.marker == COM):
                continue
            payload = src.read_metadata(seg.payload_offset, seg.length, "APP segment")
            if seg.marker == APP1 and payload.startswith(XMP_SIG):
                packet = payload[len(XMP_SIG) :]
                if xmp_index is None:
                    xmp_index, xmp_packet = i, packet
                elif _xmp.has_aigc(packet):
                    stripped = XMP_SIG + _xmp.strip_labels(packet)
                    replace[i] = _segment_bytes(APP1, stripped)
                    removed.append("jpeg:app1:xmp")
            elif seg.marker == APP1 and payload.startswith(EXIF_SIG):
                cleaned = _exif.remove_labels(payload[6:])
                if cleaned is not None:
                    replace[i] = _segment_bytes(APP1, EXIF_SIG + cleaned)
                    removed.append("jpeg:app1:exif:UserComment")
            elif b"AIGC{" in payload:
                blobs = _bare_blobs(payload)
                rest = bytearray(payload)
                for start, end in reversed(blobs):
                    del rest[start:end]
                replace[i] = _segment_bytes(seg.marker, bytes(rest)) if rest.strip(b"\0") else None
                removed.append(f"jpeg:{seg.carrier_name}:AIGC")
        packet = _xmp.merge_label(xmp_packet, label_json)
        if len(packet) > MAX_XMP_PACKET:
            msg = f"XMP packet of {len(packet)} bytes does not fit one APP1 segment"
            raise CorruptFileError(msg, path=src.name)
        new_segment = _segment_bytes(APP1, XMP_SIG + packet)
        plan = EditPlan(carrier="jpeg:app1:xmp", removed=removed)
        plan.copy(0, 2)  # SOI
        if xmp_index is None and insert_after == -1:
            plan.add(new_segment)
        for i, seg in enumerate(segments):
            if i == xmp_index:
                plan.add(new_segment)
            elif i in replace:
                new = replace[i]
                if new is not None:
                    plan.add(new)
            elif seg.marker == SOS:
                plan.copy(seg.offset, src.size)
            else:
                plan.copy(seg.offset, seg.end)
            if xmp_index is None and i == insert_after:
                plan.add(new_segment)
        return plan

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        for seg in iter_segments(src):
            if seg.marker == SOS:
                yield Span(seg.offset, src.size - seg.offset)
            elif not (seg.is_app or seg.marker == COM):
                yield bytes((0xFF, seg.marker))
                yield Span(seg.payload_offset, seg.length)
