"""Ogg codec: Ogg Vorbis and Ogg Opus (also reads Ogg Theora and Ogg FLAC comment headers).

Specs: RFC 3533 (Ogg pages, https://www.rfc-editor.org/rfc/rfc3533); Vorbis I specification
§4.2 and appendix A.2 (https://xiph.org/vorbis/doc/Vorbis_I_spec.html); RFC 7845 (Ogg Opus)
§3 and §5.2; the Theora specification (comment header); the Ogg FLAC mapping
(https://xiph.org/flac/ogg_mapping.html).
GB carrier (TC260-PG-202510A, rules §C.3 [M]): the comment header entry ``AIGC=<json>``, bare
JSON, in the Vorbis comment packet (``\\x03vorbis``) or ``OpusTags``. One carrier id for both,
``ogg:comment:AIGC``, since one codec serves both mappings and the primary carrier must be
the same for every file. Field names are read in any case (rules §H 13, :mod:`._vorbis`).

Page layout (RFC 3533 §6, integers little-endian)::

    0  "OggS"            4  u8 version (0)     5  u8 flags: 1 continued, 2 BOS, 4 EOS
    6  i64 granule       14 u32 serial         18 u32 page sequence number
    22 u32 CRC           26 u8 segment count   27 lacing values, then the payload

A packet is a run of lacing values of 255 ended by one value below 255 (0 when its length is
a multiple of 255); a page ending in 255 continues its last packet on the next page. The CRC is
CRC-32 with polynomial 0x04C11DB7, initial value 0, no reflection, no final XOR, over the
page with the CRC field zeroed.

Header packets: the ID header alone on the first (BOS) page; then the comment header (packet
2) and, for Vorbis, the setup header (packet 3), which may share pages; audio starts on a
fresh page. Reading walks only these pages (all streams of the first BOS group, so
multiplexed files are read); chained links after the first are not looked at.

Writing (single logical stream, Vorbis or Opus; multiplexed and chained files raise
:class:`~aiglabel.errors.CarrierUnsupportedError`): the comment packet is rebuilt (zero padding
after it, as mutagen and opusenc leave, absorbs the size change), then the pages that held it
(and the setup packet when they shared a page) are re-paginated over the same number of pages
when the packets fit [project choice: then no later page changes]. When the page count
changes, every later page gets its sequence number shifted and its CRC updated
arithmetically (CRC linearity), so only the 27-byte-plus-lacing headers are rewritten and the
payloads are copied as spans.

Essence: the ID header packet and the other non-comment header packets (the Vorbis setup
header), plus every page after the header pages, without the sequence number and CRC fields
(which renumbering changes); the comment packet and its pages are not essence.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _vorbis
from aiglabel.codecs._meta import Collector
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CarrierUnsupportedError, CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

CAPTURE = b"OggS"
CONTINUED, BOS, EOS = 0x01, 0x02, 0x04
HEADER_FIXED = 27
MAX_SEGMENTS = 255
CARRIER = "ogg:comment:AIGC"
META_CARRIER = "ogg:comment"
NO_GRANULE = -1  # RFC 3533 §6: no packet finishes on this page
_PAGE_HEAD = struct.Struct("<4sBBqIII B")

# --- CRC (RFC 3533 §6: poly 0x04C11DB7, init 0, MSB first, no final XOR) ----------------------
#
# zlib computes the same polynomial bit-reflected (LSB first, init and final XOR 0xFFFFFFFF).
# Reflecting every input byte and the 32-bit result turns one into the other, so the page CRC
# runs at C speed: ogg_crc(m) = reverse32(zlib.crc32(reverse8(m), 0xFFFFFFFF) ^ 0xFFFFFFFF).

_MASK = 0xFFFFFFFF
_REVERSE8 = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))
_ZEROS = memoryview(bytes(HEADER_FIXED + MAX_SEGMENTS + MAX_SEGMENTS * 255))


def _reverse32(value: int) -> int:
    return int(f"{value:032b}"[::-1], 2)


def crc32(data: bytes, crc: int = 0) -> int:
    """The Ogg page CRC of ``data`` (continuing from ``crc``)."""
    reflected = zlib.crc32(data.translate(_REVERSE8), _reverse32(crc) ^ _MASK)
    return _reverse32(reflected ^ _MASK)


def renumbered_crc(crc: int, old_seq: int, new_seq: int, page_size: int) -> int:
    """The CRC of a page whose sequence number (bytes 18-21) changes, without its payload.

    With initial value 0 and no final XOR the CRC is linear: CRC(A xor B) = CRC(A) xor CRC(B).
    The two pages differ by a message that is zero except for the four sequence bytes, so the
    new CRC is the old one xor the CRC of those four bytes followed by the page's remaining
    ``page_size - 22`` bytes as zeros (leading zeros add nothing to a CRC with initial 0).
    """
    diff = (old_seq ^ new_seq).to_bytes(4, "little").translate(_REVERSE8)
    reflected = zlib.crc32(_ZEROS[: page_size - 22], zlib.crc32(diff, _MASK))
    return crc ^ _reverse32(reflected ^ _MASK)


# --- pages -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """One page: its file ``offset`` and ``header`` bytes (27 fixed bytes + lacing values)."""

    offset: int
    header: bytes

    @property
    def flags(self) -> int:
        return self.header[5]

    @property
    def serial(self) -> int:
        return int.from_bytes(self.header[14:18], "little")

    @property
    def seq(self) -> int:
        return int.from_bytes(self.header[18:22], "little")

    @property
    def crc(self) -> int:
        return int.from_bytes(self.header[22:26], "little")

    @property
    def lacing(self) -> bytes:
        return self.header[HEADER_FIXED:]

    @property
    def body_offset(self) -> int:
        return self.offset + len(self.header)

    @property
    def body_size(self) -> int:
        return sum(self.lacing)

    @property
    def end(self) -> int:
        return self.body_offset + self.body_size

    def crc_ok(self, body: bytes) -> bool:
        zeroed = self.header[:22] + b"\x00\x00\x00\x00" + self.header[26:]
        return crc32(body, crc32(zeroed)) == self.crc

    def renumbered(self, seq: int) -> bytes:
        """This page's header with sequence number ``seq`` and the CRC to match."""
        seq &= _MASK
        size = len(self.header) + self.body_size
        crc = renumbered_crc(self.crc, self.seq, seq, size)
        return self.header[:18] + struct.pack("<II", seq, crc) + self.header[26:]


