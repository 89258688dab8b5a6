"""ISO base media file format (ISO BMFF) boxes: a bounded walker and the item boxes of ``meta``.

Spec: ISO/IEC 14496-12 (ISO BMFF), freely available from
https://standards.iso.org/ittf/PubliclyAvailableStandards/ ; sections cited below are those of
the 2015 and 2022 editions (§4.2 Box/FullBox, §8.11 metadata: meta, iloc, pitm, iinf/infe, iref,
idat). Shared by the HEIF/AVIF codec and the MP4/MOV/M4A codecs.

Box layout (§4.2)::

    u32be size | 4CC type | [u64be largesize if size == 1] | [16-byte usertype if type == 'uuid']
    size counts the whole box (header included); size 0 = the box runs to the end of the file.
    FullBox: the payload starts with u8 version, u24be flags.

Walking reads box headers only and seeks over payloads, so ``mdat`` content is never read.
Item boxes are parsed from an in-memory copy of their bytes with :class:`Cursor`, whose overruns
raise :class:`~aiglabel.errors.CorruptFileError` (never ``IndexError`` or ``struct.error``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from aiglabel._io import DEFAULT_LIMITS, Limits
from aiglabel.errors import CorruptFileError, LimitExceededError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = [
    "CONTAINERS",
    "Box",
    "Budget",
    "Buffer",
    "Cursor",
    "Extent",
    "ItemInfoEntry",
    "ItemLocation",
    "ItemLocationBox",
    "ItemReference",
    "box_header",
    "encode_iloc",
    "encode_infe",
    "encode_iref",
    "fit_iloc",
    "iter_boxes",
    "parse_iinf",
    "parse_iloc",
    "parse_infe",
    "parse_iref",
    "parse_pitm",
    "read_box",
    "walk",
]

# Boxes whose payload is a plain sequence of child boxes, mapped to the bytes that precede the
# children inside the payload (4 for a FullBox container: version + flags).
CONTAINERS: Mapping[bytes, int] = {
    b"moov": 0, b"trak": 0, b"edts": 0, b"mdia": 0, b"minf": 0, b"dinf": 0, b"stbl": 0,
    b"mvex": 0, b"moof": 0, b"traf": 0, b"mfra": 0, b"udta": 0, b"iprp": 0, b"ipco": 0,
    b"grpl": 0, b"meta": 4,
}


class Reader(Protocol):
    """What the walker needs: a size, a name for errors and exact reads (``Source`` fits)."""

    name: str | None
    size: int

    def read_at(self, offset: int, n: int) -> bytes: ...


class Buffer:
    """In-memory bytes addressed by absolute file offsets (``base`` = offset of ``data[0]``)."""

    def __init__(self, data: bytes, base: int = 0, name: str | None = None) -> None:
        self.data = data
        self.base = base
        self.name = name
        self.size = base + len(data)

    def read_at(self, offset: int, n: int) -> bytes:
        """Read exactly ``n`` bytes at absolute ``offset``.

        Raises:
            CorruptFileError: the range is outside the buffer.
        """
        start = offset - self.base
        if start < 0 or n < 0 or start + n > len(self.data):
            msg = f"truncated: needs bytes {offset}..{offset + n} of a box ending at {self.size}"
            raise CorruptFileError(msg, path=self.name)
        return self.data[start : start + n]


@dataclass(slots=True)
class Budget:
    """Counts boxes walked against ``limits.max_items``."""

    limits: Limits = DEFAULT_LIMITS
    count: int = 0

    def tick(self, name: str | None) -> None:
        """Count one more box.

        Raises:
            LimitExceededError: more boxes than the limit.
        """
        self.count += 1
        if self.count > self.limits.max_items:
            msg = f"more than {self.limits.max_items} boxes"
            raise LimitExceededError(msg, path=name)


@dataclass(frozen=True, slots=True)
class Box:
    """One box header: ``offset`` of its size field, total ``size``, 4CC ``type``.

    ``size_field`` is the raw 32-bit size (0: to end of file/container, 1: largesize follows).
    """

    offset: int
    size: int
    type: bytes
    header_size: int
    size_field: int
    usertype: bytes | None = None

    @property
    def payload_offset(self) -> int:
        """Offset of the payload (after size, type, largesize, usertype)."""
        return self.offset + self.header_size

    @property
    def payload_size(self) -> int:
        """Payload length in bytes."""
        return self.size - self.header_size

    @property
    def end(self) -> int:
        """Offset just past the box."""
        return self.offset + self.size

    @property
    def large(self) -> bool:
        """True when the header uses the 64-bit largesize field."""
        return self.size_field == 1


def read_box(reader: Reader, offset: int, end: int, *, nested: bool = False) -> Box:
    """Parse the box header at ``offset`` of a container ending at ``end`` (§4.2).

    Args:
        reader: the file or buffer.
        offset: where the box starts.
        end: where its container (or the file) ends.
        nested: the box is inside another box, where size 0 ("to the end") is not allowed.

    Raises:
        CorruptFileError: the header is truncated or the box overruns its container.
    """
    if end - offset < 8:
        msg = f"truncated box header at byte {offset}"
        raise CorruptFileError(msg, path=reader.name)
    size_field, btype = struct.unpack(">I4s", reader.read_at(offset, 8))
    header = 8
    if size_field == 1:  # u64be largesize follows the type
        if end - offset < 16:
            msg = f"truncated largesize box header at byte {offset}"
            raise CorruptFileError(msg, path=reader.name)
        size = struct.unpack(">Q", reader.read_at(offset + 8, 8))[0]
        header = 16
    elif size_field == 0:  # runs to the end of the file; top-level boxes only (§4.2)
        if nested:
            msg = f"nested box at byte {offset} has size 0"
            raise CorruptFileError(msg, path=reader.name)
        size = end - offset
    else:
        size = size_field
    usertype = None
    if btype == b"uuid":  # 16-byte extended type after the size fields
        if end - offset < header + 16:
            msg = f"truncated uuid box header at byte {offset}"
            raise CorruptFileError(msg, path=reader.name)
        usertype = reader.read_at(offset + header, 16)
        header += 16
    if size < header or offset + size > end:
        shown = btype.decode("latin-1")
        msg = f"{shown!r} box at byte {offset} has size {size}, outside its container (..{end})"
        raise CorruptFileError(msg, path=reader.name)
    return Box(offset, size, btype, header, size_field, usertype)


def iter_boxes(
    reader: Reader, start: int, end: int, budget: Budget | None = None, *, nested: bool = False
) -> Iterator[Box]:
    """Yield the sibling boxes in ``[start, end)``, seeking over payloads.

    Up to 7 trailing zero bytes (a QuickTime-style terminator) end the sequence quietly.
    ``nested``: the boxes are children of a box (see :func:`read_box`).
    """
    budget = budget if budget is not None else Budget()
    pos = start
    while pos < end:
        if end - pos < 8 and not reader.read_at(pos, end - pos).strip(b"\x00"):
            return
        box = read_box(reader, pos, end, nested=nested)
        budget.tick(reader.name)
        yield box
        pos = box.end


def _children_at(reader: Reader, box: Box, containers: Mapping[bytes, int]) -> int | None:
    skip = containers.get(box.type)
    if skip is None:
        return None
    if box.type == b"meta" and box.payload_size >= 12:
        # ISO meta is a FullBox; a QuickTime meta is not: peek for 'hdlr' at payload + 4 (§8.11.1).
        if reader.read_at(box.payload_offset + 4, 4) == b"hdlr":
            return 0
    return skip if box.payload_size >= skip else None


def walk(
    reader: Reader,
    start: int = 0,
    end: int | None = None,
    *,
    containers: Mapping[bytes, int] = CONTAINERS,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[tuple[int, Box]]:
    """Walk boxes depth-first, yielding ``(depth, box)``; descends into ``containers``.

    Raises:
        LimitExceededError: deeper than ``limits.max_depth`` or more than ``limits.max_items``.
        CorruptFileError: a header is damaged or a box overruns its container.
    """
    budget = Budget(limits)
    stack: list[Iterator[Box]] = [iter_boxes(reader, start, reader.size if end is None else end,
                                             budget)]
    while stack:
        box = next(stack[-1], None)
        if box is None:
            stack.pop()
            continue
        yield len(stack) - 1, box
        skip = _children_at(reader, box, containers)
        if skip is not None:
            if len(stack) >= limits.max_depth:
                msg = f"boxes nested deeper than {limits.max_depth}"
                raise LimitExceededError(msg, path=reader.name)
            stack.append(
                iter_boxes(reader, box.payload_offset + skip, box.end, budget, nested=True)
            )


def box_header(
    box_type: bytes, payload_size: int, *, large: bool = False, usertype: bytes | None = None
) -> bytes:
    """Encode a box header for a payload of ``payload_size`` bytes (largesize when needed)."""
    extra = len(usertype) if usertype else 0
    if not large and payload_size + 8 + extra <= 0xFFFFFFFF:
        head = struct.pack(">I4s", payload_size + 8 + extra, box_type)
    else:
        head = struct.pack(">I4sQ", 1, box_type, payload_size + 16 + extra)
    return head + (usertype or b"")


class Cursor:
    """Big-endian field reader over an in-memory payload; overruns raise ``CorruptFileError``."""

    def __init__(self, data: bytes, what: str, name: str | None = None) -> None:
        self.data = data
        self.pos = 0
        self.what = what
        self.name = name

    @property
    def remaining(self) -> int:
        """Bytes left after the current position."""
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        """Return the next ``n`` bytes."""
        if n < 0 or n > self.remaining:
            msg = f"truncated {self.what}: needs {n} bytes at {self.pos}, has {self.remaining}"
            raise CorruptFileError(msg, path=self.name)
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint(self, nbytes: int) -> int:
        """Return an unsigned big-endian integer of ``nbytes`` bytes (0 bytes read as 0)."""
        return int.from_bytes(self.take(nbytes), "big")

    def full_box(self) -> tuple[int, int]:
        """Return ``(version, flags)``: u8 version, u24be flags (§4.2 FullBox)."""
        return self.uint(1), self.uint(3)

    def cstring(self) -> bytes:
        """Return a NUL-terminated string (without the NUL); a missing final NUL is tolerated."""
        nul = self.data.find(b"\x00", self.pos)
        if nul < 0:
            out = self.data[self.pos :]
            self.pos = len(self.data)
            return out
        out = self.data[self.pos : nul]
        self.pos = nul + 1
        return out


def _uint(value: int, nbytes: int, what: str) -> bytes:
    if value < 0 or value >= 1 << (8 * nbytes):
        msg = f"{what} {value} does not fit {nbytes} bytes"
        raise CorruptFileError(msg)
    return value.to_bytes(nbytes, "big")


def parse_pitm(payload: bytes, name: str | None = None) -> int:
    """Primary item (§8.11.4): FullBox; item_ID u16 (version 0) or u32."""
    cur = Cursor(payload, "pitm box", name)
    version, _ = cur.full_box()
    return cur.uint(2 if version == 0 else 4)


# --- iloc (§8.11.3) ------------------------------------------------------------------------
#   FullBox(version 0/1/2); u4 offset_size, u4 length_size, u4 base_offset_size,
#   u4 index_size (v1/v2; reserved in v0); item_count u16 (v0/v1) or u32 (v2); per item:
#   item_ID u16 (v0/v1) or u32 (v2); [v1/v2: u12 reserved, u4 construction_method];
#   u16 data_reference_index; base_offset (base_offset_size bytes); u16 extent_count; per extent:
#   [v1/v2 with index_size > 0: extent_index], extent_offset, extent_length.
#   Sizes are 0, 4 or 8 bytes. construction_method 0 = file offset, 1 = idat offset,
#   2 = item offset. extent_length 0 = to the end of the referenced data.


@dataclass(slots=True)
class Extent:
    """One extent: ``offset``/``length`` relative to the item's base; ``index`` in v1/v2."""

    offset: int
    length: int
    index: int = 0


