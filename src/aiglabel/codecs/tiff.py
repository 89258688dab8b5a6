"""TIFF codec (classic TIFF and BigTIFF).

Spec: TIFF 6.0 https://www.itu.int/itudoc/itu-t/com16/tiff-fx/docs/tiff6.pdf ; BigTIFF
https://www.awaresystems.be/imaging/tiff/bigtiff.html ; XMP Part 3 §1.1.6 (tag 700).
GB carrier (TC260-PG-20259A, rules §C.1, [M]): IFD0 tag 700 (``0x02BC``), field type 7
(UNDEFINED), XMP packet with ``TC260:AIGC`` (bare JSON).
Also reads: tag 700 of type BYTE (1) or ASCII (2) [inferred]; the EXIF ``UserComment`` label
(Annex B, rules §H 6) in IFD0 or in the Exif sub-IFD (tag ``0x8769``), wrapped or bare.
Writing (rules §C.7) never moves a byte: when the merged packet fits the old tag-700 value it
is overwritten in place (padded with whitespace before ``<?xpacket end``), otherwise a new
IFD0 (old entries + tag 700, same next-IFD link) and the packet are appended and the header's
first-IFD offset is repointed. AIGC ``UserComment`` entries are removed (GB 6.1 c) and the
orphaned old label bytes are zeroed when nothing else references them.

Layout: see :mod:`aiglabel.codecs._tiff`. Offsets are file offsets.
Essence: for every IFD of the main chain, in order, the entries that describe the image as
(tag, type, count, value bytes), and the strip, tile and JPEGInterchangeFormat data. Left out
are bookkeeping offsets (273, 324, 330, 513, and the Exif/GPS/Interop pointers) and descriptive
metadata: 269-272, 285, 305, 306, 315, 316, 700, 33432 Copyright, 33723 IPTC, 34377
Photoshop, 37510 UserComment, 50341 PrintIM and the Windows XP tags.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _exif, _tiff, _xmp
from aiglabel.codecs._exif import _is_label
from aiglabel.codecs._meta import Collector
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import (
    CarrierUnsupportedError,
    CorruptFileError,
    LimitExceededError,
)
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

CARRIER = "tiff:ifd0:xmp"
COMMENT_CARRIER = "tiff:exif:UserComment"
TYPE_UNDEFINED = 7
_XMP_TYPES = frozenset({1, 2, TYPE_UNDEFINED})
_MAGICS = (b"II*\x00", b"MM\x00*")
_BIG_MAGICS = (b"II+\x00", b"MM\x00+")
_XPACKET_END = b"<?xpacket end"
_WHITESPACE = b" \t\r\n"
# (offsets, byte counts) pairs that locate the image data.
_DATA_TAGS = ((273, 279), (324, 325), (513, 514))
TAG_C2PA = 52545  # 0xCD41: the C2PA manifest store (C2PA 2.x, TIFF embedding); metadata
_NOT_ESSENCE = frozenset(
    {269, 270, 271, 272, 285, 305, 306, 315, 316, 273, 324, 330, 513, _tiff.TAG_XMP,
     33432, 33723, 34377, _tiff.TAG_EXIF_IFD, _tiff.TAG_GPS_IFD, _tiff.TAG_USER_COMMENT,
     40965, 50341, 0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F, TAG_C2PA}
)
_INT_FORMATS = {1: "B", 3: "H", 4: "I", 13: "I", 16: "Q", 18: "Q"}


def _read_fn(src: Source) -> _tiff.ReadFn:
    return lambda offset, n: src.read_metadata(offset, n, "TIFF IFD")


def _header(src: Source) -> _tiff.Header:
    head = src.read_upto(0, 16)
    header = _tiff.parse_header(head)
    if header.big and struct.unpack(header.endian + "HH", head[4:8]) != (8, 0):
        msg = "BigTIFF header with an offset size other than 8"
        raise CorruptFileError(msg, path=src.name)
    if header.first_ifd < (16 if header.big else 8) or header.first_ifd >= src.size:
        msg = f"first IFD offset {header.first_ifd} is outside the file"
        raise CorruptFileError(msg, path=src.name)
    return header


def _region(src: Source, header: _tiff.Header, ifd: _tiff.Ifd) -> bytearray:
    """The IFD's own bytes: count, entries, next-IFD link."""
    size = ifd.next_pos + header.offset_size - ifd.offset
    return bytearray(src.read_metadata(ifd.offset, size, "TIFF IFD"))


