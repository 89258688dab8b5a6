"""EBML (Extensible Binary Meta Language) reading and building, for the Matroska/WebM codec.

Spec: RFC 8794 (EBML) https://www.rfc-editor.org/rfc/rfc8794 ; RFC 9559 (Matroska)
https://www.rfc-editor.org/rfc/rfc9559 for the element ids used by :mod:`.mkv`.
Layout (all integers big-endian)::

    element   Element ID (VINT, 1-4 bytes, marker bits kept: 0x1A45DFA3 is read as is),
              Element Data Size (VINT, 1-8 bytes, marker bit masked off),
              Element Data (size bytes; for a master element, child elements)
    VINT      the number of leading zero bits of the first byte + 1 is its length in bytes;
              the length marker bit is followed by the value bits (RFC 8794 §4)
    unknown   a data size with every value bit set (``0xFF``, ``0x7FFF``, ...) means "unknown":
              the element ends where an element that cannot be its child starts (§6.2); only
              masters declared ``unknownsizeallowed`` (Matroska: Segment, Cluster) may use it
    Void      id ``0xEC``: padding, any content, any master (§11.3.2)
    CRC-32    id ``0xBF``: 4 bytes, the little-endian ISO 3309 CRC-32 (``zlib.crc32``) of the
              rest of its parent's data; it must be the parent's first child (§11.3.1)

Sizes may be written wider than needed (``0x40 0x05`` is the size 5 in two bytes); a writer
that must fill an exact number of bytes uses that, or a Void element (at least 2 bytes).

Reads go through :class:`~aiglabel._io.Source`: :func:`read_header` reads one element header
(at most 12 bytes), :func:`iter_children` walks a master's children by headers only and seeks
over payloads, and :func:`parse_children` splits a master payload already in memory. Every
header walked counts against ``Limits.max_items`` (:class:`Budget`) and nesting is bounded by
``Limits.max_depth``.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel.errors import CorruptFileError, LimitExceededError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from aiglabel._io import EditPlan, Source

__all__ = [
    "CRC32",
    "EBML",
    "VOID",
    "Budget",
    "Element",
    "Siblings",
    "crc_element",
    "crc_mismatch",
    "element",
    "encode_id",
    "encode_size",
    "fill",
    "iter_children",
    "leaves",
    "master",
    "parse_children",
    "read_header",
    "read_string",
    "read_uint",
    "uint_bytes",
    "void",
    "void_header",
]

EBML = 0x1A45DFA3  # RFC 8794 §11.2.1: the EBML header
VOID = 0xEC  # §11.3.2
CRC32 = 0xBF  # §11.3.1
MAX_ID_LENGTH = 4  # §11.2.4 EBMLMaxIDLength default (Matroska uses 4)
MAX_SIZE_LENGTH = 8  # §11.2.5 EBMLMaxSizeLength default
MAX_HEADER = MAX_ID_LENGTH + MAX_SIZE_LENGTH


@dataclass(frozen=True, slots=True)
class Element:
    """One element header.

    Attributes:
        id: the element id with its marker bits (``0x18538067`` for Segment).
        offset: offset of the id (in the file, or in the buffer it was parsed from).
        header_size: bytes of id + size field.
        size: data size; for an unknown-size element, the size found by the caller (or what
            is left of its parent) with ``unknown`` set.
        unknown: the size field was the reserved "unknown" value.
        size_width: bytes of the size field.
    """

    id: int
    offset: int
    header_size: int
    size: int
    unknown: bool = False
    size_width: int = 1

    @property
    def data_offset(self) -> int:
        return self.offset + self.header_size

    @property
    def end(self) -> int:
        return self.data_offset + self.size

    @property
    def span(self) -> int:
        """Bytes of the whole element (header and data)."""
        return self.header_size + self.size


@dataclass(slots=True)
class Budget:
    """Shared budget of one walk: elements counted across levels and files' nesting depth.

    Attributes:
        max_items: most element headers walked (``Limits.max_items``).
        max_depth: deepest nesting followed (``Limits.max_depth``).
        name: file name for errors.
    """

    max_items: int
    max_depth: int
    name: str | None = None
    count: int = 0

    @classmethod
    def of(cls, src: Source) -> Budget:
        """A budget with the source's limits."""
        return cls(src.limits.max_items, src.limits.max_depth, src.name)

    def tick(self) -> None:
        """Count one element.

        Raises:
            LimitExceededError: more than ``max_items`` elements.
        """
        self.count += 1
        if self.count > self.max_items:
            msg = f"more than {self.max_items} EBML elements"
            raise LimitExceededError(msg, path=self.name)

    def enter(self, depth: int) -> None:
        """Check a nesting depth.

        Raises:
            LimitExceededError: ``depth`` is beyond ``max_depth``.
        """
        if depth > self.max_depth:
            msg = f"EBML nesting deeper than {self.max_depth}"
            raise LimitExceededError(msg, path=self.name)


