"""RIFF chunk walking, shared by the RIFF-based codecs (WebP, WAV, AVI).

Spec: Microsoft "Multimedia Programming Interface and Data Specifications 1.0" (1991), ch. 2
(RIFF); https://developers.google.com/speed/webp/docs/riff_container#riff_file_format .
Layout (all integers little-endian)::

    form     "RIFF", u32le size (= bytes after this field), 4-byte form type ("WEBP", "WAVE",
             "AVI "), then chunks up to 8 + size
    chunk    4-byte id (FourCC), u32le payload size (unpadded), payload,
             one zero pad byte when the size is odd (not counted in the size)
    LIST     a chunk with id "LIST" whose payload is a 4-byte list type and then sub-chunks

The walker reads only the 8-byte chunk headers and seeks over payloads, checks every chunk
against the end of its parent, and enforces ``Limits.max_items`` (chunks walked in one pass,
nested ones included) and ``Limits.max_depth`` (LIST nesting). A missing pad byte after the
last chunk of a region is tolerated (``Chunk.pad == 0``); a writer that moves such a chunk
away from the end must add the pad byte (:func:`pad_byte`). RF64/BW64 sizes (``0xFFFFFFFF``
plus a ``ds64`` chunk) are left to the WAV codec: pass its real end to :func:`iter_chunks`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel.errors import CorruptFileError, LimitExceededError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from aiglabel._io import Source
    from aiglabel._patch import PatchPlan

__all__ = [
    "JUNK_IDS",
    "Chunk",
    "Form",
    "Walk",
    "fill_patch",
    "fourcc_text",
    "iter_chunks",
    "junk_header",
    "make_chunk",
    "pad_byte",
    "read_form",
    "read_payload",
    "swallow_patch",
    "u24le",
    "u32le",
]

HEADER_SIZE = 8  # FourCC + u32le size
# Chunks whose payload starts with a list type. "RIFF" too, so that a walk over a whole file
# (start 0, end src.size) sees AVI's "RIFF AVI " + "RIFF AVIX" forms as chunks.
LIST_IDS = frozenset({b"LIST", b"RIFF"})
MAX_SIZE = 0xFFFFFFFF


def u32le(value: int) -> bytes:
    """Pack an unsigned 32-bit little-endian integer."""
    return struct.pack("<I", value)


def u24le(value: int) -> bytes:
    """Pack an unsigned 24-bit little-endian integer."""
    return struct.pack("<I", value)[:3]


def _fourcc_ok(fourcc: bytes) -> bool:
    # FourCCs are printable ASCII, padded with spaces ("XMP ", "fmt ").
    return all(0x20 <= b <= 0x7E for b in fourcc)


def fourcc_text(fourcc: bytes) -> str:
    """A FourCC for messages (``'XMP '`` keeps its trailing space visible in the quotes)."""
    return repr(fourcc.decode("latin-1"))


@dataclass(frozen=True, slots=True)
class Form:
    """The RIFF header: ``form_id`` (``b"RIFF"``), ``size`` as stored, ``form_type``.

    Attributes:
        end: where the form ends according to ``size`` (``8 + size``); may be short of the
            file size (trailing data after the form).
    """

    form_id: bytes
    size: int
    form_type: bytes

    @property
    def start(self) -> int:
        """Offset of the first chunk."""
        return 12

    @property
    def end(self) -> int:
        return HEADER_SIZE + self.size


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk header.

    Attributes:
        offset: offset of the FourCC.
        fourcc: the 4-byte id.
        size: the payload size as stored (unpadded).
        pad: pad bytes present after the payload (0 or 1).
        depth: 0 for a chunk of the form, +1 for each enclosing LIST.
        list_type: for ``LIST``/``RIFF`` chunks, the 4-byte list type; else ``None``.
    """

    offset: int
    fourcc: bytes
    size: int
    pad: int
    depth: int = 0
    list_type: bytes | None = None

    @property
    def data_offset(self) -> int:
        return self.offset + HEADER_SIZE

    @property
    def data_end(self) -> int:
        return self.data_offset + self.size

    @property
    def end(self) -> int:
        """Offset just after the chunk, pad byte included when present."""
        return self.data_end + self.pad

    @property
    def missing_pad(self) -> bool:
        """Odd size without the pad byte (tolerated only at the end of a region)."""
        return self.size % 2 == 1 and self.pad == 0


