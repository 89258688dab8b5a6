"""FLAC codec.

Spec: RFC 9639 "Free Lossless Audio Codec (FLAC)" (https://www.rfc-editor.org/rfc/rfc9639),
§8 metadata blocks; Vorbis comments per :mod:`._vorbis`.
GB carrier (TC260-PG-202510A, rules §C.3 [M]): the ``VORBIS_COMMENT`` metadata block (type 4),
entry ``AIGC=<json>``, bare JSON; carrier id ``flac:vorbis:AIGC``.
Also reads: the field name in any case (rules §H 13), several ``VORBIS_COMMENT`` blocks
(the format allows one; reported), and a FLAC stream behind one or more ID3v2 tags (written by
some taggers; not part of FLAC, skipped and kept verbatim).

Layout::

    [ID3v2 tag...]  "fLaC"
    metadata block: u8 (bit 7 = last-metadata-block flag, bits 0-6 = type), u24be length, data
        type 0 STREAMINFO (first, 34 bytes), 1 PADDING, 2 APPLICATION, 3 SEEKTABLE,
        4 VORBIS_COMMENT, 5 CUESHEET, 6 PICTURE; 127 is forbidden
    audio frames (each starts with the sync code 0xFFF8 or 0xFFF9) to the end of the file

Writing edits the first ``VORBIS_COMMENT`` block (or inserts one right after STREAMINFO),
strips ``AIGC`` entries from any other comment block (GB 6.1 c), and lets the first ``PADDING``
block that has room absorb the size change, so the audio frames keep their offset when the
file has padding [project choice, as metaflac does]. Without room the frames move (the file
grows or shrinks); no padding is invented. Every other block is copied byte-identically; only
a header's last-block flag changes when the block order forces it.

Essence: the 34-byte STREAMINFO payload (sample rate, channels, bit depth, total samples and
the MD5 of the decoded audio: it describes how to decode the frames) plus every byte after
the last metadata block (the audio frames and anything that trails them). Other metadata
blocks, the block headers and any ID3v2 prefix are not essence.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _vorbis
from aiglabel.codecs._meta import Collector
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aiglabel._patch import PatchPlan

MAGIC = b"fLaC"
STREAMINFO, PADDING, APPLICATION, SEEKTABLE, VORBIS_COMMENT, CUESHEET, PICTURE = range(7)
INVALID_TYPE = 127  # RFC 9639 §8.1: forbidden (it would look like a frame sync code)
LAST_FLAG = 0x80
MAX_BLOCK = (1 << 24) - 1  # u24 length field
STREAMINFO_SIZE = 34
CARRIER = "flac:vorbis:AIGC"
META_CARRIER = "flac:vorbis"
VENDOR = b"aiglabel"  # vendor string of a comment block aiglabel has to create
ID3_HEADER = 10
_MAX_ID3_TAGS = 16


def id3_end(data: bytes, pos: int = 0) -> int | None:
    """Skip ID3v2 tags starting at ``pos`` of ``data``; ``None`` when a header is cut off.

    ID3v2 header: ``"ID3"``, u8 major, u8 revision, u8 flags (0x10: 10-byte footer in v2.4),
    u32 syncsafe size (four 7-bit bytes) of the tag after the header.
    """
    for _ in range(_MAX_ID3_TAGS):
        header = data[pos : pos + ID3_HEADER]
        if not header.startswith(b"ID3"):
            return pos
        if len(header) < ID3_HEADER:
            return None
        size_bytes = header[6:10]
        if any(b & 0x80 for b in size_bytes) or header[3] == 0xFF:
            return pos  # not a valid tag header: leave it to the caller's magic check
        size = 0
        for b in size_bytes:
            size = (size << 7) | b
        footer = ID3_HEADER if header[3] >= 4 and header[5] & 0x10 else 0
        pos += ID3_HEADER + size + footer
    return pos


def _stream_start(src: Source) -> int:
    """Offset of ``fLaC``: 0, or after the ID3v2 tags that precede it."""
    pos = 0
    for _ in range(_MAX_ID3_TAGS):
        header = src.read_upto(pos, ID3_HEADER)
        nxt = id3_end(header)
        if nxt is None or nxt == 0:
            break
        pos += nxt
    if src.read_upto(pos, 4) != MAGIC:
        msg = "not a FLAC file (no fLaC marker)"
        raise CorruptFileError(msg, path=src.name)
    return pos


@dataclass(frozen=True, slots=True)
class Block:
    """One metadata block: ``offset`` of its 4-byte header, ``length`` of its data."""

    offset: int
    type: int
    length: int
    last: bool

    @property
    def data_offset(self) -> int:
        return self.offset + 4

    @property
    def end(self) -> int:
        return self.offset + 4 + self.length


@dataclass(frozen=True, slots=True)
class Layout:
    """The ``fLaC`` offset and the metadata blocks, STREAMINFO first."""

    start: int
    blocks: list[Block]

    @property
    def audio_offset(self) -> int:
        return self.blocks[-1].end


def read_layout(src: Source) -> Layout:
    """Walk the metadata block headers (payloads are not read).

    Raises:
        CorruptFileError: no ``fLaC``, STREAMINFO missing or not first, type 127, a block
            running past the end of the file.
        LimitExceededError: more blocks than ``limits.max_items``.
    """
    start = _stream_start(src)
    pos = start + 4
    blocks: list[Block] = []
    while True:
        header = src.read_at(pos, 4)
        btype = header[0] & 0x7F
        length = int.from_bytes(header[1:4], "big")
        block = Block(pos, btype, length, bool(header[0] & LAST_FLAG))
        if btype == INVALID_TYPE:
            msg = f"invalid metadata block type 127 at byte {pos}"
            raise CorruptFileError(msg, path=src.name)
        if not blocks and (btype != STREAMINFO or length != STREAMINFO_SIZE):
            msg = "FLAC stream does not start with a 34-byte STREAMINFO block"
            raise CorruptFileError(msg, path=src.name)
        if blocks and btype == STREAMINFO:
            msg = f"second STREAMINFO block at byte {pos}"
            raise CorruptFileError(msg, path=src.name)
        if block.end > src.size:
            msg = f"truncated: metadata block (type {btype}) at byte {pos} runs past the end"
            raise CorruptFileError(msg, path=src.name)
        blocks.append(block)
        if len(blocks) > src.limits.max_items:
            msg = f"more than {src.limits.max_items} metadata blocks"
            raise LimitExceededError(msg, path=src.name)
        if block.last:
            return Layout(start, blocks)
        pos = block.end


def _comments(src: Source, block: Block) -> _vorbis.CommentBlock:
    data = src.read_metadata(block.data_offset, block.length, "VORBIS_COMMENT block")
    try:
        return _vorbis.parse(data, max_items=src.limits.max_items)
    except (CorruptFileError, LimitExceededError) as exc:
        msg = f"VORBIS_COMMENT block at byte {block.offset}: {exc.message}"
        raise type(exc)(msg, path=src.name) from exc


@dataclass(slots=True)
class _Out:
    """A block of the output: an original block (``source``) or new data."""

    type: int
    source: Block | None = None
    data: bytes | None = None
    keep: int = 0  # PADDING resized: bytes of the original padding kept, then zeros

    @property
    def length(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.source is not None
        return self.source.length


@register
class FlacCodec(CodecBase):
    """FLAC: ``AIGC=`` in the VORBIS_COMMENT block."""

    name = "flac"
    description = "Free Lossless Audio Codec"
    mimes = ("audio/flac",)
    extensions = (".flac",)
    carriers = (
        CarrierInfo(CARRIER, "write", "VORBIS_COMMENT entry AIGC= (202510A); any field case"),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        if head.startswith(MAGIC):
            return Confidence.STRONG
        if not head.startswith(b"ID3"):
            return Confidence.NO
        pos = id3_end(head)
        if pos is None or pos + 4 > len(head):
            return Confidence.WEAK  # the tag is longer than the head: confirm() looks behind it
        return Confidence.STRONG if head[pos : pos + 4] == MAGIC else Confidence.NO

    def confirm(self, src: Source) -> Confidence:
        first = self.sniff(src.head)
        if first is not Confidence.WEAK:
            return first
        try:
            _stream_start(src)
        except CorruptFileError:
            return Confidence.NO
        return Confidence.STRONG

    def read_labels(self, src: Source) -> list[FoundLabel]:
        out: list[FoundLabel] = []
        for block in read_layout(src).blocks:
            if block.type == VORBIS_COMMENT:
                out.extend(_vorbis.find_labels(_comments(src, block), CARRIER, block.offset))
        return out

    def metadata(self, src: Source) -> list[MetadataItem]:
        """Vorbis comments (carrier ``flac:vorbis``, key = the field name as stored) and the
        vendor string (key ``vendor``). Only block headers and comment blocks are read; a
        damaged block ends the walk with what was found."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "FLAC"):
                for block in read_layout(src).blocks:
                    if out.full:
                        break
                    if block.type == VORBIS_COMMENT:
                        _vorbis.collect(_comments(src, block), META_CARRIER, out, block.offset)
        except (CorruptFileError, LimitExceededError):
            pass
        return out.items

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label_json = to_json(record)
        layout = read_layout(src)
        removed: list[str] = []
        out: list[_Out] = []
        placed = False
        for block in layout.blocks:
            if block.type != VORBIS_COMMENT:
                out.append(_Out(block.type, block))
                continue
            comments = _comments(src, block)
            # GB 6.1 c): the first comment block gets the label, any other loses its labels.
            if not placed:
                data, dropped = _vorbis.with_label(comments, label_json)
                placed = True
            elif _vorbis.label_count(comments):
                data, dropped = _vorbis.with_label(comments, None)
            else:
                out.append(_Out(block.type, block))
                continue
            removed += [CARRIER] * dropped
            out.append(_Out(VORBIS_COMMENT, block, data))
        if not placed:
            new = _vorbis.build(VENDOR, [_vorbis.FIELD + b"=" + label_json.encode("utf-8")])
            out.insert(1, _Out(VORBIS_COMMENT, None, new))  # right after STREAMINFO
        for item in out:
            if item.data is not None and len(item.data) > MAX_BLOCK:
                msg = "VORBIS_COMMENT block would exceed the 16 MiB FLAC block limit"
                raise LimitExceededError(msg, path=src.name)
        out = _absorb(out, layout)
        plan = EditPlan(carrier=CARRIER, removed=removed)
        plan.copy(0, layout.start + 4)  # any ID3v2 prefix and "fLaC", verbatim
        for i, item in enumerate(out):
            _emit_block(plan, item, last=i == len(out) - 1)
        plan.copy(layout.audio_offset, src.size)
        return plan

    def plan_patch(self, src: Source, record: AIGCRecord) -> PatchPlan | None:
        """Crash-safe in-place update when a PADDING block has room (``aiglabel._patch``).

        Two layouts qualify; anything else is rewritten through a temporary file.

        - ``[VORBIS_COMMENT old][PADDING]``: the new comment block and a header for the rest
          of the padding are written inside the padding (invisible), then the old block's
          4-byte header is switched to a PADDING header covering the old block's body and
          the old padding header. Cleanup zeroes the old comments.
        - no VORBIS_COMMENT, a PADDING block: the comments are written inside the padding
          with a header for the rest, then the padding's own header is switched to a
          VORBIS_COMMENT header.
        """
        from aiglabel._patch import PatchPlan

        layout = read_layout(src)
        comment_blocks = [b for b in layout.blocks if b.type == VORBIS_COMMENT]
        label_json = to_json(record)
        if not comment_blocks:
            pad = next((b for b in layout.blocks if b.type == PADDING), None)
            if pad is None:
                return None
            body = _vorbis.build(VENDOR, [_vorbis.FIELD + b"=" + label_json.encode("utf-8")])
            rest = pad.length - len(body) - 4
            if rest < 0:
                return None
            return PatchPlan(
                prepare=((pad.data_offset, body),
                         (pad.data_offset + len(body), _header(PADDING, rest, last=pad.last))),
                switch=(pad.offset, _header(VORBIS_COMMENT, len(body), last=False)),
                carrier=CARRIER,
            )
        if len(comment_blocks) != 1:
            return None
        old = comment_blocks[0]
        index = layout.blocks.index(old)
        if index + 1 >= len(layout.blocks) or layout.blocks[index + 1].type != PADDING:
            return None
        pad = layout.blocks[index + 1]
        comments = _comments(src, old)
        body, dropped = _vorbis.with_label(comments, label_json)
        rest = pad.length - (4 + len(body)) - 4
        if rest < 0:
            return None
        new_at = pad.data_offset
        return PatchPlan(
            prepare=((new_at, _header(VORBIS_COMMENT, len(body), last=False) + body),
                     (new_at + 4 + len(body), _header(PADDING, rest, last=pad.last))),
            # The old block becomes padding that swallows its body and the old padding header.
            switch=(old.offset, _header(PADDING, old.length + 4, last=False)),
            cleanup=((old.data_offset, bytes(old.length + 4)),),
            carrier=CARRIER,
            removed=(CARRIER,) * dropped,
        )

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        layout = read_layout(src)
        yield Span(layout.blocks[0].data_offset, STREAMINFO_SIZE)
        yield Span(layout.audio_offset, src.size - layout.audio_offset)

    def container_findings(self, src: Source) -> list[Finding]:
        layout = read_layout(src)
        out: list[Finding] = []

        def add(message: str, carrier: str | None = None) -> None:
            out.append(Finding("G5.carrier", Severity.WARNING, message, carrier))

        if layout.start:
            add(f"{layout.start} bytes of ID3v2 tag before fLaC (not part of FLAC; some "
                "players ignore the file)")
        comment_blocks = [b for b in layout.blocks if b.type == VORBIS_COMMENT]
        if len(comment_blocks) > 1:
            add(f"{len(comment_blocks)} VORBIS_COMMENT blocks; FLAC allows one", CARRIER)
        for block in comment_blocks:
            for problem in _vorbis.problems(_comments(src, block)):
                add(f"VORBIS_COMMENT block at byte {block.offset}: {problem}", CARRIER)
        if layout.audio_offset < src.size:
            sync = src.read_upto(layout.audio_offset, 2)
            if len(sync) == 2 and (sync[0] != 0xFF or sync[1] & 0xFE != 0xF8):
                add(f"no frame sync code after the last metadata block (byte "
                    f"{layout.audio_offset}); the last-block flag may be wrong")
        return out


