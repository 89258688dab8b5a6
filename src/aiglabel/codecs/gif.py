"""GIF codec.

Spec: GIF89a (CompuServe, 1990) https://www.w3.org/Graphics/GIF/spec-gif89a.txt ; XMP Part 3
§1.1.2 (XMP in GIF).
GB carrier (TC260-PG-20259A, rules §C.1, [M]): Application Extension (``21 FF``, block size 11),
identifier ``XMP Data``, authentication code ``XMP``, the raw UTF-8 XMP packet with
``TC260:AIGC`` (bare JSON), then the 258-byte "magic trailer" [inferred for the trailer].
Also reads: Comment Extensions (``21 FE``) whose text holds an AIGC JSON label [project choice].
Writing merges into the first XMP extension in place, or inserts one right after the Logical
Screen Descriptor and Global Color Table; AIGC properties are stripped from any further XMP
extension and label-bearing comment extensions are dropped (GB 6.1 c). A ``GIF87a`` header
becomes ``GIF89a``, since extensions need version 89a.

Layout: 6-byte header ``GIF87a``/``GIF89a``; 7-byte Logical Screen Descriptor (packed byte 4:
bit 7 = Global Color Table of ``3 * 2**(N+1)`` bytes, N = bits 0-2); then blocks:

    21 <label> <sub-blocks>                          extension
    2C <9-byte descriptor> [LCT] <LZW size> <sub-blocks>   image (packed byte 8 as above)
    3B                                                trailer
    sub-blocks: u8 size + data, ..., 00

The XMP extension is ``21 FF 0B "XMP DataXMP"``, the packet, then ``01 FF FE ... 01 00`` and the
``00`` terminator: read as sub-blocks, the packet's bytes look like lengths whose jumps all land
in the trailer, which leads them to the terminator.
Essence: the Logical Screen Descriptor and Global Color Table, and every block (image data,
graphic control, plain text and other application extensions, trailer) except XMP application
extensions and comment extensions, in file order. The header is not essence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _xmp
from aiglabel.codecs._meta import Collector, decode_text
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

CARRIER = "gif:app:xmp"
COMMENT_CARRIER = "gif:comment:AIGC"
GIF87A = b"GIF87a"
GIF89A = b"GIF89a"
XMP_APP_ID = b"XMP DataXMP"
XMP_HEADER = b"\x21\xff\x0b" + XMP_APP_ID
# XMP Part 3 §1.1.2: 0x01, 0xFF, 0xFE, ..., 0x01, 0x00, then the 0x00 block terminator.
MAGIC_TRAILER = b"\x01" + bytes(range(255, -1, -1)) + b"\x00"
EXTENSION, IMAGE, TRAILER = 0x21, 0x2C, 0x3B
LABEL_COMMENT, LABEL_APPLICATION = 0xFE, 0xFF
_WINDOW = 64 * 1024
# GIF has no index: reaching a block after the image data means reading every sub-block length,
# i.e. the whole file. Label reads of larger files stop at the first image (rules "read little");
# writes always walk everything, so a write still leaves exactly one label.
FULL_SCAN_LIMIT = 16 * 1024 * 1024


_C2PA_APP = b"C2PA_GIF"  # the application identifier C2PA embeds its JUMBF store under


@dataclass(frozen=True, slots=True)
class Block:
    """One top-level block: ``[offset, end)``, its introducer, extension label and, for an
    application extension, the 11-byte identifier + authentication code."""

    offset: int
    end: int
    kind: int
    label: int = 0
    app_id: bytes = b""

    @property
    def is_xmp(self) -> bool:
        return self.kind == EXTENSION and self.label == LABEL_APPLICATION and (
            self.app_id == XMP_APP_ID
        )

    @property
    def is_comment(self) -> bool:
        return self.kind == EXTENSION and self.label == LABEL_COMMENT


class _Cursor:
    """Reads the file through 64 KiB windows, so walking sub-block lengths costs one read per
    window rather than one per sub-block."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.base = 0
        self.buf = b""

    def _window(self, pos: int) -> None:
        if not self.base <= pos < self.base + len(self.buf):
            self.buf = self.src.read_upto(pos, _WINDOW)
            self.base = pos
            if not self.buf:
                msg = f"truncated: GIF data ends at byte {self.src.size}, needed byte {pos}"
                raise CorruptFileError(msg, path=self.src.name)

    def byte(self, pos: int) -> int:
        self._window(pos)
        return self.buf[pos - self.base]

    def read(self, pos: int, n: int) -> bytes:
        if self.base <= pos and pos + n <= self.base + len(self.buf):
            return self.buf[pos - self.base : pos - self.base + n]
        return self.src.read_at(pos, n)

    def skip_sub_blocks(self, pos: int) -> int:
        """Return the offset just after the ``00`` terminator of the chain starting at ``pos``."""
        while True:
            self._window(pos)
            buf, base = self.buf, self.base
            i, n = pos - base, len(buf)
            while i < n:
                size = buf[i]
                if size == 0:
                    return base + i + 1
                i += size + 1
            pos = base + i


