"""ZIP archives: read the central directory, inflate single entries within limits, rebuild an
archive that copies every unchanged entry's bytes verbatim.

Spec: PKWARE APPNOTE.TXT 6.3.10 (§4.3.6 layout, §4.3.7 local file header, §4.3.9 data
descriptor, §4.3.12 central directory header, §4.3.14-16 ZIP64 end records, §4.4 fields,
§4.5.3 ZIP64 extra field). All integers little-endian::

    [local file header 30 + name + extra] [data] [data descriptor]   per entry
    ...
    [central directory header 46 + name + extra + comment]            per entry
    [ZIP64 end of central directory record + locator]                  optional
    [end of central directory record 22 + comment]

Local header: sig 50 4B 03 04, version, flags (bit 3: sizes in a data descriptor after the
data), method (0 stored, 8 deflate), time, date, CRC-32, compressed size, size, name length,
extra length. Central header: sig 50 4B 01 02, made by, version, flags, method, time, date,
CRC-32, compressed size, size, name/extra/comment lengths, disk, internal and external
attributes, local header offset (u32 at byte 42). End record: sig 50 4B 05 06, disk numbers,
entry counts (u16), directory size and offset (u32), comment length.

Rebuilding (:func:`rebuild`) keeps the entries in file order: an unchanged entry (local header,
data and descriptor) is one copied span, its central header the original bytes with only the
local-header offset patched; a replaced entry gets a new local and central header (deflated,
with the original's time, date and attributes); new entries go after the last one. Bytes
before the first entry and between entries are copied too. ZIP64 archives are read but not
rewritten (:class:`~aiglabel.errors.CarrierUnsupportedError`), nor are multi-disk archives.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel._io import Span
from aiglabel.errors import CarrierUnsupportedError, CorruptFileError, LimitExceededError

if TYPE_CHECKING:
    from aiglabel._io import Source

__all__ = ["Archive", "Entry", "read_archive", "read_entry", "rebuild"]

LOCAL_SIG, CENTRAL_SIG, END_SIG = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"
ZIP64_END_SIG, ZIP64_LOCATOR_SIG, DESCRIPTOR_SIG = b"PK\x06\x06", b"PK\x06\x07", b"PK\x07\x08"
_END_SIZE, _CENTRAL_SIZE, _LOCAL_SIZE = 22, 46, 30
_MAX_COMMENT = 0xFFFF
STORED, DEFLATED = 0, 8


@dataclass(frozen=True, slots=True)
class Entry:
    """One member, from its central directory header.

    Attributes:
        name: the member name (UTF-8 when flag bit 11 is set, else CP437, as APPNOTE says).
        method: 0 stored, 8 deflated (others are copied but not read).
        flags: general purpose flags.
        crc: CRC-32 of the uncompressed data.
        compressed: compressed size.
        size: uncompressed size.
        offset: offset of the local file header.
        central: the central directory header bytes as stored.
        zip64: the header uses a ZIP64 extra field.
    """

    name: str
    method: int
    flags: int
    crc: int
    compressed: int
    size: int
    offset: int
    central: bytes
    zip64: bool = False


@dataclass(frozen=True, slots=True)
class Archive:
    """The central directory: entries in directory order, where it starts and ends."""

    entries: tuple[Entry, ...]
    directory_offset: int
    end_offset: int  # where the end-of-central-directory record starts
    comment: bytes
    zip64: bool

    def get(self, name: str) -> Entry | None:
        """The entry called ``name`` (the first one when duplicated), else ``None``."""
        return next((e for e in self.entries if e.name == name), None)


def _find_end(src: Source) -> int:
    tail_len = min(src.size, _END_SIZE + _MAX_COMMENT)
    tail = src.read_at(src.size - tail_len, tail_len)
    pos = tail.rfind(END_SIG)
    while pos >= 0:
        comment_len = struct.unpack("<H", tail[pos + 20 : pos + 22])[0] if len(tail) >= pos + 22 \
            else -1
        if pos + _END_SIZE + comment_len == len(tail):
            return src.size - tail_len + pos
        pos = tail.rfind(END_SIG, 0, pos)
    msg = "not a ZIP archive: no end-of-central-directory record"
    raise CorruptFileError(msg, path=src.name)


def read_archive(src: Source) -> Archive:
    """Parse the end record and the central directory (headers only).

    Raises:
        CorruptFileError: no end record, a damaged or truncated directory.
        LimitExceededError: more entries, or a larger directory, than the limits allow.
        CarrierUnsupportedError: a multi-disk archive.
    """
    end = _find_end(src)
    record = src.read_at(end, _END_SIZE)
    disk, cd_disk, _, count, cd_size, cd_offset, comment_len = struct.unpack(
        "<HHHHIIH", record[4:22])
    comment = src.read_at(end + _END_SIZE, comment_len)
    zip64 = False
    if count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        count, cd_size, cd_offset = _zip64_end(src, end)
        zip64 = True
    if disk or cd_disk:
        msg = "multi-disk ZIP archives are not supported"
        raise CarrierUnsupportedError(msg, path=src.name)
    if cd_offset + cd_size > end:
        msg = f"ZIP central directory ({cd_size} bytes at {cd_offset}) overruns the end record"
        raise CorruptFileError(msg, path=src.name)
    if count > src.limits.max_items:
        msg = f"ZIP archive with {count} entries exceeds the {src.limits.max_items}-item limit"
        raise LimitExceededError(msg, path=src.name)
    directory = src.read_metadata(cd_offset, cd_size, "ZIP central directory")
    entries: list[Entry] = []
    pos = 0
    for _ in range(count):
        entry, pos = _central_entry(directory, pos, src.name)
        if entry.offset + _LOCAL_SIZE > cd_offset:
            msg = f"ZIP entry {entry.name!r} starts beyond the central directory"
            raise CorruptFileError(msg, path=src.name)
        entries.append(entry)
    return Archive(tuple(entries), cd_offset, end, comment, zip64 or any(e.zip64 for e in entries))


def _zip64_end(src: Source, end: int) -> tuple[int, int, int]:
    locator = src.read_at(end - 20, 20) if end >= 20 else b""
    if locator[:4] != ZIP64_LOCATOR_SIG:
        msg = "ZIP64 end record expected but its locator is missing"
        raise CorruptFileError(msg, path=src.name)
    at = struct.unpack("<Q", locator[8:16])[0]
    record = src.read_at(at, 56) if at + 56 <= end else b""
    if record[:4] != ZIP64_END_SIG:
        msg = "damaged ZIP64 end-of-central-directory record"
        raise CorruptFileError(msg, path=src.name)
    count, cd_size, cd_offset = struct.unpack("<QQQ", record[32:56])
    return count, cd_size, cd_offset


def _central_entry(data: bytes, pos: int, name: str | None) -> tuple[Entry, int]:
    if data[pos : pos + 4] != CENTRAL_SIG or pos + _CENTRAL_SIZE > len(data):
        msg = f"damaged ZIP central directory at entry offset {pos}"
        raise CorruptFileError(msg, path=name)
    (flags, method, crc, compressed, size, name_len, extra_len, comment_len,
     offset) = struct.unpack("<8xHH4xIIIHHH8xI", data[pos : pos + _CENTRAL_SIZE])
    end = pos + _CENTRAL_SIZE + name_len + extra_len + comment_len
    if end > len(data):
        msg = "truncated ZIP central directory entry"
        raise CorruptFileError(msg, path=name)
    raw_name = data[pos + _CENTRAL_SIZE : pos + _CENTRAL_SIZE + name_len]
    member = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
    extra = data[pos + _CENTRAL_SIZE + name_len : pos + _CENTRAL_SIZE + name_len + extra_len]
    zip64 = False
    if 0xFFFFFFFF in (compressed, size, offset):
        size, compressed, offset = _zip64_extra(extra, size, compressed, offset, name)
        zip64 = True
    return Entry(member, method, flags, crc, compressed, size, offset, data[pos:end], zip64), end


def _zip64_extra(extra: bytes, size: int, compressed: int, offset: int,
                 name: str | None) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[pos : pos + 4])
        if tag == 1:  # §4.5.3: only the fields whose 32-bit value is 0xFFFFFFFF, in order
            values = extra[pos + 4 : pos + 4 + length]
            at = 0
            out = []
            for value in (size, compressed, offset):
                if value == 0xFFFFFFFF:
                    if at + 8 > len(values):
                        break
                    value = struct.unpack("<Q", values[at : at + 8])[0]
                    at += 8
                out.append(value)
            if len(out) == 3:
                return out[0], out[1], out[2]
        pos += 4 + length
    msg = "ZIP64 sizes announced but the ZIP64 extra field is missing or short"
    raise CorruptFileError(msg, path=name)


def data_offset(src: Source, entry: Entry) -> int:
    """Where the entry's (compressed) data starts, from its local file header."""
    head = src.read_at(entry.offset, _LOCAL_SIZE)
    if head[:4] != LOCAL_SIG:
        msg = f"ZIP entry {entry.name!r}: no local file header at byte {entry.offset}"
        raise CorruptFileError(msg, path=src.name)
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    start: int = entry.offset + _LOCAL_SIZE + name_len + extra_len
    if start + entry.compressed > src.size:
        msg = f"truncated ZIP entry {entry.name!r}"
        raise CorruptFileError(msg, path=src.name)
    return start


