"""QuickTime / iTunes metadata inside an MP4 ``meta`` box: ``hdlr``, ``keys``, ``ilst``, ``data``.

Specs: Apple *QuickTime File Format Specification*, chapter "Metadata" (metadata atoms ``meta``,
``hdlr``, ``keys``, ``ilst``, ``data``; well-known data types), and its "User Data Atoms" section
(``udta`` text atoms ``©xxx``); ISO/IEC 14496-12 §8.11.1 (``meta`` is a FullBox in ISO files,
a plain box in QuickTime ones), §8.4.3 (``hdlr``), §8.10.1 (``udta``). Used by
:mod:`aiglabel.codecs.mp4`.

Also the in-memory ``moov`` tree the writer edits (:class:`Node`, :func:`tree`,
:func:`encode`): unchanged boxes are copied verbatim, containers with edited descendants are
re-encoded with :func:`rebuild`.

Layouts (all integers big-endian; every box is ``u32 size, 4CC type``, see :mod:`._isobmff`)::

    meta   [u8 version, u24 flags]   ISO form only (moov/udta/meta as ffmpeg writes it); the
                                     QuickTime form (moov/meta, Apple) starts with children
           children: hdlr, keys, ilst, free ...
    hdlr   u8 version, u24 flags, u32 pre_defined, 4CC handler_type, 3 x u32 reserved, name
           handler 'mdta': keyed QuickTime metadata; 'mdir': iTunes item list (no keys box)
    keys   u8 version, u24 flags, u32 entry_count, then per entry:
           u32 key_size (the whole entry), 4CC key_namespace ('mdta'), key_value (UTF-8, no NUL)
    ilst   item boxes. With a keys box the item box type is the u32 1-based key index; without
           one (iTunes) it is a 4CC ('©nam', '©too', ...) or '----' (freeform: 'mean' and 'name'
           FullBoxes holding UTF-8 text, e.g. 'com.apple.iTunes' / 'AIGC', then 'data')
    data   u32 type indicator (u8 type set = 0, u24 well-known type: 0 binary, 1 UTF-8,
           2 UTF-16BE, 4/5 sort variants, 13/14 JPEG/PNG, 21/22 integers ...),
           u32 locale (u16 country, u16 language; 0 = default), then the value

    udta text atom ('©nam', '©too' ... directly in udta, QuickTime): repeated
           u16 text_size, u16 language code, text (or, iTunes style, a 'data' box)

The GB label (TC260-PG-20257A, rules §C.2) is the key ``AIGC`` in namespace ``mdta`` whose
``ilst`` item holds one ``data`` box of type 1 with the bare Annex E JSON (carrier
``mp4:mdta:AIGC``). Keyless item lists may hold it as an ``AIGC`` item, an iTunes freeform
``----`` item named ``AIGC`` or any text item whose value is a label (``mp4:ilst:AIGC``,
``mp4:ilst:----:AIGC``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiglabel.codecs._isobmff import Box, Budget, box_header, iter_boxes
from aiglabel.codecs._meta import decode_text
from aiglabel.codecs.base import FoundLabel
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.gb45438 import MAX_LABEL_BYTES, parse_label
from aiglabel.model import Finding, Severity

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from aiglabel._io import Limits
    from aiglabel.codecs._isobmff import Buffer, Reader
    from aiglabel.codecs._meta import Collector

__all__ = [
    "AIGC",
    "TREE",
    "Item",
    "MetaInfo",
    "Node",
    "check_depth",
    "collect_items",
    "collect_udta_text",
    "edit_meta",
    "encode",
    "find_labels",
    "make_box",
    "meta_start",
    "new_meta",
    "parse_meta",
    "rebuild",
    "tree",
]

AIGC = b"AIGC"
MDTA, MDIR = b"mdta", b"mdir"
FREEFORM = b"----"
TYPE_UTF8 = 1  # QuickTime well-known data type 1: UTF-8 without a count or NUL
_TEXT_TYPES = {0: "utf-8", 1: "utf-8", 2: "utf-16-be", 4: "utf-8", 5: "utf-16-be"}
_META_CHILDREN = frozenset({b"hdlr", b"keys", b"ilst"})


def make_box(box_type: bytes, payload: bytes) -> bytes:
    """A whole box: header (largesize only when needed) and ``payload``."""
    return box_header(box_type, len(payload)) + payload


def meta_start(reader: Reader, box: Box) -> int:
    """Offset of the first child of a ``meta`` box: QuickTime form (no FullBox header, first
    child ``hdlr``/``keys``/``ilst`` right at the payload) or ISO form (4 bytes later)."""
    if box.payload_size >= 8:
        if reader.read_at(box.payload_offset + 4, 4) in _META_CHILDREN:
            return box.payload_offset
    if box.payload_size < 4:
        msg = f"meta box at byte {box.offset} is too short"
        raise CorruptFileError(msg, path=reader.name)
    return box.payload_offset + 4


@dataclass(frozen=True, slots=True)
class Key:
    """One ``keys`` entry; ``raw`` is the whole entry (size, namespace, name)."""

    namespace: bytes
    name: bytes
    raw: bytes


@dataclass(slots=True)
class MetaInfo:
    """A parsed ``meta`` box: its form, handler, children and (when present) keys."""

    box: Box
    start: int  # offset of the first child
    handler: bytes | None
    children: list[Box]
    keys_box: Box | None = None
    keys: tuple[Key, ...] = ()
    keys_end: int = 0  # end of the last counted keys entry
    ilst: Box | None = None

    @property
    def keyed(self) -> bool:
        """True when item types are key indices (a ``keys`` box is present)."""
        return self.keys_box is not None


def _parse_keys(reader: Reader, box: Box, max_bytes: int) -> tuple[tuple[Key, ...], int]:
    if box.payload_size > max_bytes:
        msg = f"keys box of {box.payload_size} bytes exceeds the {max_bytes}-byte limit"
        raise LimitExceededError(msg, path=reader.name)
    data = reader.read_at(box.payload_offset, box.payload_size)
    if len(data) < 8:
        msg = f"keys box at byte {box.offset} is truncated"
        raise CorruptFileError(msg, path=reader.name)
    count = struct.unpack(">I", data[4:8])[0]
    pos, keys = 8, []
    for _ in range(count):
        if pos + 8 > len(data):
            msg = f"keys box at byte {box.offset} holds fewer entries than its count {count}"
            raise CorruptFileError(msg, path=reader.name)
        size = struct.unpack(">I", data[pos : pos + 4])[0]
        if size < 8 or pos + size > len(data):
            msg = f"keys entry at byte {box.payload_offset + pos} has size {size}"
            raise CorruptFileError(msg, path=reader.name)
        entry = data[pos : pos + size]
        keys.append(Key(entry[4:8], entry[8:], entry))
        pos += size
    return tuple(keys), box.payload_offset + pos


def parse_meta(
    reader: Reader, box: Box, budget: Budget | None = None, max_bytes: int = 16 << 20
) -> MetaInfo:
    """Parse a ``meta`` box's children, handler and ``keys`` (item values are read lazily).

    ``max_bytes`` bounds the ``keys`` table read into memory (``Limits.max_metadata``).

    Raises:
        CorruptFileError: a child box or the keys table is damaged.
        LimitExceededError: more boxes than the budget allows.
    """
    start = meta_start(reader, box)
    children = list(iter_boxes(reader, start, box.end, budget, nested=True))
    info = MetaInfo(box, start, None, children)
    for child in children:
        if child.type == b"hdlr" and info.handler is None and child.payload_size >= 12:
            info.handler = reader.read_at(child.payload_offset + 8, 4)
        elif child.type == b"keys" and info.keys_box is None:
            info.keys_box = child
            info.keys, info.keys_end = _parse_keys(reader, child, max_bytes)
        elif child.type == b"ilst" and info.ilst is None:
            info.ilst = child
    return info


@dataclass(frozen=True, slots=True)
class Item:
    """One ``ilst`` item: its box, key index (keyed lists) and display name.

    ``name`` is the key name (keyed), the 4CC, or ``----:mean:name`` (freeform); ``None`` for
    an index no key entry covers.
    """

    box: Box
    index: int | None
    name: bytes | None
    freeform_name: bytes | None = None


def _freeform(reader: Reader, box: Box, budget: Budget | None) -> tuple[bytes, bytes]:
    mean = name = b""
    for child in iter_boxes(reader, box.payload_offset, box.end, budget, nested=True):
        if child.type in (b"mean", b"name") and 4 <= child.payload_size <= 1024:
            text = reader.read_at(child.payload_offset + 4, child.payload_size - 4)
            if child.type == b"mean":
                mean = text
            else:
                name = text
    return mean, name


def items(reader: Reader, info: MetaInfo, budget: Budget | None = None) -> list[Item]:
    """The ``ilst`` items in file order with their names resolved."""
    if info.ilst is None:
        return []
    out: list[Item] = []
    for box in iter_boxes(reader, info.ilst.payload_offset, info.ilst.end, budget, nested=True):
        if info.keyed:
            index = int.from_bytes(box.type, "big")
            key = info.keys[index - 1].name if 1 <= index <= len(info.keys) else None
            out.append(Item(box, index, key))
        elif box.type == FREEFORM:
            mean, name = _freeform(reader, box, budget)
            out.append(Item(box, None, b"----:" + mean + b":" + name, name))
        else:
            out.append(Item(box, None, box.type))
    return out


def _data(reader: Reader, item: Box, budget: Budget | None) -> Box | None:
    for child in iter_boxes(reader, item.payload_offset, item.end, budget, nested=True):
        if child.type == b"data" and child.payload_size >= 8:
            return child
    return None


def item_value(
    reader: Reader, item: Box, limit: int, budget: Budget | None = None, *, text: bool = False
) -> tuple[int, bytes] | None:
    """``(well-known type, first limit bytes of the value)`` of the item's first ``data`` box
    (type -1 for a type set other than 0). With ``text``, values of non-text types (cover art,
    integers) are not read and come back empty."""
    data = _data(reader, item, budget)
    if data is None:
        return None
    head = reader.read_at(data.payload_offset, 8)
    type_set, well_known = head[0], int.from_bytes(head[1:4], "big")
    kind = well_known if type_set == 0 else -1
    if text and kind not in _TEXT_TYPES:
        return kind, b""
    n = min(data.payload_size - 8, limit)
    return kind, reader.read_at(data.payload_offset + 8, n)


def carrier(kind: str) -> str:
    """Carrier id of a label kind: ``mp4:mdta:AIGC``, ``mp4:ilst:AIGC``, ``mp4:ilst:----:AIGC``."""
    return f"mp4:{kind}"


def _label_kind(reader: Reader, info: MetaInfo, item: Item, budget: Budget | None) -> str | None:
    """``"mdta:AIGC"``, ``"ilst:AIGC"``, ``"ilst:----:AIGC"`` or ``None`` (not a label)."""
    if info.keyed:
        return "mdta:AIGC" if item.name == AIGC else None
    if item.box.type == AIGC:
        return "ilst:AIGC"
    if item.freeform_name is not None:
        return "ilst:----:AIGC" if item.freeform_name == AIGC else None
    # Keyless item lists (Doubao, rules §H 10): any text item whose value is a GB label.
    value = item_value(reader, item.box, MAX_LABEL_BYTES, budget, text=True)
    if value is None or value[0] not in (0, TYPE_UTF8):
        return None
    text = value[1].lstrip(b" \t\r\n")
    if not (text.startswith((b"{", b"AIGC{")) and parse_label(value[1]).record is not None):
        return None
    return "ilst:AIGC"


def find_labels(
    reader: Reader, info: MetaInfo, loc: str, budget: Budget | None = None
) -> list[FoundLabel]:
    """Every AIGC label in one ``meta`` box (keyed ``AIGC`` key, iTunes items), file order.

    ``loc`` is where the box sits: ``udta/meta`` or ``meta`` (directly in ``moov``); a keyed
    label in ``moov/meta`` (Apple's placement) gets an INFO finding naming the guide's place.
    """
    out: list[FoundLabel] = []
    for item in items(reader, info, budget):
        kind = _label_kind(reader, info, item, budget)
        if kind is None:
            continue
        # One byte over the limit, so parse_label reports an oversized value (G7).
        value = item_value(reader, item.box, MAX_LABEL_BYTES + 1, budget)
        text = value[1] if value is not None else b""
        found = FoundLabel.from_text(carrier(kind), text, offset=item.box.offset)
        if loc == "meta" and info.keyed:
            note = Finding("G3.carrier", Severity.INFO, "AIGC key in the moov/meta key table "
                           "(QuickTime placement); the guide names moov/udta/meta", found.carrier)
            found = FoundLabel(found.carrier, found.form, found.record, found.raw,
                               (*found.findings, note), found.offset)
        out.append(found)
    return out


def _decode(kind: int, raw: bytes) -> str | None:
    codec = _TEXT_TYPES.get(kind)
    if codec is None:
        return None
    if codec == "utf-8":
        return decode_text(raw)
    return raw.decode(codec, errors="replace").rstrip("\x00")


def collect_items(
    reader: Reader, info: MetaInfo, out: Collector, budget: Budget | None = None
) -> None:
    """Add the text items of one ``meta`` box to ``out`` (carrier ``mp4:mdta`` with the key
    name, or ``mp4:ilst`` with the 4CC / ``----:mean:name``)."""
    where = carrier("mdta" if info.keyed else "ilst")
    for item in items(reader, info, budget):
        if out.full:
            return
        if item.name is None:
            continue
        value = item_value(reader, item.box, out.want(1 << 62), budget, text=True)
        text = _decode(*value) if value is not None else None
        if text:
            out.add(where, _item_key(info, item), text, item.box.offset)


def _item_key(info: MetaInfo, item: Item) -> str:
    """Display name: key name (UTF-8), ``----:mean:name`` (UTF-8) or the 4CC (Mac Roman's
    ``©`` is Latin-1 0xA9); a non-printable item type as ``0x`` + hex."""
    name = item.name or b""
    if info.keyed or item.freeform_name is not None:
        return name.decode("utf-8", errors="replace")
    if all(0x20 <= b < 0x7F or b == 0xA9 for b in name):
        return name.decode("latin-1")
    return "0x" + name.hex()


def collect_udta_text(reader: Reader, box: Box, out: Collector) -> None:
    """Add a QuickTime ``udta`` text atom (``©nam``, ``©too`` ...) to ``out`` (``mp4:udta``)."""
    n = out.want(box.payload_size)
    payload = reader.read_at(box.payload_offset, n)
    key = box.type.decode("latin-1")
    if payload[4:8] == b"data":  # iTunes-style data box inside a udta atom
        kind = int.from_bytes(payload[9:12], "big") if payload[8] == 0 else -1
        text = _decode(kind, payload[16:])
        if text:
            out.add("mp4:udta", key, text, box.offset)
        return
    pos = 0
    while pos + 4 <= len(payload):
        size = struct.unpack(">H", payload[pos : pos + 2])[0]
        text = decode_text(payload[pos + 4 : pos + 4 + size])
        if text:
            out.add("mp4:udta", key, text, box.offset)
        pos += 4 + size


# --- building and editing ----------------------------------------------------------------------


def item_box(index: int, label_json: str) -> bytes:
    """An ``ilst`` item for key ``index``: one ``data`` box, type 1 (UTF-8), locale 0."""
    data = make_box(b"data", struct.pack(">II", TYPE_UTF8, 0) + label_json.encode("utf-8"))
    return make_box(index.to_bytes(4, "big"), data)


def _key_entry(name: bytes) -> bytes:
    return struct.pack(">I", 8 + len(name)) + MDTA + name


def new_meta(label_json: str) -> bytes:
    """A new ISO-form ``meta`` box (as ffmpeg's ``-movflags use_metadata_tags`` writes it):
    ``hdlr`` ``mdta`` with an empty name, ``keys`` with ``mdta``/``AIGC``, ``ilst`` item 1."""
    hdlr = make_box(b"hdlr", bytes(8) + MDTA + bytes(12) + b"\x00")
    keys = make_box(b"keys", bytes(4) + struct.pack(">I", 1) + _key_entry(AIGC))
    ilst = make_box(b"ilst", item_box(1, label_json))
    return make_box(b"meta", bytes(4) + hdlr + keys + ilst)


def rebuild(
    reader: Reader,
    box: Box,
    start: int,
    children: list[Box],
    replace: Mapping[int, bytes],
    after: Mapping[int, bytes] | None = None,
    append: bytes = b"",
) -> bytes:
    """Re-encode a container box with some children replaced.

    Args:
        reader: holds the original bytes.
        box: the container; its header keeps the largesize form when it had one.
        start: offset of the first child (bytes from the payload start up to it, such as a
            FullBox version and flags, are kept).
        children: the container's child boxes.
        replace: child offset -> new bytes (``b""`` drops the child).
        after: child offset -> bytes inserted right after that child.
        append: bytes added after the last child (before any trailing padding).

    Bytes between and after the children (QuickTime zero terminators) are kept as they are.
    """
    after = after or {}
    parts = [reader.read_at(box.payload_offset, start - box.payload_offset)]
    pos = start
    for child in children:
        parts.append(reader.read_at(pos, child.offset - pos))
        new = replace.get(child.offset)
        parts.append(reader.read_at(child.offset, child.size) if new is None else new)
        parts.append(after.get(child.offset, b""))
        pos = child.end
    parts.append(append)
    parts.append(reader.read_at(pos, box.end - pos))
    payload = b"".join(parts)
    return box_header(box.type, len(payload), large=box.large, usertype=box.usertype) + payload


def _retyped(reader: Reader, box: Box, index: int) -> bytes:
    """An item box with its type set to ``index`` (key renumbering), otherwise unchanged."""
    raw = reader.read_at(box.offset, box.size)
    return raw[:4] + index.to_bytes(4, "big") + raw[8:]


def edit_meta(
    reader: Reader, info: MetaInfo, label_json: str | None, budget: Budget | None = None
) -> tuple[bytes | None, list[str]]:
    """Remove AIGC labels from a ``meta`` box and, with ``label_json``, write the one label.

    With ``label_json`` the box must be keyed: an existing ``AIGC`` key keeps its index and its
    item is replaced (or added); otherwise the key is appended (index = count + 1) with a new
    item at the end of ``ilst``. Further ``AIGC`` keys are removed and the items after them
    renumbered (GB 6.1 c); an item of an index no key covers that would collide with the
    appended key is dropped. Every other entry, item and child keeps its bytes.

    Returns:
        ``(new meta box bytes or None when nothing changed, carriers whose label was removed)``.
    """
    all_items = items(reader, info, budget)
    removed: list[str] = []
    replace: dict[int, bytes] = {}
    if not info.keyed:
        if label_json is not None:
            msg = "internal: a label is written only into a keyed (mdta) meta box"
            raise ValueError(msg)
        for item in all_items:
            kind = _label_kind(reader, info, item, budget)
            if kind is not None:
                replace[item.box.offset] = b""
                removed.append(carrier(kind))
        if not replace or info.ilst is None:
            return None, removed
        ilst = rebuild(reader, info.ilst, info.ilst.payload_offset, [i.box for i in all_items],
                       replace)
        return rebuild(reader, info.box, info.start, info.children,
                       {info.ilst.offset: ilst}), removed
    return _edit_keyed(reader, info, label_json, all_items, removed)


def _edit_keyed(
    reader: Reader, info: MetaInfo, label_json: str | None, all_items: list[Item],
    removed: list[str],
) -> tuple[bytes | None, list[str]]:
    assert info.keys_box is not None
    aigc = [i + 1 for i, k in enumerate(info.keys) if k.name == AIGC]
    keep = aigc[0] if label_json is not None and aigc else None
    drop = set(aigc) - {keep}
    n_keys = len(info.keys) - len(drop)
    new_index = None if label_json is None else keep if keep is not None else n_keys + 1
    if label_json is None and not drop:
        return None, removed

    def renumber(index: int) -> int:
        return index - sum(1 for d in drop if d < index) if 1 <= index <= len(info.keys) else index

    replace: dict[int, bytes] = {}
    placed = False
    for item in all_items:
        index = item.index or 0
        if index in drop or (index == keep and placed):
            replace[item.box.offset] = b""
            removed.append(carrier("mdta:AIGC"))
        elif index == keep and label_json is not None:
            replace[item.box.offset] = item_box(renumber(index), label_json)
            placed = True
        elif new_index is not None and keep is None and index == new_index and index > len(
                info.keys):
            replace[item.box.offset] = b""  # an orphan item the new key would adopt
        elif renumber(index) != index:
            replace[item.box.offset] = _retyped(reader, item.box, renumber(index))
    new_item = b""
    if label_json is not None and not placed:
        assert new_index is not None
        new_item = item_box(renumber(new_index) if keep is not None else new_index, label_json)
    # keys: version/flags, new count, kept entries verbatim, the new one, trailing bytes.
    kb = info.keys_box
    entries = [k.raw for i, k in enumerate(info.keys, 1) if i not in drop]
    if label_json is not None and keep is None:
        entries.append(_key_entry(AIGC))
    keys_payload = (reader.read_at(kb.payload_offset, 4) + struct.pack(">I", len(entries))
                    + b"".join(entries) + reader.read_at(info.keys_end, kb.end - info.keys_end))
    meta_replace = {kb.offset: box_header(b"keys", len(keys_payload), large=kb.large)
                    + keys_payload}
    meta_after: dict[int, bytes] = {}
    if info.ilst is not None:
        meta_replace[info.ilst.offset] = rebuild(
            reader, info.ilst, info.ilst.payload_offset, [i.box for i in all_items], replace,
            append=new_item)
    elif new_item:
        meta_after[kb.offset] = make_box(b"ilst", new_item)
    return rebuild(reader, info.box, info.start, info.children, meta_replace, meta_after), removed


# --- the moov box tree (writes) -----------------------------------------------------------------

# Containers walked when rewriting moov (children are plain box sequences; meta is peeked).
TREE = frozenset({b"moov", b"trak", b"edts", b"mdia", b"minf", b"dinf", b"stbl", b"mvex",
                  b"udta", b"meta"})


def check_depth(depth: int, limits: Limits, name: str | None) -> None:
    """Refuse to descend to nesting level ``depth`` (LimitExceededError)."""
    if depth >= limits.max_depth:
        msg = f"boxes nested deeper than {limits.max_depth}"
        raise LimitExceededError(msg, path=name)


@dataclass(eq=False, slots=True)
class Node:
    """A box of ``moov`` with its children (containers only) and pending edits."""

    box: Box
    parent: Node | None
    start: int | None = None  # first child offset; None for a leaf
    children: list[Node] = field(default_factory=list)
    new: bytes | None = None  # replacement bytes for the whole box
    appended: list[bytes] = field(default_factory=list)

    def walk(self) -> Iterator[Node]:
        """This node and its descendants, depth-first in file order."""
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def dirty(self) -> bool:
        """True when this box or a descendant has a pending edit."""
        return self.new is not None or bool(self.appended) or any(c.dirty for c in self.children)


def tree(buf: Buffer, box: Box, limits: Limits, budget: Budget, parent: Node | None = None,
         depth: int = 0) -> Node:
    """Parse ``box`` (in memory) into a :class:`Node` tree, descending into :data:`TREE`.

    Raises:
        LimitExceededError: nested deeper than ``limits.max_depth`` or too many boxes.
        CorruptFileError: a box overruns its container.
    """
    node = Node(box, parent)
    if box.type in TREE:
        check_depth(depth, limits, buf.name)
        node.start = meta_start(buf, box) if box.type == b"meta" else box.payload_offset
        node.children = [tree(buf, c, limits, budget, node, depth + 1)
                         for c in iter_boxes(buf, node.start, box.end, budget, nested=True)]
    return node


def encode(buf: Buffer, node: Node) -> bytes:
    """The bytes of ``node`` with its pending edits (unchanged boxes are copied verbatim)."""
    if node.new is not None:
        return node.new
    if node.start is None or not node.dirty:
        return buf.read_at(node.box.offset, node.box.size)
    replace = {c.box.offset: encode(buf, c) for c in node.children if c.dirty}
    return rebuild(buf, node.box, node.start, [c.box for c in node.children], replace,
                   append=b"".join(node.appended))
