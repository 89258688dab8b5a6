"""ID3v2 tags: parse v2.2/v2.3/v2.4, find ``TXXX:AIGC`` labels, rebuild a tag losslessly.

Specs: ID3v2.2 https://id3.org/id3v2-00 ; ID3v2.3.0 https://id3.org/id3v2.3.0 ; ID3v2.4.0
"main structure" https://id3.org/id3v2.4.0-structure and "native frames"
https://id3.org/id3v2.4.0-frames (informal standards, M. Nilsson). Used by the MP3 codec (the tag
at the head of the file, and tags appended at its end) and by WAV's ``id3 `` chunk.

Layout (all integers big-endian)::

    header    "ID3", major (2|3|4), revision, flags, 4-byte syncsafe size (7 bits per byte) =
              bytes after the header, footer excluded
              flags: 0x80 unsynchronisation, 0x40 extended header (v2.2: compression),
              0x20 experimental, 0x10 footer present (v2.4)
    ext hdr   v2.3: u32 size (excluding itself: 6 or 10), flags, padding size[, CRC]
              v2.4: syncsafe u32 size (including itself), flag bytes ...
    frames    v2.3/v2.4: 4-char id [A-Z0-9], u32 size (v2.3 plain, v2.4 syncsafe), u16 flags,
              data; v2.2: 3-char id, u24 size, data
    padding   zero bytes up to the declared size
    footer    v2.4 only: "3DI" + the header's other 7 bytes

Unsynchronisation (a 00 inserted after every FF that precedes 111xxxxx or 00; undone by
deleting the 00 after each FF): in v2.2/v2.3 the header flag covers the whole body (extended
header and frames); in v2.4 it is per frame (format flag 0x02, covering everything after the
frame header), the header flag meaning "every frame". Frame format flags add bytes before the
data in flag order -- v2.3: compression (u32 size), encryption (method), grouping (id); v2.4:
grouping (id), encryption (method), data length indicator (syncsafe u32).

``TXXX`` ("TXX" in v2.2): text encoding byte (0 ISO-8859-1, 1 UTF-16 with BOM, 2 UTF-16BE,
3 UTF-8), description terminated by NUL (two NULs for UTF-16), value.

Labels: every ``TXXX`` whose description is ``AIGC`` (rules §C.3, [H]); the description is matched
case-insensitively, trimmed of whitespace and NULs [project choice: a tolerated variant, reported
under its own carrier ``...:TXXX:<description>``]. A ``TXX`` frame of a v2.2 tag reports the
carrier as ``TXXX`` too: it is the same frame under its v2.2 name.

Rebuilding (:func:`rebuild`) [project choice, rules §C.3 and §C.7]:

* every frame other than the AIGC ``TXXX`` frames and the ``PRIV`` dead space of in-place
  patches (owner :data:`PADDING_OWNER`) is kept byte for byte (header, flags, data);
  the new label frame takes the place of the first old one, else it follows the last frame.
  Unrecognised bytes after the last frame (no reader gets past them) are dropped: kept after
  the new frame, they make size-guessing readers misread it. v2.4 frame sizes that only parse
  as plain integers (old iTunes) are read so, and the new frame's size is written so too;
* the tag keeps its version; a new tag is v2.4. The label frame is UTF-8 (encoding 3) in v2.4,
  ISO-8859-1 (encoding 0) in v2.3/v2.2 -- or UTF-16 (encoding 1) if the value does not fit
  ISO-8859-1, which a conforming label always does (GB 45438 Annex E j);
* v2.2/v2.3 tags are written without unsynchronisation: their frames are kept as they are
  after undoing it. v2.4 keeps its header flag (a per-frame matter) and marks the new frame
  unsynchronised when the flag is set, which changes none of its bytes (UTF-8 has no 0xFF);
* the extended header is dropped: its CRC and padding size would be stale after the edit;
* padding: when the frames fit in the old tag's size, the size is kept (the audio does not move);
  otherwise the tag grows to the frames plus :data:`DEFAULT_PADDING` (1 KiB) of zeros, room
  for later updates (a propagator's fields) without moving the audio again. A v2.4 tag with a
  footer keeps the footer and gets no padding (v2.4 §3.3 forbids padding with a footer).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiglabel._io import Span
from aiglabel.codecs.base import FoundLabel
from aiglabel.errors import CarrierUnsupportedError, CorruptFileError, LimitExceededError
from aiglabel.model import Finding, Severity

if TYPE_CHECKING:
    from aiglabel._io import Source
    from aiglabel.codecs._meta import Collector

__all__ = [
    "DEFAULT_PADDING", "PADDING_OWNER", "Frame", "Header", "Rebuilt", "Tag", "find_labels",
    "is_padding_frame", "label_frames", "parse_header", "read_tag", "rebuild", "syncsafe",
    "to_syncsafe", "try_read_tag", "txxx_frame", "unsync_decode",
]

HEADER_SIZE = 10
FOOTER_SIZE = 10
MAX_SIZE = (1 << 28) - 1  # 28-bit syncsafe integers
DEFAULT_PADDING = 1024
PADDING_OWNER = b"aiglabel:padding"  # PRIV owner of the dead space in-place patches leave
LABEL_DESCRIPTION = "AIGC"  # rules §C.3: TXXX description
FLAG_UNSYNC, FLAG_EXTENDED, FLAG_FOOTER = 0x80, 0x40, 0x10
_ID_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ENCODINGS = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}


def syncsafe(data: bytes) -> int:
    """Decode a syncsafe integer (7 bits per byte, big-endian).

    Raises:
        CorruptFileError: a byte has its top bit set.
    """
    value = 0
    for b in data:
        if b & 0x80:
            msg = f"ID3v2 syncsafe integer {data.hex()} has a byte over 0x7F"
            raise CorruptFileError(msg)
        value = (value << 7) | b
    return value


def to_syncsafe(value: int, width: int = 4) -> bytes:
    """Encode ``value`` as a syncsafe integer of ``width`` bytes.

    Raises:
        LimitExceededError: the value needs more than ``7 * width`` bits.
    """
    if not 0 <= value < 1 << (7 * width):
        msg = f"{value} does not fit a {width}-byte ID3v2 syncsafe integer"
        raise LimitExceededError(msg)
    return bytes((value >> (7 * i)) & 0x7F for i in reversed(range(width)))


def unsync_decode(data: bytes) -> bytes:
    """Undo unsynchronisation: every ``FF 00`` becomes ``FF``."""
    return data.replace(b"\xff\x00", b"\xff")


@dataclass(frozen=True, slots=True)
class Header:
    """An ID3v2 tag header.

    Attributes:
        offset: file offset of ``"ID3"``.
        major: 2, 3 or 4.
        revision: the revision byte.
        flags: the flags byte.
        size: the declared size (bytes after the header, footer excluded).
    """

    offset: int
    major: int
    revision: int
    flags: int
    size: int

    @property
    def body_offset(self) -> int:
        return self.offset + HEADER_SIZE

    @property
    def footer(self) -> bool:
        return self.major == 4 and bool(self.flags & FLAG_FOOTER)

    @property
    def unsync(self) -> bool:
        return bool(self.flags & FLAG_UNSYNC)

    @property
    def end(self) -> int:
        """Offset just after the tag (footer included)."""
        return self.body_offset + self.size + (FOOTER_SIZE if self.footer else 0)


def parse_header(data: bytes, offset: int = 0, magic: bytes = b"ID3") -> Header | None:
    """Parse 10 header (or, with ``magic=b"3DI"``, footer) bytes; ``None`` when not a tag.

    Raises:
        CorruptFileError: the magic matches but the version or size is invalid.
    """
    if len(data) < HEADER_SIZE or data[:3] != magic:
        return None
    major, revision, flags = data[3], data[4], data[5]
    if major not in (2, 3, 4) or revision == 0xFF:
        msg = f"unsupported ID3v2 version 2.{major}.{revision} at byte {offset}"
        raise CorruptFileError(msg)
    return Header(offset, major, revision, flags, syncsafe(data[6:10]))


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame; offsets are in body coordinates (after the 10-byte tag header).

    Attributes:
        id: the frame id (``"TXXX"``; ``"TXX"`` in v2.2).
        offset: where its header starts in the body.
        header_size: 10 (6 in v2.2).
        size: the stored data size.
        flags: the two flag bytes (status << 8 | format); 0 in v2.2.
    """

    id: str
    offset: int
    header_size: int
    size: int
    flags: int = 0

    @property
    def data_offset(self) -> int:
        return self.offset + self.header_size

    @property
    def end(self) -> int:
        return self.data_offset + self.size


