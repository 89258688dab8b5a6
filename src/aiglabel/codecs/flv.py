"""FLV codec.

Spec: Adobe "Video File Format Specification, Version 10.1" (2010), Annex E (FLV header, tags,
SCRIPTDATA); Adobe "Action Message Format -- AMF 0" (2007) for the script values.
GB carrier (TC260-PG-20257A, rules §C.2, [M]): the script-data tag ``onMetaData``, an ECMA
array (or object) property ``AIGC`` of AMF0 type string (``0x02``; long string ``0x0C`` above
65535 bytes) holding the bare JSON. FFmpeg writes this property for ``-metadata AIGC=...``.
Also reads: the property name in any case.

Layout (integers big-endian)::

    header   "FLV", u8 version (1), u8 flags (0x04 audio, 0x01 video), u32 header size (9)
             u32 PreviousTagSize0 (0)
    tag      u8 type (low 5 bits: 8 audio, 9 video, 18 script data; 0x20 = filtered),
             u24 data size, u24 timestamp, u8 timestamp bits 24-31, u24 stream id (0),
             data, u32 PreviousTagSize (= 11 + data size)
    script   AMF0 string "onMetaData" (0x02, u16 length, bytes), then an ECMA array
             (0x08, u32 approximate count, properties, end marker 00 00 09) or an object
             (0x03, properties, end marker); a property is a u16-length UTF-8 key and a value

Reading is header-only: it walks the tags before the first audio or video tag (where muxers
put ``onMetaData``) and reads only script-data payloads; a script tag after the first media tag
is not looked at. Writing rewrites those script tags: the first ``onMetaData`` gains (or
replaces) ``AIGC``, keeping every other property byte-identical and fixing the ECMA count;
AIGC properties of other ``onMetaData`` tags are removed (GB 6.1 c). A file without metadata
gets a new ``onMetaData`` tag after the header. Each rewritten tag gets its new data size and
PreviousTagSize; every later tag is copied verbatim but shifts by the growth, so the absolute
file offsets in ``onMetaData`` are moved with it: ``keyframes.filepositions`` (yamdi, FFmpeg
``add_keyframe_index``) and ``lastkeyframelocation``; ``filesize`` is updated when it matched.
Essence: the 9-byte header's flags byte and every audio and video tag (header and data).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs._meta import Collector
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

SIGNATURE = b"FLV"
AUDIO, VIDEO, SCRIPT = 8, 9, 18
TAG_HEADER = 11
PREV_SIZE = 4
MAX_DATA = 0xFFFFFF  # u24 data size
CARRIER = "flv:onMetaData:AIGC"
ON_METADATA = "onMetaData"
# AMF0 markers (AMF 0 spec §2.1).
NUMBER, BOOLEAN, STRING, OBJECT, NULL, UNDEFINED, REFERENCE = 0, 1, 2, 3, 5, 6, 7
ECMA_ARRAY, OBJECT_END, STRICT_ARRAY, DATE, LONG_STRING = 8, 9, 10, 11, 12
UNSUPPORTED, XML_DOCUMENT, TYPED_OBJECT = 13, 15, 16
END_MARKER = b"\x00\x00\x09"
# onMetaData numbers that are absolute file offsets (yamdi / FFmpeg / flvtool2 conventions).
OFFSET_KEYS = ("lastkeyframelocation",)


@dataclass(frozen=True, slots=True)
class Tag:
    """One tag: ``offset`` of its type byte, ``kind`` (low 5 bits), data ``size``."""

    offset: int
    kind: int
    size: int

    @property
    def data_offset(self) -> int:
        return self.offset + TAG_HEADER

    @property
    def end(self) -> int:
        """Offset after the tag's PreviousTagSize."""
        return self.data_offset + self.size + PREV_SIZE


def read_header(src: Source) -> int:
    """Check the FLV header; return the offset of the first tag.

    Raises:
        CorruptFileError: not FLV, or a header size out of range.
    """
    head = src.read_upto(0, 9)
    if len(head) < 9 or head[:3] != SIGNATURE:
        msg = "not an FLV file (no FLV signature)"
        raise CorruptFileError(msg, path=src.name)
    size: int = struct.unpack(">I", head[5:9])[0]
    if size < 9 or size + PREV_SIZE > src.size:
        msg = f"FLV header size {size} out of range"
        raise CorruptFileError(msg, path=src.name)
    return size + PREV_SIZE