def read_form(src: Source, form_ids: tuple[bytes, ...] = (b"RIFF",)) -> Form:
    """Parse the 12-byte form header.

    Args:
        src: the file.
        form_ids: accepted ids (``b"RIFF"``; a WAV codec may add ``b"RF64"``).

    Raises:
        CorruptFileError: not a RIFF file, or too short.
    """
    head = src.read_upto(0, 12)
    if len(head) < 12 or head[:4] not in form_ids:
        msg = "not a RIFF file (no RIFF header)"
        raise CorruptFileError(msg, path=src.name)
    form_id, size, form_type = struct.unpack("<4sI4s", head)
    return Form(form_id, size, form_type)


@dataclass(slots=True)
class Walk:
    """Shared budget of one walk over a file (chunks counted across nested lists)."""

    count: int = 0

    def tick(self, src: Source) -> None:
        """Count one chunk.

        Raises:
            LimitExceededError: more than ``src.limits.max_items`` chunks.
        """
        self.count += 1
        if self.count > src.limits.max_items:
            msg = f"more than {src.limits.max_items} RIFF chunks"
            raise LimitExceededError(msg, path=src.name)


def iter_chunks(
    src: Source,
    start: int,
    end: int,
    *,
    depth: int = 0,
    recurse: bool = False,
    walk: Walk | None = None,
) -> Iterator[Chunk]:
    """Walk the chunks in ``[start, end)``, seeking over payloads.

    Args:
        src: the file.
        start: offset of the first chunk header (``Form.start``, or a LIST's data + 4).
        end: end of the region (``Form.end``, or a LIST's ``data_end``).
        depth: depth reported for these chunks.
        recurse: descend into ``LIST`` chunks, yielding each LIST before its sub-chunks.
        walk: a shared budget; a new one when ``None``.

    Raises:
        CorruptFileError: a header is damaged, a chunk runs past ``end`` or the file,
            stray bytes (fewer than 8) are left at the end of the region.
        LimitExceededError: too many chunks or LIST nesting deeper than ``max_depth``.
    """
    if end > src.size:
        msg = f"truncated: RIFF data should end at byte {end} but the file has {src.size}"
        raise CorruptFileError(msg, path=src.name)
    if depth > src.limits.max_depth:
        msg = f"RIFF LIST nesting deeper than {src.limits.max_depth}"
        raise LimitExceededError(msg, path=src.name)
    budget = walk if walk is not None else Walk()
    pos = start
    while pos < end:
        if end - pos < HEADER_SIZE:
            msg = f"{end - pos} stray bytes at byte {pos}, too few for a chunk header"
            raise CorruptFileError(msg, path=src.name)
        fourcc, size = struct.unpack("<4sI", src.read_at(pos, HEADER_SIZE))
        if not _fourcc_ok(fourcc):
            msg = f"damaged chunk header at byte {pos} (id {fourcc.hex(' ')})"
            raise CorruptFileError(msg, path=src.name)
        data_end = pos + HEADER_SIZE + size
        if data_end > end:
            msg = f"{fourcc_text(fourcc)} chunk at byte {pos} runs past its parent (byte {end})"
            raise CorruptFileError(msg, path=src.name)
        # RIFF: odd payloads are followed by one pad byte; tolerate its absence at the end.
        pad = size % 2 if data_end + size % 2 <= end else 0
        list_type: bytes | None = None
        if fourcc in LIST_IDS:
            if size < 4:
                msg = f"{fourcc_text(fourcc)} chunk at byte {pos} too short for a list type"
                raise CorruptFileError(msg, path=src.name)
            list_type = src.read_at(pos + HEADER_SIZE, 4)
        chunk = Chunk(pos, fourcc, size, pad, depth, list_type)
        budget.tick(src)
        yield chunk
        if recurse and list_type is not None:
            yield from iter_chunks(
                src, chunk.data_offset + 4, chunk.data_end,
                depth=depth + 1, recurse=True, walk=budget,
            )
        pos = chunk.end