def _rebased(ifd: _tiff.Ifd, base: int) -> _tiff.Ifd:
    """The IFD with positions relative to ``base``, for :func:`_tiff.remove_entry` on a copy of
    its region; every entry is marked inline so no value outside the region is touched."""
    entries = tuple(
        replace(e, pos=e.pos - base, data_offset=e.pos - base, inline=True) for e in ifd.entries
    )
    return _tiff.Ifd(ifd.offset - base, entries, ifd.next_offset, ifd.next_pos - base)


def _sub_ifd(src: Source, header: _tiff.Header, ifd: _tiff.Ifd, tag: int) -> _tiff.Ifd | None:
    """The sub-IFD a pointer tag leads to, or ``None`` when absent or unreadable."""
    pointer = ifd.find(tag)
    if pointer is None:
        return None
    read = _read_fn(src)
    try:
        offset = _tiff.entry_offset_value(read, header, pointer)
        if offset == ifd.offset or offset < 8:
            return None
        return _tiff.read_ifd(read, header, offset)
    except (CorruptFileError, LimitExceededError, struct.error):
        return None


def _comment_labels(
    src: Source, header: _tiff.Header, ifd0: _tiff.Ifd
) -> list[tuple[_tiff.Ifd, _tiff.Entry, str]]:
    """AIGC labels in UserComment of IFD0 or the Exif sub-IFD (rules §C.1 note 1)."""
    out: list[tuple[_tiff.Ifd, _tiff.Entry, str]] = []
    exif = _sub_ifd(src, header, ifd0, _tiff.TAG_EXIF_IFD)
    for ifd in (ifd0,) if exif is None else (ifd0, exif):
        entry = ifd.find(_tiff.TAG_USER_COMMENT)
        if entry is None:
            continue
        try:
            value = src.read_metadata(entry.data_offset, entry.byte_count, "UserComment")
        except (CorruptFileError, LimitExceededError):
            continue
        text = _tiff.decode_user_comment(value)
        if _is_label(text):
            out.append((ifd, entry, text))
    return out


def _iter_ifds(src: Source, header: _tiff.Header) -> Iterator[_tiff.Ifd]:
    """Walk the main IFD chain (one IFD per page), refusing loops."""
    read = _read_fn(src)
    seen: set[int] = set()
    offset = header.first_ifd
    while offset:
        if offset in seen:
            msg = f"IFD chain loops back to byte {offset}"
            raise CorruptFileError(msg, path=src.name)
        if len(seen) >= src.limits.max_items:
            msg = f"more than {src.limits.max_items} IFDs"
            raise LimitExceededError(msg, path=src.name)
        seen.add(offset)
        ifd = _tiff.read_ifd(read, header, offset)
        yield ifd
        offset = ifd.next_offset


def _ints(src: Source, header: _tiff.Header, entry: _tiff.Entry) -> tuple[int, ...]:
    fmt = _INT_FORMATS.get(entry.type)
    if fmt is None:
        msg = f"tag {entry.tag} has type {entry.type}, expected integers"
        raise CorruptFileError(msg, path=src.name)
    raw = src.read_metadata(entry.data_offset, entry.byte_count, "TIFF offset array")
    return struct.unpack(f"{header.endian}{entry.count}{fmt}", raw)


