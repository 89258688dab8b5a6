"""AIGC labels inside an EXIF block (a TIFF structure).

Image guide TC260-PG-20259A Annex B (rules §C.1, §H 6): the UserComment tag ``0x9286``, type 7,
value = 8-byte charset id ``ASCII\\0\\0\\0`` + ``{"AIGC":{...}}``. The EXIF specification puts
UserComment in the Exif sub-IFD; one description of Annex B says IFD0, so both are read.

For ``metadata()`` the descriptive string tags of IFD0 and the Exif sub-IFD (:data:`STRING_TAGS`)
are decoded too; a detector judges them (a ``Software`` naming a generator, say).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from aiglabel.codecs import _tiff
from aiglabel.codecs._meta import decode_text
from aiglabel.codecs.base import FoundLabel
from aiglabel.errors import CorruptFileError, LimitExceededError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from aiglabel.codecs._meta import Collector

# Tags exposed by metadata(), with their ExifTool names. TIFF 6.0 §8 and EXIF 2.32 §4.6.4-5:
# ASCII (type 2) strings, UserComment (type 7, charset prefix); Windows XP tags (type 1 BYTE,
# UCS-2LE, NUL-terminated; Microsoft "Exif tags" 0x9C9B-0x9C9F).
STRING_TAGS = {
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x0131: "Software",
    0x013B: "Artist",
    0x8298: "Copyright",
    _tiff.TAG_USER_COMMENT: "UserComment",
    0x9C9B: "XPTitle",
    0x9C9C: "XPComment",
    0x9C9D: "XPAuthor",
    0x9C9E: "XPKeywords",
    0x9C9F: "XPSubject",
}
_XP_TAGS = frozenset({0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F})
# BYTE, ASCII, UNDEFINED and EXIF 3.0's UTF-8 (129): the types a text value is stored as.
_TEXT_TYPES = frozenset({1, 2, 7, 129})


def _label_ifds(block: bytes) -> tuple[_tiff.Header, list[_tiff.Ifd]]:
    read = _tiff.buffer_reader(block)
    header = _tiff.parse_header(block[:16])
    ifd0 = _tiff.read_ifd(read, header, header.first_ifd)
    ifds = [ifd0]
    pointer = ifd0.find(_tiff.TAG_EXIF_IFD)
    if pointer is not None:
        sub = _tiff.entry_offset_value(read, header, pointer)
        if sub != ifd0.offset:
            ifds.append(_tiff.read_ifd(read, header, sub))
    return header, ifds


def _is_label(text: str) -> bool:
    return "AIGC" in text or '"Label"' in text


def find_labels(block: bytes, carrier: str, offset: int | None = None) -> list[FoundLabel]:
    """Return AIGC labels found in UserComment of IFD0 or the Exif sub-IFD of ``block``."""
    try:
        header, ifds = _label_ifds(block)
    except (CorruptFileError, LimitExceededError):
        return []
    read = _tiff.buffer_reader(block)
    out: list[FoundLabel] = []
    for ifd in ifds:
        entry = ifd.find(_tiff.TAG_USER_COMMENT)
        if entry is None:
            continue
        try:
            text = _tiff.decode_user_comment(_tiff.entry_value(read, entry))
        except CorruptFileError:
            continue
        if _is_label(text):
            out.append(FoundLabel.from_text(f"{carrier}:UserComment", text, offset=offset))
    return out


def remove_labels(block: bytes) -> bytes | None:
    """Return ``block`` with AIGC UserComment entries removed (same length), or ``None``.

    ``None`` means there was nothing to remove. The removal keeps every other byte offset.
    """
    try:
        header, ifds = _label_ifds(block)
    except (CorruptFileError, LimitExceededError):
        return None
    read = _tiff.buffer_reader(block)
    buf = bytearray(block)
    changed = False
    for ifd in ifds:
        entry = ifd.find(_tiff.TAG_USER_COMMENT)
        if entry is None:
            continue
        try:
            text = _tiff.decode_user_comment(_tiff.entry_value(read, entry))
        except CorruptFileError:
            continue
        if _is_label(text):
            changed |= _tiff.remove_entry(buf, header, ifd, _tiff.TAG_USER_COMMENT)
    return bytes(buf) if changed else None


def decode_string(tag: int, raw: bytes, endian: str) -> str:
    """Decode the value of a :data:`STRING_TAGS` tag.

    UserComment: :func:`_tiff.decode_user_comment`. XP tags: UCS-2LE up to the first NUL
    character. ASCII: one or more NUL-terminated strings (Copyright may hold photographer and
    editor), joined by newlines, each UTF-8, else Latin-1.
    """
    if tag == _tiff.TAG_USER_COMMENT:
        return _tiff.decode_user_comment(raw, endian)
    if tag in _XP_TAGS:
        text = raw[: len(raw) - len(raw) % 2].decode("utf-16-le", errors="replace")
        return text.split("\x00", 1)[0].strip()
    parts = (decode_text(p).strip() for p in raw.split(b"\x00"))
    return "\n".join(p for p in parts if p)


def ifd_strings(
    read: _tiff.ReadFn, header: _tiff.Header, ifd: _tiff.Ifd, room: int
) -> Iterator[tuple[_tiff.Entry, str, str]]:
    """Yield ``(entry, tag name, text)`` for each non-empty :data:`STRING_TAGS` value of ``ifd``.

    At most ``room`` bytes of a value are read; a value that points outside the data is
    skipped.
    """
    for entry in ifd.entries:
        name = STRING_TAGS.get(entry.tag)
        if name is None or entry.type not in _TEXT_TYPES or room <= 0:
            continue
        try:
            raw = read(entry.data_offset, min(entry.byte_count, room))
        except (CorruptFileError, LimitExceededError):
            continue
        text = decode_string(entry.tag, raw, header.endian)
        if text:
            yield entry, name, text


def exif_sub_ifd(read: _tiff.ReadFn, header: _tiff.Header, ifd0: _tiff.Ifd) -> _tiff.Ifd | None:
    """The Exif sub-IFD (pointer tag ``0x8769`` in IFD0), or ``None`` when absent or damaged."""
    pointer = ifd0.find(_tiff.TAG_EXIF_IFD)
    if pointer is None:
        return None
    try:
        offset = _tiff.entry_offset_value(read, header, pointer)
        if offset == ifd0.offset:
            return None
        return _tiff.read_ifd(read, header, offset)
    except (CorruptFileError, LimitExceededError, struct.error):
        return None


def collect(block: bytes, carrier: str, out: Collector, offset: int | None = None) -> None:
    """Add the :data:`STRING_TAGS` of an EXIF block (a TIFF structure) to ``out``.

    Items are named ``carrier`` / tag name; IFD0 first, then the Exif sub-IFD. A block whose
    header or IFD0 is damaged adds nothing.
    """
    read = _tiff.buffer_reader(block)
    try:
        header = _tiff.parse_header(block[:16])
        ifd0 = _tiff.read_ifd(read, header, header.first_ifd)
    except (CorruptFileError, LimitExceededError, struct.error):
        return
    sub = exif_sub_ifd(read, header, ifd0)
    for ifd in (ifd0,) if sub is None else (ifd0, sub):
        for _entry, name, text in ifd_strings(read, header, ifd, out.room):
            out.add(carrier, name, text, offset)
