"""TIFF structures: header, IFDs and entries, for TIFF files and EXIF blocks.

Spec: TIFF 6.0 (Adobe, 1992) §2; BigTIFF (https://www.awaresystems.be/imaging/tiff/bigtiff.html);
EXIF 2.32 (CIPA DC-008) §4.6. Layout::

    header   "II" (little-endian) | "MM" (big-endian), u16 42, u32 first IFD offset
    BigTIFF  "II"/"MM", u16 43, u16 8 (offset size), u16 0, u64 first IFD offset
    IFD      u16 count (u64 in BigTIFF), count x entry, u32 next IFD offset (u64 in BigTIFF)
    entry    u16 tag, u16 type, u32 count, 4-byte value-or-offset (12 bytes)
    BigTIFF  u16 tag, u16 type, u64 count, 8-byte value-or-offset (20 bytes)

Offsets are relative to the start of the TIFF header (for EXIF: the byte after ``Exif\\0\\0``).
A value fits inline when ``count * type size`` is at most 4 (8 in BigTIFF) bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from aiglabel.errors import CorruptFileError, LimitExceededError

# TIFF 6.0 field types and their sizes in bytes (BigTIFF adds 16-18).
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4,
              16: 8, 17: 8, 18: 8}
TAG_IMAGE_DESCRIPTION = 0x010E
TAG_XMP = 0x02BC  # 700, XMP packet (field type 7 per the image guide; type 1 also seen)
TAG_EXIF_IFD = 0x8769
TAG_GPS_IFD = 0x8825
TAG_USER_COMMENT = 0x9286  # Exif sub-IFD, type 7, 8-byte charset id + text (EXIF 2.32 §4.6.5)
MAX_ENTRIES = 4096

ReadFn = Callable[[int, int], bytes]


@dataclass(frozen=True, slots=True)
class Header:
    """A parsed TIFF header."""

    endian: str  # "<" or ">"
    big: bool  # BigTIFF
    first_ifd: int

    @property
    def entry_size(self) -> int:
        return 20 if self.big else 12

    @property
    def count_size(self) -> int:
        return 8 if self.big else 2

    @property
    def offset_size(self) -> int:
        return 8 if self.big else 4


@dataclass(frozen=True, slots=True)
class Entry:
    """One IFD entry; ``pos`` is the entry's own offset, ``data_offset`` where its value is."""

    tag: int
    type: int
    count: int
    pos: int
    data_offset: int
    inline: bool

    @property
    def byte_count(self) -> int:
        return TYPE_SIZES.get(self.type, 1) * self.count


@dataclass(frozen=True, slots=True)
class Ifd:
    """A parsed IFD: where it is, its entries and the next-IFD link."""

    offset: int
    entries: tuple[Entry, ...]
    next_offset: int
    next_pos: int  # where the next-IFD link is stored

    @property
    def end(self) -> int:
        return self.next_pos

    def find(self, tag: int) -> Entry | None:
        return next((e for e in self.entries if e.tag == tag), None)


def parse_header(data: bytes) -> Header:
    """Parse the 8- or 16-byte TIFF header.

    Raises:
        CorruptFileError: not a TIFF header.
    """
    if len(data) < 8 or data[:2] not in (b"II", b"MM"):
        msg = "not a TIFF header (II/MM byte order mark missing)"
        raise CorruptFileError(msg)
    endian = "<" if data[:2] == b"II" else ">"
    magic = struct.unpack(endian + "H", data[2:4])[0]
    if magic == 42:
        return Header(endian, False, struct.unpack(endian + "I", data[4:8])[0])
    if magic == 43 and len(data) >= 16:
        return Header(endian, True, struct.unpack(endian + "Q", data[8:16])[0])
    msg = f"not a TIFF header (magic {magic})"
    raise CorruptFileError(msg)


def read_ifd(read: ReadFn, header: Header, offset: int) -> Ifd:
    """Parse the IFD at ``offset`` using ``read(offset, n)``.

    Raises:
        CorruptFileError: the IFD runs past the data.
        LimitExceededError: more than 4096 entries.
    """
    e = header.endian
    count_raw = read(offset, header.count_size)
    count = struct.unpack(e + ("Q" if header.big else "H"), count_raw)[0]
    if count > MAX_ENTRIES:
        msg = f"IFD at {offset} claims {count} entries (limit {MAX_ENTRIES})"
        raise LimitExceededError(msg)
    base = offset + header.count_size
    raw = read(base, count * header.entry_size + header.offset_size)
    entries: list[Entry] = []
    inline_size = header.offset_size
    for i in range(count):
        chunk = raw[i * header.entry_size : (i + 1) * header.entry_size]
        if header.big:
            tag, typ, n = struct.unpack(e + "HHQ", chunk[:12])
            value_field = chunk[12:20]
        else:
            tag, typ, n = struct.unpack(e + "HHI", chunk[:8])
            value_field = chunk[8:12]
        pos = base + i * header.entry_size
        size = TYPE_SIZES.get(typ, 1) * n
        if size <= inline_size:
            entries.append(Entry(tag, typ, n, pos, pos + header.entry_size - inline_size, True))
        else:
            data_offset = struct.unpack(e + ("Q" if header.big else "I"), value_field)[0]
            entries.append(Entry(tag, typ, n, pos, data_offset, False))
    next_pos = base + count * header.entry_size
    tail = raw[count * header.entry_size :]
    next_offset = struct.unpack(e + ("Q" if header.big else "I"), tail)[0]
    return Ifd(offset, tuple(entries), next_offset, next_pos)