@dataclass(slots=True)
class Tag:
    """A parsed tag: header, frame list and body access.

    Built by :func:`read_tag`. A v2.2/v2.3 tag with unsynchronisation is read whole and decoded
    (``decoded``); otherwise frames are read through the source one at a time.

    Attributes:
        header: the tag header.
        src: the file.
        frames: the frames in order.
        frames_end: body offset just after the last frame (padding or stray bytes follow).
        body_size: size of the (decoded) body.
        ext_size: bytes of extended header at the start of the body.
        int_sizes: v2.4 frame sizes stored as plain integers (see :func:`_walk`).
        findings: tolerated deviations (rules §G 5), without a carrier; codecs add theirs.
    """

    header: Header
    src: Source
    frames: list[Frame] = field(default_factory=list)
    frames_end: int = 0
    body_size: int = 0
    ext_size: int = 0
    decoded: bytes | None = None
    int_sizes: bool = False
    findings: list[Finding] = field(default_factory=list)

    def note(self, message: str, severity: Severity = Severity.WARNING) -> None:
        """Record a tolerated deviation."""
        self.findings.append(Finding("G5.carrier", severity, message))

    def read(self, offset: int, n: int) -> bytes:
        """Read ``n`` body bytes at body offset ``offset`` (``max_metadata`` applies)."""
        if offset < 0 or offset + n > self.body_size:
            msg = f"ID3v2 read {offset}+{n} beyond the {self.body_size}-byte tag body"
            raise CorruptFileError(msg)
        if self.decoded is not None:
            return self.decoded[offset : offset + n]
        return self.src.read_metadata(self.header.body_offset + offset, n, "ID3v2 frame")

    def raw(self, frame: Frame) -> bytes | Span:
        """The frame as stored (header and data): a file span, or bytes when decoded."""
        if self.decoded is not None:
            return self.decoded[frame.offset : frame.end]
        return Span(self.header.body_offset + frame.offset, frame.header_size + frame.size)

    def file_offset(self, frame: Frame) -> int:
        """The frame's file offset (the tag's when the body was unsynchronised)."""
        if self.decoded is not None:
            return self.header.offset
        return self.header.body_offset + frame.offset

    def payload(self, frame: Frame) -> bytes | None:
        """The frame content with flag bytes, unsynchronisation and compression undone;
        ``None`` when it is encrypted or does not inflate."""
        data = self.read(frame.data_offset, frame.size)
        fmt = frame.flags & 0xFF
        major = self.header.major
        try:
            if major == 3:
                compressed, encrypted = bool(fmt & 0x80), bool(fmt & 0x40)
                data = data[(4 if compressed else 0) + encrypted + bool(fmt & 0x20) :]
            elif major == 4:
                compressed, encrypted = bool(fmt & 0x08), bool(fmt & 0x04)
                if fmt & 0x02 or self.header.unsync:
                    data = unsync_decode(data)  # v2.4 §4.1.2 n: everything after the header
                data = data[bool(fmt & 0x40) + encrypted + (4 if fmt & 0x01 else 0) :]
            else:
                compressed = encrypted = False
            if encrypted:
                return None
            if compressed:
                d = zlib.decompressobj()
                limit = self.src.limits.max_metadata
                data = d.decompress(data, limit)
                if d.unconsumed_tail:
                    msg = f"compressed ID3v2 frame {frame.id} inflates beyond {limit} bytes"
                    raise LimitExceededError(msg)
        except zlib.error:
            return None
        return data


