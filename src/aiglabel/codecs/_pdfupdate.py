"""PDF incremental updates: the bytes a label write appends, and finding them again.

Spec: ISO 32000-1:2008 (PDF 1.7) clauses 7.3 (objects), 7.5.4 (cross-reference table), 7.5.5
(file trailer), 7.5.6 (incremental updates), 7.5.8 (cross-reference streams).

An update section (7.5.6) is appended after the file's last byte; the original bytes are never
touched, so byte-range signatures and C2PA hashes over them stay valid. The section aiglabel
writes is::

    [LF]                          only when the file does not end with CR or LF
    %aiglabel-update LF           a comment: the section's first line
    N G obj ... endobj LF         each changed or new object (Info dictionary, metadata
                                  stream, Catalog)
    xref section                  a table (7.5.4) or a stream (7.5.8), like the file's last one
    %aiglabel-update <start> LF   a comment: the section's first byte offset, in decimal
    startxref LF <offset> LF %%EOF LF

Table form::

    xref LF
    0 1 LF  0000000000 65535 f CR LF          the free-list head, so the table starts at 0
    <num> 1 LF  <10-digit offset> <5-digit gen> n CR LF     one subsection per object
    trailer LF << /Size /Root /Info /ID /Prev >> LF

Stream form: one more object, ``<< /Type /XRef /Size /Index [0 1 num 1 ...] /W [1 w 2] /Root
/Info /ID /Prev /Length >>``, unfiltered; rows are a type byte (0 free, 1 in use), a ``w``-byte
big-endian offset and a 2-byte big-endian generation; it lists itself.

The two comments let :func:`update_sections` find aiglabel's sections from the file's tail
alone (two small reads per section), which is how the codec tells the original document (the
essence) from the label updates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiglabel.errors import CorruptFileError, LimitExceededError

if TYPE_CHECKING:
    from aiglabel._io import Source

MARKER = b"%aiglabel-update"
# The tail of an aiglabel section: the start comment, then 7.5.5's last three lines.
_TAIL_RE = re.compile(rb"\n%aiglabel-update (\d{1,20})\nstartxref\n(\d{1,20})\n%%EOF\n\Z")
_TAIL_WINDOW = 128
# 7.5.5: the file's last lines are "startxref", the offset, "%%EOF"; readers look near the end.
_STARTXREF_RE = re.compile(rb"startxref\s*(\d{1,20})\s*%%EOF", re.DOTALL)
_STARTXREF_WINDOW = 2048
_OBJ_HEADER_RE = re.compile(rb"\s*(\d{1,10})\s+(\d{1,5})\s+obj\b")
_WHITESPACE = b"\x00\t\n\x0c\r "
# 7.3.4.2: bytes that need a backslash inside a literal string.
_LITERAL_ESCAPES = {ord("("): b"\\(", ord(")"): b"\\)", ord("\\"): b"\\\\", ord("\r"): b"\\r"}


@dataclass(frozen=True, slots=True)
class LastXref:
    """Where the file's last cross-reference section is, and its kind."""

    offset: int
    is_stream: bool


def last_xref(src: Source) -> LastXref:
    """Find the last ``startxref`` and check it points at a cross-reference section.

    Raises:
        CorruptFileError: no ``startxref`` near the end, or it points elsewhere (an update
            whose ``/Prev`` led nowhere would break the file for other readers).
    """
    window = min(src.size, _STARTXREF_WINDOW)
    tail = src.read_at(src.size - window, window)
    found = list(_STARTXREF_RE.finditer(tail))
    if not found:
        msg = "no startxref and %%EOF at the end of the PDF"
        raise CorruptFileError(msg, path=src.name)
    offset = int(found[-1].group(1))
    if offset >= src.size:
        msg = f"startxref {offset} points past the end of the file ({src.size} bytes)"
        raise CorruptFileError(msg, path=src.name)
    head = src.read_upto(offset, 64).lstrip(_WHITESPACE)
    if head.startswith(b"xref"):
        return LastXref(offset, is_stream=False)
    if _OBJ_HEADER_RE.match(head):
        return LastXref(offset, is_stream=True)
    msg = f"startxref {offset} does not point at a cross-reference section"
    raise CorruptFileError(msg, path=src.name)


def update_sections(src: Source) -> list[int]:
    """First-byte offsets of the aiglabel update sections that end the file, newest first.

    A section counts when its tail comment names a start before it and the bytes there begin
    with the head comment; the walk stops at the first section that is not aiglabel's.
    """
    starts: list[int] = []
    end = src.size
    while len(starts) < src.limits.max_items:
        window = min(end, _TAIL_WINDOW)
        match = _TAIL_RE.search(src.read_upto(end - window, window))
        if match is None:
            break
        start = int(match.group(1))
        if not 0 < start < end:
            break
        head = src.read_upto(start, len(MARKER) + 2)
        if not head.startswith((MARKER + b"\n", b"\n" + MARKER + b"\n")):
            break
        starts.append(start)
        end = start
    return starts


# --- serialising objects (7.3) -----------------------------------------------------------------


def literal(raw: bytes) -> bytes:
    """A literal string (7.3.4.2): ``(``, ``)``, ``\\`` and CR escaped (a bare CR would be read
    back as LF)."""
    return b"(" + b"".join(_LITERAL_ESCAPES.get(b, bytes((b,))) for b in raw) + b")"


def string(raw: bytes) -> bytes:
    """A string object: literal when every byte is printable ASCII, else hexadecimal
    (7.3.4.3), so binary and UTF-16 values survive any transport."""
    if all(0x20 <= b < 0x7F for b in raw):
        return literal(raw)
    return b"<" + raw.hex().upper().encode() + b">"