def _vint_length(first: int) -> int:
    # Leading zero bits + 1; a zero first byte would mean more than 8 bytes (invalid).
    return 9 - first.bit_length() if first else 9


def decode_header(data: bytes, pos: int, end: int | None = None, *, name: str | None = None,
                  where: int | None = None) -> Element:
    """Decode the element header at ``data[pos:end]``.

    Args:
        data: a buffer holding at least the header.
        pos: offset of the header in ``data``.
        end: where the header must end by (default: the end of ``data``).
        name: file name for errors.
        where: the header's offset to report in errors (default ``pos``).

    Raises:
        CorruptFileError: an invalid id or size, or the region ends inside the header.
    """
    at = pos if where is None else where
    limit = len(data) if end is None else min(end, len(data))
    if pos >= limit:
        msg = f"truncated: EBML element header expected at byte {at}"
        raise CorruptFileError(msg, path=name)
    id_len = _vint_length(data[pos])
    if id_len > MAX_ID_LENGTH:
        msg = f"invalid EBML element id at byte {at} (first byte {data[pos]:#04x})"
        raise CorruptFileError(msg, path=name)
    size_pos = pos + id_len
    if size_pos >= limit:
        msg = f"truncated: EBML element header at byte {at}"
        raise CorruptFileError(msg, path=name)
    size_len = _vint_length(data[size_pos])
    if size_len > MAX_SIZE_LENGTH or size_pos + size_len > limit:
        what = "invalid size field" if size_len > MAX_SIZE_LENGTH else "truncated header"
        msg = f"EBML element at byte {at}: {what}"
        raise CorruptFileError(msg, path=name)
    eid = int.from_bytes(data[pos:size_pos], "big")
    raw = int.from_bytes(data[size_pos : size_pos + size_len], "big")
    value = raw & ((1 << (7 * size_len)) - 1)
    unknown = value == (1 << (7 * size_len)) - 1
    return Element(eid, pos, id_len + size_len, 0 if unknown else value, unknown, size_len)


def _placed(el: Element, offset: int, size: int | None = None) -> Element:
    return Element(el.id, offset, el.header_size, el.size if size is None else size,
                   el.unknown, el.size_width)


def read_header(src: Source, pos: int, end: int) -> Element:
    """Read the header of the element at ``pos``, which must end by ``end``.

    An unknown-size element is returned with ``unknown`` set and ``size`` = ``end`` - its data
    offset (the most it can span); the caller decides where it really ends.

    Raises:
        CorruptFileError: a damaged header, or data running past ``end``.
    """
    head = src.read_upto(pos, min(MAX_HEADER, end - pos))
    el = _placed(decode_header(head, 0, name=src.name, where=pos), pos)
    if el.unknown:
        return _placed(el, pos, max(end - el.data_offset, 0))
    if el.end > end:
        where = "the end of the file" if end >= src.size else f"its parent (byte {end})"
        msg = f"truncated: EBML element {el.id:#x} at byte {pos} runs past {where}"
        raise CorruptFileError(msg, path=src.name)
    return el


def iter_children(src: Source, start: int, end: int, budget: Budget) -> Iterator[Element]:
    """Walk the elements in ``[start, end)`` of a file by their headers, seeking over data.

    Unknown-size children are yielded with the size left in the region; the caller must
    stop or resolve them (:mod:`.mkv` resolves unknown-size Clusters).

    Raises:
        CorruptFileError: a damaged header or an element running past ``end``.
        LimitExceededError: too many elements.
    """
    pos = start
    while pos < end:
        el = read_header(src, pos, end)
        budget.tick()
        yield el
        if el.unknown:
            return
        pos = el.end