def _extended_size(tag: Tag) -> int:
    h = tag.header
    if h.major < 3 or not h.flags & FLAG_EXTENDED:
        return 0
    head = tag.read(0, 4)
    size = int.from_bytes(head, "big") + 4 if h.major == 3 else syncsafe(head)
    if size < 6 or size > tag.body_size:
        msg = f"ID3v2 extended header of {size} bytes does not fit the tag"
        raise CorruptFileError(msg)
    return size


def _frame_list(tag: Tag, *, syncsafe_sizes: bool
                ) -> tuple[list[Frame], int, str | CorruptFileError | None]:
    """Walk the frame headers: ``(frames, end, problem)``.

    ``problem`` is ``None`` when the walk ended at padding or at the end of the body, a message
    when it met bytes that are no frame header, an error when a frame runs past the body.
    """
    major = tag.header.major
    hsize = 6 if major == 2 else 10
    idlen = 3 if major == 2 else 4
    frames: list[Frame] = []
    pos = tag.ext_size
    while pos + hsize <= tag.body_size:
        head = tag.read(pos, hsize)
        if head[0] == 0:
            break  # padding
        if not all(b in _ID_CHARS for b in head[:idlen]):
            return frames, pos, f"unrecognised bytes after the last frame (tag body offset {pos})"
        if major == 2:
            size, flags = int.from_bytes(head[3:6], "big"), 0
        else:
            raw = head[4:8]
            if syncsafe_sizes and any(b & 0x80 for b in raw):
                return frames, pos, CorruptFileError(
                    f"ID3v2.4 frame {head[:4].decode()} has a size that is not syncsafe")
            size = syncsafe(raw) if syncsafe_sizes else int.from_bytes(raw, "big")
            flags = int.from_bytes(head[8:10], "big")
        frame = Frame(head[:idlen].decode("ascii"), pos, hsize, size, flags)
        if frame.end > tag.body_size:
            msg = f"ID3v2 frame {frame.id} at body offset {pos} runs past the end of the tag"
            return frames, pos, CorruptFileError(msg)
        frames.append(frame)
        if len(frames) > tag.src.limits.max_items:
            msg = f"more than {tag.src.limits.max_items} ID3v2 frames"
            raise LimitExceededError(msg)
        pos = frame.end
    return frames, pos, None


