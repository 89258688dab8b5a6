"""HEIF / HEIC / AVIF codec.

Spec: ISO/IEC 23008-12 (HEIF; overview https://nokiatech.github.io/heif/technical.html), metadata
items; ISO/IEC 14496-12 §8.11 (meta, iloc, iinf/infe, iref, pitm, idat); AVIF
https://aomediacodec.github.io/av1-avif/ (Exif and XMP stored as in HEIF).
GB carrier (TC260-PG-20259A clause 6 "refer to ISO/IEC 23008-12", [M]; AVIF [L], rules §C.1
project choice): an XMP metadata item, ``infe`` item_type ``mime`` with content_type
``application/rdf+xml``, linked to the primary item by an ``iref`` ``cdsc`` reference, holding an
XMP packet with ``TC260:AIGC`` (bare JSON).
Also reads (Annex B): ``Exif`` items (u32be offset to the TIFF header, then the TIFF block) with
an AIGC ``UserComment``; writing removes those labels in place (GB 6.1 c).

Writing, losslessly:

1. in place: when the merged packet fits the existing XMP item's bytes it is written over them,
   padded with XMP whitespace; no offset changes, so writing the same record twice gives the
   same bytes (also for image sequences);
2. otherwise the packet goes to a new ``mdat`` box appended at the end of the file (or replaces
   the last box when that ``mdat`` holds exactly this item, as after an earlier write). The
   ``meta`` box is rebuilt: new ``infe`` (version 2, ``mime``), ``iloc`` entry (construction
   method 0) and ``iref`` ``cdsc`` when the item is new; every construction-method-0 offset
   whose data moves with the resized ``meta`` is shifted (``iloc`` keeps its version; field sizes
   widen only on overflow). The old packet's bytes are zeroed. Every other box is copied as is.
   Image sequences (top-level ``moov``/``moof``: ``stco``/``co64``/``tfhd`` offsets and track
   ``meta`` boxes would move too) raise ``CarrierUnsupportedError`` in this case.

Essence: the ``iprp`` payload (item properties), then every extent of every item that is not an
XMP or Exif item (image, grid, derived, thumbnail and auxiliary items), in file order.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _exif, _xmp
from aiglabel.codecs._isobmff import (
    Box,
    Budget,
    Buffer,
    Extent,
    ItemInfoEntry,
    ItemLocation,
    ItemLocationBox,
    ItemReference,
    box_header,
    encode_iloc,
    encode_infe,
    encode_iref,
    encode_reference,
    fit_iloc,
    iter_boxes,
    parse_iinf,
    parse_iloc,
    parse_iref,
    parse_pitm,
)
from aiglabel.codecs._meta import Collector
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CarrierUnsupportedError, CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

# ISO/IEC 23008-12 and AVIF brands; plain MP4/QuickTime brands belong to the MP4 codec.
HEIF_BRANDS = frozenset({
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis",
    b"mif2",
})
CARRIER_XMP = "heif:meta:xmp"
CARRIER_EXIF = "heif:meta:exif"  # _exif adds ":UserComment"
XMP_MIME = b"application/rdf+xml"
_SEQUENCE_BOXES = frozenset({b"moov", b"moof"})

Range = tuple[int, int]  # absolute (offset, length)
Patch = tuple[int, bytes]  # same-length overwrite at an absolute offset


@dataclass(slots=True)
class _Layout:
    """The top-level boxes and the parsed file-level ``meta`` box."""

    top: list[Box]
    meta: Box
    data: bytes  # the whole meta box
    children: list[Box]
    primary: int | None = None
    iloc_index: int | None = None
    iloc: ItemLocationBox | None = None
    iinf_index: int | None = None
    iinf_version: int = 0
    infos: tuple[ItemInfoEntry, ...] = ()
    iref_index: int | None = None
    iref: tuple[int, int, list[ItemReference]] | None = None
    idat: Box | None = None
    iprp: Box | None = None
    kinds: dict[int, str | None] | None = None

    def kind(self, item_id: int) -> str | None:
        """``"xmp"``, ``"exif"`` or ``None`` (any other item, or no ``infe``)."""
        if self.kinds is None:
            self.kinds = {}
            for info in reversed(self.infos):  # the first infe of an ID wins
                kind = None
                if info.item_type == b"Exif":
                    kind = "exif"
                elif info.item_type in (b"mime", b"") and (
                    info.content_type.strip().lower() == XMP_MIME
                ):
                    kind = "xmp"
                self.kinds[info.item_id] = kind
        return self.kinds.get(item_id)

    def ranges(self, loc: ItemLocation, file_size: int, name: str | None) -> list[Range] | None:
        """Absolute byte ranges of an item; ``None`` when not in this file (external, cm 2)."""
        if loc.data_reference_index != 0 or loc.construction_method not in (0, 1):
            return None
        if loc.construction_method == 0:
            start, limit = 0, file_size
        elif self.idat is None:
            msg = f"item {loc.item_id} is stored in an idat box that is missing"
            raise CorruptFileError(msg, path=name)
        else:
            start, limit = self.idat.payload_offset, self.idat.end
        out: list[Range] = []
        for ext in loc.extents:
            offset = start + loc.base_offset + ext.offset
            length = ext.length or limit - offset
            if length < 0 or offset + length > limit:
                msg = f"item {loc.item_id} extent {offset}+{length} lies outside its data"
                raise CorruptFileError(msg, path=name)
            out.append((offset, length))
        return out

    def essence_ranges(self, src: Source) -> list[Range]:
        """Ranges of every item that is not XMP or Exif, in file order."""
        return sorted(
            r for loc, rs in self.item_ranges(src) if self.kind(loc.item_id) is None for r in rs
        )

    def item_ranges(self, src: Source) -> list[tuple[ItemLocation, list[Range]]]:
        """Every item stored in this file with its ranges, in iloc order."""
        out = []
        for loc in self.iloc.items if self.iloc else []:
            ranges = self.ranges(loc, src.size, src.name)
            if ranges:
                out.append((loc, ranges))
        return out


def _load(src: Source) -> _Layout:
    budget = Budget(src.limits)
    top = list(iter_boxes(src, 0, src.size, budget))
    if not top or top[0].type != b"ftyp":
        msg = "not an ISO BMFF file (no leading ftyp box)"
        raise CorruptFileError(msg, path=src.name)
    meta = next((b for b in top if b.type == b"meta"), None)
    if meta is None or meta.payload_size < 4:
        msg = "HEIF file has no file-level meta box"
        raise CorruptFileError(msg, path=src.name)
    data = src.read_metadata(meta.offset, meta.size, "meta box")
    buf = Buffer(data, meta.offset, src.name)
    children = list(iter_boxes(buf, meta.payload_offset + 4, meta.end, budget, nested=True))
    lay = _Layout(top, meta, data, children)
    for i, child in enumerate(children):
        payload = buf.read_at(child.payload_offset, child.payload_size)
        if child.type == b"pitm" and lay.primary is None:
            lay.primary = parse_pitm(payload, src.name)
        elif child.type == b"iloc" and lay.iloc is None:
            lay.iloc_index = i
            lay.iloc = parse_iloc(payload, src.name, src.limits.max_items)
        elif child.type == b"iinf" and lay.iinf_index is None:
            lay.iinf_index = i
            lay.iinf_version, _, infos = parse_iinf(buf, child, budget)
            lay.infos = tuple(infos)
        elif child.type == b"iref" and lay.iref is None:
            lay.iref_index = i
            lay.iref = parse_iref(buf, child, budget)
        elif child.type == b"idat" and lay.idat is None:
            lay.idat = child
        elif child.type == b"iprp" and lay.iprp is None:
            lay.iprp = child
    return lay


def _read_item(src: Source, ranges: list[Range]) -> bytes:
    total = sum(length for _, length in ranges)
    if total > src.limits.max_metadata:
        msg = f"metadata item of {total} bytes exceeds the {src.limits.max_metadata}-byte limit"
        raise LimitExceededError(msg, path=src.name)
    return b"".join(src.read_metadata(off, length, "metadata item") for off, length in ranges)


def _read_prefix(src: Source, ranges: list[Range], n: int) -> bytes:
    """The first ``n`` bytes of an item stored in ``ranges``."""
    parts: list[bytes] = []
    for offset, length in ranges:
        if n <= 0:
            break
        parts.append(src.read_metadata(offset, min(length, n), "metadata item"))
        n -= length
    return b"".join(parts)


def _exif_start(data: bytes) -> int | None:
    # Exif item payload: u32be exif_tiff_header_offset, then that many bytes (often
    # "Exif\0\0"), then the TIFF header (ISO/IEC 23008-12, Exif metadata items).
    if len(data) < 4:
        return None
    start = 4 + struct.unpack(">I", data[:4])[0]
    return start if start + 8 <= len(data) else None


def _pad(packet: bytes, size: int) -> bytes | None:
    """``packet`` grown to ``size`` bytes with XMP padding (whitespace before the trailer)."""
    n = size - len(packet)
    if n < 0:
        return None
    if n == 0:
        return packet
    padding = b" " * (n - 1) + b"\n" if n > 1 else b" "
    pos = packet.rfind(b"<?xpacket end")
    if pos < 0:
        return packet + padding
    return packet[:pos] + padding + packet[pos:]


def _spread(data: bytes, ranges: list[Range]) -> list[Patch]:
    """Cut same-length replacement ``data`` into one patch per range."""
    out: list[Patch] = []
    pos = 0
    for offset, length in ranges:
        out.append((offset, data[pos : pos + length]))
        pos += length
    return out


def _sorted(patches: list[Patch], lay: _Layout, src: Source) -> list[Patch]:
    """Sort patches; refuse overlapping ones and any that would touch essence bytes."""
    out = sorted(patches, key=lambda p: p[0])
    for (a, da), (b, _) in zip(out, out[1:], strict=False):
        if a + len(da) > b:
            msg = f"metadata items overlap at byte {b}"
            raise CorruptFileError(msg, path=src.name)
    if _overlaps([(p, len(d)) for p, d in out], lay.essence_ranges(src)):
        msg = "a metadata item shares bytes with image data; refusing to edit it"
        raise CorruptFileError(msg, path=src.name)
    return out


def _copy(plan: EditPlan, start: int, end: int, patches: list[Patch]) -> None:
    """Copy ``[start, end)`` of the source, overwriting the patched ranges inside it."""
    pos = start
    for offset, data in patches:
        if offset >= start and offset + len(data) <= end:
            plan.copy(pos, offset)
            plan.add(data)
            pos = offset + len(data)
    plan.copy(pos, end)


def _overlaps(a: list[Range], b: list[Range]) -> bool:
    return any(x < y + m and y < x + n for x, n in a for y, m in b)


@dataclass(slots=True)
class _Target:
    """The XMP item that receives the label (``None`` fields: a new item)."""

    loc: ItemLocation | None
    ranges: list[Range]
    packet: bytes | None


def _plan_edits(src: Source, lay: _Layout) -> tuple[_Target, list[Patch], list[str]]:
    """Pick the XMP item to merge into; patch AIGC labels out of the other carriers."""
    target = _Target(None, [], None)
    patches: list[Patch] = []
    removed: list[str] = []
    for loc, ranges in lay.item_ranges(src):
        kind = lay.kind(loc.item_id)
        if kind is None:
            continue
        data = _read_item(src, ranges)
        if kind == "xmp" and target.loc is None:
            target = _Target(loc, ranges, data)
        elif kind == "xmp" and _xmp.has_aigc(data):
            stripped = _pad(_xmp.strip_labels(data), len(data))
            if stripped is None:
                msg = f"cannot remove the AIGC label of XMP item {loc.item_id} in place"
                raise CarrierUnsupportedError(msg, path=src.name)
            patches.extend(_spread(stripped, ranges))
            removed.append(CARRIER_XMP)
        elif kind == "exif" and (start := _exif_start(data)) is not None:
            cleaned = _exif.remove_labels(data[start:])
            if cleaned is not None:  # same length: every TIFF offset stays valid
                patches.extend(_spread(data[:start] + cleaned, ranges))
                removed.append(f"{CARRIER_EXIF}:UserComment")
    return target, patches, removed


def _next_id(lay: _Layout) -> int:
    ids = [i.item_id for i in lay.iloc.items] if lay.iloc else []
    ids += [i.item_id for i in lay.infos]
    ids += [lay.primary or 0]
    for ref in lay.iref[2] if lay.iref else []:
        ids += [ref.from_id, *ref.to_ids]
    return max(ids) + 1


def _explicit(loc: ItemLocation, file_size: int) -> ItemLocation:
    """Give "to the end of the file" extents (length 0) their length before the file grows,
    and put a one-extent item's file position in ``base_offset`` (extent offset 0), the layout
    libheif writes: c2pa-rs (c2pa-python 0.38) shifts both fields of an item with a zero
    ``base_offset`` and an absolute extent offset when it inserts its manifest box, which
    breaks the file. The item's bytes stay where they are."""
    if loc.construction_method or loc.data_reference_index:
        return loc
    extents = [
        replace(e, length=e.length or max(file_size - loc.base_offset - e.offset, 0))
        for e in loc.extents
    ]
    if len(extents) == 1 and extents[0].offset:
        return replace(loc, base_offset=loc.base_offset + extents[0].offset,
                       extents=[replace(extents[0], offset=0)])
    return replace(loc, extents=extents)