def _data_spans(src: Source, header: _tiff.Header, ifd: _tiff.Ifd) -> list[Span]:
    """Strip, tile and JPEGInterchangeFormat data of one IFD."""
    spans: list[Span] = []
    for offsets_tag, counts_tag in _DATA_TAGS:
        offsets_entry, counts_entry = ifd.find(offsets_tag), ifd.find(counts_tag)
        if offsets_entry is None or counts_entry is None:
            continue
        offsets, counts = _ints(src, header, offsets_entry), _ints(src, header, counts_entry)
        if len(offsets) != len(counts):
            msg = f"tags {offsets_tag}/{counts_tag}: {len(offsets)} offsets but {len(counts)} sizes"
            raise CorruptFileError(msg, path=src.name)
        for offset, count in zip(offsets, counts, strict=True):
            if offset + count > src.size:
                msg = f"truncated: image data at byte {offset} (+{count}) runs past the end"
                raise CorruptFileError(msg, path=src.name)
            if count:
                spans.append(Span(offset, count))
        if len(spans) > src.limits.max_items:
            msg = f"more than {src.limits.max_items} strips or tiles"
            raise LimitExceededError(msg, path=src.name)
    return spans


def _padding(n: int) -> bytes:
    """``n`` bytes of XMP padding: lines of spaces, ending with a newline."""
    if n <= 0:
        return b""
    line = b" " * 99 + b"\n"
    return (line * (n // len(line) + 1))[-n:]


def fit_packet(packet: bytes, size: int) -> bytes | None:
    """Resize ``packet`` to exactly ``size`` bytes by changing only its padding, or ``None``.

    The whitespace run before ``<?xpacket end`` (or at the end when there is no wrapper) is
    replaced by :func:`_padding`, so the XML stays well-formed and the result depends only on
    the packet and the size (writes are idempotent).
    """
    if len(packet) == size:
        return packet
    cut = packet.rfind(_XPACKET_END)
    if cut < 0:
        cut = len(packet)
    body, tail = packet[:cut].rstrip(_WHITESPACE), packet[cut:]
    room = size - len(body) - len(tail)
    if room < 0:
        return None
    return body + _padding(room) + tail


def _overlaps(a: Span, spans: Iterable[Span]) -> bool:
    return any(a.offset < s.offset + s.length and s.offset < a.offset + a.length for s in spans)


@register
class TiffCodec(CodecBase):
    """TIFF and BigTIFF: XMP in IFD0 tag 700; reads the EXIF UserComment label too."""

    name = "tiff"
    description = "Tagged Image File Format (classic and BigTIFF)"
    mimes = ("image/tiff",)
    extensions = (".tif", ".tiff")
    carriers = (
        CarrierInfo(CARRIER, "write", "IFD0 tag 700, type 7, TC260:AIGC (20259A)"),
        CarrierInfo(COMMENT_CARRIER, "alternative",
                    "Annex B: EXIF UserComment (IFD0 or Exif sub-IFD), {\"AIGC\":{...}}",
                    "wrapped"),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        if head.startswith(_MAGICS) or head.startswith(_BIG_MAGICS):
            return Confidence.STRONG
        return Confidence.NO

    def read_labels(self, src: Source) -> list[FoundLabel]:
        with parse_errors(src.name, "TIFF"):
            header = _header(src)
            ifd0 = _tiff.read_ifd(_read_fn(src), header, header.first_ifd)
            out: list[FoundLabel] = []
            entry = ifd0.find(_tiff.TAG_XMP)
            if entry is not None and entry.type in _XMP_TYPES:
                packet = src.read_metadata(entry.data_offset, entry.byte_count, "XMP packet")
                found = _xmp.find_labels(packet, CARRIER, entry.data_offset)
                if entry.type != TYPE_UNDEFINED:
                    note = f"XMP tag 700 has field type {entry.type}; the guide says 7 (UNDEFINED)"
                    found = [_with(f, "G3.carrier", Severity.WARNING, note) for f in found]
                out.extend(found)
            for _ifd, comment, text in _comment_labels(src, header, ifd0):
                out.append(FoundLabel.from_text(COMMENT_CARRIER, text, offset=comment.pos))
            return out

    def metadata(self, src: Source) -> list[MetadataItem]:
        """IFD0's XMP packet (tag 700; carrier ``tiff:ifd0``, key ``xmp``, offset of the value)
        and string tags (``tiff:ifd0``, key = the EXIF tag name, offset of the entry), then
        the Exif sub-IFD's string tags (``tiff:exif``, e.g. ``UserComment``). Only IFD0, the
        Exif sub-IFD and those values are read; values outside the file are skipped."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "TIFF"):
                header = _header(src)
                read = _read_fn(src)
                ifd0 = _tiff.read_ifd(read, header, header.first_ifd)
                xmp = ifd0.find(_tiff.TAG_XMP)
                if xmp is not None and xmp.type in _XMP_TYPES:
                    try:
                        packet = read(xmp.data_offset, out.want(xmp.byte_count))
                        out.add("tiff:ifd0", "xmp", _xmp.decode_packet(packet), xmp.data_offset)
                    except CorruptFileError:
                        pass  # the value runs past the end of the file
                exif = _sub_ifd(src, header, ifd0, _tiff.TAG_EXIF_IFD)
                for carrier, ifd in (("tiff:ifd0", ifd0), ("tiff:exif", exif)):
                    if ifd is None:
                        continue
                    for entry, name, text in _exif.ifd_strings(read, header, ifd, out.room):
                        out.add(carrier, name, text, entry.pos)
        except CorruptFileError:
            pass  # a damaged header or IFD0: the items found so far
        return out.items

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label_json = to_json(record)
        with parse_errors(src.name, "TIFF"):
            return self._plan(src, label_json)

    def _plan(self, src: Source, label_json: str) -> EditPlan:
        header = _header(src)
        e = header.endian
        ifd0 = _tiff.read_ifd(_read_fn(src), header, header.first_ifd)
        xmp = ifd0.find(_tiff.TAG_XMP)
        old: bytes | None = None
        if xmp is not None and xmp.type in _XMP_TYPES:
            old = src.read_metadata(xmp.data_offset, xmp.byte_count, "XMP packet")
        packet = _xmp.merge_label(old, label_json)
        removed: list[str] = []
        patches: list[tuple[int, bytes]] = []
        orphans: list[_tiff.Entry] = []  # entries whose old label bytes become unreferenced
        region0 = _region(src, header, ifd0)
        drop0 = False
        for ifd, entry, _text in _comment_labels(src, header, ifd0):
            removed.append(COMMENT_CARRIER)
            orphans.append(entry)
            if ifd is ifd0:
                drop0 = True
                continue
            region = _region(src, header, ifd)
            _tiff.remove_entry(region, header, _rebased(ifd, ifd.offset), entry.tag)
            patches.append((ifd.offset, bytes(region)))
        fitted = None
        if xmp is not None and old is not None and not xmp.inline:
            fitted = fit_packet(packet, xmp.byte_count)
        appended = b""
        if fitted is not None and xmp is not None:
            # In place: the value keeps its offset and length; only the type may change.
            patches.append((xmp.data_offset, fitted))
            if xmp.type != TYPE_UNDEFINED:
                at = xmp.pos - ifd0.offset + 2
                region0[at : at + 2] = struct.pack(e + "H", TYPE_UNDEFINED)
            if drop0:
                _tiff.remove_entry(
                    region0, header, _rebased(ifd0, ifd0.offset), _tiff.TAG_USER_COMMENT
                )
            if xmp.type != TYPE_UNDEFINED or drop0:
                patches.append((ifd0.offset, bytes(region0)))
        else:
            if xmp is not None and old is not None:
                orphans.append(xmp)
            skip = {_tiff.TAG_XMP} | ({_tiff.TAG_USER_COMMENT} if drop0 else set())
            appended, ifd_offset = self._new_ifd0(src, header, ifd0, bytes(region0), skip, packet)
            if header.big:
                patches.append((8, struct.pack(e + "Q", ifd_offset)))
            else:
                patches.append((4, struct.pack(e + "I", ifd_offset)))
        if orphans:
            patches.extend(self._blanking(src, header, orphans))
        return _apply(src, patches, appended, removed)

    def _new_ifd0(
        self,
        src: Source,
        header: _tiff.Header,
        ifd0: _tiff.Ifd,
        region0: bytes,
        skip: set[int],
        packet: bytes,
    ) -> tuple[bytes, int]:
        """Bytes to append (alignment, new IFD0, packet) and the new IFD0's offset."""
        e, size = header.endian, header.entry_size
        align = 8 if header.big else 2
        ifd_offset = -(-src.size // align) * align
        kept = [e2 for e2 in ifd0.entries if e2.tag not in skip]
        ifd_len = header.count_size + (len(kept) + 1) * size + header.offset_size
        packet_offset = ifd_offset + ifd_len
        if not header.big and packet_offset + len(packet) > 0xFFFFFFFF:
            msg = "the new IFD0 would lie beyond 4 GiB; classic TIFF offsets cannot reach it"
            raise CarrierUnsupportedError(msg, path=src.name)
        fmt = "HHQQ" if header.big else "HHII"
        new_entry = struct.pack(e + fmt, _tiff.TAG_XMP, TYPE_UNDEFINED, len(packet), packet_offset)
        raws = [region0[x.pos - ifd0.offset : x.pos - ifd0.offset + size] for x in kept]
        at = next((i for i, x in enumerate(kept) if x.tag > _tiff.TAG_XMP), len(kept))
        raws.insert(at, new_entry)
        count = struct.pack(e + ("Q" if header.big else "H"), len(raws))
        link = struct.pack(e + ("Q" if header.big else "I"), ifd0.next_offset)
        pad = bytes(ifd_offset - src.size)
        return pad + count + b"".join(raws) + link + packet, ifd_offset

    def _blanking(
        self, src: Source, header: _tiff.Header, orphans: list[_tiff.Entry]
    ) -> list[tuple[int, bytes]]:
        """Zero old label bytes unless an IFD, another value or image data still uses them."""
        gone = {x.pos for x in orphans}
        blank = {Span(x.data_offset, x.byte_count) for x in orphans if not x.inline}
        used: list[Span] = []
        try:
            ifds = list(_iter_ifds(src, header))
            ifd0 = ifds[0]
            for tag in (_tiff.TAG_EXIF_IFD, _tiff.TAG_GPS_IFD):
                sub = _sub_ifd(src, header, ifd0, tag)
                if sub is not None:
                    ifds.append(sub)
            for ifd in ifds:
                used.append(Span(ifd.offset, ifd.next_pos + header.offset_size - ifd.offset))
                used.extend(_data_spans(src, header, ifd))
                used.extend(Span(x.data_offset, x.byte_count) for x in ifd.entries
                            if not x.inline and x.pos not in gone)
        except (CorruptFileError, LimitExceededError):
            return []  # the file is too damaged to prove the bytes unused: leave them
        return [(s.offset, bytes(s.length)) for s in blank if not _overlaps(s, used)]

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        with parse_errors(src.name, "TIFF"):
            header = _header(src)
            for ifd in _iter_ifds(src, header):
                region = _region(src, header, ifd)
                for entry in ifd.entries:
                    if entry.tag in _NOT_ESSENCE:
                        continue
                    yield struct.pack(">HHQ", entry.tag, entry.type, entry.count)
                    if entry.inline:
                        start = entry.data_offset - ifd.offset
                        yield bytes(region[start : start + entry.byte_count])
                    elif entry.data_offset + entry.byte_count > src.size:
                        msg = f"truncated: value of tag {entry.tag} runs past the end"
                        raise CorruptFileError(msg, path=src.name)
                    else:
                        yield Span(entry.data_offset, entry.byte_count)
                yield from _data_spans(src, header, ifd)

    def container_findings(self, src: Source) -> list[Finding]:
        return []


def _apply(src: Source, patches: list[tuple[int, bytes]], appended: bytes,
           removed: list[str]) -> EditPlan:
    """Copy the file with byte ranges overwritten (same length) and bytes appended."""
    plan = EditPlan(carrier=CARRIER, removed=removed)
    pos = 0
    for offset, data in sorted(patches, key=lambda p: p[0]):
        if offset < pos or offset + len(data) > src.size:
            msg = f"overlapping or out-of-range TIFF structures at byte {offset}"
            raise CorruptFileError(msg, path=src.name)
        plan.copy(pos, offset)
        plan.add(data)
        pos = offset + len(data)
    plan.copy(pos, src.size)
    plan.add(appended)
    return plan


def _with(found: FoundLabel, code: str, severity: Severity, message: str) -> FoundLabel:
    extra = Finding(code, severity, message, found.carrier)
    return FoundLabel(found.carrier, found.form, found.record, found.raw,
                      (*found.findings, extra), found.offset)
