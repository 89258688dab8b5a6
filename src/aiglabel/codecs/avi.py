"""AVI codec.

Spec: Microsoft "AVI RIFF File Reference"
https://learn.microsoft.com/en-us/windows/win32/directshow/avi-riff-file-reference ;
RIFF INFO list: Microsoft "Multimedia Programming Interface and Data Specifications 1.0"
(1991) §2 "INFO List Chunk"; OpenDML AVI File Format Extensions 1.02 (1996) for ``indx``,
``ix##``, ``odml`` and the ``AVIX`` forms.
GB carrier (TC260-PG-20257A, rules §C.2, [M]): a ``LIST``/``INFO`` sub-chunk with the custom
id ``AIGC`` holding the bare JSON, NUL-terminated [project choice], in a RIFF chunk padded to
an even length; readers strip trailing NULs. Stock FFmpeg reads such an entry (as metadata
key ``AIGC``) but cannot write it (rules §C.2).
Also reads: the sub-chunk id in any case; an ``INFO`` list nested in ``hdrl``.

Layout (see :mod:`._riff`; integers little-endian)::

    RIFF 'AVI '  LIST 'hdrl' (avih, LIST 'strl' (strh, strf, [strd], [indx | JUNK]) ...,
                              [LIST 'odml' (dmlh)])
                 [LIST 'INFO' (INAM, ISFT, ..., AIGC)]  [JUNK]
                 LIST 'movi' (00dc, 01wb, ... [ix00 ...])
                 [idx1]
    [RIFF 'AVIX' (LIST 'movi' ...)] ...

Offsets: ``idx1`` entries are relative to the ``movi`` list (FFmpeg) or absolute (some old
writers); OpenDML ``indx`` super-index entries and ``ix##`` base offsets are absolute file
offsets. **The writer never moves ``movi``, ``idx1`` or an ``AVIX`` form**, so every index
stays valid under either convention: it rewrites the ``INFO`` list where it is when the new
one fits in its bytes plus the ``JUNK`` chunks that follow it (the rest stays ``JUNK``; a gap
of 2-6 bytes, too small for a ``JUNK`` header, becomes extra trailing NULs of the value), else
turns the old list into ``JUNK`` and puts the new list into a top-level ``JUNK`` run before
``movi`` (FFmpeg leaves about 1 KiB there), else appends it at the end of the first ``RIFF``
form, after ``idx1`` (FFmpeg and ExifTool read an ``INFO`` list there), fixing the RIFF
size. When ``AVIX`` forms follow and there is no room before ``movi``, the write is refused
(:class:`~aiglabel.errors.CarrierUnsupportedError`): appending would move the ``AVIX`` forms
that the absolute OpenDML offsets point into. Other ``INFO`` entries are copied
byte-for-byte; ``AIGC`` entries of other ``INFO`` lists are removed, the list shrinking in
place with a ``JUNK`` chunk after it (GB 6.1 c).
Essence: the ``avih``, ``strh``, ``strf``, ``strd`` and ``vprp`` chunks of ``hdrl`` (FourCC and
payload), then the payload of the ``movi`` list of the ``AVI `` form and of every ``AVIX``
form, in file order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs import _riff
from aiglabel.codecs._meta import Collector, decode_text
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CarrierUnsupportedError, CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from aiglabel._patch import PatchPlan

FORM_TYPE, AVIX = b"AVI ", b"AVIX"
LIST, JUNK, INFO, HDRL, MOVI = b"LIST", b"JUNK", b"INFO", b"hdrl", b"movi"
AIGC = b"AIGC"
CARRIER = "avi:INFO:AIGC"
_ESSENCE_HEADERS = frozenset({b"avih", b"strh", b"strf", b"strd", b"vprp"})


def is_aigc(fourcc: bytes) -> bool:
    """INFO sub-chunk id ``AIGC`` (Annex E a); any case is read."""
    return fourcc.upper() == AIGC


@dataclass(frozen=True, slots=True)
class InfoList:
    """An ``INFO`` list: its chunk, its sub-chunks, and whether it sits in ``hdrl``."""

    chunk: _riff.Chunk
    entries: tuple[_riff.Chunk, ...]
    nested: bool

    def labels(self) -> list[_riff.Chunk]:
        return [e for e in self.entries if is_aigc(e.fourcc)]


@dataclass(frozen=True, slots=True)
class Layout:
    """The ``AVI `` form, its top-level chunks and its ``INFO`` lists."""

    form: _riff.Form
    chunks: tuple[_riff.Chunk, ...]
    infos: tuple[InfoList, ...]

    def movi(self) -> int:
        """Index of the ``movi`` list (``len(chunks)`` when missing)."""
        return next((i for i, c in enumerate(self.chunks) if c.list_type == MOVI),
                    len(self.chunks))


def read_layout(src: Source) -> Layout:
    """Walk the ``AVI `` form's top-level chunks and find the ``INFO`` lists (headers only).

    Raises:
        CorruptFileError: not an AVI file, damaged or truncated chunks.
        LimitExceededError: too many chunks or too deep.
    """
    form = _riff.read_form(src)
    if form.form_type != FORM_TYPE:
        msg = f"not an AVI file (RIFF form type {form.form_type!r})"
        raise CorruptFileError(msg, path=src.name)
    walk = _riff.Walk()
    chunks = tuple(_riff.iter_chunks(src, form.start, form.end, walk=walk))
    infos: list[InfoList] = []
    for chunk in chunks:
        if chunk.list_type == INFO:
            infos.append(_info(src, chunk, walk, nested=False))
        elif chunk.list_type == HDRL:
            subs = _riff.iter_chunks(src, chunk.data_offset + 4, chunk.data_end, depth=1,
                                     walk=walk)
            infos.extend(_info(src, sub, walk, nested=True) for sub in subs
                         if sub.list_type == INFO)
    return Layout(form, chunks, tuple(infos))


def _info(src: Source, chunk: _riff.Chunk, walk: _riff.Walk, *, nested: bool) -> InfoList:
    entries = _riff.iter_chunks(src, chunk.data_offset + 4, chunk.data_end,
                                depth=chunk.depth + 1, walk=walk)
    return InfoList(chunk, tuple(entries), nested)


def aigc_chunk(label_json: str, extra: int = 0) -> bytes:
    """The ``AIGC`` sub-chunk: the JSON, a NUL, ``extra`` more NULs, RIFF-padded."""
    return _riff.make_chunk(AIGC, label_json.encode("utf-8") + b"\x00" * (1 + extra))


def junk(total: int) -> bytes:
    """A zero-filled ``JUNK`` chunk of exactly ``total`` bytes (``total`` even, >= 8)."""
    return _riff.make_chunk(JUNK, bytes(total - _riff.HEADER_SIZE))


def rebuild_info(src: Source, info: InfoList | None, insert: str | None, extra: int = 0,
                 ) -> bytes:
    """The ``INFO`` list with ``AIGC`` entries removed, the first replaced by the label
    ``insert`` (or the label appended); ``b""`` when no entry is left."""
    parts: list[bytes] = []
    for entry in info.entries if info else ():
        if is_aigc(entry.fourcc):
            if insert is not None:
                parts.append(aigc_chunk(insert, extra))
                insert = None
            continue
        parts.append(src.read_metadata(entry.offset, entry.end - entry.offset, "INFO entry"))
        if entry.missing_pad:
            parts.append(b"\x00")
    if insert is not None:
        parts.append(aigc_chunk(insert, extra))
    return _riff.make_chunk(LIST, INFO + b"".join(parts)) if parts else b""


def _fit(make: Callable[[int], bytes], room: int) -> bytes | None:
    """``make(extra)`` laid out in ``room`` bytes with a ``JUNK`` chunk after it; a gap too
    small for a ``JUNK`` header (2-6 bytes) becomes ``extra`` NULs of the value."""
    data = make(0)
    gap = room - len(data)
    if gap == 0:
        return data
    if gap >= _riff.HEADER_SIZE:
        return data + junk(gap)
    if gap > 0 and gap % 2 == 0:
        data = make(gap)
        return data if len(data) == room else None
    return None


def _avix_forms(src: Source, start: int) -> list[tuple[int, int]]:
    """``(offset, end)`` of the ``RIFF 'AVIX'`` forms that follow the first form."""
    out: list[tuple[int, int]] = []
    pos = start
    while True:
        head = src.read_upto(pos, 12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != AVIX:
            return out
        end = pos + 8 + int.from_bytes(head[4:8], "little")
        if end > src.size:
            msg = f"truncated: AVIX form at byte {pos} runs past the end of the file"
            raise CorruptFileError(msg, path=src.name)
        out.append((pos, end))
        pos = end + (end - pos) % 2
        if len(out) > src.limits.max_items:
            msg = f"more than {src.limits.max_items} AVIX forms"
            raise LimitExceededError(msg, path=src.name)


def _form_tail(src: Source, layout: Layout) -> int:
    """Where the bytes after the ``AVI `` form start (a pad byte left uncounted included)."""
    tail = layout.form.end
    if layout.chunks and layout.chunks[-1].missing_pad and src.read_upto(tail, 1) == b"\x00":
        tail += 1
    return tail


@register
class AviCodec(CodecBase):
    """AVI: ``LIST``/``INFO`` sub-chunk ``AIGC``."""

    name = "avi"
    description = "Audio Video Interleave (RIFF AVI)"
    mimes = ("video/x-msvideo", "video/avi")
    extensions = (".avi",)
    carriers = (
        CarrierInfo(CARRIER, "write", "LIST INFO sub-chunk AIGC, NUL-terminated (20257A)"),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == FORM_TYPE:
            return Confidence.STRONG
        return Confidence.NO

    def read_labels(self, src: Source) -> list[FoundLabel]:
        out: list[FoundLabel] = []
        for info in read_layout(src).infos:
            for entry in info.labels():
                value = _riff.read_payload(src, entry, "INFO AIGC entry").rstrip(b"\x00")
                carrier = f"avi:INFO:{entry.fourcc.decode('latin-1')}"
                found = FoundLabel.from_text(carrier, value, offset=entry.offset)
                if info.nested:
                    extra = Finding("G5.carrier", Severity.INFO,
                                    "INFO list inside hdrl, not at the top level", carrier)
                    found = FoundLabel(found.carrier, found.form, found.record, found.raw,
                                       (*found.findings, extra), found.offset)
                out.append(found)
        return out

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        layout = read_layout(src)
        chunks = layout.chunks
        index = {c.offset: i for i, c in enumerate(chunks)}
        top = [info for info in layout.infos if not info.nested]
        primary = next((i for i in top if i.labels()), top[0] if top else None)
        label = to_json(record)
        edits: dict[int, tuple[int, bytes]] = {}  # chunk index -> (stop index, new bytes)
        nested: dict[int, bytes] = {}  # offset of a LIST INFO inside hdrl -> same-size bytes
        removed: list[str] = []
        for info in layout.infos:
            names = [f"avi:INFO:{e.fourcc.decode('latin-1')}" for e in info.labels()]
            removed.extend(names[1:] if info is primary else names)
            if info is primary or not names:
                continue
            new = rebuild_info(src, info, None)
            span = info.chunk.end - info.chunk.offset
            data = new + (junk(span - len(new)) if len(new) < span else b"")
            if info.nested:
                nested[info.chunk.offset] = data
            else:
                edits[index[info.chunk.offset]] = (index[info.chunk.offset] + 1, data)

        def covered(i: int) -> bool:
            return any(a <= i < b for a, (b, _) in edits.items())

        def run_end(i: int) -> int:
            j = i + 1
            while j < len(chunks) and chunks[j].fourcc == JUNK and not covered(j):
                j += 1
            return j

        def make(extra: int) -> bytes:
            return rebuild_info(src, primary, label, extra)

        append = b""
        placed = False
        tail = _form_tail(src, layout)
        avix = bool(_avix_forms(src, tail))
        if primary is not None:
            i = index[primary.chunk.offset]
            stop = run_end(i)
            laid = _fit(make, chunks[stop - 1].end - chunks[i].offset)
            if laid is not None:
                edits[i], placed = (stop, laid), True
            elif stop == len(chunks) and not avix:
                edits[i], placed = (stop, make(0)), True  # the last chunk: it may grow
            else:
                edits[i] = (i + 1, junk(primary.chunk.end - primary.chunk.offset))
        for a in range(layout.movi()):
            if placed:
                break
            if chunks[a].fourcc != JUNK or covered(a) or (
                    a and chunks[a - 1].fourcc == JUNK and not covered(a - 1)):
                continue
            stop = run_end(a)
            laid = _fit(make, chunks[stop - 1].end - chunks[a].offset)
            if laid is not None:
                edits[a], placed = (stop, laid), True
        if not placed:
            if avix:
                msg = ("no room for the INFO list before 'movi' in this OpenDML (AVIX) file; "
                       "appending would move the AVIX forms its absolute indexes point into")
                raise CarrierUnsupportedError(msg, path=src.name)
            append = (b"\x00" if chunks and chunks[-1].missing_pad else b"") + make(0)
        return self._assemble(src, layout, edits, nested, append, removed)

    def plan_patch(self, src: Source, record: AIGCRecord) -> PatchPlan | None:
        """Crash-safe in-place update through the ``JUNK`` chunk FFmpeg leaves before ``movi``
        (``aiglabel._patch``).

        ``[LIST INFO][JUNK]``: the new list (other entries copied) goes into the JUNK payload,
        then the old list's header becomes a JUNK header swallowing it (cleanup zeroes it). No
        ``INFO`` list: a JUNK chunk before ``movi`` becomes ``LIST INFO``. Other layouts
        (labels in ``hdrl`` or in two lists, no JUNK, no room) are rewritten through a
        temporary file.
        """
        layout = read_layout(src)
        label = to_json(record)
        if any(info.nested and info.labels() for info in layout.infos):
            return None
        top = [info for info in layout.infos if not info.nested]
        labelled = [info for info in top if info.labels()]
        if len(labelled) > 1 or any(len(info.labels()) > 1 for info in labelled):
            return None
        chunks, movi = layout.chunks, layout.movi()
        primary = labelled[0] if labelled else (top[0] if top else None)
        if primary is not None:
            i = chunks.index(primary.chunk)
            if i + 1 >= movi:
                return None
            return _riff.swallow_patch(primary.chunk, chunks[i + 1],
                                       rebuild_info(src, primary, label), CARRIER)
        new = rebuild_info(src, None, label)
        for chunk in chunks[:movi]:
            if (plan := _riff.fill_patch(chunk, new, CARRIER)) is not None:
                return plan
        return None

    @staticmethod
    def _assemble(src: Source, layout: Layout, edits: dict[int, tuple[int, bytes]],
                  nested: dict[int, bytes], append: bytes, removed: list[str]) -> EditPlan:
        body = EditPlan()
        chunks = layout.chunks
        i = 0
        while i < len(chunks):
            if i in edits:
                stop, data = edits[i]
                body.add(data)
                i = stop
                continue
            chunk = chunks[i]
            pos = chunk.offset
            for offset in sorted(o for o in nested if chunk.offset < o < chunk.end):
                body.copy(pos, offset)
                body.add(nested[offset])
                pos = offset + len(nested[offset])
            body.copy(pos, chunk.end)
            i += 1
        body.add(append)
        size = 4 + body.output_size
        if size > _riff.MAX_SIZE:
            msg = f"AVI form would grow beyond the 4 GiB RIFF limit ({size} bytes)"
            raise LimitExceededError(msg, path=src.name)
        plan = EditPlan(carrier=CARRIER, removed=removed)
        plan.add(b"RIFF" + _riff.u32le(size) + FORM_TYPE)
        plan.pieces.extend(body.pieces)
        plan.copy(_form_tail(src, layout), src.size)  # AVIX forms and trailing bytes
        return plan

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        layout = read_layout(src)
        for chunk in layout.chunks:
            if chunk.list_type == HDRL:
                for sub in _riff.iter_chunks(src, chunk.data_offset + 4, chunk.data_end,
                                             depth=1, recurse=True):
                    if sub.fourcc in _ESSENCE_HEADERS:
                        yield sub.fourcc
                        yield Span(sub.data_offset, sub.size)
            elif chunk.list_type == MOVI:
                yield Span(chunk.data_offset + 4, chunk.size - 4)
        for start, end in _avix_forms(src, _form_tail(src, layout)):
            for chunk in _riff.iter_chunks(src, start + 12, end):
                if chunk.list_type == MOVI:
                    yield Span(chunk.data_offset + 4, chunk.size - 4)

    def metadata(self, src: Source) -> list[MetadataItem]:
        """``INFO`` entries other than the label (carrier ``avi:INFO``, key = the FourCC,
        e.g. ``ISFT``, ``INAM``); damage ends the walk with what was found."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "AVI"):
                for info in read_layout(src).infos:
                    for entry in info.entries:
                        if is_aigc(entry.fourcc) or entry.fourcc == JUNK or out.full:
                            continue
                        raw = src.read_metadata(entry.data_offset, out.want(entry.size),
                                                "INFO entry")
                        out.add("avi:INFO", entry.fourcc.decode("latin-1"), decode_text(raw),
                                entry.offset)
        except (CorruptFileError, LimitExceededError):
            pass
        return out.items

    def container_findings(self, src: Source) -> list[Finding]:
        layout = read_layout(src)
        tail = _form_tail(src, layout)
        forms = _avix_forms(src, tail)
        end = forms[-1][1] if forms else tail
        if end < src.size:
            return [Finding("G5.carrier", Severity.WARNING,
                            f"{src.size - end} bytes after the RIFF forms")]
        return []