def screen_end(src: Source) -> int:
    """Offset of the first block: after the header, the LSD and the Global Color Table."""
    head = src.read_upto(0, 13)
    if head[:6] not in (GIF87A, GIF89A):
        msg = "not a GIF file (bad signature)"
        raise CorruptFileError(msg, path=src.name)
    if len(head) < 13:
        msg = "truncated: no Logical Screen Descriptor"
        raise CorruptFileError(msg, path=src.name)
    packed = head[10]
    end = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    if end > src.size:
        msg = "truncated: Global Color Table runs past the end"
        raise CorruptFileError(msg, path=src.name)
    return end


def headers_only(src: Source) -> bool:
    """Whether reads of this file stop at the first image (see :data:`FULL_SCAN_LIMIT`)."""
    return src.size > FULL_SCAN_LIMIT


def iter_blocks(src: Source, *, stop_at_image: bool = False) -> Iterator[Block]:
    """Walk the blocks after the screen descriptor up to the trailer, seeking over image data.

    A file that ends cleanly between blocks without a trailer is accepted. With
    ``stop_at_image`` the walk ends at the first image descriptor (header blocks only).
    """
    cur = _Cursor(src)
    pos = screen_end(src)
    count = 0
    while pos < src.size:
        intro = cur.byte(pos)
        if intro == TRAILER:
            yield Block(pos, pos + 1, TRAILER)
            return
        if intro == EXTENSION:
            label = cur.byte(pos + 1)
            app_id = b""
            if label == LABEL_APPLICATION and cur.byte(pos + 2) == 11:
                app_id = cur.read(pos + 3, 11)
            block = Block(pos, cur.skip_sub_blocks(pos + 2), EXTENSION, label, app_id)
        elif intro == IMAGE:
            if stop_at_image:
                return
            packed = cur.read(pos + 1, 9)[8]
            data = pos + 10 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
            block = Block(pos, cur.skip_sub_blocks(data + 1), IMAGE)  # +1: LZW code size
        else:
            msg = f"unknown GIF block introducer 0x{intro:02X} at byte {pos}"
            raise CorruptFileError(msg, path=src.name)
        if block.end > src.size:
            msg = f"truncated: block at byte {pos} runs past the end"
            raise CorruptFileError(msg, path=src.name)
        yield block
        count += 1
        if count > src.limits.max_items:
            msg = f"more than {src.limits.max_items} GIF blocks"
            raise LimitExceededError(msg, path=src.name)
        pos = block.end


def _xmp_packet(src: Source, block: Block) -> tuple[bytes, bool]:
    """The packet of an XMP extension and whether the magic trailer was intact.

    Without the trailer the packet is taken as ordinary sub-blocks when the second byte starts
    the XML (the first is then a length), else as raw bytes up to the last ``>``.
    """
    start = block.offset + len(XMP_HEADER)
    raw = src.read_metadata(start, block.end - start, "XMP packet")
    if raw.endswith(MAGIC_TRAILER):
        return raw[: -len(MAGIC_TRAILER)], True
    if raw[1:2] == b"<" or raw[1:4] == b"\xef\xbb\xbf":
        return _sub_block_data(raw), False  # packet stored as ordinary sub-blocks
    return raw[: raw.rfind(b">") + 1], False  # raw packet, damaged trailer


def _bounded_xmp(src: Source, block: Block, room: int) -> bytes:
    """The packet of an XMP extension as :func:`_xmp_packet` gives it, or, when the extension
    is larger than ``room``, its first ``room`` bytes up to the last ``>`` (the value is
    truncated anyway; the cut keeps trailer bytes out)."""
    start = block.offset + len(XMP_HEADER)
    if block.end - start <= room:
        return _xmp_packet(src, block)[0]
    raw = src.read_metadata(start, room, "XMP packet")
    return raw[: raw.rfind(b">") + 1] or raw


def _sub_block_data(raw: bytes) -> bytes:
    """Concatenate the data of a sub-block chain held in memory (terminator included)."""
    parts: list[bytes] = []
    i = 0
    while i < len(raw) and raw[i]:
        parts.append(raw[i + 1 : i + 1 + raw[i]])
        i += raw[i] + 1
    return b"".join(parts)


def _comment_label(src: Source, block: Block) -> FoundLabel | None:
    """The AIGC label in a comment extension, or ``None`` when its text holds none."""
    raw = src.read_metadata(block.offset + 2, block.end - block.offset - 2, "GIF comment")
    text = _sub_block_data(raw).decode("utf-8", errors="replace")
    if "{" in text and ("AIGC" in text or '"Label"' in text):
        return FoundLabel.from_text(COMMENT_CARRIER, text, offset=block.offset)
    return None


def xmp_extension(packet: bytes) -> bytes:
    """An XMP application extension holding ``packet`` (which must not contain NUL bytes)."""
    return XMP_HEADER + packet + MAGIC_TRAILER