@dataclass(slots=True)
class ItemLocation:
    """One iloc entry."""

    item_id: int
    construction_method: int = 0
    data_reference_index: int = 0
    base_offset: int = 0
    extents: list[Extent] = field(default_factory=list)


@dataclass(slots=True)
class ItemLocationBox:
    """A parsed iloc box; :func:`encode_iloc` writes it back."""

    version: int
    flags: int
    offset_size: int
    length_size: int
    base_offset_size: int
    index_size: int
    items: list[ItemLocation]


_SIZES = (0, 4, 8)


def parse_iloc(payload: bytes, name: str | None = None, max_items: int = 1_000_000) -> (
    ItemLocationBox
):
    """Parse an iloc payload (after the box header).

    Raises:
        CorruptFileError: truncated, or a version/size this module does not know.
        LimitExceededError: more items or extents than ``max_items``.
    """
    cur = Cursor(payload, "iloc box", name)
    version, flags = cur.full_box()
    if version > 2:
        msg = f"iloc version {version} is not defined"
        raise CorruptFileError(msg, path=name)
    b1, b2 = cur.uint(1), cur.uint(1)
    offset_size, length_size, base_size = b1 >> 4, b1 & 15, b2 >> 4
    index_size = b2 & 15 if version else 0
    if not {offset_size, length_size, base_size, index_size} <= set(_SIZES):
        msg = f"iloc field sizes {offset_size}/{length_size}/{base_size}/{index_size} invalid"
        raise CorruptFileError(msg, path=name)
    id_size = 4 if version == 2 else 2
    count = cur.uint(id_size)
    items: list[ItemLocation] = []
    total = 0
    for _ in range(count):
        item = ItemLocation(cur.uint(id_size))
        if version:
            item.construction_method = cur.uint(2) & 15
        item.data_reference_index = cur.uint(2)
        item.base_offset = cur.uint(base_size)
        n = cur.uint(2)
        total += n + 1
        if total > max_items:
            msg = f"iloc has more than {max_items} items and extents"
            raise LimitExceededError(msg, path=name)
        for _ in range(n):
            index = cur.uint(index_size) if version and index_size else 0
            item.extents.append(Extent(cur.uint(offset_size), cur.uint(length_size), index))
        items.append(item)
    return ItemLocationBox(version, flags, offset_size, length_size, base_size, index_size, items)


