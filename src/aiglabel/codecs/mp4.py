"""MP4 / MOV / M4A / 3GP codec (ISO BMFF movies and QuickTime files).

Specs: ISO/IEC 14496-12 (ISO BMFF: §4.2 boxes, §4.3 ftyp, §8.7.5 stco/co64, §8.7.9 saio,
§8.8.7 tfhd, §8.8.10 tfra, §8.10.1 udta, §8.11.1 meta); ISO/IEC 14496-14 (MP4); Apple
*QuickTime File Format Specification* (movie atoms, "Metadata": meta/hdlr/keys/ilst/data with
handler ``mdta``; iTunes ``mdir`` item lists); XMP Specification Part 3 (MP4: top-level ``uuid``
box ``BE7ACFCB-97A9-42E8-9C71-999491E3AFAC``; QuickTime: ``moov/udta/XMP_``).

GB carrier (TC260-PG-20257A §6.1.1, [H], rules §C.2; M4A by the same rule, §C.3 [L]): the key
``AIGC`` (namespace ``mdta``) of the movie's QuickTime key table, with the ``ilst`` item whose
type is that key's 1-based index holding one ``data`` box of type 1 (UTF-8), locale 0, with the
bare JSON: carrier ``mp4:mdta:AIGC``. The guide's place for the table is ``moov/udta/meta`` (an
ISO FullBox with ``hdlr`` handler ``mdta``), what ``ffmpeg -metadata AIGC=… -movflags
use_metadata_tags`` writes; Apple (and Doubao iOS) keep it in a QuickTime-form ``moov/meta``.
Both are read as this carrier (``moov/meta`` with an INFO finding). Box layouts: :mod:`._mp4meta`.

Also reads (rules §C.2, §H 10), and removes on write (GB 6.1 c):

- ``mp4:ilst:AIGC`` — a keyless item list (handler ``mdir``) in ``moov/udta/meta`` or
  ``moov/meta``: an item of type ``AIGC``, or any text item whose value is a GB label (Doubao);
- ``mp4:ilst:----:AIGC`` — an iTunes freeform item (``mean`` ``com.apple.iTunes``, ``name``
  ``AIGC``), as M4A taggers write it;
- ``mp4:uuid:xmp`` / ``mp4:udta:XMP_`` — ``TC260:AIGC`` in XMP (top-level or ``moov`` ``uuid``
  box; QuickTime ``udta/XMP_``). Other XMP properties are kept;
- an ``AIGC`` key in any further key table.

Key tables in track (``trak``) boxes are not read.

Writing merges into the first keyed ``meta`` (handler ``mdta``) among ``moov/meta`` and
``moov/udta/meta`` in file order — ffmpeg reads only a movie's first ``keys`` box and maps every
later ``ilst`` through it, so adding a second table to an Apple file would make ffmpeg report
``AIGC`` = ``Apple`` — keeping other keys and items byte for byte (an existing ``AIGC`` item is
replaced; the key is otherwise appended). Without a key table a ``meta`` as ffmpeg writes it is
added to the first ``udta`` (or a new ``udta`` at the end of ``moov``), after any iTunes
(``mdir``) ``meta`` there: the guide's path, read by ffmpeg, ExifTool and the TC260 tools, though
``exiftool -validate`` then notes a duplicate ``meta`` in ``udta`` (mutagen shows the first
only). Only ``moov`` (and same-length patches elsewhere) changes. When ``moov`` changes size
by ``d`` and bytes follow it:

1. padding: the ``free``/``skip`` box right after ``moov``, else the first ``free``/``skip``
   inside ``moov`` (its children, then ``udta``/``meta`` children) shrinks by ``d`` (or is
   dropped when exactly ``d``; grows when ``d`` < 0), so no media byte moves;
2. a shrink of 8 bytes or more with no padding leaves a new ``free`` box after ``moov``;
3. otherwise a ``free`` box of at least :data:`MOOV_PADDING` bytes follows the new ``moov``
   (room for later crash-safe in-place updates, :mod:`._mp4patch`; sized so that the media
   moves by a multiple of 4 KiB), and every absolute offset at or after the old ``moov`` end
   moves by ``d`` plus that box: ``stco``
   (converted to ``co64`` when a value passes 32 bits), ``co64`` and ``saio`` in every ``stbl``,
   ``tfhd`` explicit base data offsets in each ``moof`` and ``tfra`` ``moof`` offsets in ``mfra``.
   An ``iloc`` anywhere in ``moov``, a top-level ``meta``, a ``sidx`` before ``moov`` or a
   version-0 ``saio``/``tfra`` overflowing 32 bits raise ``CarrierUnsupportedError``.

When ``moov`` is the last box (``mdat`` first, QuickTime's default) it is rewritten in place and
nothing else changes. Reading walks box headers only: ``mdat`` (32-bit, 64-bit largesize or
size 0 "to the end of the file") is seeked over, and in ``moov`` only ``udta``, ``meta`` and
``uuid`` boxes are read.

Essence: the payloads of the top-level ``mdat`` boxes, in file order. Sample tables are
bookkeeping: their chunk offsets change when ``mdat`` moves (every other sample-table byte is
copied verbatim), and ``moov``, ``udta``, ``meta``, ``uuid`` and ``free`` are metadata.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _mp4meta, _xmp
from aiglabel.codecs._isobmff import Box, Budget, Buffer, box_header, iter_boxes
from aiglabel.codecs._meta import Collector
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.codecs.heif import HEIF_BRANDS
from aiglabel.errors import (
    AiglabelError,
    CarrierUnsupportedError,
    CorruptFileError,
    LimitExceededError,
)
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from aiglabel._patch import PatchPlan
    from aiglabel.codecs._isobmff import Reader

CARRIER = "mp4:mdta:AIGC"
CARRIER_XMP = "mp4:uuid:xmp"
CARRIER_XMP_UDTA = "mp4:udta:XMP_"
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")  # XMP Part 3, MP4 files

# ftyp brands of MP4-family files (ISO/IEC 14496-12/-14/-15, Apple, 3GPP TS 26.244, DASH/CMAF,
# Adobe F4V). HEIF/AVIF brands belong to the heif codec, even next to these.
MP4_BRANDS = frozenset({
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"isoa",
    b"mp41", b"mp42", b"mp71", b"avc1", b"M4A ", b"M4B ", b"M4P ", b"M4V ", b"M4VH", b"M4VP",
    b"qt  ", b"dash", b"msdh", b"msix", b"cmfc", b"cmf2", b"f4v ", b"f4p ", b"f4a ", b"f4b ",
    b"mmp4", b"MSNV", b"XAVC", b"dby1", b"piff", b"kddi", b"KDDI",
})
# ISO BMFF files that are not movies this codec should write (camera raw, JPEG 2000).
_FOREIGN_BRANDS = frozenset({b"crx ", b"jp2 ", b"jpx ", b"jpm ", b"jxl "})
# First boxes of a QuickTime file without ftyp (Apple QTFF "Overview of QTFF").
_QT_FIRST = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_FREE = (b"free", b"skip")
MOOV_PADDING = 1024  # least free space left after a moov that had to grow [project choice]
U32_MAX = 0xFFFFFFFF

Patch = tuple[int, bytes]  # same-length overwrite at an absolute offset


@dataclass(frozen=True, slots=True)
class _Layout:
    """The top-level boxes and the (single) ``moov`` box."""

    top: list[Box]
    moov: Box


def _layout(src: Source) -> _Layout:
    top = list(iter_boxes(src, 0, src.size, Budget(src.limits)))
    moovs = [b for b in top if b.type == b"moov"]
    if len(moovs) != 1:
        what = "no moov box" if not moovs else f"{len(moovs)} moov boxes"
        msg = f"not a playable movie: {what}"
        raise CorruptFileError(msg, path=src.name)
    return _Layout(top, moovs[0])


def _is_xmp(box: Box) -> bool:
    return box.type == b"uuid" and box.usertype == XMP_UUID


def _payload(src: Reader, box: Box, what: str, limit: int) -> bytes:
    if box.payload_size > limit:
        msg = f"{what} of {box.payload_size} bytes exceeds the {limit}-byte limit"
        raise LimitExceededError(msg, path=src.name)
    return src.read_at(box.payload_offset, box.payload_size)


def _metas(src: Source, moov: Box, budget: Budget) -> Iterator[tuple[str, Box]]:
    """``(location, box)`` for the label-bearing boxes of ``moov``: ``udta``/``meta`` (loc
    ``udta/meta``), ``meta`` (``meta``), XMP ``uuid`` (``uuid``) and ``udta``/``XMP_`` and
    ``udta`` text atoms (``udta``). Header reads only."""
    _mp4meta.check_depth(1, src.limits, src.name)
    for child in iter_boxes(src, moov.payload_offset, moov.end, budget, nested=True):
        if child.type == b"udta":
            _mp4meta.check_depth(2, src.limits, src.name)
            for grand in iter_boxes(src, child.payload_offset, child.end, budget, nested=True):
                yield ("udta/meta" if grand.type == b"meta" else "udta"), grand
        elif child.type == b"meta":
            yield "meta", child
        elif _is_xmp(child):
            yield "uuid", child


# --- writing: labels, padding -------------------------------------------------------------------


def _strip_xmp(packet: bytes, size: int | None) -> bytes | None:
    """``packet`` without AIGC properties, padded to ``size`` bytes when given (XMP padding:
    whitespace before the trailer); ``None`` when it holds no label or cannot be padded."""
    if not _xmp.has_aigc(packet):
        return None
    stripped = _xmp.strip_labels(packet)
    if size is None:
        return stripped
    n = size - len(stripped)
    if n < 0:
        return None
    pad = b" " * n
    pos = stripped.rfind(b"<?xpacket end")
    return stripped + pad if pos < 0 else stripped[:pos] + pad + stripped[pos:]


def _edit_labels(buf: Buffer, root: _mp4meta.Node, label_json: str, src: Source) -> list[str]:
    """Write the label into the movie's key table and strip AIGC elsewhere (GB 6.1 c).

    The key table is the first keyed ``meta`` (handler ``mdta``) among ``moov/meta`` and
    ``moov/udta/meta`` in file order: ffmpeg reads only the first ``keys`` box of a movie and
    maps every later ``ilst`` through it, so a second key table would be misread.
    """
    budget = Budget(src.limits)
    removed: list[str] = []
    metas: list[tuple[_mp4meta.Node, _mp4meta.MetaInfo]] = []
    for node in root.children:
        kids = node.children if node.box.type == b"udta" else [node]
        for child in kids:
            box = child.box
            if box.type == b"meta":
                metas.append((child, _mp4meta.parse_meta(buf, box, budget,
                                                         src.limits.max_metadata)))
            elif _is_xmp(box) or (box.type == b"XMP_" and node is not child):
                what = CARRIER_XMP if _is_xmp(box) else CARRIER_XMP_UDTA
                packet = _payload(buf, box, "XMP box", src.limits.max_metadata)
                stripped = _strip_xmp(packet, None)
                if stripped is not None:
                    child.new = box_header(box.type, len(stripped), usertype=box.usertype) + (
                        stripped)
                    removed.append(what)
    target = next(((n, i) for n, i in metas if i.keyed and i.handler in (_mp4meta.MDTA, None)),
                  None)
    for node, info in metas:
        if target is None or node is not target[0]:
            new, gone = _mp4meta.edit_meta(buf, info, None, budget)
            node.new = new
            removed += gone
    if target is not None:
        new, gone = _mp4meta.edit_meta(buf, target[1], label_json, budget)
        target[0].new = new
        removed += gone
    else:
        udta = next((n for n in root.children if n.box.type == b"udta"), None)
        if udta is not None:
            udta.appended.append(_mp4meta.new_meta(label_json))
        else:
            root.appended.append(_mp4meta.make_box(b"udta", _mp4meta.new_meta(label_json)))
    return removed


def _free_box(box_type: bytes, size: int) -> bytes:
    """A ``free``/``skip`` box of ``size`` bytes in all (zero payload; 8 <= size < 4 GiB)."""
    return struct.pack(">I4s", size, box_type) + bytes(size - 8)


def _absorb_inside(buf: Buffer, root: _mp4meta.Node, delta: int) -> bytes | None:
    """Resize the first fitting ``free``/``skip`` in ``moov`` by ``-delta``; the new moov."""
    def depth(node: _mp4meta.Node) -> int:
        return 0 if node.parent is None else 1 + depth(node.parent)

    for node in sorted(root.walk(), key=depth):  # moov's own children first
        box = node.box
        if box.type not in _FREE or node.new is not None or box.large:
            continue
        up, replaced = node.parent, False
        while up is not None:
            replaced = replaced or up.new is not None
            up = up.parent
        size = box.size - delta
        if replaced or not (size >= 8 or size == 0):
            continue
        node.new = _free_box(box.type, size) if size else b""
        out = _mp4meta.encode(buf, root)
        if len(out) == root.box.size:
            return out
        node.new = None  # pragma: no cover - a resize always restores the moov size
    return None


def _absorb_after(lay: _Layout, delta: int) -> tuple[list[bytes | Span], int] | None:
    """Resize the ``free``/``skip`` box right after ``moov``: ``(pieces, end of the old box)``."""
    i = lay.top.index(lay.moov)
    if i + 1 >= len(lay.top) or lay.top[i + 1].type not in _FREE:
        return None
    box = lay.top[i + 1]
    size = box.size - delta
    if size == 0:
        return [], box.end
    if size < 8:
        return None
    if size <= U32_MAX:
        head, body = struct.pack(">I4s", size, box.type), size - 8
    else:
        head, body = struct.pack(">I4sQ", 1, box.type, size), size - 16
    keep = min(body, box.payload_size)
    pieces: list[bytes | Span] = [head, Span(box.payload_offset, keep)]
    return [*pieces, bytes(body - keep)] if body > keep else pieces, box.end


# --- absolute offsets (stco/co64/saio in moov; tfhd/tfra after it) ------------------------------


def _shifted(values: list[int], lay: _Layout, delta: int) -> list[int]:
    return [v + delta if v >= lay.moov.end else v for v in values]


def _offset_table(buf: Buffer, node: _mp4meta.Node, lay: _Layout, delta: int, wide: bool) -> bytes:
    """``stco``/``co64``/``saio`` with its offsets moved; ``wide`` turns stco into co64."""
    box = node.box
    raw = buf.read_at(box.payload_offset, box.payload_size)
    # FullBox; saio with flags & 1: u32 aux_info_type, u32 parameter; u32 entry_count; values.
    version, flags = (raw[0], int.from_bytes(raw[1:4], "big")) if len(raw) >= 4 else (0, 0)
    pos = 4 + (8 if box.type == b"saio" and flags & 1 else 0)
    if len(raw) < pos + 4:
        msg = f"{box.type.decode('latin-1')} box at byte {box.offset} is truncated"
        raise CorruptFileError(msg, path=buf.name)
    count = struct.unpack(">I", raw[pos : pos + 4])[0]
    pos += 4
    size = 8 if box.type == b"co64" or (box.type == b"saio" and version) else 4
    end = pos + count * size
    if end > len(raw):
        msg = f"{box.type.decode('latin-1')} box at byte {box.offset} is shorter than its count"
        raise CorruptFileError(msg, path=buf.name)
    values = [int.from_bytes(raw[i : i + size], "big") for i in range(pos, end, size)]
    new = _shifted(values, lay, delta)
    out_type, out_size = box.type, size
    if size == 4 and any(v > U32_MAX for v in new):
        if box.type == b"saio":
            msg = "a version-0 saio offset would pass 32 bits"
            raise CarrierUnsupportedError(msg, path=buf.name)
        out_type, out_size = b"co64", 8
    if box.type == b"stco" and wide:
        out_type, out_size = b"co64", 8
    body = raw[:pos] + b"".join(v.to_bytes(out_size, "big") for v in new) + raw[end:]
    return box_header(out_type, len(body), large=box.large) + body


def _fragment_patches(src: Source, lay: _Layout, delta: int) -> list[Patch]:
    """Patches for ``tfhd`` base data offsets and ``tfra`` moof offsets after ``moov``."""
    budget = Budget(src.limits)
    patches: list[Patch] = []
    for box in lay.top:
        if box.offset < lay.moov.end or box.type not in (b"moof", b"mfra"):
            continue
        for child in iter_boxes(src, box.payload_offset, box.end, budget, nested=True):
            if box.type == b"moof" and child.type == b"traf":
                for tf in iter_boxes(src, child.payload_offset, child.end, budget, nested=True):
                    if tf.type != b"tfhd" or tf.payload_size < 16:
                        continue
                    flags = int.from_bytes(src.read_at(tf.payload_offset + 1, 3), "big")
                    if flags & 1:  # base-data-offset-present: u64 after track_ID
                        at = tf.payload_offset + 8
                        (base,) = _shifted([int.from_bytes(src.read_at(at, 8), "big")], lay,
                                           delta)
                        patches.append((at, base.to_bytes(8, "big")))
            elif child.type == b"tfra":
                patches += _tfra_patches(src, child, lay, delta)
    return patches


def _tfra_patches(src: Source, box: Box, lay: _Layout, delta: int) -> list[Patch]:
    # tfra: FullBox; u32 track_ID; u32 (26 reserved bits, 2 bits each: traf, trun, sample
    # number sizes - 1); u32 count; per entry: time, moof_offset (u32 in v0, u64 in v1), then
    # the three numbers.
    raw = _payload(src, box, "tfra box", src.limits.max_metadata)
    if len(raw) < 12:
        msg = f"tfra box at byte {box.offset} is truncated"
        raise CorruptFileError(msg, path=src.name)
    width = 8 if raw[0] == 1 else 4
    sizes = struct.unpack(">I", raw[8:12])[0]
    rest = sum(((sizes >> s) & 3) + 1 for s in (4, 2, 0))
    count = struct.unpack(">I", raw[12:16])[0] if len(raw) >= 16 else 0
    patches: list[Patch] = []
    pos = 16
    for _ in range(count):
        at = pos + width
        if at + width > len(raw):
            msg = f"tfra box at byte {box.offset} is shorter than its count"
            raise CorruptFileError(msg, path=src.name)
        (value,) = _shifted([int.from_bytes(raw[at : at + width], "big")], lay, delta)
        if value >= 1 << (8 * width):
            msg = "a version-0 tfra moof offset would pass 32 bits"
            raise CarrierUnsupportedError(msg, path=src.name)
        patches.append((box.payload_offset + at, value.to_bytes(width, "big")))
        pos = at + width + rest
    return patches


def _padding(growth: int) -> int:
    """Size of the ``free`` box after a grown ``moov``: at least :data:`MOOV_PADDING`, and the
    media moves by a multiple of 4 KiB (its page alignment kept)."""
    return MOOV_PADDING + (-(growth + MOOV_PADDING)) % 4096


def _shift(
    src: Source, buf: Buffer, root: _mp4meta.Node, lay: _Layout
) -> tuple[bytes, list[Patch], int]:
    """Move every absolute offset after ``moov`` by the growth plus a ``free`` box after
    ``moov`` (room for later in-place updates, :mod:`._mp4patch`), which replaces a too small
    one there. Return the new moov with that box, the patches outside it and where copying
    the source resumes (module docstring, step 3)."""
    nodes = list(root.walk())
    if any(n.box.type == b"iloc" for n in nodes) or any(b.type == b"meta" for b in lay.top) or any(
            b.type == b"sidx" and b.offset < lay.moov.offset for b in lay.top):
        msg = ("cannot move media data: an iloc, a file-level meta or a sidx before moov "
               "holds offsets this writer does not update")
        raise CarrierUnsupportedError(msg, path=src.name)
    tables = [n for n in nodes if n.box.type in (b"stco", b"co64", b"saio")
              and n.parent is not None and n.parent.box.type == b"stbl"]
    i = lay.top.index(lay.moov)
    old_free = lay.top[i + 1] if i + 1 < len(lay.top) and lay.top[i + 1].type in _FREE \
        and lay.top[i + 1].size <= U32_MAX else None
    resume = old_free.end if old_free is not None else lay.moov.end
    growth = len(_mp4meta.encode(buf, root)) - (resume - lay.moov.offset)
    wide: set[int] = set()  # stco boxes turned into co64 (sticky, so the loop settles)
    for _ in range(len(tables) + 2):
        delta = growth + _padding(growth)
        for t in tables:
            t.new = _offset_table(buf, t, lay, delta, t.box.offset in wide)
            if t.box.type == b"stco" and t.new[4:8] == b"co64":
                wide.add(t.box.offset)
        new_moov = _mp4meta.encode(buf, root)
        if len(new_moov) - (resume - lay.moov.offset) == growth:
            break
        growth = len(new_moov) - (resume - lay.moov.offset)  # co64 conversion grew moov
    else:  # pragma: no cover - each round converts at least one more table
        msg = "chunk offsets do not settle"
        raise CorruptFileError(msg, path=src.name)
    padded = new_moov + _free_box(b"free", _padding(growth))
    return padded, _fragment_patches(src, lay, delta), resume


def _copy(plan: EditPlan, start: int, end: int, patches: list[Patch]) -> None:
    """Copy ``[start, end)`` of the source, overwriting the patched ranges inside it."""
    pos = start
    for offset, data in sorted(patches):
        if offset >= start and offset + len(data) <= end:
            plan.copy(pos, offset)
            plan.add(data)
            pos = offset + len(data)
    plan.copy(pos, end)


def _brands(head: bytes) -> set[bytes]:
    size = min(struct.unpack(">I", head[:4])[0], len(head))
    # ftyp (ISO/IEC 14496-12 §4.3): major_brand, u32 minor_version, compatible_brands[].
    return {head[8:12]} | {head[i : i + 4] for i in range(16, size - 3, 4)}


@register
class Mp4Codec(CodecBase):
    """MP4/MOV/M4A: ``moov/udta/meta`` ``mdta`` key ``AIGC``; reads Apple, iTunes and XMP too."""

    name = "mp4"
    description = "MP4 / MOV / M4A / 3GP (ISO BMFF, QuickTime)"
    mimes = ("video/mp4", "video/quicktime", "audio/mp4", "video/x-m4v", "audio/x-m4a",
             "video/3gpp", "video/3gpp2")
    extensions = (".mp4", ".m4v", ".mov", ".qt", ".m4a", ".m4b", ".m4p", ".3gp", ".3g2",
                  ".f4v", ".mp4v")
    carriers = (
        CarrierInfo(CARRIER, "write", "mdta key AIGC: moov/udta/meta keys + ilst data (20257A); "
                    "also Apple's moov/meta key table"),
        CarrierInfo("mp4:ilst:AIGC", "read", "keyless item list (mdir): AIGC item or a label "
                    "value (Doubao)"),
        CarrierInfo("mp4:ilst:----:AIGC", "read", "iTunes freeform item com.apple.iTunes/AIGC"),
        CarrierInfo(CARRIER_XMP, "read", "XMP uuid box, TC260:AIGC (not in the guide)"),
        CarrierInfo(CARRIER_XMP_UDTA, "read", "QuickTime udta/XMP_, TC260:AIGC"),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        if len(head) < 8:
            return Confidence.NO
        size = struct.unpack(">I", head[:4])[0]
        if head[4:8] == b"ftyp" and len(head) >= 12:
            brands = _brands(head)
            if brands & HEIF_BRANDS or brands & _FOREIGN_BRANDS:
                return Confidence.NO
            if brands & MP4_BRANDS or any(b.startswith(b"3g") for b in brands):
                return Confidence.STRONG
            return Confidence.WEAK
        if head[4:8] in _QT_FIRST and (size in (0, 1) or size >= 8):
            return Confidence.WEAK
        return Confidence.NO

    def confirm(self, src: Source) -> Confidence:
        """A weak match (no ftyp, or unknown brands) needs a top-level ``moov`` box."""
        score = self.sniff(src.head)
        if score is not Confidence.WEAK:
            return score
        try:
            with parse_errors(src.name, "ISO BMFF"):
                _layout(src)
        except AiglabelError:
            return Confidence.NO
        return score

    def read_labels(self, src: Source) -> list[FoundLabel]:
        lay = _layout(src)
        budget = Budget(src.limits)
        limit = src.limits.max_metadata
        out: list[FoundLabel] = []
        for box in lay.top:
            if _is_xmp(box):
                out += _xmp.find_labels(_payload(src, box, "XMP box", limit), CARRIER_XMP,
                                        box.offset)
            if box is not lay.moov:
                continue
            for loc, child in _metas(src, box, budget):
                if child.type == b"meta":
                    _mp4meta.check_depth(3, src.limits, src.name)
                    info = _mp4meta.parse_meta(src, child, budget, limit)
                    out += _mp4meta.find_labels(src, info, loc, budget)
                elif _is_xmp(child) or (loc == "udta" and child.type == b"XMP_"):
                    where = CARRIER_XMP if _is_xmp(child) else CARRIER_XMP_UDTA
                    out += _xmp.find_labels(_payload(src, child, "XMP box", limit), where,
                                            child.offset)
        return out

    def metadata(self, src: Source) -> list[MetadataItem]:
        """``udta`` text atoms (carrier ``mp4:udta``, key ``©nam``/``©too``...), item lists
        (``mp4:udta/meta:ilst`` with the 4CC or ``----:mean:name``; ``mp4:udta/meta:mdta`` and
        ``mp4:meta:mdta`` with the key name, e.g. ``com.apple.quicktime.software``) and XMP
        packets (``mp4:uuid:xmp`` / ``mp4:udta:XMP_``, key ``xmp``), in file order. Box headers,
        ``keys`` tables and text values are read, nothing else; damage ends the walk with
        what was found."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "MP4"):
                lay = _layout(src)
                budget = Budget(src.limits)
                for box in lay.top:
                    if _is_xmp(box):
                        self._xmp_item(src, box, CARRIER_XMP, out)
                    elif box is lay.moov:
                        for loc, child in _metas(src, box, budget):
                            if out.full:
                                break
                            self._moov_item(src, loc, child, budget, out)
        except (CorruptFileError, LimitExceededError):
            pass  # damaged or over budget after the items found so far
        return out.items

    @staticmethod
    def _xmp_item(src: Source, box: Box, where: str, out: Collector) -> None:
        packet = src.read_at(box.payload_offset, out.want(box.payload_size))
        out.add(where, "xmp", _xmp.decode_packet(packet), box.offset)

    def _moov_item(self, src: Source, loc: str, child: Box, budget: Budget,
                   out: Collector) -> None:
        if child.type == b"meta":
            info = _mp4meta.parse_meta(src, child, budget, src.limits.max_metadata)
            _mp4meta.collect_items(src, info, out, budget)
        elif _is_xmp(child):
            self._xmp_item(src, child, CARRIER_XMP, out)
        elif child.type == b"XMP_":
            self._xmp_item(src, child, CARRIER_XMP_UDTA, out)
        elif child.type[0] == 0xA9:  # QuickTime udta text atom, '©' + 3 letters
            _mp4meta.collect_udta_text(src, child, out)

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label_json = to_json(record)
        lay = _layout(src)
        moov = lay.moov
        data = src.read_metadata(moov.offset, moov.size, "moov box")
        buf = Buffer(data, moov.offset, src.name)
        root = _mp4meta.tree(buf, moov, src.limits, Budget(src.limits))
        removed = _edit_labels(buf, root, label_json, src)
        patches: list[Patch] = []
        for box in lay.top:
            if _is_xmp(box):  # outside moov: strip in place, same length
                packet = _payload(src, box, "XMP box", src.limits.max_metadata)
                stripped = _strip_xmp(packet, len(packet))
                if stripped is not None:
                    patches.append((box.payload_offset, stripped))
                    removed.append(CARRIER_XMP)
        new_moov = _mp4meta.encode(buf, root)
        delta = len(new_moov) - moov.size
        tail: list[bytes | Span] = []
        resume = moov.end
        if delta and moov.end < src.size:  # something follows moov (module docstring 1-3)
            after = _absorb_after(lay, delta)
            inside = None if after is not None else _absorb_inside(buf, root, delta)
            if after is not None:
                tail, resume = after
            elif inside is not None:
                new_moov = inside
            elif delta <= -8:
                tail = [_free_box(b"free", -delta)]
            else:
                new_moov, more, resume = _shift(src, buf, root, lay)
                patches += more
        plan = EditPlan(carrier=CARRIER, removed=removed)
        _copy(plan, 0, moov.offset, patches)
        plan.add(new_moov)
        plan.extend(tail)
        _copy(plan, resume, src.size, patches)
        return plan

    def plan_patch(self, src: Source, record: AIGCRecord) -> PatchPlan | None:
        """Crash-safe in-place update through a ``free`` box after ``moov``
        (:mod:`aiglabel.codecs._mp4patch`); ``None`` when the layout has no room."""
        from aiglabel.codecs._mp4patch import plan_moov_patch

        with parse_errors(src.name, "MP4"):
            return plan_moov_patch(src, record)

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        for box in _layout(src).top:
            if box.type == b"mdat":
                yield Span(box.payload_offset, box.payload_size)


# The in-place patch planner (_mp4patch) reuses the layout walk and the label editor.
layout = _layout
is_xmp_box = _is_xmp
edit_labels = _edit_labels
