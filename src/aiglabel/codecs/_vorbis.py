"""Vorbis comment blocks: parse, find ``AIGC=`` labels, rebuild with one label.

Spec: Vorbis I specification §5 "comment field and header specification"
(https://xiph.org/vorbis/doc/Vorbis_I_spec.html), shared by FLAC ``VORBIS_COMMENT``
(RFC 9639 §8.6, no framing bit), Ogg Vorbis (packet 2 after ``\\x03vorbis``, framing bit),
Ogg Opus (``OpusTags``, RFC 7845 §5.2, no framing bit) and Ogg Theora.

Layout (every length a u32 **little-endian**)::

    u32le vendor_length, vendor_string (UTF-8)
    u32le user_comment_list_length
    repeated: u32le length, comment ("NAME=value", value UTF-8)

Field names are ASCII 0x20-0x7D except ``=`` and compare case-insensitively (§5.2.2), so
``aigc=`` and ``AIGC=`` are the same field. GB carrier (TC260-PG-202510A, rules §C.3 [M]): the
entry ``AIGC=<json>``, bare JSON. Readers accept the field name in any case (rules §H 13) and
report the stored spelling in an INFO finding; writers store ``AIGC`` in upper case.

A rewrite keeps every other entry byte-identical and in order: the first label entry is
replaced where it stands (or the label is appended), later label entries are dropped
(GB 6.1 c): one label per file).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel.codecs._meta import decode_text
from aiglabel.codecs.base import FoundLabel
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.model import Finding, Severity

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aiglabel.codecs._meta import Collector

__all__ = [
    "FIELD",
    "CommentBlock",
    "Entry",
    "build",
    "collect",
    "find_labels",
    "label_count",
    "parse",
    "problems",
    "with_label",
    "with_label_and_rest",
]

FIELD = b"AIGC"
_U32 = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class Entry:
    """One user comment as stored: ``raw`` is ``NAME=value`` without its length field."""

    raw: bytes

    @property
    def has_separator(self) -> bool:
        return b"=" in self.raw

    @property
    def name(self) -> bytes:
        return self.raw.partition(b"=")[0]

    @property
    def value(self) -> bytes:
        return self.raw.partition(b"=")[2]

    @property
    def valid_name(self) -> bool:
        """True when the entry has ``=`` and a name of ASCII 0x20-0x7D (Vorbis I §5.2.2)."""
        name = self.name
        return self.has_separator and all(0x20 <= b <= 0x7D for b in name)

    @property
    def is_label(self) -> bool:
        """True for an ``AIGC`` field in any letter case."""
        return self.has_separator and self.name.upper() == FIELD


@dataclass(frozen=True, slots=True)
class CommentBlock:
    """A parsed comment block.

    Attributes:
        vendor: the vendor string as stored.
        entries: the user comments, in order.
        size: bytes the block occupies (where a framing bit or padding would follow).
    """

    vendor: bytes
    entries: tuple[Entry, ...]
    size: int


def parse(data: bytes, start: int = 0, *, max_items: int = 1_000_000,
          what: str = "Vorbis comment block") -> CommentBlock:
    """Parse a comment block beginning at ``data[start]``.

    Raises:
        CorruptFileError: a length runs past the end of ``data``.
        LimitExceededError: more than ``max_items`` comments.
    """
    pos = start
    end = len(data)

    def take_u32() -> int:
        nonlocal pos
        if pos + 4 > end:
            msg = f"truncated {what} (length field at byte {pos - start})"
            raise CorruptFileError(msg)
        (value,) = _U32.unpack_from(data, pos)
        pos += 4
        return int(value)

    def take(n: int) -> bytes:
        nonlocal pos
        if n > end - pos:
            msg = f"{what}: a length of {n} bytes runs past its end"
            raise CorruptFileError(msg)
        out = data[pos : pos + n]
        pos += n
        return out

    vendor = take(take_u32())
    count = take_u32()
    if count * 4 > end - pos:
        msg = f"{what} declares {count} comments but has room for fewer"
        raise CorruptFileError(msg)
    if count > max_items:
        msg = f"{what} declares {count} comments (limit {max_items})"
        raise LimitExceededError(msg)
    entries = tuple(Entry(take(take_u32())) for _ in range(count))
    return CommentBlock(vendor, entries, pos - start)


def build(vendor: bytes, entries: Iterable[bytes]) -> bytes:
    """Serialize a comment block (no framing bit)."""
    items = list(entries)
    parts = [_U32.pack(len(vendor)), vendor, _U32.pack(len(items))]
    for raw in items:
        parts += [_U32.pack(len(raw)), raw]
    return b"".join(parts)


def with_label(block: CommentBlock, label_json: str | None) -> tuple[bytes, int]:
    """Rebuild ``block`` with ``AIGC=<label_json>`` as its only label.

    The first label entry (any case) is replaced in place; when there is none the label is
    appended. Every further label entry is dropped. With ``label_json=None`` all label entries
    are dropped (used for a second comment block in the same file).

    Returns:
        The new block bytes and the number of label entries dropped (not counting the one
        replaced).
    """
    out: list[bytes] = []
    placed = label_json is None
    dropped = 0
    new = FIELD + b"=" + label_json.encode("utf-8") if label_json is not None else b""
    for entry in block.entries:
        if not entry.is_label:
            out.append(entry.raw)
        elif not placed:
            out.append(new)
            placed = True
        else:
            dropped += 1
    if not placed:
        out.append(new)
    return build(block.vendor, out), dropped


def with_label_and_rest(block: CommentBlock, rest: bytes, label_json: str, *,
                        framing: bool) -> bytes:
    """Rebuild a comment packet's block and what follows it; zero padding absorbs the change.

    ``rest`` is what follows the comment list in its packet. Vorbis (``framing``): the framing
    byte (bit 0 set), then padding when every following byte is zero (mutagen writes that).
    Opus (RFC 7845 §5.2): data whose first byte has bit 0 clear is padding; with bit 0 set it
    is binary metadata and kept as it is. Padding shrinks (or grows) by the size change, down
    to nothing; none is invented.

    Raises:
        CorruptFileError: ``framing`` and no framing bit.
    """
    body, _ = with_label(block, label_json)
    if framing:
        if not rest or not rest[0] & 1:
            msg = "Vorbis comment header lacks its framing bit"
            raise CorruptFileError(msg)
        keep, pad = rest[:1], rest[1:]
        if pad.count(0) != len(pad):
            keep, pad = rest, b""
    elif rest and rest[0] & 1:
        keep, pad = rest, b""
    else:
        keep, pad = b"", rest
    if pad:
        size = max(len(pad) - (len(body) - block.size), 0)
        pad = (pad + bytes(max(size - len(pad), 0)))[:size]
    return body + keep + pad


def label_count(block: CommentBlock) -> int:
    """How many label entries the block holds."""
    return sum(1 for e in block.entries if e.is_label)


def find_labels(block: CommentBlock, carrier: str, offset: int | None) -> list[FoundLabel]:
    """Every ``AIGC`` entry (any case) as a :class:`FoundLabel` on ``carrier``.

    A field name spelt other than ``AIGC`` is legal Vorbis (names are case-insensitive) but
    not what the guide shows: an INFO finding records the stored spelling (rules §H 13).
    """
    out: list[FoundLabel] = []
    for entry in block.entries:
        if not entry.is_label:
            continue
        found = FoundLabel.from_text(carrier, entry.value, offset=offset)
        if entry.name != FIELD:
            spelt = entry.name.decode("ascii", errors="replace")
            note = Finding("G6.field-case", Severity.INFO,
                           f"field name stored as {spelt!r}; Vorbis field names are "
                           "case-insensitive, the guide writes 'AIGC'", carrier)
            found = FoundLabel(found.carrier, found.form, found.record, found.raw,
                               (*found.findings, note), found.offset)
        out.append(found)
    return out


def collect(block: CommentBlock, carrier: str, out: Collector, offset: int | None) -> None:
    """Add the vendor string (key ``vendor``) and every comment (key = field name as stored)
    to ``out``; entries without ``=`` are skipped."""
    out.add(carrier, "vendor", decode_text(block.vendor), offset)
    for entry in block.entries:
        if out.full:
            return
        if entry.has_separator and entry.name:
            out.add(carrier, entry.name.decode("latin-1"), decode_text(entry.value), offset)


def problems(block: CommentBlock) -> list[str]:
    """Structural problems worth a container finding (entries without ``=``, bad names)."""
    bad = [e for e in block.entries if not e.valid_name]
    if not bad:
        return []
    return [f"{len(bad)} comment entr{'y' if len(bad) == 1 else 'ies'} without '=' or with "
            "a field name outside ASCII 0x20-0x7D"]