def _size_for(values: list[int], current: int) -> int:
    need = max(values, default=0)
    if need >= 1 << 32:
        return 8
    if need and current == 0:
        return 4
    return current


def fit_iloc(box: ItemLocationBox) -> ItemLocationBox:
    """Return ``box`` with field sizes widened and the version raised just enough for its values.

    Sizes only grow (0 -> 4 -> 8); the version goes to 1 when a construction method is not 0
    and to 2 when an item ID or the item count exceeds 16 bits.
    """
    items = box.items
    version = box.version
    if any(i.construction_method for i in items) and version == 0:
        version = 1
    if len(items) > 0xFFFF or any(i.item_id > 0xFFFF for i in items):
        version = 2
    exts = [e for i in items for e in i.extents]
    return replace(
        box,
        version=version,
        offset_size=_size_for([e.offset for e in exts], box.offset_size),
        length_size=_size_for([e.length for e in exts], box.length_size),
        base_offset_size=_size_for([i.base_offset for i in items], box.base_offset_size),
        index_size=_size_for([e.index for e in exts], box.index_size) if version else 0,
    )


def encode_iloc(box: ItemLocationBox) -> bytes:
    """Encode a whole iloc box (header included); call :func:`fit_iloc` first.

    Raises:
        CorruptFileError: a value does not fit its field.
    """
    v = box.version
    id_size = 4 if v == 2 else 2
    out = [
        bytes((v,)), _uint(box.flags, 3, "iloc flags"),
        bytes((box.offset_size << 4 | box.length_size,
               box.base_offset_size << 4 | (box.index_size if v else 0))),
        _uint(len(box.items), id_size, "iloc item count"),
    ]
    for item in box.items:
        out.append(_uint(item.item_id, id_size, "item ID"))
        if v:
            out.append(_uint(item.construction_method, 2, "construction method"))
        out.append(_uint(item.data_reference_index, 2, "data reference index"))
        out.append(_uint(item.base_offset, box.base_offset_size, "base offset"))
        out.append(_uint(len(item.extents), 2, "extent count"))
        for ext in item.extents:
            if v and box.index_size:
                out.append(_uint(ext.index, box.index_size, "extent index"))
            out.append(_uint(ext.offset, box.offset_size, "extent offset"))
            out.append(_uint(ext.length, box.length_size, "extent length"))
    payload = b"".join(out)
    return box_header(b"iloc", len(payload)) + payload