def entry_value(read: ReadFn, entry: Entry) -> bytes:
    """Return the raw bytes of an entry's value."""
    return read(entry.data_offset, entry.byte_count)


def entry_offset_value(read: ReadFn, header: Header, entry: Entry) -> int:
    """Return the first integer of a LONG/IFD/LONG8 entry (e.g. a sub-IFD pointer)."""
    raw = read(entry.data_offset, TYPE_SIZES.get(entry.type, 4))
    fmt = {3: "H", 4: "I", 13: "I", 16: "Q", 18: "Q"}.get(entry.type)
    if fmt is None:
        msg = f"tag {entry.tag} has type {entry.type}, expected an offset"
        raise CorruptFileError(msg)
    return int(struct.unpack(header.endian + fmt, raw)[0])


def buffer_reader(buf: bytes) -> ReadFn:
    """A ``read(offset, n)`` over an in-memory block that raises on overrun."""

    def read(offset: int, n: int) -> bytes:
        if offset < 0 or n < 0 or offset + n > len(buf):
            msg = f"EXIF/TIFF structure points outside its block ({offset}+{n} > {len(buf)})"
            raise CorruptFileError(msg)
        return buf[offset : offset + n]

    return read


def decode_user_comment(value: bytes, endian: str = ">") -> str:
    """Decode an EXIF UserComment: 8-byte charset id (``ASCII``, ``UNICODE``, ``JIS``, NULs).

    EXIF 2.32 §4.6.5 table 9: ``ASCII\\0\\0\\0``, ``JIS\\0\\0\\0\\0\\0``, ``UNICODE\\0``
    (UCS-2) or eight NULs (undefined), then the text. UCS-2 follows the byte order of the TIFF
    structure (``endian``), but writers get it wrong, so a byte-order mark, or zero high bytes
    on one side (mostly-Latin text), decide first. Other text: UTF-8, else Latin-1.
    """
    charset, text = value[:8], value[8:]
    if charset.startswith(b"UNICODE"):
        return text.decode(_utf16_codec(text, endian), errors="replace").rstrip("\x00 ")
    if not (charset.startswith((b"ASCII", b"JIS")) or charset == b"\x00" * 8):
        text = value  # rules §H 6: no or another prefix
    text = text.rstrip(b"\x00 ")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return text.decode("latin-1")


def _utf16_codec(text: bytes, endian: str) -> str:
    """The codec for UCS-2 ``text``: its BOM, else the side whose bytes are mostly zero."""
    if text[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    zeros_even, zeros_odd = text[0::2].count(0), text[1::2].count(0)
    if zeros_odd != zeros_even:
        # "A" is 41 00 little-endian (zero at odd offsets), 00 41 big-endian.
        return "utf-16-le" if zeros_odd > zeros_even else "utf-16-be"
    return "utf-16-le" if endian == "<" else "utf-16-be"


def remove_entry(buf: bytearray, header: Header, ifd: Ifd, tag: int) -> bool:
    """Remove one entry from an IFD inside ``buf`` without moving anything else.

    The entry count drops by one, later entries and the next-IFD link shift up by one entry,
    the freed entry slot and the removed value's bytes are zeroed. Every other offset in the
    block stays valid (MakerNotes included), so the edit is safe in any EXIF or TIFF block.
    """
    entry = ifd.find(tag)
    if entry is None:
        return False
    e = header.endian
    if not entry.inline and entry.data_offset + entry.byte_count <= len(buf):
        buf[entry.data_offset : entry.data_offset + entry.byte_count] = bytes(entry.byte_count)
    start = entry.pos
    end_links = ifd.next_pos + header.offset_size
    rest = bytes(buf[start + header.entry_size : end_links])
    buf[start : start + len(rest)] = rest
    buf[start + len(rest) : end_links] = bytes(header.entry_size)
    count = len(ifd.entries) - 1
    buf[ifd.offset : ifd.offset + header.count_size] = struct.pack(
        e + ("Q" if header.big else "H"), count
    )
    return True