@register
class GifCodec(CodecBase):
    """GIF: XMP application extension label; reads AIGC comment extensions too."""

    name = "gif"
    description = "Graphics Interchange Format"
    mimes = ("image/gif",)
    extensions = (".gif",)
    carriers = (
        CarrierInfo(CARRIER, "write", "Application Extension XMP DataXMP, TC260:AIGC (20259A)"),
        CarrierInfo(COMMENT_CARRIER, "read", "Comment Extension holding AIGC JSON", None),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        return Confidence.STRONG if head.startswith((GIF87A, GIF89A)) else Confidence.NO

    def read_labels(self, src: Source) -> list[FoundLabel]:
        out: list[FoundLabel] = []
        with parse_errors(src.name, "GIF"):
            for block in iter_blocks(src, stop_at_image=headers_only(src)):
                if block.is_xmp:
                    packet, intact = _xmp_packet(src, block)
                    found = _xmp.find_labels(packet, CARRIER, block.offset)
                    if not intact:
                        note = "XMP extension lacks the 258-byte magic trailer"
                        found = [_with(f, "G5.carrier", Severity.WARNING, note) for f in found]
                    out.extend(found)
                elif block.is_comment:
                    label = _comment_label(src, block)
                    if label is not None:
                        out.append(label)
        return out

    def metadata(self, src: Source) -> list[MetadataItem]:
        """XMP application extensions (carrier ``gif:app:xmp``, key ``xmp``) and comment
        extensions (``gif:comment``, key ``comment``), in file order. The block walk skips
        image data sub-block by sub-block (GIF has no index); damage ends it with what was
        found."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "GIF"):
                for block in iter_blocks(src, stop_at_image=headers_only(src)):
                    if out.full:
                        break
                    if block.is_xmp:
                        packet = _bounded_xmp(src, block, out.room)
                        out.add(CARRIER, "xmp", _xmp.decode_packet(packet), block.offset)
                    elif block.is_comment:
                        # 21 FE, then sub-blocks (u8 size + data) up to a 00: each 255 bytes of
                        # text cost 256, so read a little more than the room left.
                        n = out.want(block.end - block.offset - 2, out.room // 255 + 2)
                        raw = src.read_metadata(block.offset + 2, n, "GIF comment")
                        text = decode_text(_sub_block_data(raw)).strip()
                        out.add("gif:comment", "comment", text, block.offset)
        except CorruptFileError:
            pass  # truncated or damaged after the items found so far
        return out.items

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label_json = to_json(record)
        with parse_errors(src.name, "GIF"):
            return self._plan(src, label_json)

    def _plan(self, src: Source, label_json: str) -> EditPlan:
        first = screen_end(src)
        blocks = list(iter_blocks(src))
        xmp_block = next((b for b in blocks if b.is_xmp), None)
        old = _xmp_packet(src, xmp_block)[0] if xmp_block is not None else None
        new_ext = _checked_extension(src, _xmp.merge_label(old, label_json))
        plan = EditPlan(carrier=CARRIER)
        if src.read_at(0, 6) == GIF87A:
            plan.add(GIF89A)  # extensions need GIF89a; the header is not essence
            plan.copy(6, first)
        else:
            plan.copy(0, first)
        if xmp_block is None:
            plan.add(new_ext)
        for block in blocks:
            if block is xmp_block:
                plan.add(new_ext)
            elif block.is_xmp:
                packet = _xmp_packet(src, block)[0]
                if _xmp.has_aigc(packet):
                    plan.add(_checked_extension(src, _xmp.strip_labels(packet)))
                    plan.removed.append(CARRIER)
                else:
                    plan.copy(block.offset, block.end)
            elif block.is_comment and _comment_label(src, block) is not None:
                plan.removed.append(COMMENT_CARRIER)
            else:
                plan.copy(block.offset, block.end)
        plan.copy(blocks[-1].end if blocks else first, src.size)  # bytes after the trailer
        return plan

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        with parse_errors(src.name, "GIF"):
            start, end = 6, screen_end(src)
            for block in iter_blocks(src):
                # Metadata, not picture: XMP, comments, a C2PA manifest store ("C2PA_GIF").
                if block.is_xmp or block.is_comment or block.app_id.startswith(_C2PA_APP):
                    if end > start:
                        yield Span(start, end - start)
                    start = end = block.end
                else:
                    end = block.end
            if end > start:
                yield Span(start, end - start)

    def container_findings(self, src: Source) -> list[Finding]:
        if headers_only(src):
            return [Finding("G2.read-limit", Severity.INFO,
                            f"GIF larger than {FULL_SCAN_LIMIT >> 20} MiB: labels were looked "
                            "for before the first image only (a GIF has no index)")]
        return []


def _checked_extension(src: Source, packet: bytes) -> bytes:
    if b"\x00" in packet:
        msg = "XMP packet contains NUL bytes; it cannot be stored in a GIF extension"
        raise CorruptFileError(msg, path=src.name)
    return xmp_extension(packet)


def _with(found: FoundLabel, code: str, severity: Severity, message: str) -> FoundLabel:
    extra = Finding(code, severity, message, found.carrier)
    return FoundLabel(found.carrier, found.form, found.record, found.raw,
                      (*found.findings, extra), found.offset)