def text_string(value: str) -> bytes:
    """A text string (7.9.2.2): ASCII as is, anything else UTF-16BE with a byte order mark."""
    if value.isascii():
        return string(value.encode("ascii"))
    return string(b"\xfe\xff" + value.encode("utf-16-be"))


def serialize(obj: Any, depth: int = 0, max_depth: int = 32) -> bytes:
    """Serialise a pypdf object as it was read: strings from their original bytes, indirect
    references as ``N G R``, containers recursively (at most ``max_depth`` deep).

    Raises:
        LimitExceededError: nesting deeper than ``max_depth``.
        CorruptFileError: a stream object where only direct objects may be.
    """
    from pypdf import generic as g

    if depth > max_depth:
        msg = f"PDF object nesting deeper than {max_depth}"
        raise LimitExceededError(msg)
    if isinstance(obj, g.IndirectObject):
        return f"{obj.idnum} {obj.generation} R".encode()
    if isinstance(obj, g.TextStringObject):
        return string(obj.get_original_bytes())
    if isinstance(obj, g.ByteStringObject):
        return string(bytes(obj))
    if isinstance(obj, g.StreamObject):
        msg = "a stream object inside a dictionary"
        raise CorruptFileError(msg)
    if isinstance(obj, g.DictionaryObject):
        parts = [serialize(k, depth + 1, max_depth) + b" " + serialize(v, depth + 1, max_depth)
                 for k, v in obj.items()]
        return b"<<" + b"".join(b" " + p for p in parts) + b" >>"
    if isinstance(obj, g.ArrayObject):
        return b"[" + b" ".join(serialize(v, depth + 1, max_depth) for v in obj) + b"]"
    if isinstance(obj, g.BooleanObject):
        return b"true" if obj else b"false"
    if isinstance(obj, g.NumberObject):
        return str(int(obj)).encode()
    if isinstance(obj, g.NameObject | g.FloatObject | g.NullObject):
        from io import BytesIO

        out = BytesIO()
        obj.write_to_stream(out)
        return out.getvalue()
    return b"null"  # anything else pypdf may hand back for a damaged value


def entry(key: Any, value: Any, max_depth: int = 32) -> bytes:
    """One dictionary entry, ``/Key value``, both serialised as read (:func:`serialize`)."""
    return serialize(key, 1, max_depth) + b" " + serialize(value, 1, max_depth)


def dictionary(entries: list[bytes]) -> bytes:
    """A dictionary (7.3.7) of serialised entries, in order."""
    return b"<< " + b" ".join(entries) + b" >>"


def indirect_object(num: int, gen: int, body: bytes) -> bytes:
    """``N G obj`` LF body LF ``endobj`` LF (7.3.10)."""
    return f"{num} {gen} obj\n".encode() + body + b"\nendobj\n"


def stream_body(entries: bytes, data: bytes) -> bytes:
    """A stream (7.3.8): the dictionary with ``/Length``, ``stream`` LF, data, LF
    ``endstream`` (the EOL before ``endstream`` is not counted in ``/Length``)."""
    return (b"<<" + entries + b" /Length " + str(len(data)).encode() + b" >>\nstream\n" + data
            + b"\nendstream")


# --- the section -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewObject:
    """An object of the update: number, generation and serialised body."""

    num: int
    gen: int
    body: bytes


def build_section(*, base: int, lead: bool, prev: LastXref, objects: list[NewObject],
                  size: int, trailer: bytes) -> bytes:
    """The update section appended at offset ``base`` (see the module docstring).

    Args:
        base: the original file's size; offsets in the new xref are ``base`` + position.
        lead: add an LF first (the file does not end with an EOL).
        prev: the file's last cross-reference section (``/Prev``, and the kind to write).
        objects: the changed objects.
        size: the ``/Size`` of the file before the update (one more than its highest number).
        trailer: the other trailer entries (``/Root``, ``/Info``, ``/ID``), serialised.
    """
    out = bytearray(b"\n" if lead else b"")
    out += MARKER + b"\n"
    offsets: dict[int, tuple[int, int]] = {}
    for obj in sorted(objects, key=lambda o: o.num):
        offsets[obj.num] = (base + len(out), obj.gen)
        out += indirect_object(obj.num, obj.gen, obj.body)
    size = max([size, *(num + 1 for num in offsets)])
    tail = b" /Prev " + str(prev.offset).encode()
    if prev.is_stream:
        xref_num = size
        xref_at = base + len(out)
        offsets[xref_num] = (xref_at, 0)
        width = max(4, (xref_at.bit_length() + 7) // 8)
        nums = sorted(offsets)
        rows = b"\x00" + bytes(width) + b"\xff\xff"  # object 0: free-list head (7.5.8.3)
        rows += b"".join(b"\x01" + offsets[n][0].to_bytes(width, "big")
                         + offsets[n][1].to_bytes(2, "big") for n in nums)
        index = " ".join(f"{n} 1" for n in nums)
        entries = (f" /Type /XRef /Size {size + 1} /Index [0 1 {index}] /W [1 {width} 2]"
                   .encode() + trailer + tail)
        out += indirect_object(xref_num, 0, stream_body(entries, rows))
    else:
        xref_at = base + len(out)
        out += b"xref\n0 1\n0000000000 65535 f\r\n"
        for num in sorted(offsets):
            offset, gen = offsets[num]
            out += f"{num} 1\n{offset:010d} {gen:05d} n\r\n".encode()
        out += b"trailer\n<< /Size " + str(size).encode() + trailer + tail + b" >>\n"
    out += MARKER + f" {base}\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)