def iter_tags(src: Source, *, media_stop: bool) -> Iterator[Tag]:
    """Walk tag headers, seeking over data; with ``media_stop``, stop at the first audio or
    video tag (yielding it).

    Raises:
        CorruptFileError: a tag runs past the end of the file.
        LimitExceededError: more than ``max_items`` tags.
    """
    pos = read_header(src)
    count = 0
    while pos < src.size:
        head = src.read_at(pos, TAG_HEADER)
        tag = Tag(pos, head[0] & 0x1F, int.from_bytes(head[1:4], "big"))
        if tag.end > src.size:
            msg = f"truncated: FLV tag at byte {pos} runs past the end of the file"
            raise CorruptFileError(msg, path=src.name)
        count += 1
        if count > src.limits.max_items:
            msg = f"more than {src.limits.max_items} FLV tags"
            raise LimitExceededError(msg, path=src.name)
        yield tag
        if media_stop and tag.kind in (AUDIO, VIDEO):
            return
        pos = tag.end


# --- AMF0 ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prop:
    """An object/ECMA-array property: ``start`` of its key length, ``value`` offset, ``end``."""

    key: str
    start: int
    value: int
    end: int


@dataclass(frozen=True, slots=True)
class Script:
    """A parsed script-data payload: its name, and for an object/ECMA array value its
    properties, the offset of its end marker (``None`` when missing) and of the ECMA count."""

    name: str
    props: tuple[Prop, ...]
    props_start: int
    close: int | None
    count_at: int | None
    mapping: bool = True  # the value is an ECMA array or object (it can hold AIGC)


