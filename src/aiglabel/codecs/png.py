"""PNG codec.

Spec: PNG (Third Edition, W3C 2025) https://www.w3.org/TR/png-3/ ; XMP Part 3 §1.1.5.
GB carrier (TC260-PG-20259A clause 6, [H]): ``iTXt`` chunk, keyword ``XML:com.adobe.xmp``,
compression flag 0, XMP packet with ``TC260:AIGC`` (bare JSON), placed before the first
``IDAT`` [project choice].
Also reads (Annex B and rules §H 4-5): ``tEXt``/``zTXt``/``iTXt`` with keyword ``AIGC`` (bare or
wrapped), compressed XMP ``iTXt``.
Writing replaces the XMP label and drops keyword-``AIGC`` text chunks (GB 6.1 c).

Chunk layout: u32be data length, 4-byte type, data, u32be CRC-32 over type + data.
Essence: type + data of every chunk except the text chunks (tEXt, zTXt, iTXt), eXIf and tIME,
in file order, so pixels, palette, transparency, colour and animation chunks are covered.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _exif, _xmp
from aiglabel.codecs._meta import Collector, decode_text
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

SIGNATURE = b"\x89PNG\r\n\x1a\n"
XMP_KEYWORD = b"XML:com.adobe.xmp"
EXIF_PREFIX = b"Exif\x00\x00"
# Room for a text chunk's header (keyword of 1-79 bytes, NUL, flags, language, translated
# keyword) on top of the text a metadata() read wants.
_TEXT_HEADER_ROOM = 1024
_TEXT_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt"})
# Metadata, not picture: text, EXIF, time, and the C2PA manifest store (caBX), so the essence
# digest is the same before and after a C2PA manifest is signed in.
_NOT_ESSENCE = _TEXT_CHUNKS | {b"eXIf", b"tIME", b"caBX"}


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk: ``offset`` of its length field, ``length`` of its data."""

    offset: int
    length: int
    type: bytes

    @property
    def data_offset(self) -> int:
        return self.offset + 8

    @property
    def end(self) -> int:
        return self.offset + 12 + self.length


def iter_chunks(src: Source) -> Iterator[Chunk]:
    """Walk chunk headers from the signature to ``IEND``, seeking over the data."""
    if src.read_upto(0, 8) != SIGNATURE:
        msg = "not a PNG file (bad signature)"
        raise CorruptFileError(msg, path=src.name)
    pos = 8
    count = 0
    while True:
        header = src.read_at(pos, 8)
        length, ctype = struct.unpack(">I4s", header)
        if length > 0x7FFFFFFF or not ctype.isalpha():
            msg = f"damaged chunk header at byte {pos}"
            raise CorruptFileError(msg, path=src.name)
        chunk = Chunk(pos, length, ctype)
        if chunk.end > src.size:
            msg = f"truncated: {ctype.decode('latin-1')} chunk at byte {pos} runs past the end"
            raise CorruptFileError(msg, path=src.name)
        yield chunk
        count += 1
        if count > src.limits.max_items:
            msg = f"more than {src.limits.max_items} chunks"
            raise LimitExceededError(msg, path=src.name)
        pos = chunk.end
        if ctype == b"IEND":
            return
        if pos >= src.size:
            msg = "truncated: no IEND chunk"
            raise CorruptFileError(msg, path=src.name)


