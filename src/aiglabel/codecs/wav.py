"""WAV codec (RIFF/WAVE, RF64 and BW64).

Specs: Microsoft/IBM "Multimedia Programming Interface and Data Specifications 1.0" (1991),
ch. 2-3 (RIFF, WAVE, LIST/INFO); EBU Tech 3306 (RF64) and ITU-R BS.2088 (BW64): form id
``RF64``/``BW64``, RIFF and ``data`` sizes ``0xFFFFFFFF`` with the real 64-bit sizes in a
``ds64`` chunk that comes first.
GB carrier (TC260-PG-202510A, rules §C.3, [M]): a top-level chunk ``AIGC`` whose data is the bare
JSON, padded to even length (the pad byte is not counted). The guide sets no position; a new
chunk goes right before ``data`` [project choice], so header-only readers meet it before the
samples; an existing ``AIGC`` chunk is rewritten where it is.
Also reads (rules §H 11, tolerated, not in the guide): ``LIST``/``INFO`` sub-chunk ``AIGC``
(trailing NULs stripped), and ``TXXX:AIGC`` in an ``id3 ``/``ID3 `` chunk (see :mod:`._id3`).
A write leaves exactly one label (GB 6.1 c): it drops the ``AIGC`` entry from ``LIST``/``INFO``
(a list left with no entry is dropped as a whole [project choice]: an empty INFO list says
nothing) and the AIGC frames from an ID3 chunk (other frames byte-identical, the tag keeping its
size so the chunk does not change size; a chunk left with an empty tag is dropped); every other
chunk is copied verbatim.

Layout (see :mod:`._riff`): ``"RIFF", u32le size, "WAVE"``, then chunks (FourCC, u32le size,
payload, pad byte when odd). A write recomputes the RIFF size (RF64/BW64: the ``ds64`` RIFF size;
the header keeps ``0xFFFFFFFF``) and adds a missing pad byte to an odd last chunk it copies.
Reading tolerates a RIFF size that runs past the end of the file and a ``data`` chunk cut short
(streamed or truncated recordings; reported as findings); writing refuses a cut ``data`` chunk.

Essence: FourCC + payload of every top-level chunk except the metadata and bookkeeping ones
(``AIGC``, ``LIST``, ``id3 ``, ``ID3 ``, ``ds64``, ``JUNK``/``junk``, ``PAD ``, ``FLLR``): so
``fmt `` and ``data`` (the real RF64 size) are covered, and so are ``fact``, ``cue ``, ``smpl``,
``bext`` and unknown chunks, which a write never touches.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _id3, _riff
from aiglabel.codecs._meta import Collector, decode_text
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from aiglabel._patch import PatchPlan

FORM_IDS = (b"RIFF", b"RF64", b"BW64")
WAVE = b"WAVE"
AIGC, LIST, INFO, DATA, DS64 = b"AIGC", b"LIST", b"INFO", b"data", b"ds64"
ID3_IDS = (b"id3 ", b"ID3 ")
PRIMARY = "wav:AIGC"
INFO_CARRIER, ID3_CARRIER = "wav:LIST:INFO", "wav:id3"
# Metadata and padding chunks; "C2PA" holds a C2PA manifest store (signed after the label).
_NOT_ESSENCE = frozenset({AIGC, LIST, *ID3_IDS, DS64, b"JUNK", b"junk", b"PAD ", b"FLLR",
                          b"C2PA"})
DS64_MIN = 28  # u64 RIFF size, u64 data size, u64 sample count, u32 table length
UNKNOWN_SIZE = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Ds64:
    """The RF64/BW64 ``ds64`` chunk: 64-bit sizes (EBU Tech 3306 §3)."""

    riff_size: int
    data_size: int
    table: dict[bytes, int]


@dataclass(slots=True)
class Layout:
    """The form header, its top-level chunks and what the walk tolerated.

    Attributes:
        form: the RIFF/RF64 header.
        end: where the chunks end (RIFF or ``ds64`` size, at most the file size).
        chunks: top-level chunks; a cut ``data`` chunk has its size clamped to the file.
        ds64: the ``ds64`` chunk of an RF64/BW64 file.
        truncated: a ``data`` chunk runs past the end of the file.
        notes: tolerated deviations, for container findings.
    """

    form: _riff.Form
    end: int
    chunks: list[_riff.Chunk] = field(default_factory=list)
    ds64: Ds64 | None = None
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


def _read_ds64(src: Source) -> Ds64:
    head = src.read_at(12, 8)
    fourcc, size = struct.unpack("<4sI", head)
    if fourcc != DS64 or size < DS64_MIN:
        msg = "RF64/BW64 file without a ds64 chunk first"
        raise CorruptFileError(msg, path=src.name)
    payload = src.read_metadata(20, size, "ds64 chunk")
    riff_size, data_size, _samples, count = struct.unpack("<QQQI", payload[:DS64_MIN])
    if DS64_MIN + 12 * count > size:
        msg = f"ds64 table of {count} entries does not fit its {size}-byte chunk"
        raise CorruptFileError(msg, path=src.name)
    table = {}
    for i in range(count):
        cid, csize = struct.unpack("<4sQ", payload[DS64_MIN + 12 * i : DS64_MIN + 12 * i + 12])
        table[cid] = csize
    return Ds64(riff_size, data_size, table)


def read_layout(src: Source) -> Layout:
    """Parse the form header and walk the top-level chunks (headers only).

    Raises:
        CorruptFileError: not a WAVE file, a damaged chunk header, or a chunk other than
            ``data`` running past the end.
        LimitExceededError: too many chunks.
    """
    form = _riff.read_form(src, FORM_IDS)
    if form.form_type != WAVE:
        msg = f"not a WAVE file (RIFF form type {form.form_type!r})"
        raise CorruptFileError(msg, path=src.name)
    layout = Layout(form, form.end)
    if form.form_id != b"RIFF":
        layout.ds64 = _read_ds64(src)
        if form.size == UNKNOWN_SIZE:
            layout.end = 8 + layout.ds64.riff_size
    if layout.end > src.size:
        layout.notes.append(f"RIFF size runs to byte {layout.end}, past the end of the file "
                            f"({src.size} bytes)")
        layout.end = src.size
    walk = _riff.Walk()
    pos = form.start
    end = layout.end
    while pos < end:
        if end - pos < _riff.HEADER_SIZE:
            msg = f"{end - pos} stray bytes at byte {pos}, too few for a chunk header"
            raise CorruptFileError(msg, path=src.name)
        fourcc, size = struct.unpack("<4sI", src.read_at(pos, _riff.HEADER_SIZE))
        if not all(0x20 <= b <= 0x7E for b in fourcc):
            msg = f"damaged chunk header at byte {pos} (id {fourcc.hex(' ')})"
            raise CorruptFileError(msg, path=src.name)
        if layout.ds64 is not None and size == UNKNOWN_SIZE:
            size = layout.ds64.data_size if fourcc == DATA else layout.ds64.table.get(fourcc, size)
        data_end = pos + _riff.HEADER_SIZE + size
        if data_end > end:
            if fourcc != DATA:
                msg = (f"{_riff.fourcc_text(fourcc)} chunk at byte {pos} runs past the end of "
                       f"the RIFF data (byte {end})")
                raise CorruptFileError(msg, path=src.name)
            layout.truncated = True
            layout.notes.append(f"data chunk declares {size} bytes; only "
                                f"{end - pos - _riff.HEADER_SIZE} are in the file")
            size = end - pos - _riff.HEADER_SIZE
            data_end = end
        pad = size % 2 if data_end + size % 2 <= end else 0
        list_type = None
        if fourcc == LIST:
            if size < 4:
                msg = f"LIST chunk at byte {pos} too short for a list type"
                raise CorruptFileError(msg, path=src.name)
            list_type = src.read_at(pos + _riff.HEADER_SIZE, 4)
        walk.tick(src)
        chunk = _riff.Chunk(pos, fourcc, size, pad, 0, list_type)
        layout.chunks.append(chunk)
        pos = chunk.end
    return layout


def _info_entries(src: Source, chunk: _riff.Chunk) -> Iterator[_riff.Chunk]:
    return _riff.iter_chunks(src, chunk.data_offset + 4, chunk.data_end, depth=1)


def _is_info(chunk: _riff.Chunk) -> bool:
    return chunk.fourcc == LIST and chunk.list_type == INFO


def _id3_tag(src: Source, chunk: _riff.Chunk) -> tuple[_id3.Tag | None, str | None]:
    """The ID3v2 tag at the start of an ``id3 `` chunk, or ``(None, why)``.

    A chunk without a tag, or with a damaged one, does not stop the walk: it is reported by
    :meth:`WavCodec.container_findings` and a write copies it as it is.
    """
    if chunk.size < _id3.HEADER_SIZE:
        return None, "too short for an ID3v2 tag"
    try:
        header = _id3.parse_header(src.read_at(chunk.data_offset, _id3.HEADER_SIZE),
                                   chunk.data_offset)
    except CorruptFileError as exc:
        return None, exc.message
    if header is None:
        return None, "no ID3v2 header"
    return _id3.try_read_tag(src, header, end=chunk.data_end)


@register
class WavCodec(CodecBase):
    """WAV: top-level ``AIGC`` chunk; reads LIST/INFO and ID3 chunk labels too."""

    name = "wav"
    description = "Waveform audio (RIFF/WAVE, RF64, BW64)"
    mimes = ("audio/wav", "audio/x-wav", "audio/vnd.wave")
    extensions = (".wav", ".wave", ".bwf", ".rf64")
    carriers = (
        CarrierInfo(PRIMARY, "write", "top-level AIGC chunk before data (202510A)"),
        CarrierInfo("wav:LIST:INFO:AIGC", "read", "LIST/INFO AIGC entry (some implementations)"),
        CarrierInfo("wav:id3:TXXX:AIGC", "read", "ID3v2 TXXX in an id3 chunk"),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        if len(head) >= 12 and head[:4] in FORM_IDS and head[8:12] == WAVE:
            return Confidence.STRONG
        return Confidence.NO

    def read_labels(self, src: Source) -> list[FoundLabel]:
        out: list[FoundLabel] = []
        for chunk in read_layout(src).chunks:
            if chunk.fourcc == AIGC:
                value = _riff.read_payload(src, chunk, "AIGC chunk").rstrip(b"\x00")
                out.append(FoundLabel.from_text(PRIMARY, value, offset=chunk.offset))
            elif _is_info(chunk):
                for sub in _info_entries(src, chunk):
                    if sub.fourcc == AIGC:
                        value = _riff.read_payload(src, sub, "INFO entry").rstrip(b"\x00")
                        out.append(FoundLabel.from_text(f"{INFO_CARRIER}:AIGC", value,
                                                        offset=sub.offset))
            elif chunk.fourcc in ID3_IDS:
                tag, _ = _id3_tag(src, chunk)
                if tag is not None:
                    out.extend(_id3.find_labels(tag, ID3_CARRIER))
        return out

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label = to_json(record).encode()
        layout = read_layout(src)
        chunks = layout.chunks
        if layout.truncated:
            msg = "data chunk runs past the end of the file; refusing to write a truncated WAV"
            raise CorruptFileError(msg, path=src.name)
        new_chunk = _riff.make_chunk(AIGC, label)
        replace: dict[int, bytes] = {}
        removed: list[str] = []
        insert_at: int | None = None
        labelled = [i for i, c in enumerate(chunks) if c.fourcc == AIGC]
        if labelled:
            replace[labelled[0]] = new_chunk  # rewritten where it is
            for i in labelled[1:]:
                replace[i] = b""
                removed.append(PRIMARY)  # GB 6.1 c): one label per file
        else:
            insert_at = next((i for i, c in enumerate(chunks) if c.fourcc == DATA), None)
            if insert_at is None:
                msg = "WAV file has no data chunk"
                raise CorruptFileError(msg, path=src.name)
        for i, chunk in enumerate(chunks):
            if _is_info(chunk):
                new = self._clean_info(src, chunk, removed)
            elif chunk.fourcc in ID3_IDS:
                new = self._clean_id3(src, chunk, removed)
            else:
                continue
            if new is not None:
                replace[i] = new
        body = EditPlan()
        for i, chunk in enumerate(chunks):
            if i == insert_at:
                body.add(new_chunk)
            if i in replace:
                body.add(replace[i])
            elif not (layout.ds64 is not None and i == 0):  # ds64 is rebuilt below
                body.copy(chunk.offset, chunk.end)
                if chunk.missing_pad:  # tolerated at the end; required once followed
                    body.add(b"\x00")
        plan = EditPlan(carrier=PRIMARY, removed=removed)
        ds64 = self._ds64_chunk(src, layout, body.output_size)
        riff_size = 4 + len(ds64) + body.output_size
        if layout.ds64 is None:
            if riff_size > _riff.MAX_SIZE:
                msg = f"WAV file would grow beyond the 4 GiB RIFF limit ({riff_size} bytes)"
                raise LimitExceededError(msg, path=src.name)
            plan.add(b"RIFF" + _riff.u32le(riff_size) + WAVE)
        else:
            size = UNKNOWN_SIZE if layout.form.size == UNKNOWN_SIZE else riff_size
            plan.add(layout.form.form_id + _riff.u32le(min(size, UNKNOWN_SIZE)) + WAVE + ds64)
        plan.pieces.extend(body.pieces)
        tail = layout.end
        if chunks and chunks[-1].missing_pad and src.read_upto(tail, 1) == b"\x00":
            tail += 1  # the pad byte was there, the RIFF size just did not count it
        plan.copy(tail, src.size)  # bytes after the RIFF form are kept as they are
        return plan

    @staticmethod
    def _ds64_chunk(src: Source, layout: Layout, body_size: int) -> bytes:
        """The ``ds64`` chunk with its RIFF size updated (``b""`` for a plain RIFF file);
        ``body_size`` counts the chunks that follow it."""
        if layout.ds64 is None:
            return b""
        payload = _riff.read_payload(src, layout.chunks[0], "ds64 chunk")
        length = _riff.HEADER_SIZE + len(payload) + len(_riff.pad_byte(len(payload)))
        riff_size = 4 + length + body_size  # "WAVE" + ds64 + the other chunks
        return _riff.make_chunk(DS64, struct.pack("<Q", riff_size) + payload[8:])

    @staticmethod
    def _clean_info(src: Source, chunk: _riff.Chunk, removed: list[str]) -> bytes | None:
        """The LIST/INFO chunk without its AIGC entries; ``None`` when it has none."""
        entries = list(_info_entries(src, chunk))
        if not any(e.fourcc == AIGC for e in entries):
            return None
        kept = b""
        for entry in entries:
            if entry.fourcc == AIGC:
                removed.append(f"{INFO_CARRIER}:AIGC")
                continue
            raw = src.read_metadata(entry.offset, entry.end - entry.offset, "INFO entry")
            kept += raw + (b"\x00" if entry.missing_pad else b"")
        return _riff.make_chunk(LIST, INFO + kept) if kept else b""

    @staticmethod
    def _clean_id3(src: Source, chunk: _riff.Chunk, removed: list[str]) -> bytes | None:
        """The ID3 chunk without AIGC frames (``b""``: dropped, when nothing else is left in
        it); ``None`` when its tag has none."""
        tag, _ = _id3_tag(src, chunk)
        if tag is None or not _id3.has_labels(tag):
            return None
        removed.extend(lb.carrier for lb in _id3.find_labels(tag, ID3_CARRIER))
        rest = src.read_metadata(tag.header.end, chunk.data_end - tag.header.end, "id3 chunk")
        rebuilt = _id3.rebuild(tag, None)
        if not rebuilt.kept and not rest.strip(b"\x00"):
            return b""
        return _riff.make_chunk(chunk.fourcc, rebuilt.to_bytes(src) + rest)

    def plan_patch(self, src: Source, record: AIGCRecord) -> PatchPlan | None:
        """Crash-safe in-place update through a ``JUNK`` chunk (``aiglabel._patch``).

        ``[AIGC old][JUNK]``: the new AIGC chunk and a JUNK header for the rest are written
        inside the JUNK payload, then the old chunk's 8-byte header becomes a JUNK header
        swallowing it and the old JUNK header (cleanup zeroes the old label). No AIGC chunk: a
        JUNK chunk before ``data`` gets the label in its payload and its header switched to
        ``AIGC``. The RIFF size never changes. Other layouts (RF64, labels in LIST/INFO or an
        id3 chunk, no room) are rewritten through a temporary file.
        """
        layout = read_layout(src)
        if layout.ds64 is not None or layout.truncated:
            return None
        if any(f.carrier != PRIMARY for f in self.read_labels(src)):
            return None
        top = [c for c in layout.chunks if c.depth == 0]
        body = to_json(record).encode()
        chunk = _riff.make_chunk(AIGC, body)
        olds = [i for i, c in enumerate(top) if c.fourcc == AIGC]
        if len(olds) == 1:
            after = top[olds[0] + 1] if olds[0] + 1 < len(top) else None
            return None if after is None else _riff.swallow_patch(top[olds[0]], after, chunk,
                                                                  PRIMARY)
        if olds:
            return None
        data_at = next((c.offset for c in top if c.fourcc == DATA), layout.end)
        for junk in top:
            if junk.offset < data_at and (plan := _riff.fill_patch(junk, chunk, PRIMARY)):
                return plan
        return None

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        for chunk in read_layout(src).chunks:
            if chunk.fourcc not in _NOT_ESSENCE:
                yield chunk.fourcc
                yield Span(chunk.data_offset, chunk.size)

    def metadata(self, src: Source) -> list[MetadataItem]:
        """LIST/INFO entries (carrier ``wav:LIST:INFO``, key = the entry id such as ``ISFT``,
        ``ICMT``, ``INAM``; trailing NULs dropped) and ID3 chunk text frames (``wav:id3``,
        keys as in :mod:`.mp3`), in file order. A damaged chunk ends the walk with what was
        found."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "WAV"):
                for chunk in read_layout(src).chunks:
                    if out.full:
                        break
                    if _is_info(chunk):
                        for entry in _info_entries(src, chunk):
                            raw = src.read_metadata(entry.data_offset, out.want(entry.size),
                                                    "INFO entry")
                            key = entry.fourcc.decode("latin-1").rstrip()
                            out.add(INFO_CARRIER, key, decode_text(raw), entry.offset)
                    elif chunk.fourcc in ID3_IDS:
                        tag, _ = _id3_tag(src, chunk)
                        if tag is not None:
                            _id3.collect(tag, ID3_CARRIER, out)
        except (CorruptFileError, LimitExceededError):
            pass
        return out.items

    def container_findings(self, src: Source) -> list[Finding]:
        layout = read_layout(src)
        out = [Finding("G5.carrier", Severity.WARNING, note) for note in layout.notes]

        def add(message: str, severity: Severity = Severity.WARNING,
                carrier: str | None = None) -> None:
            out.append(Finding("G5.carrier", severity, message, carrier))

        if layout.end < src.size:
            add(f"{src.size - layout.end} bytes after the RIFF form")
        if layout.chunks and layout.chunks[-1].missing_pad:
            add("last chunk lacks its pad byte")
        data_at = next((c.offset for c in layout.chunks if c.fourcc == DATA), None)
        if data_at is None:
            add("no data chunk")
        for chunk in layout.chunks:
            if chunk.fourcc == AIGC and data_at is not None and chunk.offset > data_at:
                add("AIGC chunk after the data chunk: readers that stop at data miss it",
                    Severity.INFO, PRIMARY)
            elif chunk.fourcc in ID3_IDS:
                tag, problem = _id3_tag(src, chunk)
                if tag is None:
                    add(f"{_riff.fourcc_text(chunk.fourcc)} chunk not readable as an ID3v2 "
                        f"tag ({problem})", carrier=ID3_CARRIER)
                    continue
                out.extend(Finding(f.code, f.severity, f.message, ID3_CARRIER)
                           for f in tag.findings)
                for fid in _id3.unreadable_frames(tag):
                    add(f"{fid} frame is encrypted or does not inflate; an AIGC label in it "
                        "cannot be read", carrier=ID3_CARRIER)
        return out