def _shift(loc: ItemLocation, move: Callable[[int, int], int], base_size: int) -> ItemLocation:
    """Return ``loc`` with its construction-method-0 offsets moved by ``move``."""
    olds = [loc.base_offset + e.offset for e in loc.extents]
    news = [move(o, e.length) for o, e in zip(olds, loc.extents, strict=True)]
    deltas = {n - o for o, n in zip(olds, news, strict=True)}
    if not deltas or deltas == {0}:
        return loc
    if len(deltas) == 1 and base_size and loc.base_offset + (d := deltas.pop()) >= 0:
        return replace(loc, base_offset=loc.base_offset + d)
    extents = [replace(e, offset=n - loc.base_offset) for e, n in zip(loc.extents, news,
                                                                      strict=True)]
    if any(e.offset < 0 for e in extents):
        msg = f"cannot re-encode the offsets of item {loc.item_id}"
        raise CorruptFileError(msg)
    return replace(loc, extents=extents)


class _MetaBuilder:
    """Rebuilds the meta box with replaced children; maps old offsets to new ones."""

    def __init__(self, lay: _Layout, data: bytes) -> None:
        self.lay = lay
        self.data = data  # meta box bytes, patched

    def build(self, replaced: dict[int, bytes]) -> tuple[bytes, Callable[[int, int], int]]:
        meta = self.lay.meta
        base = meta.offset
        parts = [self.data[meta.header_size : meta.header_size + 4]]  # version + flags
        size = 4
        kept: list[tuple[int, int, int]] = []  # old start, old end, new offset in payload
        pos = meta.payload_offset + 4
        for i, child in enumerate([*self.lay.children, None]):
            stop = meta.end if child is None else child.offset
            kept.append((pos, stop, size))  # bytes between boxes are kept as they are
            parts.append(self.data[pos - base : stop - base])
            size += stop - pos
            if child is None:
                break
            if i in replaced:
                new = replaced[i]
            else:
                kept.append((child.offset, child.end, size))
                new = self.data[child.offset - base : child.end - base]
            parts.append(new)
            size += len(new)
            pos = child.end
        header = box_header(b"meta", size, large=meta.large)
        delta = len(header) + size - meta.size

        def move(old: int, length: int) -> int:
            last = old + max(length, 1) - 1
            if last < meta.offset:
                return old
            if old >= meta.end:
                return old + delta
            for start, end, new in kept:
                if start <= old and last < end:
                    return base + len(header) + new + old - start
            msg = f"item data at bytes {old}+{length} overlaps a rewritten part of meta"
            raise CorruptFileError(msg)

        return header + b"".join(parts), move