def entry_end(src: Source, entry: Entry) -> int:
    """End of the entry's local record: data, then the data descriptor when flag bit 3 is set
    (12 or 16 bytes, with or without its optional signature; 20 or 24 for ZIP64)."""
    end = data_offset(src, entry) + entry.compressed
    if not entry.flags & 0x08:
        return end
    probe = src.read_upto(end, 8)
    signed = probe[:4] == DESCRIPTOR_SIG and probe[4:8] == struct.pack("<I", entry.crc)
    return end + (4 if signed else 0) + 4 + (16 if entry.zip64 else 8)


def read_entry(src: Source, entry: Entry, limit: int | None = None) -> bytes:
    """Inflate one entry, at most ``limit`` bytes (default ``limits.max_metadata``).

    Raises:
        LimitExceededError: it inflates beyond the limit (a ZIP bomb stops here).
        CorruptFileError: bad deflate data or CRC.
        CarrierUnsupportedError: a method other than stored or deflate, or encryption.
    """
    limit = src.limits.max_metadata if limit is None else limit
    if entry.flags & 0x01:
        msg = f"ZIP entry {entry.name!r} is encrypted"
        raise CarrierUnsupportedError(msg, path=src.name)
    if entry.compressed > src.limits.max_metadata:
        msg = f"ZIP entry {entry.name!r} of {entry.compressed} bytes exceeds the limit"
        raise LimitExceededError(msg, path=src.name)
    raw = src.read_at(data_offset(src, entry), entry.compressed)
    if entry.method == STORED:
        data = raw[:limit]
    elif entry.method == DEFLATED:
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(raw, limit)
        except zlib.error as exc:
            msg = f"ZIP entry {entry.name!r} does not inflate ({exc})"
            raise CorruptFileError(msg, path=src.name) from exc
        if inflater.unconsumed_tail:
            msg = f"ZIP entry {entry.name!r} inflates beyond {limit} bytes"
            raise LimitExceededError(msg, path=src.name)
    else:
        msg = f"ZIP entry {entry.name!r} uses compression method {entry.method}"
        raise CarrierUnsupportedError(msg, path=src.name)
    if len(data) == entry.size and zlib.crc32(data) != entry.crc:
        msg = f"ZIP entry {entry.name!r} fails its CRC-32 check"
        raise CorruptFileError(msg, path=src.name)
    return data


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _local_header(name: bytes, template: Entry | None, crc: int, packed: int, size: int) -> bytes:
    time_date = template.central[12:16] if template is not None else b"\x00\x00\x21\x00"
    flags = 0x800 if any(b > 0x7F for b in name) else 0
    return (LOCAL_SIG + struct.pack("<HHH", 20, flags, DEFLATED) + time_date
            + struct.pack("<IIIHH", crc, packed, size, len(name), 0) + name)