def page_at(src: Source, offset: int) -> Page | None:
    """The page starting at ``offset``, or ``None`` when no complete page header is there."""
    head = src.read_upto(offset, HEADER_FIXED + MAX_SEGMENTS)
    if len(head) < HEADER_FIXED or head[:4] != CAPTURE or head[4] != 0:
        return None
    size = HEADER_FIXED + head[26]
    if len(head) < size:
        return None
    return Page(offset, head[:size])


def build_page(flags: int, granule: int, serial: int, seq: int, lacing: bytes,
               body: bytes) -> bytes:
    """Serialize a page and fill in its CRC."""
    header = _PAGE_HEAD.pack(CAPTURE, 0, flags, granule, serial, seq & _MASK, 0, len(lacing))
    crc = crc32(body, crc32(header + lacing))
    return header[:22] + struct.pack("<I", crc) + header[26:] + lacing + body


def lacing_for(size: int) -> bytes:
    """Lacing values of one packet: 255 per full segment, then the remainder (maybe 0)."""
    return b"\xff" * (size // 255) + bytes([size % 255])


def paginate(packets: list[bytes], serial: int, first_seq: int, pages: int,
             eos: bool) -> list[bytes]:
    """Lay ``packets`` out as fresh pages (the first starts a packet), ``pages`` of them when
    the lacing values allow it (at least one per page, at most 255), otherwise as few as
    possible. Lacing values are spread evenly, so the result depends only on the packets and
    the count. Granule: 0 where a header packet finishes, -1 elsewhere (RFC 3533 §6)."""
    lacing = b"".join(lacing_for(len(p)) for p in packets)
    data = b"".join(packets)
    least = -(-len(lacing) // MAX_SEGMENTS)
    count = max(least, min(pages, len(lacing)))
    base, extra = divmod(len(lacing), count)
    out: list[bytes] = []
    seg = pos = 0
    continued = False
    for k in range(count):
        n = base + (1 if k < extra else 0)
        lv = lacing[seg : seg + n]
        body = data[pos : pos + sum(lv)]
        seg += n
        pos += len(body)
        flags = (CONTINUED if continued else 0) | (EOS if eos and k == count - 1 else 0)
        granule = 0 if any(v < 255 for v in lv) else NO_GRANULE
        out.append(build_page(flags, granule, serial, first_seq + k, lv, body))
        continued = lv[-1] == 255
    return out


# --- logical streams and their header packets ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Mapping:
    """How a codec maps onto Ogg: ID-header magic, comment-header prefix, header count."""

    name: str
    id_magic: bytes
    comment_magic: bytes
    framing: bool  # Vorbis: a framing byte (bit 0 set) follows the comment list
    headers: int  # header packets; the last one finishes its page
    writable: bool


MAPPINGS = (
    Mapping("vorbis", b"\x01vorbis", b"\x03vorbis", True, 3, True),
    Mapping("opus", b"OpusHead", b"OpusTags", False, 2, True),
    Mapping("theora", b"\x80theora", b"\x81theora", False, 3, False),
    # Ogg FLAC: the second packet is a VORBIS_COMMENT metadata block (4-byte block header).
    Mapping("flac", b"\x7fFLAC", b"", False, 2, False),
)


def mapping_of(id_packet: bytes) -> Mapping | None:
    """The mapping whose ID-header magic starts ``id_packet``."""
    return next((m for m in MAPPINGS if id_packet.startswith(m.id_magic)), None)


@dataclass(frozen=True, slots=True)
class Packet:
    """A header packet and where it lies: page indices (into :attr:`Headers.pages`) of its
    first and last page, and the lacing index just after it on the last page."""

    data: bytes
    first: int
    last: int
    end_segment: int


@dataclass(slots=True)
class Stream:
    """One logical stream of the first BOS group and its collected header packets."""

    serial: int
    mapping: Mapping | None
    want: int
    packets: list[Packet] = field(default_factory=list)
    parts: list[bytes] = field(default_factory=list)
    first: int = -1

    @property
    def done(self) -> bool:
        return len(self.packets) >= self.want


@dataclass(frozen=True, slots=True)
class Headers:
    """The pages walked from the start of the file, and the streams found."""

    pages: list[Page]
    streams: list[Stream]
    bad_crc: frozenset[int]


def read_headers(src: Source, *, full: bool = False) -> Headers:
    """Walk pages from byte 0 until every known stream has its comment header (``full``:
    all its header packets for a writable mapping). Only those pages' payloads are read.

    Raises:
        CorruptFileError: not an Ogg file, damaged page, packets that do not fit together.
        LimitExceededError: too many pages or a header packet over ``limits.max_metadata``.
    """
    pages: list[Page] = []
    streams: dict[int, Stream] = {}
    bad: set[int] = set()
    pos = 0
    in_bos = True
    while in_bos or not all(s.done for s in streams.values()):
        page = page_at(src, pos)
        if page is None:
            msg = (f"damaged Ogg page at byte {pos} (inside the header packets)"
                   if pos < src.size else
                   "truncated: the file ends before the Ogg header packets are complete")
            raise CorruptFileError(msg, path=src.name)
        index = len(pages)
        pages.append(page)
        if index >= src.limits.max_items:
            msg = f"more than {src.limits.max_items} Ogg pages before the headers end"
            raise LimitExceededError(msg, path=src.name)
        if page.flags & BOS:
            if not in_bos or page.serial in streams:
                msg = f"unexpected beginning-of-stream page at byte {pos}"
                raise CorruptFileError(msg, path=src.name)
            body = _body(src, page, index, bad)
            mapping = mapping_of(body)
            want = 0 if mapping is None else (mapping.headers if full and mapping.writable else 2)
            stream = Stream(page.serial, mapping, want)
            streams[page.serial] = stream
            if mapping is not None:
                _feed(src, stream, page, body, index)
                if len(stream.packets) != 1 or stream.packets[0].end_segment != len(page.lacing):
                    msg = f"{mapping.name} ID header is not alone on the first page"
                    raise CorruptFileError(msg, path=src.name)
        elif index == 0:
            msg = "not an Ogg stream start (first page lacks the BOS flag)"
            raise CorruptFileError(msg, path=src.name)
        else:
            in_bos = False
            stream_or_none = streams.get(page.serial)
            if stream_or_none is None:
                msg = f"page of an unknown logical stream at byte {pos} among the headers"
                raise CorruptFileError(msg, path=src.name)
            if not stream_or_none.done:
                _feed(src, stream_or_none, page, _body(src, page, index, bad), index)
        pos = page.end
    return Headers(pages, list(streams.values()), frozenset(bad))


def _body(src: Source, page: Page, index: int, bad: set[int]) -> bytes:
    body = src.read_metadata(page.body_offset, page.body_size, "Ogg page")
    if not page.crc_ok(body):
        bad.add(index)
    return body


def _feed(src: Source, stream: Stream, page: Page, body: bytes, index: int) -> None:
    """Add one page's segments to the stream's packets."""
    if bool(page.flags & CONTINUED) != bool(stream.parts):
        msg = f"Ogg page at byte {page.offset}: continuation flag does not match the packets"
        raise CorruptFileError(msg, path=src.name)
    pos = start = 0
    for seg, value in enumerate(page.lacing):
        if stream.first < 0:
            stream.first = index
        pos += value
        if value == 255:
            continue
        stream.parts.append(body[start:pos])
        stream.packets.append(Packet(b"".join(stream.parts), stream.first, index, seg + 1))
        stream.parts, stream.first, start = [], -1, pos
        if stream.done:
            return
    if pos > start:
        stream.parts.append(body[start:pos])
    if sum(map(len, stream.parts)) > src.limits.max_metadata:
        msg = f"Ogg header packet larger than {src.limits.max_metadata} bytes"
        raise LimitExceededError(msg, path=src.name)


@dataclass(frozen=True, slots=True)
class Comment:
    """A parsed comment packet: prefix (magic), comment block, bytes after it."""

    prefix: bytes
    block: _vorbis.CommentBlock
    rest: bytes


def parse_comment(src: Source, mapping: Mapping, packet: bytes) -> Comment:
    """Split a comment header packet.

    Raises:
        CorruptFileError: wrong magic or a damaged comment list.
    """
    if mapping.name == "flac":
        if len(packet) < 4 or packet[0] & 0x7F != 4:
            msg = "Ogg FLAC: second header packet is not a VORBIS_COMMENT block"
            raise CorruptFileError(msg, path=src.name)
        start = 4
    elif packet.startswith(mapping.comment_magic):
        start = len(mapping.comment_magic)
    else:
        msg = f"Ogg {mapping.name}: second header packet is not a comment header"
        raise CorruptFileError(msg, path=src.name)
    try:
        block = _vorbis.parse(packet, start, max_items=src.limits.max_items,
                              what=f"Ogg {mapping.name} comment header")
    except (CorruptFileError, LimitExceededError) as exc:
        raise type(exc)(exc.message, path=src.name) from exc
    return Comment(packet[:start], block, packet[start + block.size :])


def _rebuild(src: Source, mapping: Mapping, comment: Comment, label_json: str) -> bytes:
    """The comment packet with the label (:func:`._vorbis.with_label_and_rest`)."""
    try:
        return comment.prefix + _vorbis.with_label_and_rest(comment.block, comment.rest,
                                                            label_json, framing=mapping.framing)
    except CorruptFileError as exc:
        raise CorruptFileError(exc.message, path=src.name) from exc


def walk(src: Source, pos: int) -> Iterator[Page]:
    """Pages from ``pos`` on until the bytes stop looking like a page header."""
    count = 0
    while pos < src.size:
        page = page_at(src, pos)
        if page is None:
            return
        yield page
        count += 1
        if count > src.limits.max_items:
            msg = f"more than {src.limits.max_items} Ogg pages"
            raise LimitExceededError(msg, path=src.name)
        pos = page.end


def _writable(src: Source, headers: Headers) -> Stream:
    if len(headers.streams) != 1:
        msg = (f"multiplexed Ogg file ({len(headers.streams)} logical streams): writing is "
               "supported for a single Vorbis or Opus stream only")
        raise CarrierUnsupportedError(msg, path=src.name)
    stream = headers.streams[0]
    if stream.mapping is None or not stream.mapping.writable:
        kind = stream.mapping.name if stream.mapping else "unknown"
        msg = f"Ogg {kind} stream: writing is supported for Vorbis and Opus only"
        raise CarrierUnsupportedError(msg, path=src.name)
    return stream


@register
class OggCodec(CodecBase):
    """Ogg Vorbis / Opus: ``AIGC=`` in the comment header."""

    name = "ogg"
    description = "Ogg Vorbis / Ogg Opus audio"
    mimes = ("audio/ogg", "audio/opus")
    extensions = (".ogg", ".oga", ".opus")
    carriers = (
        CarrierInfo(CARRIER, "write",
                    "comment header entry AIGC= (Vorbis comment packet / OpusTags, 202510A)"),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        return Confidence.STRONG if head.startswith(CAPTURE) else Confidence.NO

    def _comments(self, src: Source, headers: Headers) -> Iterator[tuple[Stream, Comment]]:
        for stream in headers.streams:
            if stream.mapping is not None and len(stream.packets) >= 2:
                yield stream, parse_comment(src, stream.mapping, stream.packets[1].data)

    def read_labels(self, src: Source) -> list[FoundLabel]:
        headers = read_headers(src)
        out: list[FoundLabel] = []
        for stream, comment in self._comments(src, headers):
            packet = stream.packets[1]
            found = _vorbis.find_labels(comment.block, CARRIER, headers.pages[packet.first].offset)
            if any(i in headers.bad_crc for i in range(packet.first, packet.last + 1)):
                note = Finding("G5.carrier", Severity.ERROR,
                               "Ogg page CRC mismatch in the comment header", CARRIER)
                found = [FoundLabel(f.carrier, f.form, f.record, f.raw, (*f.findings, note),
                                    f.offset) for f in found]
            out.extend(found)
        return out

    def metadata(self, src: Source) -> list[MetadataItem]:
        """Comments of every known stream (carrier ``ogg:comment``, key = the field name as
        stored) and each vendor string (key ``vendor``); only header pages are read."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "Ogg"):
                headers = read_headers(src)
                for stream, comment in self._comments(src, headers):
                    offset = headers.pages[stream.packets[1].first].offset
                    _vorbis.collect(comment.block, META_CARRIER, out, offset)
        except (CorruptFileError, LimitExceededError):
            pass
        return out.items

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label_json = to_json(record)
        headers = read_headers(src, full=True)
        stream = _writable(src, headers)
        mapping = stream.mapping
        assert mapping is not None
        packets = stream.packets
        pages = headers.pages
        last = packets[-1]
        if last.end_segment != len(pages[last.last].lacing):
            msg = "audio data shares a page with the last header packet (not supported)"
            raise CarrierUnsupportedError(msg, path=src.name)
        comment = parse_comment(src, mapping, packets[1].data)
        new_comment = _rebuild(src, mapping, comment, label_json)
        first, end = packets[1].first, packets[1].last
        content = [new_comment]
        if len(packets) > 2 and packets[2].first == end:  # Vorbis setup shares the page
            content.append(packets[2].data)
            end = packets[2].last
        old = pages[first : end + 1]
        new = paginate(content, stream.serial, old[0].seq, len(old),
                       eos=bool(old[-1].flags & EOS))
        shift = len(new) - len(old)
        plan = EditPlan(carrier=CARRIER, removed=[CARRIER] * _dropped(comment))
        plan.copy(0, old[0].offset)  # the ID header page, verbatim
        for data in new:
            plan.add(data)
        pos = old[-1].end
        for page in walk(src, pos):
            if page.serial != stream.serial:
                msg = ("chained or multiplexed Ogg file (a page of another logical stream at "
                       f"byte {page.offset}): writing is supported for one stream only")
                raise CarrierUnsupportedError(msg, path=src.name)
            if shift:
                plan.add(page.renumbered(page.seq + shift))
                plan.copy(page.body_offset, min(page.end, src.size))
            pos = page.end
        if shift:
            plan.copy(pos, src.size)  # bytes after the last page, kept as they are
        else:
            plan.copy(old[-1].end, src.size)
        return plan

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        headers = read_headers(src, full=True)
        skip, serial = -1, -1  # the first writable stream: its last header page, its serial
        for stream in headers.streams:
            if stream.mapping is not None and stream.mapping.writable and stream.done:
                for i, packet in enumerate(stream.packets):
                    if i != 1:
                        yield packet.data
                last = stream.packets[-1]
                skip, serial = last.last, stream.serial
                page = headers.pages[skip]
                used = sum(page.lacing[: last.end_segment])
                if used < page.body_size:  # not allowed by the mappings; kept in the essence
                    yield Span(page.body_offset + used, page.body_size - used)
                break
        pos = 0
        for index, page in enumerate(walk(src, 0)):
            pos = page.end
            if index <= skip and page.serial == serial:
                continue
            yield page.header[:18] + page.header[26:]  # without sequence number and CRC
            yield Span(page.body_offset, min(page.end, src.size) - page.body_offset)
        if pos < src.size:
            yield Span(pos, src.size - pos)

    def container_findings(self, src: Source) -> list[Finding]:
        headers = read_headers(src)
        out = [Finding("G5.carrier", Severity.WARNING,
                       f"Ogg page at byte {headers.pages[index].offset}: CRC mismatch")
               for index in sorted(headers.bad_crc)]
        if len(headers.streams) > 1:
            names = [s.mapping.name if s.mapping else "unknown" for s in headers.streams]
            out.append(Finding("G5.carrier", Severity.INFO,
                               f"multiplexed Ogg file ({', '.join(names)}); every comment "
                               "header is read, writing is not supported"))
        for stream, comment in self._comments(src, headers):
            assert stream.mapping is not None
            if stream.mapping.framing and (not comment.rest or not comment.rest[0] & 1):
                out.append(Finding("G5.carrier", Severity.WARNING,
                                   "Vorbis comment header lacks its framing bit", CARRIER))
            out.extend(Finding("G5.carrier", Severity.WARNING, problem, CARRIER)
                       for problem in _vorbis.problems(comment.block))
        return out


def _dropped(comment: Comment) -> int:
    """Label entries a rewrite removes (all but the one replaced)."""
    return max(_vorbis.label_count(comment.block) - 1, 0)