# --- iinf / infe (§8.11.6) -----------------------------------------------------------------
#   iinf: FullBox; entry_count u16 (version 0) or u32; then entry_count 'infe' boxes.
#   infe v0/v1: u16 item_ID, u16 item_protection_index, string item_name, string content_type,
#       [string content_encoding] (v1 adds an extension).
#   infe v2/v3: item_ID u16 (v2) or u32 (v3), u16 item_protection_index, 4CC item_type,
#       string item_name; item_type 'mime': string content_type, [string content_encoding];
#       item_type 'uri ': string item_uri_type. Strings are UTF-8, NUL-terminated.


@dataclass(frozen=True, slots=True)
class ItemInfoEntry:
    """A parsed infe box; ``raw`` keeps its original bytes for a verbatim rewrite."""

    version: int
    flags: int
    item_id: int
    protection_index: int
    item_type: bytes  # b"" for infe versions 0 and 1
    name: bytes
    content_type: bytes = b""
    raw: bytes = b""


def parse_infe(box_bytes: bytes, name: str | None = None) -> ItemInfoEntry:
    """Parse a whole infe box (header included, 32-bit size)."""
    cur = Cursor(box_bytes, "infe box", name)
    cur.take(8)
    version, flags = cur.full_box()
    if version < 2:
        item_id, prot = cur.uint(2), cur.uint(2)
        item_name = cur.cstring()
        return ItemInfoEntry(version, flags, item_id, prot, b"", item_name, cur.cstring(),
                             box_bytes)
    item_id = cur.uint(2 if version == 2 else 4)
    prot = cur.uint(2)
    item_type = cur.take(4)
    item_name = cur.cstring()
    content_type = cur.cstring() if item_type == b"mime" else b""
    return ItemInfoEntry(version, flags, item_id, prot, item_type, item_name, content_type,
                         box_bytes)