def parse_children(data: bytes, start: int, end: int, budget: Budget, *,
                   base: int = 0) -> list[Element]:
    """Split the master data ``data[start:end]`` into child element headers.

    Offsets in the result index ``data``; ``base`` is added to offsets in error messages.

    Raises:
        CorruptFileError: a damaged header, an unknown size, or a child running past ``end``.
        LimitExceededError: too many elements.
    """
    out: list[Element] = []
    pos = start
    name = budget.name
    while pos < end:
        el = decode_header(data, pos, end, name=name, where=base + pos)
        if el.unknown:
            msg = f"EBML element {el.id:#x} at byte {base + pos} has an unknown size here"
            raise CorruptFileError(msg, path=name)
        if el.end > end:
            msg = f"EBML element {el.id:#x} at byte {base + pos} runs past its parent"
            raise CorruptFileError(msg, path=name)
        budget.tick()
        out.append(el)
        pos = el.end
    return out


def read_uint(data: bytes) -> int:
    """An unsigned integer element's value (0-8 bytes, big-endian; empty = 0).

    Raises:
        CorruptFileError: more than 8 bytes.
    """
    if len(data) > 8:
        msg = f"EBML unsigned integer of {len(data)} bytes"
        raise CorruptFileError(msg)
    return int.from_bytes(data, "big")


def read_string(data: bytes) -> str:
    """A String/UTF-8 element's value: trailing NULs dropped (§7.4), UTF-8, else Latin-1."""
    text = data.split(b"\x00", 1)[0]
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return text.decode("latin-1")


def uint_bytes(value: int) -> bytes:
    """Minimal big-endian bytes for an unsigned integer element (at least one byte)."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def encode_id(eid: int) -> bytes:
    """An element id's bytes (ids keep their marker bits, so this is the id's byte length)."""
    return eid.to_bytes(max(1, (eid.bit_length() + 7) // 8), "big")


def encode_size(size: int, width: int | None = None) -> bytes:
    """An element data size as a VINT, of ``width`` bytes or the shortest that fits.

    The all-ones value of each width is reserved for "unknown" and is never produced.

    Raises:
        LimitExceededError: the size does not fit 8 bytes (or ``width``).
    """
    need = 1
    while size >= (1 << (7 * need)) - 1:
        need += 1
    w = need if width is None else width
    if need > MAX_SIZE_LENGTH or w < need or w > MAX_SIZE_LENGTH:
        msg = f"EBML size {size} does not fit {w} bytes"
        raise LimitExceededError(msg)
    return ((1 << (7 * w)) | size).to_bytes(w, "big")


def element(eid: int, payload: bytes, width: int | None = None) -> bytes:
    """Serialize an element: id, size (``width`` bytes or minimal), payload."""
    return encode_id(eid) + encode_size(len(payload), width) + payload


def crc_element(rest: bytes) -> bytes:
    """A CRC-32 element (§11.3.1) over ``rest``, the parent's data that follows it."""
    return element(CRC32, struct.pack("<I", zlib.crc32(rest)))


def void(total: int) -> bytes:
    """A Void element of exactly ``total`` bytes (``total`` >= 2), zero-filled.

    Raises:
        ValueError: ``total`` < 2.
    """
    header = void_header(total)
    return header + bytes(total - len(header))


def void_header(total: int) -> bytes:
    """The header (id and size field) of a Void element of exactly ``total`` bytes: a 1-byte
    size field when it fits, else 8 bytes.

    Raises:
        ValueError: ``total`` < 2.
    """
    if total < 2:
        msg = f"a Void element needs at least 2 bytes, not {total}"
        raise ValueError(msg)
    if total - 2 < 0x7F:  # id + 1-byte size
        return encode_id(VOID) + encode_size(total - 2, 1)
    return encode_id(VOID) + encode_size(total - 9, 8)  # id + 8-byte size