def _relocate(
    src: Source, lay: _Layout, packet: bytes, target: _Target, patches: list[Patch],
    removed: list[str],
) -> EditPlan:
    """Put the packet in an mdat at the end of the file and rebuild meta (module docstring 2)."""
    if lay.iloc is None or lay.iinf_index is None or lay.iloc_index is None:
        msg = "HEIF meta box has no iloc or iinf box"
        raise CorruptFileError(msg, path=src.name)
    last = lay.top[-1]
    others = [r for loc, r in lay.item_ranges(src) if loc is not target.loc]
    reuse_last = (
        target.loc is not None and last.type == b"mdat"
        and target.ranges == [(last.payload_offset, last.payload_size)]
        and not any(_overlaps(target.ranges, r) for r in others)
    )
    if target.loc is not None and not reuse_last:
        if not any(_overlaps(target.ranges, r) for r in others):
            patches += [(off, bytes(length)) for off, length in target.ranges]
    if last.size_field == 0 and not reuse_last and last is not lay.meta:
        # The last box runs "to the end of the file"; give it its size before appending.
        if last.size > 0xFFFFFFFF:
            msg = "cannot append after an open-ended box larger than 4 GiB"
            raise CarrierUnsupportedError(msg, path=src.name)
        patches.append((last.offset, struct.pack(">I", last.size)))
    patches = _sorted(patches, lay, src)
    meta = lay.meta
    inner = bytearray(lay.data)
    for offset, data in patches:
        if meta.offset <= offset < meta.end:
            inner[offset - meta.offset : offset - meta.offset + len(data)] = data
    outer = [p for p in patches if not meta.offset <= p[0] < meta.end]
    replaced, entry = _new_boxes(src, lay, target, lay.iinf_index)
    items = [entry if loc is target.loc else _explicit(loc, src.size) for loc in lay.iloc.items]
    if target.loc is None:
        items.append(entry)
    builder = _MetaBuilder(lay, bytes(inner))
    end_copy = last.offset if reuse_last else src.size
    iloc_bytes = encode_iloc(fit_iloc(replace(lay.iloc, items=items)))
    for _ in range(8):  # widening a field grows meta, which can move offsets again
        replaced[lay.iloc_index] = iloc_bytes
        new_meta, move = builder.build(replaced)
        data_at = meta.offset + len(new_meta) + (end_copy - meta.end) + 8
        # The packet's position goes in base_offset with a zero extent offset, the layout
        # libheif writes; c2pa-rs (c2pa-python 0.38) shifts both fields of an item with a
        # zero base_offset and an absolute extent offset when it inserts its manifest box.
        moved = [
            replace(entry, base_offset=data_at, extents=[Extent(0, len(packet))])
            if loc is entry
            else _shift(loc, move, max(lay.iloc.base_offset_size, 4))
            if loc.construction_method == 0 and loc.data_reference_index == 0 else loc
            for loc in items
        ]
        encoded = encode_iloc(fit_iloc(replace(lay.iloc, items=moved)))
        if len(encoded) == len(iloc_bytes):
            replaced[lay.iloc_index] = encoded
            new_meta, _ = builder.build(replaced)
            break
        iloc_bytes = encoded
    else:
        msg = "item offsets do not settle while rewriting iloc"
        raise CorruptFileError(msg, path=src.name)
    plan = EditPlan(carrier=CARRIER_XMP, removed=removed)
    _copy(plan, 0, meta.offset, outer)
    plan.add(new_meta)
    _copy(plan, meta.end, end_copy, outer)
    plan.add(box_header(b"mdat", len(packet)) + packet)
    return plan


