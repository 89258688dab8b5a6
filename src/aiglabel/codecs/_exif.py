"""AIGC labels inside an EXIF block (a TIFF structure).

Image guide TC260-PG-20259A Annex B (rules §C.1, §H 6): the UserComment tag ``0x9286``, type 7,
value = 8-byte charset id ``ASCII\\0\\0\\0`` + ``{"AIGC":{...}}``. The EXIF specification puts
UserComment in the Exif sub-IFD; one description of Annex B says IFD0, so both are read.
"""

from __future__ import annotations

from aiglabel.codecs import _tiff
from aiglabel.codecs.base import FoundLabel
from aiglabel.errors import CorruptFileError, LimitExceededError


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
