"""MP3 codec (MPEG-1/2/2.5 Audio Layer III with ID3 tags).

Specs: ID3v2.3.0 https://id3.org/id3v2.3.0 ; ID3v2.4.0 https://id3.org/id3v2.4.0-structure ;
ID3v1 https://id3.org/ID3v1 ;
APEv2 https://wiki.hydrogenaud.io/index.php?title=APEv2_specification ;
MPEG audio frame header: ISO/IEC 11172-3 §2.4.1.3, ISO/IEC 13818-3 (see also
http://www.mp3-tech.org/programmer/frame_header.html).
GB carrier (TC260-PG-202510A, rules §C.3, [H]): an ID3v2 ``TXXX`` frame with description
``AIGC`` whose value is the bare JSON, in the tag at the file start [inferred]; ID3 v2.3 and
v2.4 both read. Writing keeps the tag's version (a new tag is v2.4), UTF-8 in v2.4 and
ISO-8859-1 in v2.3 [project choice]; padding and frame handling are in :mod:`._id3`.
Also reads: the description in any case (``TXXX:aigc``, tolerated, own carrier id); ``TXXX``
frames in further ID3v2 tags glued after the first, and in an ID3v2 tag appended at the end
(``mp3:id3v2-end:TXXX:AIGC``). A write leaves exactly one label, in the first tag (GB 6.1 c).

File layout::

    [ID3v2 tag]...   leading tags, each "ID3" + header; consecutive ones are all read
    MPEG audio       frames: 11-bit sync 0x7FF, version, layer, ... (Xing/LAME header frames,
                     stray bytes between the tag and the first frame included)
    trailers         from the end inwards: ID3v1 "TAG" (128 bytes, optionally preceded by a
                     227-byte "TAG+"), then any of APEv2 ("APETAGEX" footer, 32 bytes) and
                     ID3v2 with footer ("3DI")

Essence: the bytes between the leading ID3v2 tags and the trailers -- the MPEG audio data as it
is, unparsed. Tags (ID3v2, APEv2, ID3v1) are not essence; APEv2 and ID3v1 are never changed,
and an appended ID3v2 tag is rewritten only to drop an AIGC frame (dropped as a whole when
that was its only frame). Lyrics3 blocks before ID3v1
are not recognised: they count as audio data, which a write copies verbatim.

Identification: ``ID3`` followed (after the tags and zero padding) by a Layer III frame header
is STRONG; a bare frame header at byte 0 followed by a second one where the first frame ends is
WEAK (ExifTool's weak magic: MPEG sync is "difficult to rule out"). ADTS AAC (layer bits 00) and
tags followed by anything else (FLAC's ``fLaC``, ...) are not claimed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _id3
from aiglabel.codecs._meta import Collector, decode_text
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aiglabel._patch import PatchPlan

PRIMARY = "mp3:id3v2:TXXX:AIGC"
LEADING, APPENDED = "mp3:id3v2", "mp3:id3v2-end"
ID3V1_SIZE, ID3V1_ENHANCED_SIZE, APE_FOOTER_SIZE = 128, 227, 32
_APE_HAS_HEADER = 0x80000000
_MAX_TRAILERS = 8
_MAX_MOVED = 64 << 10  # frames after an old label that an in-place patch copies at most
# Formats that may follow an ID3v2 tag and are not MP3: FLAC, Ogg, RIFF, AIFF, Monkey's Audio,
# WavPack, TTA. (AAC ADTS fails the layer check; AC-3 and DTS have no MPEG sync.)
_OTHER_SIGNATURES = frozenset({b"fLaC", b"OggS", b"RIFF", b"FORM", b"MAC ", b"wvpk", b"TTA1"})
_SCAN = 4096  # bytes searched for the first frame after a tag (stray bytes, zero padding)
# Layer III bitrates in kbit/s by index (1..14); index 0 is "free format", 15 is invalid.
_KBPS_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_KBPS_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
# Sampling rates by version bits (3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5) and index (3 is reserved).
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def frame_length(header: bytes) -> int | None:
    """Length in bytes of the Layer III frame starting with ``header`` (4 bytes).

    Returns ``None`` when the bytes are not a valid Layer III header (wrong sync, reserved
    version, layer I/II or ADTS's 00, bad bitrate or sampling-rate index, reserved emphasis),
    ``0`` for a free-format frame (length unknown from the header).
    """
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate, rate_index = header[2] >> 4, (header[2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate == 15 or rate_index == 3 or header[3] & 3 == 2:
        return None
    if bitrate == 0:
        return 0
    padding = (header[2] >> 1) & 1
    rate = _RATES[version][rate_index]
    if version == 3:
        return 144_000 * _KBPS_V1[bitrate] // rate + padding
    return 72_000 * _KBPS_V2[bitrate] // rate + padding


def _frames_at(data: bytes, pos: int) -> int:
    """0: no frame at ``pos``; 1: one frame (the next is out of ``data`` or free format);
    2: a second frame of the same version, layer and rate where the first one ends."""
    length = frame_length(data[pos : pos + 4])
    if length is None:
        return 0
    nxt = pos + length
    if length == 0 or nxt + 4 > len(data):
        return 1
    second = data[nxt : nxt + 4]
    same = second[1:2] == data[pos + 1 : pos + 2] and (second[2] ^ data[pos + 2]) & 0x0C == 0
    return 2 if same and frame_length(second) is not None else 0


def audio_confidence(data: bytes, *, after_tag: bool, eof: bool) -> Confidence:
    """Judge the bytes that follow the leading tags (or start the file, ``after_tag=False``).

    ``eof`` says that ``data`` reaches the end of the file.
    """
    if not after_tag:
        found = _frames_at(data, 0)
        return Confidence.WEAK if found == 2 or (found == 1 and eof) else Confidence.NO
    pos = len(data) - len(data.lstrip(b"\x00"))  # zero padding after the tag
    if pos == len(data):
        return Confidence.WEAK  # a tag and nothing else, or zeros as far as we looked
    if data[pos : pos + 4] in _OTHER_SIGNATURES:
        return Confidence.NO  # e.g. FLAC, which may start with an ID3v2 tag too
    if _frames_at(data, pos):
        return Confidence.STRONG
    if frame_length(data[pos : pos + 4]) is not None:
        return Confidence.WEAK  # a frame header, then something unexpected
    for i in range(pos, min(len(data), pos + _SCAN) - 3):
        if data[i] == 0xFF and _frames_at(data, i) == 2:
            return Confidence.WEAK  # stray bytes before the first frame
    return Confidence.NO


@dataclass(frozen=True, slots=True)
class Trailer:
    """A tag at the end of the file: ``kind`` is ``id3v1``, ``id3v1+``, ``ape`` or ``id3v2``."""

    kind: str
    offset: int
    end: int
    header: _id3.Header | None = None


@dataclass(frozen=True, slots=True)
class Layout:
    """Leading ID3v2 tags, the audio range, the trailers."""

    leading: list[_id3.Header]
    audio_start: int
    audio_end: int
    trailers: list[Trailer]


def _header_at(src: Source, pos: int, magic: bytes = b"ID3") -> _id3.Header | None:
    try:
        return _id3.parse_header(src.read_upto(pos, _id3.HEADER_SIZE), pos, magic)
    except CorruptFileError as exc:
        raise CorruptFileError(exc.message, path=src.name) from exc


def _leading(src: Source) -> list[_id3.Header]:
    out: list[_id3.Header] = []
    pos = 0
    while (header := _header_at(src, pos)) is not None:
        out.append(header)
        pos = header.end
        if len(out) > src.limits.max_items:
            msg = f"more than {src.limits.max_items} ID3v2 tags"
            raise LimitExceededError(msg, path=src.name)
    return out


def _trailers(src: Source, start: int) -> list[Trailer]:
    """Peel trailing tags off the end of the file, down to ``start`` at most."""
    out: list[Trailer] = []
    end = src.size
    if end - ID3V1_SIZE >= start and src.read_upto(end - ID3V1_SIZE, 3) == b"TAG":
        out.append(Trailer("id3v1", end - ID3V1_SIZE, end))
        end -= ID3V1_SIZE
        plus = end - ID3V1_ENHANCED_SIZE
        if plus >= start and src.read_upto(plus, 4) == b"TAG+":
            out.insert(0, Trailer("id3v1+", plus, end))
            end = plus
    for _ in range(_MAX_TRAILERS):
        if end - APE_FOOTER_SIZE >= start:
            footer = src.read_upto(end - APE_FOOTER_SIZE, APE_FOOTER_SIZE)
            if footer[:8] == b"APETAGEX":
                _, size, _, flags = struct.unpack("<4I", footer[8:24])
                begin = end - size - (APE_FOOTER_SIZE if flags & _APE_HAS_HEADER else 0)
                if size < APE_FOOTER_SIZE or begin < start:
                    break  # not a usable APE tag: count it as audio data
                out.insert(0, Trailer("ape", begin, end))
                end = begin
                continue
        if end - _id3.FOOTER_SIZE >= start:
            try:
                footer_h = _header_at(src, end - _id3.FOOTER_SIZE, b"3DI")
            except CorruptFileError:
                footer_h = None
            if footer_h is not None:
                begin = end - _id3.FOOTER_SIZE - footer_h.size - _id3.HEADER_SIZE
                header = _header_at(src, begin) if begin >= start else None
                if header is not None and header.footer and header.end == end:
                    out.insert(0, Trailer("id3v2", begin, end, header))
                    end = begin
                    continue
        break
    return out


def read_layout(src: Source) -> Layout:
    """Find the leading tags, the trailers and the audio between them (headers only).

    Raises:
        CorruptFileError: a leading tag is damaged or runs past the end of the file.
        LimitExceededError: too many leading tags.
    """
    leading = _leading(src)
    start = leading[-1].end if leading else 0
    if start > src.size:
        msg = f"truncated: the ID3v2 tag ends at byte {start} but the file has {src.size}"
        raise CorruptFileError(msg, path=src.name)
    trailers = _trailers(src, start)
    return Layout(leading, start, trailers[0].offset if trailers else src.size, trailers)


def _tags(src: Source, layout: Layout) -> list[tuple[str, _id3.Tag]]:
    """Every ID3v2 tag with its carrier prefix: leading ones, then appended ones.

    A damaged leading tag is an error; a damaged appended one is left out (and copied as it is
    by a write; :meth:`Mp3Codec.container_findings` reports it).
    """
    out = [(LEADING, _id3.read_tag(src, h)) for h in layout.leading]
    for trailer in layout.trailers:
        if trailer.header is not None:
            tag, _ = _id3.try_read_tag(src, trailer.header)
            if tag is not None:
                out.append((APPENDED, tag))
    return out


@register
class Mp3Codec(CodecBase):
    """MP3: ``TXXX:AIGC`` in the leading ID3v2 tag."""

    name = "mp3"
    description = "MPEG audio Layer III (ID3v2 tags)"
    mimes = ("audio/mpeg",)
    extensions = (".mp3",)
    carriers = (
        CarrierInfo(PRIMARY, "write", "ID3v2 TXXX, description AIGC (202510A); v2.3 and v2.4"),
        CarrierInfo("mp3:id3v2-end:TXXX:AIGC", "read", "ID3v2 tag appended at the end"),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        pos = 0
        try:
            while (header := _id3.parse_header(head[pos : pos + _id3.HEADER_SIZE], pos)):
                pos = header.end
        except CorruptFileError:
            return Confidence.NO
        if pos >= len(head):
            return Confidence.WEAK if pos else Confidence.NO  # confirm() looks past the tag
        return audio_confidence(head[pos : pos + 2 * _SCAN], after_tag=pos > 0,
                                eof=pos + 2 * _SCAN >= len(head))

    def confirm(self, src: Source) -> Confidence:
        first = self.sniff(src.head)
        if first is not Confidence.WEAK or not src.head.startswith(b"ID3"):
            return first
        try:
            with parse_errors(src.name):
                leading = _leading(src)
        except (CorruptFileError, LimitExceededError):
            return Confidence.WEAK  # read_labels will say what is wrong
        start = leading[-1].end
        if start > src.size:
            return Confidence.WEAK  # truncated: read_labels reports it
        data = src.read_upto(start, 2 * _SCAN)
        return audio_confidence(data, after_tag=True, eof=start + len(data) >= src.size)

    def read_labels(self, src: Source) -> list[FoundLabel]:
        out: list[FoundLabel] = []
        for prefix, tag in _tags(src, read_layout(src)):
            out.extend(_id3.find_labels(tag, prefix))
        return out

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label = to_json(record)
        layout = read_layout(src)
        tags = _tags(src, layout)
        first = tags[0][1] if layout.leading else None
        removed: list[str] = []
        for prefix, tag in tags:
            carriers = [lb.carrier for lb in _id3.find_labels(tag, prefix)]
            if tag is first and PRIMARY in carriers:
                carriers.remove(PRIMARY)  # rewritten where it is, not removed
            removed.extend(carriers)  # GB 6.1 c): one label per file
        plan = EditPlan(carrier=PRIMARY, removed=removed)
        plan.extend(_id3.rebuild(first, label).pieces)
        appended = {tag.header.offset: tag for prefix, tag in tags if prefix == APPENDED}
        for prefix, tag in tags[1:]:
            if prefix == LEADING:
                self._keep_or_clean(plan, tag)
        plan.copy(layout.audio_start, layout.audio_end)
        for trailer in layout.trailers:
            if trailer.offset in appended:
                self._keep_or_clean(plan, appended[trailer.offset])
            else:
                plan.copy(trailer.offset, trailer.end)
        return plan

    def plan_patch(self, src: Source, record: AIGCRecord) -> PatchPlan | None:
        """Crash-safe in-place update inside the first tag's padding (``aiglabel._patch``).

        Readers stop at the first frame header whose first byte is 0 (padding).

        - No label: the new ``TXXX`` frame is written into the padding with its 4-byte id left
          zero (still padding), then the id is written.
        - One label: one zero byte after the last frame keeps everything beyond it unread;
          there go copies of the frames after the old label (at most 64 KiB) and the new
          frame. The switch turns the old frame's 10-byte header -- or that of the dead-space
          frame before it, the frames between being copied too -- into a ``PRIV`` header
          whose data reaches the copies.
          Cleanup gives that ``PRIV`` the owner :data:`_id3.PADDING_OWNER` and zeroes the
          rest; a later patch grows it, a rewrite turns it back into padding.

        Tags that cannot be patched so (v2.2, v2.3 unsynchronisation, an extended header, a
        footer, labels elsewhere, no room) are rewritten through a temporary file.
        """
        from aiglabel._patch import PatchPlan

        layout = read_layout(src)
        if not layout.leading:
            return None
        tags = _tags(src, layout)
        tag = tags[0][1]
        h = tag.header
        if h.major == 2 or tag.decoded is not None or tag.ext_size or h.footer:
            return None
        if any(_id3.has_labels(other) for _, other in tags[1:]):
            return None
        olds = _id3.label_frames(tag)
        if len(olds) > 1:
            return None
        new = _id3.txxx_frame(h.major, to_json(record), unsync=h.major == 4 and h.unsync,
                              int_size=tag.int_sizes)
        body, start = h.body_offset, tag.frames_end
        try:
            if not olds:
                if not _zeros(tag, start, len(new)):
                    return None
                return PatchPlan(prepare=((body + start + 4, new[4:]),),
                                 switch=(body + start, new[:4]), carrier=PRIMARY)
            index = tag.frames.index(olds[0])
            dead = [i for i in range(index) if _id3.is_padding_frame(tag, tag.frames[i])]
            for first in ([dead[-1]] if dead else []) + [index]:  # merge with dead space
                moved = b"".join(tag.read(f.offset, f.header_size + f.size)
                                 for f in tag.frames[first + 1 :]
                                 if f is not olds[0] and not _id3.is_padding_frame(tag, f))
                if len(moved) <= _MAX_MOVED:
                    break
            else:
                return None
            if not _zeros(tag, start, 1 + len(moved) + len(new)):
                return None
            swallow = tag.frames[first]
            size = start + 1 - swallow.data_offset  # the old frames and the zero byte
            owner = _id3.PADDING_OWNER + b"\x00"
            wipe = owner + bytes(size - len(owner)) if size >= len(owner) else bytes(size)
            return PatchPlan(
                prepare=((body + start + 1, moved + new),),
                switch=(body + swallow.offset, b"PRIV" + _frame_size(tag, size) + b"\x00\x00"),
                cleanup=((body + swallow.data_offset, wipe),),
                carrier=PRIMARY,
            )
        except ValueError:  # the switch would cross a sector boundary
            return None

    @staticmethod
    def _keep_or_clean(plan: EditPlan, tag: _id3.Tag) -> None:
        """Copy a tag other than the first, or rebuild it without its AIGC frames (dropping it
        when nothing else is left in it)."""
        if not _id3.has_labels(tag):
            plan.copy(tag.header.offset, tag.header.end)
            return
        rebuilt = _id3.rebuild(tag, None)
        if rebuilt.kept:
            plan.extend(rebuilt.pieces)

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        layout = read_layout(src)
        yield Span(layout.audio_start, layout.audio_end - layout.audio_start)

    def metadata(self, src: Source) -> list[MetadataItem]:
        """ID3v2 text frames (carrier ``mp3:id3v2``, key = frame id, ``TXXX:<description>`` or
        ``COMM``; appended tags included) and ID3v1 fields (``mp3:id3v1``, keys ``Title``,
        ``Artist``, ``Album``, ``Year``, ``Comment``). A damaged tag ends the walk with what
        was found."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "ID3"):
                layout = read_layout(src)
                for _, tag in _tags(src, layout):
                    _id3.collect(tag, LEADING, out)
                for trailer in layout.trailers:
                    if trailer.kind == "id3v1":
                        _id3v1(src.read_at(trailer.offset, ID3V1_SIZE), trailer.offset, out)
        except (CorruptFileError, LimitExceededError):
            pass
        return out.items

    def container_findings(self, src: Source) -> list[Finding]:
        layout = read_layout(src)
        out: list[Finding] = []

        def add(message: str, severity: Severity = Severity.WARNING,
                carrier: str | None = LEADING) -> None:
            out.append(Finding("G5.carrier", severity, message, carrier))

        for prefix, tag in _tags(src, layout):
            out.extend(Finding(f.code, f.severity, f.message, prefix) for f in tag.findings)
            if tag.header.major == 2:
                add("obsolete ID3v2.2 tag", Severity.INFO, prefix)
            for fid in _id3.unreadable_frames(tag):
                add(f"{fid} frame is encrypted or does not inflate; an AIGC label in it "
                    "cannot be read", carrier=prefix)
        for trailer in layout.trailers:
            if trailer.header is not None:
                _, problem = _id3.try_read_tag(src, trailer.header)
                if problem:
                    add(f"appended ID3v2 tag not readable ({problem})", carrier=APPENDED)
        if len(layout.leading) > 1:
            add(f"{len(layout.leading)} ID3v2 tags in a row at the start of the file")
        if layout.leading and layout.audio_start < layout.audio_end:
            data = src.read_upto(layout.audio_start, 2 * _SCAN)
            eof = layout.audio_start + len(data) >= src.size
            if audio_confidence(data, after_tag=True, eof=eof) is not Confidence.STRONG:
                add("no MPEG audio frame right after the ID3v2 tag", carrier=None)
        return out


def _zeros(tag: _id3.Tag, start: int, n: int) -> bool:
    """True when body bytes ``start..start+n`` fit the tag and are zero, and so is the byte
    after them unless they end the body (readers then stop after the last new frame)."""
    if start + n > tag.body_size:
        return False
    return not any(tag.read(start, min(n + 1, tag.body_size - start)))


def _frame_size(tag: _id3.Tag, size: int) -> bytes:
    """A frame size field: syncsafe in v2.4 (unless the tag uses plain integers), else plain."""
    if tag.header.major == 4 and not tag.int_sizes:
        return _id3.to_syncsafe(size)
    return size.to_bytes(4, "big")


def _id3v1(data: bytes, offset: int, out: Collector) -> None:
    """ID3v1/1.1 fields: "TAG", title 30, artist 30, album 30, year 4, comment 30
    (28 + NUL + track in v1.1), genre 1 -- ISO-8859-1, NUL or space padded."""
    comment = data[97:125] if data[125] == 0 and data[126] else data[97:127]
    for key, raw in (("Title", data[3:33]), ("Artist", data[33:63]), ("Album", data[63:93]),
                     ("Year", data[93:97]), ("Comment", comment)):
        out.add("mp3:id3v1", key, decode_text(raw.split(b"\x00", 1)[0]).strip(), offset)