def _children_end(lay: _Layout, start: int, end: int) -> int:
    """End of the last child box in ``[start, end)`` (before trailing zero padding)."""
    buf = Buffer(lay.data, lay.meta.offset)
    return max((b.end for b in iter_boxes(buf, start, end, nested=True)), default=start)


def _new_boxes(
    src: Source, lay: _Layout, target: _Target, iinf_index: int
) -> tuple[dict[int, bytes], ItemLocation]:
    """The replaced iinf/iref boxes (children index -> bytes) and the XMP item's iloc entry."""
    if target.loc is not None:
        return {}, ItemLocation(target.loc.item_id)
    if lay.primary is None:
        msg = "HEIF meta box has no primary item (pitm)"
        raise CorruptFileError(msg, path=src.name)
    item_id = _next_id(lay)
    data, base = lay.data, lay.meta.offset
    iinf = lay.children[iinf_index]
    count_size = 2 if lay.iinf_version == 0 else 4
    version = lay.iinf_version
    count = len(lay.infos) + 1
    if count > 0xFFFF and version == 0:
        version, count_size = 1, 4
    flags = data[iinf.payload_offset + 1 - base : iinf.payload_offset + 4 - base]
    rest_at = iinf.payload_offset + 4 + (2 if lay.iinf_version == 0 else 4) - base
    # iinf: version, flags, entry_count, the old infe boxes verbatim, the new one, any padding.
    infe = encode_infe(ItemInfoEntry(2, 0, item_id, 0, b"mime", b"XMP", XMP_MIME))
    cut = _children_end(lay, rest_at + base, iinf.end) - base
    payload = (bytes((version,)) + flags + count.to_bytes(count_size, "big")
               + data[rest_at:cut] + infe + data[cut : iinf.end - base])
    new_iinf = box_header(b"iinf", len(payload), large=iinf.large) + payload
    cdsc = ItemReference(b"cdsc", item_id, (lay.primary,))
    replaced: dict[int, bytes] = {}
    if lay.iref is None or lay.iref_index is None:
        new_iinf += encode_iref(0, 0, [cdsc])  # a new iref box right after iinf
    else:
        iref = lay.children[lay.iref_index]
        version, iflags, refs = lay.iref
        if version == 0 and max(item_id, lay.primary) > 0xFFFF:
            replaced[lay.iref_index] = encode_iref(1, iflags, [*refs, cdsc])  # u32 IDs needed
        else:  # the old references verbatim, then the new one, then any padding
            cut = _children_end(lay, iref.payload_offset + 4, iref.end) - base
            body = data[iref.payload_offset - base : cut]
            body += encode_reference(cdsc, 2 if version == 0 else 4) + data[cut : iref.end - base]
            replaced[lay.iref_index] = box_header(b"iref", len(body), large=iref.large) + body
    replaced[iinf_index] = new_iinf
    return replaced, ItemLocation(item_id)