def _inflate(data: bytes, limit: int, *, truncate: bool = False) -> bytes:
    """Inflate at most ``limit`` bytes; beyond that raise, or with ``truncate`` cut there."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit)
    except zlib.error as exc:
        msg = f"bad zlib stream in text chunk ({exc})"
        raise CorruptFileError(msg) from exc
    if d.unconsumed_tail and not truncate:
        msg = f"compressed text inflates beyond {limit} bytes"
        raise LimitExceededError(msg)
    return out


@dataclass(frozen=True, slots=True)
class TextChunk:
    """A decoded text chunk."""

    keyword: bytes
    text: bytes
    compressed: bool


def decode_text_chunk(
    ctype: bytes, data: bytes, limit: int, *, truncate: bool = False
) -> TextChunk:
    """Decode tEXt (keyword NUL latin-1 text), zTXt (keyword NUL method zlib), iTXt (keyword NUL
    flag method language NUL translated-keyword NUL UTF-8 text).

    Compressed text inflates to at most ``limit`` bytes: more raises
    :class:`~aiglabel.errors.LimitExceededError`, or with ``truncate`` is cut off.
    """
    keyword, sep, rest = data.partition(b"\x00")
    if not sep:
        msg = f"{ctype.decode()} chunk without keyword separator"
        raise CorruptFileError(msg)
    if ctype == b"tEXt":
        return TextChunk(keyword, rest, False)
    if ctype == b"zTXt":
        return TextChunk(keyword, _inflate(rest[1:], limit, truncate=truncate), True)
    if len(rest) < 2:
        msg = "iTXt chunk too short"
        raise CorruptFileError(msg)
    flag = rest[0]
    _lang, _, rest2 = rest[2:].partition(b"\x00")
    _translated, _, text = rest2.partition(b"\x00")
    if flag:
        return TextChunk(keyword, _inflate(text, limit, truncate=truncate), True)
    return TextChunk(keyword, text, False)


def _itxt_chunk(keyword: bytes, text: bytes) -> bytes:
    data = keyword + b"\x00\x00\x00\x00\x00" + text
    body = b"iTXt" + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


@register
class PngCodec(CodecBase):
    """PNG: XMP ``iTXt`` label; reads ``AIGC`` text chunks too."""

    name = "png"
    description = "Portable Network Graphics"
    mimes = ("image/png",)
    extensions = (".png",)
    carriers = (
        CarrierInfo("png:iTXt:xmp", "write", "iTXt XML:com.adobe.xmp, TC260:AIGC (20259A)"),
        CarrierInfo("png:tEXt:AIGC", "alternative", "Annex B (bare form seen from Doubao)",
                    "wrapped"),
        CarrierInfo("png:zTXt:AIGC", "read", "compressed text chunk", None),
        CarrierInfo("png:iTXt:AIGC", "read", "international text chunk", None),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        return Confidence.STRONG if head.startswith(SIGNATURE) else Confidence.NO

    def _text_chunks(self, src: Source) -> Iterator[tuple[Chunk, TextChunk | None, bool]]:
        for chunk in iter_chunks(src):
            if chunk.type not in _TEXT_CHUNKS:
                continue
            data = src.read_metadata(chunk.data_offset, chunk.length, "text chunk")
            crc = struct.unpack(">I", src.read_at(chunk.data_offset + chunk.length, 4))[0]
            crc_ok = crc == zlib.crc32(chunk.type + data)
            try:
                yield chunk, decode_text_chunk(chunk.type, data, src.limits.max_metadata), crc_ok
            except (CorruptFileError, LimitExceededError):
                yield chunk, None, crc_ok

    def read_labels(self, src: Source) -> list[FoundLabel]:
        out: list[FoundLabel] = []
        for chunk, text, crc_ok in self._text_chunks(src):
            ctype = chunk.type.decode()
            if text is None:
                continue
            if text.keyword == XMP_KEYWORD:
                found = _xmp.find_labels(text.text, "png:iTXt:xmp", chunk.offset)
                if found and chunk.type != b"iTXt":
                    found = [_with(f, "G3.carrier", Severity.WARNING,
                                   f"XMP stored in a {ctype} chunk") for f in found]
            elif b"AIGC" in text.keyword:
                carrier = f"png:{ctype}:{text.keyword.decode('latin-1')}"
                found = [FoundLabel.from_text(carrier, text.text, offset=chunk.offset)]
            else:
                continue
            if not crc_ok:
                found = [_with(f, "G5.carrier", Severity.ERROR, f"{ctype} chunk CRC mismatch")
                         for f in found]
            out.extend(found)
        return out

    def metadata(self, src: Source) -> list[MetadataItem]:
        """Text chunks (carrier ``png:tEXt``/``png:zTXt``/``png:iTXt``, key = the keyword, or
        ``xmp`` for ``XML:com.adobe.xmp``) and ``eXIf`` strings (``png:eXIf``, key = the EXIF
        tag name), in file order. Only chunk headers and metadata chunks are read; a damaged
        text chunk is skipped, and damage further on ends the walk with what was found."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "PNG"):
                for chunk in iter_chunks(src):
                    if out.full:
                        break
                    if chunk.type in _TEXT_CHUNKS:
                        _text_item(src, chunk, out)
                    elif chunk.type == b"eXIf":
                        # eXIf (PNG 3rd ed. §11.3.6.6): a TIFF block; some writers keep the
                        # JPEG "Exif\0\0" prefix.
                        n = out.want(chunk.length)
                        block = src.read_metadata(chunk.data_offset, n, "eXIf chunk")
                        block = block.removeprefix(EXIF_PREFIX)
                        _exif.collect(block, "png:eXIf", out, chunk.offset)
        except CorruptFileError:
            pass  # truncated or damaged after the items found so far
        return out.items

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label_json = to_json(record)
        chunks = list(iter_chunks(src))
        first_idat = next((i for i, c in enumerate(chunks) if c.type in (b"IDAT", b"IEND")), None)
        if first_idat is None or chunks[0].type != b"IHDR":
            msg = "PNG has no IHDR/IDAT"
            raise CorruptFileError(msg, path=src.name)
        # Decide what each text chunk becomes: the first XMP iTXt is merged; other XMP packets
        # lose their AIGC property; keyword-AIGC chunks are dropped (GB 6.1 c).
        xmp_index: int | None = None
        xmp_packet: bytes | None = None
        replace: dict[int, bytes | None] = {}
        removed: list[str] = []
        for i, chunk in enumerate(chunks):
            if chunk.type not in _TEXT_CHUNKS:
                continue
            data = src.read_metadata(chunk.data_offset, chunk.length, "text chunk")
            try:
                text = decode_text_chunk(chunk.type, data, src.limits.max_metadata)
            except (CorruptFileError, LimitExceededError):
                continue
            if text.keyword == XMP_KEYWORD and chunk.type == b"iTXt":
                if xmp_index is None:
                    xmp_index, xmp_packet = i, text.text
                    continue
                if _xmp.has_aigc(text.text):
                    replace[i] = _itxt_chunk(XMP_KEYWORD, _xmp.strip_labels(text.text))
                    removed.append("png:iTXt:xmp")
            elif b"AIGC" in text.keyword:
                replace[i] = None
                removed.append(f"png:{chunk.type.decode()}:{text.keyword.decode('latin-1')}")
        new_chunk = _itxt_chunk(XMP_KEYWORD, _xmp.merge_label(xmp_packet, label_json))
        # rules §C.1 [project choice]: the XMP chunk sits before the first IDAT.
        if xmp_index is not None and xmp_index < first_idat:
            replace[xmp_index] = new_chunk
            insert_at = None
        else:
            if xmp_index is not None:
                replace[xmp_index] = None
            insert_at = first_idat
            # Keep PLTE and friends together: insert right before the first IDAT.
        plan = EditPlan(carrier="png:iTXt:xmp", removed=removed)
        plan.copy(0, 8)
        for i, chunk in enumerate(chunks):
            if i == insert_at:
                plan.add(new_chunk)
            if i in replace:
                new = replace[i]
                if new is not None:
                    plan.add(new)
                continue
            plan.copy(chunk.offset, chunk.end)
        plan.copy(chunks[-1].end, src.size)  # bytes after IEND are kept as they are
        return plan

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        for chunk in iter_chunks(src):
            if chunk.type in _NOT_ESSENCE:
                continue
            yield Span(chunk.offset + 4, chunk.length + 4)  # type + data

    def container_findings(self, src: Source) -> list[Finding]:
        return []