def fill(parts: list[tuple[int, bytes]], room: int) -> bytes | None:
    """Lay ``parts`` (``(id, payload)`` elements) out in exactly ``room`` bytes, or ``None``.

    The elements get the shortest size fields; the gap after them becomes a Void element.
    A one-byte gap (too small for a Void) widens the last element's size field by one byte
    instead; with no elements it cannot be filled.
    """
    built = [element(eid, payload) for eid, payload in parts]
    gap = room - sum(len(b) for b in built)
    if gap == 0:
        return b"".join(built)
    if gap >= 2:
        return b"".join(built) + void(gap)
    if gap == 1 and parts:
        eid, payload = parts[-1]
        width = len(encode_size(len(payload))) + 1
        if width <= MAX_SIZE_LENGTH:
            return b"".join(built[:-1]) + element(eid, payload, width)
    return None


def master(children: list[bytes], *, crc: bool) -> bytes:
    """A master element's payload from its children's bytes, led by a fresh CRC-32 element
    over them when ``crc`` (RFC 8794 §11.3.1: a changed master's CRC must be recomputed)."""
    rest = b"".join(children)
    return crc_element(rest) + rest if crc else rest


def crc_mismatch(data: bytes, children: list[Element] | tuple[Element, ...], end: int) -> bool:
    """True when ``children`` (of a master whose data ends at ``end`` in ``data``) start with
    a CRC-32 element that does not match the rest of the data."""
    if not children or children[0].id != CRC32 or children[0].size != 4:
        return False
    first = children[0]
    return crc_element(data[first.end : end])[2:] != data[first.data_offset : first.end]


def leaves(data: bytes, parent: Element, budget: Budget, *, base: int = 0,
           ) -> list[tuple[Element, bytes]]:
    """The children of ``parent`` (an element parsed from ``data``) with their data bytes."""
    return [(c, data[c.data_offset : c.end])
            for c in parse_children(data, parent.data_offset, parent.end, budget, base=base)]


class Siblings:
    """Planned replacements over a run of sibling elements (a master's children in a file).

    Each edit replaces ``children[start:stop]`` by new bytes; everything else is copied. Edits
    that keep the length (an element rewritten into its own bytes plus the Void elements that
    follow it, :meth:`fit`) move nothing.

    Args:
        children: the sibling elements, in file order, with file offsets.
    """

    def __init__(self, children: tuple[Element, ...]) -> None:
        self.children = children
        self.edits: dict[int, tuple[int, bytes]] = {}  # start -> (stop, bytes)

    def covered(self, i: int) -> bool:
        """True when an edit already replaces ``children[i]``."""
        return any(start <= i < stop for start, (stop, _) in self.edits.items())

    def run_end(self, i: int) -> int:
        """Index after the unedited Void elements that directly follow ``children[i]``."""
        j = i + 1
        while j < len(self.children) and self.children[j].id == VOID and not self.covered(j):
            j += 1
        return j

    def void_runs(self, limit: int) -> list[tuple[int, int]]:
        """``(start, stop)`` of the maximal unedited Void runs that start before ``limit``."""
        out: list[tuple[int, int]] = []
        i = 0
        while i < limit:
            if self.children[i].id == VOID and not self.covered(i):
                stop = self.run_end(i)
                out.append((i, stop))
                i = stop
            else:
                i += 1
        return out

    def room(self, start: int, stop: int) -> int:
        """Bytes from ``children[start]`` to the end of ``children[stop - 1]``."""
        return self.children[stop - 1].end - self.children[start].offset

    def put(self, start: int, stop: int, data: bytes) -> None:
        """Replace ``children[start:stop]`` by ``data``."""
        self.edits[start] = (stop, data)

    def fit(self, start: int, stop: int, parts: list[tuple[int, bytes]]) -> bool:
        """Lay ``parts`` out in exactly the bytes of ``children[start:stop]`` (see :func:`fill`);
        False when they do not fit."""
        laid = fill(parts, self.room(start, stop))
        if laid is not None:
            self.put(start, stop, laid)
        return laid is not None

    def emit(self, plan: EditPlan) -> None:
        """Append the edited children to ``plan``."""
        i = 0
        while i < len(self.children):
            if i in self.edits:
                stop, data = self.edits[i]
                plan.add(data)
                i = stop
            else:
                plan.copy(self.children[i].offset, self.children[i].end)
                i += 1