@register
class HeifCodec(CodecBase):
    """HEIF/HEIC/AVIF: XMP metadata item label; reads Exif item UserComment too."""

    name = "heif"
    description = "HEIF / HEIC / AVIF (ISO/IEC 23008-12)"
    mimes = ("image/heic", "image/heif", "image/avif")
    extensions = (".heic", ".heif", ".avif", ".hif")
    carriers = (
        CarrierInfo(CARRIER_XMP, "write", "XMP mime item, cdsc to the primary item (20259A)"),
        CarrierInfo(f"{CARRIER_EXIF}:UserComment", "read", "Annex B, {\"AIGC\":{...}}"),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        if len(head) < 12 or head[4:8] != b"ftyp":
            return Confidence.NO
        size = min(struct.unpack(">I", head[:4])[0], len(head))
        # ftyp (ISO/IEC 14496-12 §4.3): major_brand, u32 minor_version, compatible_brands[].
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, size - 3, 4)}
        return Confidence.STRONG if brands & HEIF_BRANDS else Confidence.NO

    def read_labels(self, src: Source) -> list[FoundLabel]:
        lay = _load(src)
        out: list[FoundLabel] = []
        for loc, ranges in lay.item_ranges(src):
            kind = lay.kind(loc.item_id)
            if kind is None:
                continue
            data = _read_item(src, ranges)
            if kind == "xmp":
                out.extend(_xmp.find_labels(data, CARRIER_XMP, ranges[0][0]))
            elif (start := _exif_start(data)) is not None:
                out.extend(_exif.find_labels(data[start:], CARRIER_EXIF, ranges[0][0]))
        return out

    def metadata(self, src: Source) -> list[MetadataItem]:
        """XMP items (carrier ``heif:meta:xmp``, key ``xmp``) and Exif item strings
        (``heif:meta:exif``, key = the EXIF tag name), in ``iloc`` order, offset = the item's
        first extent. Only the ``meta`` box and these items are read; an item whose extents
        lie outside the file is skipped, a damaged ``meta`` box gives no items."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "HEIF"):
                lay = _load(src)
                for loc in lay.iloc.items if lay.iloc else []:
                    if out.full:
                        break
                    kind = lay.kind(loc.item_id)
                    if kind is None:
                        continue
                    try:
                        ranges = lay.ranges(loc, src.size, src.name)
                    except CorruptFileError:
                        continue
                    if not ranges:
                        continue
                    data = _read_prefix(src, ranges, out.room)
                    if kind == "xmp":
                        out.add(CARRIER_XMP, "xmp", _xmp.decode_packet(data), ranges[0][0])
                    elif (start := _exif_start(data)) is not None:
                        _exif.collect(data[start:], CARRIER_EXIF, out, ranges[0][0])
        except CorruptFileError:
            pass  # no file-level meta box, or a damaged one
        return out.items

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label_json = to_json(record)
        lay = _load(src)
        target, patches, removed = _plan_edits(src, lay)
        packet = _xmp.merge_label(target.packet, label_json)
        if target.packet is not None:
            fitted = _pad(packet, len(target.packet))
            if fitted is not None:
                # In place: same length, so no offset anywhere changes.
                patches.extend(_spread(fitted, target.ranges))
                plan = EditPlan(carrier=CARRIER_XMP, removed=removed)
                _copy(plan, 0, src.size, _sorted(patches, lay, src))
                return plan
        if any(b.type in _SEQUENCE_BOXES for b in lay.top):
            msg = ("HEIF image sequences (moov/moof) are not written yet when the XMP item "
                   "must grow: track chunk offsets would move")
            raise CarrierUnsupportedError(msg, path=src.name)
        return _relocate(src, lay, packet, target, patches, removed)

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        lay = _load(src)
        if lay.iprp is not None:
            yield Span(lay.iprp.payload_offset, lay.iprp.payload_size)
        for offset, length in lay.essence_ranges(src):
            yield Span(offset, length)