def _text_item(src: Source, chunk: Chunk, out: Collector) -> None:
    """Add one text chunk to ``out``; a chunk that does not decode is skipped.

    Values: ``tEXt``/``zTXt`` text (Latin-1 by the spec; UTF-8 is tried first, as many writers
    store it), ``iTXt`` UTF-8; XMP through :func:`_xmp.decode_packet`. Over the budget, the read
    stops early (a cut zlib stream inflates to its first part) and the value is truncated.
    """
    data = src.read_metadata(chunk.data_offset, out.want(chunk.length, _TEXT_HEADER_ROOM),
                             "text chunk")
    try:
        text = decode_text_chunk(chunk.type, data, max(out.room, 1), truncate=True)
    except (CorruptFileError, LimitExceededError):
        return
    carrier = f"png:{chunk.type.decode()}"
    if text.keyword == XMP_KEYWORD:
        out.add(carrier, "xmp", _xmp.decode_packet(text.text), chunk.offset)
    else:
        out.add(carrier, text.keyword.decode("latin-1"), decode_text(text.text), chunk.offset)


def _with(found: FoundLabel, code: str, severity: Severity, message: str) -> FoundLabel:
    extra = Finding(code, severity, message, found.carrier)
    return FoundLabel(found.carrier, found.form, found.record, found.raw,
                      (*found.findings, extra), found.offset)