def _central_header(name: bytes, template: Entry | None, crc: int, packed: int, size: int,
                    offset: int) -> bytes:
    base = template.central if template is not None else None
    made_by = base[4:6] if base is not None else struct.pack("<H", 20)
    time_date = base[12:16] if base is not None else b"\x00\x00\x21\x00"
    attributes = base[36:42] if base is not None else bytes(6)
    flags = 0x800 if any(b > 0x7F for b in name) else 0
    return (CENTRAL_SIG + made_by + struct.pack("<HHH", 20, flags, DEFLATED) + time_date
            + struct.pack("<IIIHHHH", crc, packed, size, len(name), 0, 0, 0)
            + attributes + struct.pack("<I", offset) + name)


def rebuild(src: Source, archive: Archive, replace: dict[str, bytes],
            add: dict[str, tuple[bytes, str]]) -> list[bytes | Span]:
    """The pieces of a new archive: entries in ``replace`` get new content, ``add`` appends new
    entries (name -> (content, name of the entry whose time and attributes to reuse)); every
    other byte up to the central directory is copied as it is.

    Raises:
        CarrierUnsupportedError: a ZIP64 archive, or the result would need ZIP64.
    """
    if archive.zip64:
        msg = "ZIP64 archives are read but not rewritten yet"
        raise CarrierUnsupportedError(msg, path=src.name)
    pieces: list[bytes | Span] = []
    central: list[bytes] = []
    pos = out = 0
    for entry in sorted(archive.entries, key=lambda e: e.offset):
        if entry.offset < pos:
            msg = f"ZIP entries overlap at {entry.name!r}"
            raise CorruptFileError(msg, path=src.name)
        if entry.offset > pos:  # a prefix (self-extractor stub) or a gap: copied
            pieces.append(Span(pos, entry.offset - pos))
            out += entry.offset - pos
        end = entry_end(src, entry)
        if entry.name in replace:
            content = replace[entry.name]
            name_len = struct.unpack("<H", entry.central[28:30])[0]
            name = entry.central[_CENTRAL_SIZE : _CENTRAL_SIZE + name_len]
            packed, crc = _deflate(content), zlib.crc32(content)
            local = _local_header(name, entry, crc, len(packed), len(content))
            pieces += [local, packed]
            central.append(_central_header(name, entry, crc, len(packed), len(content), out))
            out += len(local) + len(packed)
        else:
            pieces.append(Span(entry.offset, end - entry.offset))
            central.append(entry.central[:42] + struct.pack("<I", out) + entry.central[46:])
            out += end - entry.offset
        pos = end
    if archive.directory_offset > pos:
        pieces.append(Span(pos, archive.directory_offset - pos))
        out += archive.directory_offset - pos
    for member, (content, like) in add.items():
        name = member.encode()
        template = archive.get(like)
        packed, crc = _deflate(content), zlib.crc32(content)
        local = _local_header(name, template, crc, len(packed), len(content))
        pieces += [local, packed]
        central.append(_central_header(name, template, crc, len(packed), len(content), out))
        out += len(local) + len(packed)
    directory = b"".join(central)
    if out + len(directory) > 0xFFFFFFFF or len(central) > 0xFFFF:
        msg = "the rewritten archive would need ZIP64"
        raise CarrierUnsupportedError(msg, path=src.name)
    end_record = END_SIG + struct.pack("<HHHHIIH", 0, 0, len(central), len(central),
                                       len(directory), out, len(archive.comment))
    return [*pieces, directory, end_record + archive.comment]