def read_payload(src: Source, chunk: Chunk, what: str | None = None) -> bytes:
    """Read a chunk's payload as metadata (``Limits.max_metadata`` applies)."""
    label = what or f"{fourcc_text(chunk.fourcc)} chunk"
    return src.read_metadata(chunk.data_offset, chunk.size, label)


def pad_byte(size: int) -> bytes:
    """The pad that follows a payload of ``size`` bytes: ``b"\\0"`` when odd, else ``b""``."""
    return b"\x00" * (size % 2)


def make_chunk(fourcc: bytes, payload: bytes) -> bytes:
    """Serialize a chunk: FourCC, u32le unpadded size, payload, pad byte when odd.

    Raises:
        LimitExceededError: the payload does not fit a 32-bit size.
    """
    if len(fourcc) != 4:
        msg = f"FourCC must be 4 bytes, got {fourcc!r}"
        raise ValueError(msg)
    if len(payload) > MAX_SIZE - 1:
        msg = f"{len(payload)}-byte payload does not fit a RIFF chunk"
        raise LimitExceededError(msg)
    return fourcc + u32le(len(payload)) + payload + pad_byte(len(payload))


# --- crash-safe in-place patches through JUNK chunks (aiglabel._patch) ---------------------
# Readers skip a JUNK chunk whatever it holds, so its payload is room a patch can prepare in.

JUNK_IDS = (b"JUNK", b"junk")


def junk_header(room: int) -> bytes | None:
    """A ``JUNK`` header whose chunk fills exactly ``room`` bytes (pad byte included): ``b""``
    for no room, ``None`` when ``room`` cannot be filled (1-7 bytes)."""
    if room == 0:
        return b""
    if room < HEADER_SIZE:
        return None
    size = room - HEADER_SIZE - room % 2  # an odd size is followed by a pad byte
    return b"JUNK" + u32le(size)


def swallow_patch(old: Chunk, junk: Chunk, new: bytes, carrier: str) -> PatchPlan | None:
    """Replace ``old`` by the chunk ``new`` through the ``JUNK`` chunk right after it.

    Prepare writes ``new`` and a ``JUNK`` header for the rest into the JUNK payload; the
    switch turns ``old``'s 8-byte header into a ``JUNK`` header swallowing its payload and the
    old JUNK header; cleanup zeroes the old payload. Sizes of enclosing chunks never change.
    ``None`` when the layout or the room does not allow it.
    """
    from aiglabel._patch import PatchPlan

    if junk.fourcc not in JUNK_IDS or junk.offset != old.end or old.missing_pad:
        return None
    rest = junk_header(junk.end - junk.data_offset - len(new))
    if rest is None or junk.missing_pad:
        return None
    try:
        return PatchPlan(prepare=((junk.data_offset, new + rest),),
                         switch=(old.offset, b"JUNK" + u32le(old.end - old.data_offset + 8)),
                         cleanup=((old.data_offset, bytes(old.end - old.data_offset)),),
                         carrier=carrier)
    except ValueError:  # the switch would cross a sector boundary
        return None


def fill_patch(junk: Chunk, new: bytes, carrier: str) -> PatchPlan | None:
    """Turn the ``JUNK`` chunk ``junk`` into the chunk ``new`` (plus a ``JUNK`` rest).

    Prepare writes ``new``'s payload and a ``JUNK`` header for the rest into the JUNK payload;
    the switch writes ``new``'s 8-byte header over the JUNK header. ``None`` when it does not
    fit.
    """
    from aiglabel._patch import PatchPlan

    if junk.fourcc not in JUNK_IDS or junk.missing_pad:
        return None
    rest = junk_header(junk.end - junk.offset - len(new))
    if rest is None:
        return None
    try:
        return PatchPlan(prepare=((junk.data_offset, new[HEADER_SIZE:] + rest),),
                         switch=(junk.offset, new[:HEADER_SIZE]), carrier=carrier)
    except ValueError:
        return None
