"""WebP codec.

Spec: https://developers.google.com/speed/webp/docs/riff_container (RFC 9649); XMP Part 3.
GB carrier (TC260-PG-20259A clause 6, [M]): chunk ``XMP `` (FourCC with a trailing space) holding
an XMP packet with ``TC260:AIGC`` (bare JSON), in the extended format: a ``VP8X`` chunk with the
XMP flag (``0x04``) set. A simple file (one ``VP8 `` or ``VP8L`` chunk) is converted to the
extended format without touching the bitstream [inferred, rules §C.1].
Also reads (Annex B, rules §H 6): the ``EXIF`` chunk's ``UserComment`` (IFD0 or Exif sub-IFD)
with ``{"AIGC":{...}}``; the payload is a TIFF block, sometimes prefixed ``Exif\\0\\0``.
Writing merges into the first ``XMP `` chunk (or adds one), removes AIGC labels from the EXIF
UserComment and from any further XMP chunk (GB 6.1 c), and copies everything else verbatim.

Layout: RIFF form ``"RIFF", u32le size, "WEBP"`` then chunks (see :mod:`._riff`). Extended
order: ``VP8X``, ``ICCP``, ``ANIM``, image data (``ALPH`` + ``VP8 ``/``VP8L``, or ``ANMF``
frames), ``EXIF``, ``XMP ``, unknown chunks. A new ``XMP `` chunk goes after the last image-data
or ``EXIF`` chunk, so unknown chunks stay last.
Essence: FourCC + payload of every ``VP8 ``, ``VP8L``, ``ALPH``, ``ANMF``, ``ANIM`` and ``ICCP``
chunk, in file order. ``VP8X`` is not essence (its flags change when a label is written; the
canvas size it holds does not), nor are ``EXIF``, ``XMP `` and unknown chunks.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _exif, _riff, _xmp
from aiglabel.codecs._meta import Collector
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable

FORM_TYPE = b"WEBP"
VP8, VP8L, VP8X = b"VP8 ", b"VP8L", b"VP8X"
ALPH, ANIM, ANMF, ICCP = b"ALPH", b"ANIM", b"ANMF", b"ICCP"
EXIF, XMP = b"EXIF", b"XMP "
EXIF_PREFIX = b"Exif\x00\x00"
# VP8X flags byte: Rsv(2 bits) | ICC | Alpha | EXIF | XMP | Animation | Rsv(1 bit).
FLAG_ICC, FLAG_ALPHA, FLAG_EXIF, FLAG_XMP, FLAG_ANIMATION = 0x20, 0x10, 0x08, 0x04, 0x02
VP8X_SIZE = 10
_IMAGE_DATA = frozenset({VP8, VP8L, ALPH, ANMF})
_ESSENCE = _IMAGE_DATA | {ANIM, ICCP}
VP8_START_CODE = b"\x9d\x01\x2a"
VP8L_SIGNATURE = 0x2F


@dataclass(frozen=True, slots=True)
class Canvas:
    """Image size from a bitstream header, and whether a VP8L image uses alpha."""

    width: int
    height: int
    alpha: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """The form header and its top-level chunks; ``extended`` when the first is ``VP8X``."""

    form: _riff.Form
    chunks: list[_riff.Chunk]

    @property
    def extended(self) -> bool:
        return self.chunks[0].fourcc == VP8X


def read_layout(src: Source) -> Layout:
    """Parse the RIFF header and walk the top-level chunks (headers only).

    Raises:
        CorruptFileError: not a WebP file, damaged or truncated chunks, no image chunk first.
        LimitExceededError: too many chunks.
    """
    form = _riff.read_form(src)
    if form.form_type != FORM_TYPE:
        msg = f"not a WebP file (RIFF form type {form.form_type!r})"
        raise CorruptFileError(msg, path=src.name)
    chunks = list(_riff.iter_chunks(src, form.start, form.end))
    if not chunks or chunks[0].fourcc not in (VP8, VP8L, VP8X):
        msg = "WebP file does not start with a VP8, VP8L or VP8X chunk"
        raise CorruptFileError(msg, path=src.name)
    if any(c.fourcc == VP8X for c in chunks[1:]):
        msg = "WebP file has a VP8X chunk that is not the first chunk"
        raise CorruptFileError(msg, path=src.name)
    return Layout(form, chunks)


def bitstream_canvas(src: Source, chunk: _riff.Chunk) -> Canvas:
    """Read the image size from a ``VP8 `` key frame or ``VP8L`` header.

    VP8 (RFC 6386 §9.1): 3-byte frame tag (bit 0 clear on a key frame), start code
    ``9d 01 2a``, u16le width and u16le height (low 14 bits each; the top 2 bits are scaling).
    VP8L (RFC 9649 §3.2.1): signature byte ``0x2f``, then a u32le holding 14 bits width - 1,
    14 bits height - 1, 1 bit alpha_is_used, 3 bits version (0).

    Raises:
        CorruptFileError: the header is short or invalid.
    """
    if chunk.fourcc == VP8:
        head = src.read_at(chunk.data_offset, 10) if chunk.size >= 10 else b""
        if len(head) < 10 or head[0] & 1 or head[3:6] != VP8_START_CODE:
            msg = f"VP8 chunk at byte {chunk.offset} does not start with a key frame header"
            raise CorruptFileError(msg, path=src.name)
        width, height = struct.unpack("<HH", head[6:10])
        canvas = Canvas(width & 0x3FFF, height & 0x3FFF)
    else:
        head = src.read_at(chunk.data_offset, 5) if chunk.size >= 5 else b""
        if len(head) < 5 or head[0] != VP8L_SIGNATURE:
            msg = f"VP8L chunk at byte {chunk.offset} lacks the 0x2f signature"
            raise CorruptFileError(msg, path=src.name)
        bits = struct.unpack("<I", head[1:5])[0]
        if bits >> 29:
            msg = f"VP8L chunk at byte {chunk.offset} has version {bits >> 29}, expected 0"
            raise CorruptFileError(msg, path=src.name)
        canvas = Canvas((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1))
    if not canvas.width or not canvas.height:
        msg = f"{chunk.fourcc.decode()} chunk at byte {chunk.offset} has a zero image size"
        raise CorruptFileError(msg, path=src.name)
    return canvas


def vp8x_payload(flags: int, canvas: Canvas) -> bytes:
    """The 10-byte VP8X payload: flags, 3 reserved zero bytes, u24le width - 1, height - 1."""
    return bytes([flags, 0, 0, 0]) + _riff.u24le(canvas.width - 1) + _riff.u24le(canvas.height - 1)


def _exif_block(payload: bytes) -> tuple[bytes, bytes]:
    # The EXIF chunk holds a TIFF block; some writers keep JPEG's "Exif\0\0" in front.
    if payload.startswith(EXIF_PREFIX):
        return EXIF_PREFIX, payload[len(EXIF_PREFIX) :]
    return b"", payload


@register
class WebpCodec(CodecBase):
    """WebP: ``XMP `` chunk label (extended format); reads EXIF UserComment too."""

    name = "webp"
    description = "WebP image (RIFF)"
    mimes = ("image/webp",)
    extensions = (".webp",)
    carriers = (
        CarrierInfo("webp:XMP", "write", "XMP chunk, VP8X XMP flag, TC260:AIGC (20259A)"),
        CarrierInfo("webp:EXIF:UserComment", "alternative", "Annex B: EXIF chunk UserComment",
                    "wrapped"),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == FORM_TYPE:
            return Confidence.STRONG
        return Confidence.NO

    def read_labels(self, src: Source) -> list[FoundLabel]:
        layout = read_layout(src)
        flags = self._flags(src, layout)
        out: list[FoundLabel] = []
        for chunk in layout.chunks:
            if chunk.fourcc == XMP:
                packet = _riff.read_payload(src, chunk, "XMP chunk")
                found = _xmp.find_labels(packet, "webp:XMP", chunk.offset)
                if not flags & FLAG_XMP:
                    why = "XMP chunk without the VP8X XMP flag; readers may ignore it"
                    found = [_with(f, "G5.carrier", Severity.WARNING, why) for f in found]
                out.extend(found)
            elif chunk.fourcc == EXIF:
                _, block = _exif_block(_riff.read_payload(src, chunk, "EXIF chunk"))
                out.extend(_exif.find_labels(block, "webp:EXIF", chunk.offset))
        return out

    def metadata(self, src: Source) -> list[MetadataItem]:
        """XMP packets (carrier ``webp:XMP``, key ``xmp``) and EXIF strings (``webp:EXIF``, key =
        the tag name), in file order; the VP8X flags are not consulted. Chunk payloads other
        than ``EXIF`` and ``XMP `` are never read; a damaged chunk list ends the walk with what
        was found."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "WebP"):
                form = _riff.read_form(src)
                if form.form_type != FORM_TYPE:
                    return []
                # Walk lazily (not read_layout): chunks before damage still count.
                for chunk in _riff.iter_chunks(src, form.start, min(form.end, src.size)):
                    if out.full:
                        break
                    if chunk.fourcc not in (XMP, EXIF):
                        continue
                    n = out.want(chunk.size)
                    payload = src.read_metadata(chunk.data_offset, n, "metadata chunk")
                    if chunk.fourcc == XMP:
                        out.add("webp:XMP", "xmp", _xmp.decode_packet(payload), chunk.offset)
                    else:
                        _exif.collect(_exif_block(payload)[1], "webp:EXIF", out, chunk.offset)
        except CorruptFileError:
            pass  # truncated or damaged after the items found so far
        return out.items

    @staticmethod
    def _flags(src: Source, layout: Layout) -> int:
        first = layout.chunks[0]
        if not layout.extended:
            return 0
        if first.size < VP8X_SIZE:
            msg = f"VP8X chunk of {first.size} bytes, expected {VP8X_SIZE}"
            raise CorruptFileError(msg, path=src.name)
        return src.read_at(first.data_offset, 1)[0]

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label_json = to_json(record)
        layout = read_layout(src)
        chunks = layout.chunks
        replace: dict[int, bytes | None] = {}
        removed: list[str] = []
        xmp_index: int | None = None
        xmp_packet: bytes | None = None
        for i, chunk in enumerate(chunks):
            if chunk.fourcc == XMP:
                packet = _riff.read_payload(src, chunk, "XMP chunk")
                if xmp_index is None:
                    xmp_index, xmp_packet = i, packet
                elif self._has_aigc(src, packet):
                    # GB 6.1 c): one label per file; a second XMP chunk loses its AIGC only.
                    replace[i] = _riff.make_chunk(XMP, _xmp.strip_labels(packet))
                    removed.append("webp:XMP")
            elif chunk.fourcc == EXIF:
                prefix, block = _exif_block(_riff.read_payload(src, chunk, "EXIF chunk"))
                cleaned = _exif.remove_labels(block)  # same length: offsets stay valid
                if cleaned is not None:
                    replace[i] = _riff.make_chunk(EXIF, prefix + cleaned)
                    removed.append("webp:EXIF:UserComment")
        try:
            packet = _xmp.merge_label(xmp_packet, label_json)
        except CorruptFileError as exc:
            raise CorruptFileError(exc.message, path=src.name) from exc
        new_xmp = _riff.make_chunk(XMP, packet)
        prelude = self._vp8x(src, layout, replace)
        insert_after: int | None = None
        if xmp_index is not None:
            replace[xmp_index] = new_xmp
        else:
            anchors = [i for i, c in enumerate(chunks) if c.fourcc in _IMAGE_DATA | {EXIF}]
            if not any(c.fourcc in _IMAGE_DATA for c in chunks):
                msg = "WebP file has no image data chunk"
                raise CorruptFileError(msg, path=src.name)
            insert_after = anchors[-1]
        body = EditPlan()
        body.add(prelude)
        for i, chunk in enumerate(chunks):
            if i in replace:
                body.add(replace[i] or b"")
            else:
                body.copy(chunk.offset, chunk.end)
                if chunk.missing_pad:  # tolerated at the end; required once moved or followed
                    body.add(b"\x00")
            if i == insert_after:
                body.add(new_xmp)
        riff_size = 4 + body.output_size  # form type + chunks
        if riff_size > _riff.MAX_SIZE:
            msg = f"WebP file would grow beyond the 4 GiB RIFF limit ({riff_size} bytes)"
            raise LimitExceededError(msg, path=src.name)
        plan = EditPlan(carrier="webp:XMP", removed=removed)
        plan.add(b"RIFF" + _riff.u32le(riff_size) + FORM_TYPE)
        plan.pieces.extend(body.pieces)
        tail = layout.form.end
        if chunks[-1].missing_pad and src.read_upto(tail, 1) == b"\x00":
            tail += 1  # the pad byte was there, the RIFF size just did not count it
        plan.copy(tail, src.size)  # bytes after the RIFF form are kept as they are
        return plan

    def _vp8x(self, src: Source, layout: Layout, replace: dict[int, bytes | None]) -> bytes:
        """Set the XMP flag in VP8X (into ``replace``), or return a new VP8X for a simple file."""
        first = layout.chunks[0]
        if layout.extended:
            payload = _riff.read_payload(src, first, "VP8X chunk")
            if len(payload) < VP8X_SIZE:
                msg = f"VP8X chunk of {len(payload)} bytes, expected {VP8X_SIZE}"
                raise CorruptFileError(msg, path=src.name)
            replace[0] = _riff.make_chunk(VP8X, bytes([payload[0] | FLAG_XMP]) + payload[1:])
            return b""
        canvas = bitstream_canvas(src, first)
        flags = FLAG_XMP | (FLAG_ALPHA if canvas.alpha else 0)
        if any(c.fourcc == EXIF for c in layout.chunks):
            flags |= FLAG_EXIF
        return _riff.make_chunk(VP8X, vp8x_payload(flags, canvas))

    @staticmethod
    def _has_aigc(src: Source, packet: bytes) -> bool:
        try:
            return _xmp.has_aigc(packet)
        except CorruptFileError as exc:
            raise CorruptFileError(exc.message, path=src.name) from exc

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        for chunk in read_layout(src).chunks:
            if chunk.fourcc in _ESSENCE:
                yield chunk.fourcc
                yield Span(chunk.data_offset, chunk.size)

    def container_findings(self, src: Source) -> list[Finding]:
        layout = read_layout(src)
        flags = self._flags(src, layout)
        out: list[Finding] = []

        def add(message: str, carrier: str | None = None) -> None:
            out.append(Finding("G5.carrier", Severity.WARNING, message, carrier))

        if layout.form.end < src.size:
            add(f"{src.size - layout.form.end} bytes after the RIFF form")
        if layout.chunks[-1].missing_pad:
            add("last chunk lacks its pad byte")
        has_xmp = any(c.fourcc == XMP for c in layout.chunks)
        if has_xmp and not flags & FLAG_XMP:
            add("XMP chunk present but the VP8X XMP flag is not set", "webp:XMP")
        if flags & FLAG_XMP and not has_xmp:
            add("VP8X XMP flag set but no XMP chunk", "webp:XMP")
        return out


def _with(found: FoundLabel, code: str, severity: Severity, message: str) -> FoundLabel:
    extra = Finding(code, severity, message, found.carrier)
    return FoundLabel(found.carrier, found.form, found.record, found.raw,
                      (*found.findings, extra), found.offset)