class _Amf:
    """A bounded AMF0 reader over one script-data payload."""

    def __init__(self, data: bytes, src: Source) -> None:
        self.data = data
        self.src = src
        self.items = 0

    def fail(self, pos: int, what: str) -> CorruptFileError:
        return CorruptFileError(f"AMF0 data at +{pos}: {what}", path=self.src.name)

    def u16(self, pos: int) -> int:
        if pos + 2 > len(self.data):
            raise self.fail(pos, "truncated")
        return int.from_bytes(self.data[pos : pos + 2], "big")

    def u32(self, pos: int) -> int:
        if pos + 4 > len(self.data):
            raise self.fail(pos, "truncated")
        return int.from_bytes(self.data[pos : pos + 4], "big")

    def text(self, pos: int, n: int) -> str:
        if pos + n > len(self.data):
            raise self.fail(pos, "string runs past the data")
        return self.data[pos : pos + n].decode("utf-8", "replace")

    def skip(self, pos: int, depth: int = 0) -> int:
        """Offset after the value at ``pos``."""
        self.items += 1
        if self.items > self.src.limits.max_items:
            msg = f"more than {self.src.limits.max_items} AMF0 values"
            raise LimitExceededError(msg, path=self.src.name)
        if depth > self.src.limits.max_depth:
            msg = f"AMF0 nesting deeper than {self.src.limits.max_depth}"
            raise LimitExceededError(msg, path=self.src.name)
        if pos >= len(self.data):
            raise self.fail(pos, "value expected")
        marker = self.data[pos]
        fixed = {NUMBER: 9, BOOLEAN: 2, NULL: 1, UNDEFINED: 1, REFERENCE: 3, DATE: 11,
                 UNSUPPORTED: 1}
        if marker in fixed:
            end = pos + fixed[marker]
        elif marker == STRING:
            end = pos + 3 + self.u16(pos + 1)
        elif marker in (LONG_STRING, XML_DOCUMENT):
            end = pos + 5 + self.u32(pos + 1)
        elif marker in (OBJECT, ECMA_ARRAY, TYPED_OBJECT):
            start = pos + 1
            if marker == ECMA_ARRAY:
                start += 4
            elif marker == TYPED_OBJECT:
                start += 2 + self.u16(pos + 1)
            _, close = self.props(start, depth + 1)
            end = close + 3 if close is not None else len(self.data)
        elif marker == STRICT_ARRAY:
            end = pos + 5
            for _ in range(self.u32(pos + 1)):
                end = self.skip(end, depth + 1)
        else:
            raise self.fail(pos, f"unsupported marker {marker:#04x}")
        if end > len(self.data):
            raise self.fail(pos, "value runs past the data")
        return end

    def props(self, pos: int, depth: int) -> tuple[list[Prop], int | None]:
        """Properties from ``pos`` to the end marker (its offset) or to the end of the data
        (``None``: some writers stop an ECMA array at its count's end)."""
        out: list[Prop] = []
        while pos < len(self.data):
            if self.data[pos : pos + 3] == END_MARKER:
                return out, pos
            n = self.u16(pos)
            key = self.text(pos + 2, n)
            value = pos + 2 + n
            end = self.skip(value, depth)
            out.append(Prop(key, pos, value, end))
            pos = end
        return out, None

    def script(self) -> Script:
        """Parse ``name value``: the name string and, for object-like values, the properties."""
        if not self.data or self.data[0] != STRING:
            raise self.fail(0, "script data does not start with a name string")
        name = self.text(3, self.u16(1))
        pos = 3 + self.u16(1)
        marker = self.data[pos] if pos < len(self.data) else None
        if marker not in (ECMA_ARRAY, OBJECT):
            return Script(name, (), pos, None, None, mapping=False)
        count_at = pos + 1 if marker == ECMA_ARRAY else None
        start = pos + (5 if marker == ECMA_ARRAY else 1)
        props, close = self.props(start, 1)
        return Script(name, tuple(props), start, close, count_at)

    def string_value(self, pos: int) -> bytes | None:
        """A string or long string value's bytes, else ``None``."""
        marker = self.data[pos]
        if marker == STRING:
            return self.data[pos + 3 : pos + 3 + self.u16(pos + 1)]
        if marker == LONG_STRING:
            return self.data[pos + 5 : pos + 5 + self.u32(pos + 1)]
        return None

    def numbers(self, pos: int) -> list[int]:
        """Offsets of the doubles in a strict array of numbers at ``pos`` (others skipped)."""
        if self.data[pos] != STRICT_ARRAY:
            return []
        out: list[int] = []
        at = pos + 5
        for _ in range(self.u32(pos + 1)):
            if self.data[at] == NUMBER:
                out.append(at + 1)
            at = self.skip(at, 2)
        return out


def amf_string(text: bytes) -> bytes:
    """An AMF0 string value (long string above 65535 bytes)."""
    if len(text) <= 0xFFFF:
        return bytes([STRING]) + struct.pack(">H", len(text)) + text
    return bytes([LONG_STRING]) + struct.pack(">I", len(text)) + text


def aigc_prop(label_json: str) -> bytes:
    """The ``AIGC`` property: u16 key length, key, string value."""
    return struct.pack(">H", 4) + b"AIGC" + amf_string(label_json.encode("utf-8"))


def is_aigc(key: str) -> bool:
    """Property name ``AIGC`` (Annex E a); any case is read."""
    return key.strip().upper() == "AIGC"


# --- the codec -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Header:
    """The tags before the first audio/video tag (``stop``), and their parsed script data."""

    first: int
    tags: tuple[Tag, ...]
    scripts: dict[int, tuple[bytes, Script]]  # tag offset -> payload, parse
    stop: int

    def metadata_tags(self) -> list[tuple[Tag, bytes, Script]]:
        return [(t, *self.scripts[t.offset]) for t in self.tags
                if t.offset in self.scripts and self.scripts[t.offset][1].name == ON_METADATA]


def read_head(src: Source) -> Header:
    """Walk the tags before the first audio/video tag; parse unencrypted script data.

    Raises:
        CorruptFileError: damaged tags or script data.
        LimitExceededError: too many tags or AMF0 values, or too large a script tag.
    """
    first = read_header(src)
    tags: list[Tag] = []
    scripts: dict[int, tuple[bytes, Script]] = {}
    stop = src.size
    for tag in iter_tags(src, media_stop=True):
        if tag.kind in (AUDIO, VIDEO):
            stop = tag.offset
            break
        tags.append(tag)
        filtered = src.read_at(tag.offset, 1)[0] & 0x20
        if tag.kind == SCRIPT and not filtered:
            data = src.read_metadata(tag.data_offset, tag.size, "FLV script tag")
            scripts[tag.offset] = (data, _Amf(data, src).script())
    return Header(first, tuple(tags), scripts, stop)