def _walk(tag: Tag) -> None:
    """Find the frames. A v2.4 tag whose frame sizes only parse as plain integers (old iTunes
    wrote them so) is read that way, and a rewrite writes the new frame's size the same way."""
    major = tag.header.major
    frames, end, problem = _frame_list(tag, syncsafe_sizes=major == 4)
    if problem is not None and major == 4:
        alt, alt_end, alt_problem = _frame_list(tag, syncsafe_sizes=False)
        if alt_problem is None:
            frames, end, problem = alt, alt_end, None
            tag.int_sizes = True
            tag.note("ID3v2.4 frame sizes are plain integers, not syncsafe (old iTunes); read "
                     "and written that way")
    if isinstance(problem, CorruptFileError):
        raise problem
    if problem is not None:
        tag.note(f"{problem}: readers stop there; a rewrite drops these bytes")
    tag.frames, tag.frames_end = frames, end


def read_tag(src: Source, header: Header, end: int | None = None) -> Tag:
    """Read a tag's structure (frame headers; the whole body only when unsynchronised).

    Args:
        src: the file.
        header: the parsed header.
        end: where the tag's container ends (a WAV chunk); the file size by default.

    Raises:
        CorruptFileError: the tag runs past ``end``, or its frames are damaged.
        CarrierUnsupportedError: a compressed v2.2 tag (no scheme was ever defined).
        LimitExceededError: the tag is larger than ``Limits.max_metadata`` (when read whole)
            or has too many frames.
    """
    limit = src.size if end is None else end
    if header.end > limit:
        msg = (f"truncated: ID3v2 tag at byte {header.offset} declares {header.size} bytes "
               f"and runs past byte {limit}")
        raise CorruptFileError(msg, path=src.name)
    if header.major == 2 and header.flags & 0x40:
        msg = "compressed ID3v2.2 tag: no compression scheme is defined, cannot read it"
        raise CarrierUnsupportedError(msg, path=src.name)
    tag = Tag(header, src, body_size=header.size)
    if header.unsync and header.major < 4:
        stored = src.read_metadata(header.body_offset, header.size, "ID3v2 tag")
        tag.decoded = unsync_decode(stored)
        tag.body_size = len(tag.decoded)
        tag.note("unsynchronised ID3v2 tag (a rewrite drops the unsynchronisation)",
                 Severity.INFO)
    try:
        tag.ext_size = _extended_size(tag)
        _walk(tag)
    except CorruptFileError as exc:
        raise CorruptFileError(exc.message, path=src.name) from exc
    if tag.ext_size:
        tag.note("ID3v2 extended header (a rewrite drops it)", Severity.INFO)
    return tag


def try_read_tag(src: Source, header: Header, end: int | None = None
                 ) -> tuple[Tag | None, str | None]:
    """:func:`read_tag` for a tag that is not the file's label carrier of choice: a damaged
    tag gives ``(None, reason)`` instead of an error, and is then copied as it is."""
    try:
        return read_tag(src, header, end), None
    except (CorruptFileError, CarrierUnsupportedError) as exc:
        return None, exc.message


def _split(encoding: int, data: bytes) -> tuple[bytes, bytes]:
    """Split at the first terminator (one NUL, or an aligned NUL pair for UTF-16)."""
    if encoding in (1, 2):
        for i in range(0, len(data) - 1, 2):
            if data[i : i + 2] == b"\x00\x00":
                return data[:i], data[i + 2 :]
        return data, b""
    head, _, rest = data.partition(b"\x00")
    return head, rest