def _header(btype: int, length: int, *, last: bool) -> bytes:
    """A metadata block header: last-block flag and 7-bit type, then a u24 length."""
    return bytes([btype | (LAST_FLAG if last else 0)]) + length.to_bytes(3, "big")


def _absorb(out: list[_Out], layout: Layout) -> list[_Out]:
    """Resize the first PADDING block that can take the size change, so the audio frames keep
    their offset; return ``out`` unchanged when none can."""
    old = sum(4 + b.length for b in layout.blocks)
    delta = sum(4 + item.length for item in out) - old
    if delta == 0:
        return out
    for i, item in enumerate(out):
        if item.type != PADDING or item.source is None:
            continue
        length = item.source.length
        if 0 <= length - delta <= MAX_BLOCK:
            size = length - delta
            out[i] = _Out(PADDING, item.source, b"\x00" * size, keep=min(size, length))
            return out
        if delta == length + 4:  # exactly the whole block, header included
            return out[:i] + out[i + 1 :]
    return out


def _emit_block(plan: EditPlan, item: _Out, *, last: bool) -> None:
    """Append one block: original bytes where possible, new header and data otherwise."""
    flag = LAST_FLAG if last else 0
    source = item.source
    if item.data is None and source is not None:
        if source.last == last:
            plan.copy(source.offset, source.end)  # byte-identical, header included
        else:
            plan.add(bytes([item.type | flag]))
            plan.copy(source.offset + 1, source.end)  # u24 length and data unchanged
        return
    assert item.data is not None
    plan.add(bytes([item.type | flag]) + struct.pack(">I", len(item.data))[1:])
    if item.type == PADDING and source is not None and item.keep:
        plan.copy(source.data_offset, source.data_offset + item.keep)  # padding kept as is
        plan.add(item.data[item.keep :])
    else:
        plan.add(item.data)