def _f64(data: bytes | bytearray, at: int) -> float:
    value: float = struct.unpack(">d", data[at : at + 8])[0]
    return value


def _offset_slots(src: Source, data: bytes, script: Script) -> list[tuple[int, str]]:
    """Doubles that hold file offsets (``"offset"``) or the file size (``"size"``)."""
    amf = _Amf(data, src)
    out: list[tuple[int, str]] = []
    for p in script.props:
        key = p.key.lower()
        marker = data[p.value]
        if key in OFFSET_KEYS and marker == NUMBER:
            out.append((p.value + 1, "offset"))
        elif key == "filesize" and marker == NUMBER:
            out.append((p.value + 1, "size"))
        elif key == "keyframes" and marker in (OBJECT, ECMA_ARRAY):
            start = p.value + (5 if marker == ECMA_ARRAY else 1)
            for q in amf.props(start, 2)[0]:
                if q.key.lower() == "filepositions":
                    out.extend((at, "offset") for at in amf.numbers(q.value))
    return out


def _rebuild(data: bytes, script: Script, insert: bytes | None) -> bytes:
    """The script payload without AIGC properties, the first replaced by ``insert`` (or
    ``insert`` added before the end marker); the ECMA count follows."""
    parts: list[bytes] = []
    change = 0
    for p in script.props:
        if is_aigc(p.key):
            if insert is not None:
                parts.append(insert)
                insert = None
            else:
                change -= 1
            continue
        parts.append(data[p.start : p.end])
    if insert is not None:
        parts.append(insert)
        change += 1
    head = bytearray(data[: script.props_start])
    if script.count_at is not None:
        count = max(0, struct.unpack(">I", head[script.count_at : script.count_at + 4])[0]
                    + change)
        head[script.count_at : script.count_at + 4] = struct.pack(">I", count)
    tail = data[script.close :] if script.close is not None else b""
    return bytes(head) + b"".join(parts) + tail


def _tag_bytes(src: Source, tag: Tag | None, data: bytes) -> bytes:
    """A tag with ``data``: the old header with a new size (or a new script tag header at
    time 0, stream 0), the data, its PreviousTagSize.

    Raises:
        LimitExceededError: the data does not fit the u24 size.
    """
    if len(data) > MAX_DATA:
        msg = f"FLV script tag of {len(data)} bytes exceeds the 16 MiB tag size"
        raise LimitExceededError(msg, path=src.name)
    head = src.read_at(tag.offset, TAG_HEADER) if tag else bytes([SCRIPT]) + bytes(10)
    size = len(data).to_bytes(3, "big")
    return head[:1] + size + head[4:] + data + struct.pack(">I", TAG_HEADER + len(data))