def decode_text(encoding: int, data: bytes) -> str:
    """Decode one or more encoded strings; NUL separators become newlines, trailing ones go."""
    codec = _ENCODINGS.get(encoding, "latin-1")
    parts: list[str] = []
    while data:
        head, data = _split(encoding, data)
        if encoding == 1 and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = head.decode("utf-16-le", errors="replace")  # BOM missing: assume LE
        else:
            text = head.decode(codec, errors="replace").lstrip("\ufeff")
        parts.append(text)
    while parts and not parts[-1]:
        parts.pop()
    return "\n".join(parts)


def user_text(payload: bytes) -> tuple[str, str] | None:
    """Decode a ``TXXX`` payload to ``(description, value)``; ``None`` when empty."""
    if not payload:
        return None
    encoding = payload[0]
    desc, value = _split(encoding, payload[1:])
    return decode_text(encoding, desc), decode_text(encoding, value)


def is_label_description(description: str) -> bool:
    """True for ``AIGC`` in any case, surrounding whitespace ignored [project choice]."""
    return description.strip().upper() == LABEL_DESCRIPTION


def _txxx_id(tag: Tag) -> str:
    return "TXX" if tag.header.major == 2 else "TXXX"


def _label_frames(tag: Tag) -> list[tuple[Frame, str, str]]:
    out = []
    for frame in tag.frames:
        if frame.id != _txxx_id(tag):
            continue
        payload = tag.payload(frame)
        text = user_text(payload) if payload is not None else None
        if text is not None and is_label_description(text[0]):
            out.append((frame, *text))
    return out


def find_labels(tag: Tag, prefix: str) -> list[FoundLabel]:
    """Every ``TXXX:AIGC`` frame of the tag, duplicates included.

    Carrier ids: ``<prefix>:TXXX:AIGC``, or ``<prefix>:TXXX:<description>`` for a description
    that is ``AIGC`` only after ignoring case and whitespace.
    """
    out = []
    for frame, desc, value in _label_frames(tag):
        carrier = f"{prefix}:TXXX:{desc if desc == LABEL_DESCRIPTION else desc.strip()}"
        out.append(FoundLabel.from_text(carrier, value, offset=tag.file_offset(frame)))
    return out


def label_frames(tag: Tag) -> list[Frame]:
    """The tag's AIGC ``TXXX`` frames, in order."""
    return [frame for frame, _, _ in _label_frames(tag)]


def is_padding_frame(tag: Tag, frame: Frame) -> bool:
    """True for a ``PRIV`` frame owned by :data:`PADDING_OWNER`: dead space an in-place patch
    left behind (``Mp3Codec.plan_patch``); a rewrite turns it back into padding."""
    n = len(PADDING_OWNER) + 1
    return (frame.id == "PRIV" and frame.size >= n and frame.flags & 0xFF == 0
            and tag.read(frame.data_offset, n) == PADDING_OWNER + b"\x00")


def has_labels(tag: Tag) -> bool:
    """True when the tag holds at least one AIGC ``TXXX`` frame."""
    return bool(_label_frames(tag))


def unreadable_frames(tag: Tag) -> list[str]:
    """Ids of ``TXXX`` frames that cannot be decoded (encrypted, bad zlib)."""
    return [f.id for f in tag.frames if f.id == _txxx_id(tag) and tag.payload(f) is None]


def collect(tag: Tag, carrier: str, out: Collector) -> None:
    """Add the tag's text frames to ``out``: ``T***`` by id (``TXXX:<description>`` for user
    text), ``COMM`` (``COM`` in v2.2) as ``COMM``. Other frames are not read."""
    comm = "COM" if tag.header.major == 2 else "COMM"
    for frame in tag.frames:
        if out.full:
            return
        if not frame.id.startswith("T") and frame.id != comm:
            continue
        payload = tag.payload(frame)
        if not payload:
            continue
        offset = tag.file_offset(frame)
        if frame.id == _txxx_id(tag):
            desc, value = user_text(payload) or ("", "")
            out.add(carrier, f"TXXX:{desc}", value, offset)
        elif frame.id == comm:
            # encoding, 3-byte language, short description, text
            _, text = _split(payload[0], payload[4:])
            out.add(carrier, "COMM", decode_text(payload[0], text), offset)
        else:
            out.add(carrier, frame.id, decode_text(payload[0], payload[1:]), offset)