def encode_infe(entry: ItemInfoEntry) -> bytes:
    """Encode a version 2 or 3 infe box (version 3 when the ID needs 32 bits)."""
    version = 3 if entry.item_id > 0xFFFF else 2
    payload = (
        bytes((version,)) + _uint(entry.flags, 3, "infe flags")
        + _uint(entry.item_id, 2 if version == 2 else 4, "item ID")
        + _uint(entry.protection_index, 2, "protection index") + entry.item_type
        + entry.name + b"\x00"
    )
    if entry.item_type == b"mime":
        payload += entry.content_type + b"\x00"
    return box_header(b"infe", len(payload)) + payload


def parse_iinf(
    reader: Reader, box: Box, budget: Budget | None = None
) -> tuple[int, int, list[ItemInfoEntry]]:
    """Parse an iinf box: ``(version, flags, entries)``; entries in box order."""
    head = Cursor(reader.read_at(box.payload_offset, min(box.payload_size, 8)), "iinf box",
                  reader.name)
    version, flags = head.full_box()
    head.uint(2 if version == 0 else 4)  # entry_count: the boxes themselves are authoritative
    start = box.payload_offset + head.pos
    entries = [
        parse_infe(reader.read_at(child.offset, child.size), reader.name)
        for child in iter_boxes(reader, start, box.end, budget, nested=True)
        if child.type == b"infe"
    ]
    return version, flags, entries


# --- iref (§8.11.12) -----------------------------------------------------------------------
#   FullBox; children SingleItemTypeReferenceBox: u32 size, 4CC reference type,
#   from_item_ID, u16 reference_count, reference_count x to_item_ID; IDs are u16 in version 0
#   and u32 in version 1.


@dataclass(frozen=True, slots=True)
class ItemReference:
    """One typed reference, e.g. ``cdsc`` from a metadata item to the image it describes."""

    type: bytes
    from_id: int
    to_ids: tuple[int, ...]


def parse_iref(
    reader: Reader, box: Box, budget: Budget | None = None
) -> tuple[int, int, list[ItemReference]]:
    """Parse an iref box: ``(version, flags, references)``."""
    version, flags = Cursor(reader.read_at(box.payload_offset, 4), "iref box",
                            reader.name).full_box()
    size = 2 if version == 0 else 4
    refs: list[ItemReference] = []
    for child in iter_boxes(reader, box.payload_offset + 4, box.end, budget, nested=True):
        cur = Cursor(reader.read_at(child.payload_offset, child.payload_size), "iref entry",
                     reader.name)
        from_id = cur.uint(size)
        count = cur.uint(2)
        refs.append(ItemReference(child.type, from_id, tuple(cur.uint(size) for _ in range(count))))
    return version, flags, refs


def encode_iref(version: int, flags: int, refs: list[ItemReference]) -> bytes:
    """Encode a whole iref box; version 1 (u32 IDs) when an ID needs it."""
    if any(r.from_id > 0xFFFF or max(r.to_ids, default=0) > 0xFFFF for r in refs):
        version = 1
    size = 2 if version == 0 else 4
    body = b"".join(encode_reference(r, size) for r in refs)
    payload = bytes((version,)) + _uint(flags, 3, "iref flags") + body
    return box_header(b"iref", len(payload)) + payload


def encode_reference(ref: ItemReference, id_size: int) -> bytes:
    """Encode one SingleItemTypeReferenceBox with ``id_size``-byte item IDs."""
    payload = _uint(ref.from_id, id_size, "item ID") + _uint(len(ref.to_ids), 2, "reference count")
    payload += b"".join(_uint(i, id_size, "item ID") for i in ref.to_ids)
    return box_header(ref.type, len(payload)) + payload