@register
class FlvCodec(CodecBase):
    """Flash Video: ``onMetaData`` string property ``AIGC``."""

    name = "flv"
    description = "Flash Video (FLV)"
    mimes = ("video/x-flv",)
    extensions = (".flv",)
    carriers = (
        CarrierInfo(CARRIER, "write", "script tag onMetaData, AMF0 string AIGC (20257A)"),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        return Confidence.STRONG if head.startswith(b"FLV\x01") else Confidence.NO

    def read_labels(self, src: Source) -> list[FoundLabel]:
        out: list[FoundLabel] = []
        for tag, data, script in read_head(src).metadata_tags():
            amf = _Amf(data, src)
            for p in script.props:
                if not is_aigc(p.key):
                    continue
                value = amf.string_value(p.value)
                if value is None:
                    found = FoundLabel.from_text(f"flv:onMetaData:{p.key}", "", offset=tag.offset)
                    why = f"AIGC property of AMF0 type {data[p.value]:#04x}, not a string"
                    found = _with(found, Finding("G5.carrier", Severity.ERROR, why, CARRIER))
                else:
                    found = FoundLabel.from_text(f"flv:onMetaData:{p.key}", value,
                                                 offset=tag.offset)
                out.append(found)
        return out

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        head = read_head(src)
        insert = aigc_prop(to_json(record))
        metas = head.metadata_tags()
        host = next((t for t, _, s in metas if s.mapping), None)
        removed: list[str] = []
        new: dict[int, bytes] = {}
        for tag, data, script in metas:
            labels = [f"flv:onMetaData:{p.key}" for p in script.props if is_aigc(p.key)]
            removed.extend(labels[1:] if tag is host else labels)
            new[tag.offset] = _rebuild(data, script, insert if tag is host else None)
        added = b"" if host else _rebuild(*_new_metadata(), insert)
        delta = sum(len(new[t.offset]) - t.size for t, _, _ in metas)
        if added:
            delta += TAG_HEADER + len(added) + PREV_SIZE
        if delta:  # later tags move: shift the absolute offsets the metadata holds
            for tag, data, script in metas:
                patched = bytearray(data)
                for at, kind in _offset_slots(src, data, script):
                    value = _f64(data, at)
                    if kind == "size" and value == src.size:
                        patched[at : at + 8] = struct.pack(">d", float(src.size + delta))
                    elif kind == "offset" and value >= head.stop and value.is_integer():
                        patched[at : at + 8] = struct.pack(">d", value + delta)
                new[tag.offset] = _rebuild(bytes(patched), script,
                                           insert if tag is host else None)
        plan = EditPlan(carrier=CARRIER, removed=removed)
        plan.copy(0, head.first)
        if added:
            plan.add(_tag_bytes(src, None, added))
        for tag in head.tags:
            if tag.offset in new:
                plan.add(_tag_bytes(src, tag, new[tag.offset]))
            else:
                plan.copy(tag.offset, tag.end)
        plan.copy(head.stop, src.size)
        return plan

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        yield src.read_at(4, 1)  # flags: audio / video present
        for tag in iter_tags(src, media_stop=False):
            if tag.kind in (AUDIO, VIDEO):
                yield Span(tag.offset, TAG_HEADER + tag.size)

    def metadata(self, src: Source) -> list[MetadataItem]:
        """String properties of ``onMetaData`` (carrier ``flv:onMetaData``, key = the
        property name; the label excluded), e.g. ``encoder``, ``metadatacreator``, ``title``.
        Damage ends the walk with what was found."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "FLV"):
                for tag, data, script in read_head(src).metadata_tags():
                    amf = _Amf(data, src)
                    for p in script.props:
                        value = amf.string_value(p.value)
                        if value is not None and not is_aigc(p.key):
                            text = value.decode("utf-8", "replace")
                            out.add("flv:onMetaData", p.key, text, tag.offset)
        except (CorruptFileError, LimitExceededError):
            pass
        return out.items

    def container_findings(self, src: Source) -> list[Finding]:
        out: list[Finding] = []
        head = read_head(src)
        for tag in head.tags:
            prev = struct.unpack(">I", src.read_at(tag.end - PREV_SIZE, PREV_SIZE))[0]
            if prev != TAG_HEADER + tag.size:
                out.append(Finding("G5.carrier", Severity.WARNING,
                                   f"PreviousTagSize {prev} after the tag at byte {tag.offset}, "
                                   f"expected {TAG_HEADER + tag.size}"))
        if not head.metadata_tags() and head.scripts:
            out.append(Finding("G5.carrier", Severity.INFO,
                               "script data before the first media tag has no onMetaData"))
        return out


def _new_metadata() -> tuple[bytes, Script]:
    """An empty ``onMetaData`` ECMA array and its parse."""
    name = amf_string(ON_METADATA.encode())
    data = name + bytes([ECMA_ARRAY]) + struct.pack(">I", 0) + END_MARKER
    start = len(name) + 5
    return data, Script(ON_METADATA, (), start, start, len(name) + 1)


def _with(found: FoundLabel, extra: Finding) -> FoundLabel:
    return FoundLabel(found.carrier, found.form, found.record, found.raw,
                      (*found.findings, extra), found.offset)