def txxx_frame(major: int, value: str, *, unsync: bool = False, int_size: bool = False,
               description: str = LABEL_DESCRIPTION) -> bytes:
    """Serialize a ``TXXX`` frame for a tag of version 2.``major`` (rules §C.3).

    v2.4: encoding 3 (UTF-8). v2.3/v2.2: encoding 0 (ISO-8859-1), or 1 (UTF-16 with BOM) when
    the text does not fit ISO-8859-1. ``unsync`` sets the v2.4 per-frame flag (no byte changes:
    UTF-8 never contains 0xFF); ``int_size`` writes a v2.4 size as a plain integer, to match a
    tag whose other frames have such sizes.
    """
    if major == 4:
        data = b"\x03" + description.encode() + b"\x00" + value.encode()
    else:
        try:
            data = b"\x00" + description.encode("latin-1") + b"\x00" + value.encode("latin-1")
        except UnicodeEncodeError:
            bom = b"\xff\xfe"  # little-endian, whatever the machine
            data = (b"\x01" + bom + description.encode("utf-16-le") + b"\x00\x00"
                    + bom + value.encode("utf-16-le"))
    if major == 2:
        if len(data) >= 1 << 24:
            msg = f"{len(data)}-byte label does not fit an ID3v2.2 frame"
            raise LimitExceededError(msg)
        return b"TXX" + len(data).to_bytes(3, "big") + data
    syncsafe_size = major == 4 and not int_size
    size = to_syncsafe(len(data)) if syncsafe_size else len(data).to_bytes(4, "big")
    return b"TXXX" + size + (b"\x00\x02" if unsync and major == 4 else b"\x00\x00") + data


@dataclass(slots=True)
class Rebuilt:
    """A rebuilt tag as file spans and new bytes.

    Attributes:
        pieces: header, frames, padding and footer in order.
        removed: how many AIGC frames were dropped.
        kept: how many other frames were kept (0: the tag holds nothing but the new label).
    """

    pieces: list[bytes | Span]
    removed: int
    kept: int

    @property
    def size(self) -> int:
        return sum(p.length if isinstance(p, Span) else len(p) for p in self.pieces)

    def to_bytes(self, src: Source) -> bytes:
        """The tag as one byte string (spans read from ``src``)."""
        return b"".join(p if isinstance(p, bytes)
                        else src.read_metadata(p.offset, p.length, "ID3v2 frame")
                        for p in self.pieces)


def rebuild(tag: Tag | None, label: str | None, *, padding: int = DEFAULT_PADDING) -> Rebuilt:
    """Rebuild ``tag`` without its AIGC frames, with a new ``TXXX:AIGC`` holding ``label``.

    With ``tag=None`` a new v2.4 tag is made; with ``label=None`` the AIGC frames are only
    removed. See the module docstring for the frame order, version and padding policy.

    Raises:
        LimitExceededError: the tag would exceed the 256 MiB syncsafe size.
    """
    if tag is None:
        header = Header(0, 4, 0, 0, 0)
        frames: list[bytes | Span] = []
        at: int | None = None
        removed = 0
    else:
        header = tag.header
        drop = {f for f, _, _ in _label_frames(tag)}
        removed = len(drop)
        drop.update(f for f in tag.frames if is_padding_frame(tag, f))
        frames, at = [], None
        for frame in tag.frames:
            if frame in drop:
                at = len(frames) if at is None else at
                continue
            frames.append(tag.raw(frame))
    kept = len(frames)
    if label is not None:
        new = txxx_frame(header.major, label, unsync=header.major == 4 and header.unsync,
                         int_size=tag is not None and tag.int_sizes)
        frames.insert(len(frames) if at is None else at, new)
    used = sum(p.length if isinstance(p, Span) else len(p) for p in frames)
    if header.footer:
        size = used
    elif tag is not None and used <= header.size:
        size = header.size  # the audio does not move
    else:
        size = used + padding
    if size > MAX_SIZE:
        msg = f"ID3v2 tag of {size} bytes exceeds the 256 MiB limit"
        raise LimitExceededError(msg)
    flags = header.flags & ~FLAG_EXTENDED
    if header.major < 4:
        flags &= ~FLAG_UNSYNC
    fixed = bytes([header.major, header.revision, flags]) + to_syncsafe(size)
    pieces: list[bytes | Span] = [b"ID3" + fixed, *frames]
    if size > used:
        pieces.append(bytes(size - used))
    if header.footer:
        pieces.append(b"3DI" + fixed)
    return Rebuilt(pieces, removed, kept)
