"""PDF codec.

Spec: ISO 32000-1:2008 (PDF 1.7) https://opensource.adobe.com/dc-acrobatsdk-docs/pdfstandards/PDF32000_2008.pdf
: 7.5.4 cross-reference table, 7.5.5 trailer, 7.5.6 incremental updates, 7.5.8
cross-reference streams, 14.3.2 metadata streams, 14.3.3 document information dictionary.
GB carriers (TC260-PG-20258A §6.3, rules §C.4, [M]): the document information dictionary (the
trailer's ``/Info``) key ``/AIGC``, a string holding the bare Annex E JSON; written as a literal
string (``(`` ``)`` ``\\`` escaped), or UTF-16BE hex when not ASCII; literal and hex strings are
both read. Carrier ``pdf:info:AIGC``; a key that is ``AIGC`` only ignoring case is read as
``pdf:info:<Key>``. The same JSON is mirrored as ``TC260:AIGC`` (rules §C.6) in the XMP packet
of the Catalog's ``/Metadata`` stream (carrier ``pdf:xmp``), read there too. Only what the
current revision references is read: an incremental update's objects replace the older ones
(pypdf merges the sections).

One label in two places (project choice): when the Info label and the XMP label hold the same
record (the same parsed fields), :meth:`PdfCodec.read_labels` returns one label, the Info one,
with an info finding ``G3.carrier`` saying it is mirrored in XMP (GB 6.1 c) counts labels, not
copies of one). When they differ both are reported: two labels, a conflict for ``inspect``.

Writing (rules §C.7, project choice) appends one incremental update (7.5.6; layout in
:mod:`._pdfupdate`): a new revision of the Info dictionary, same object number, every other
entry kept with its original string bytes and ``/AIGC`` replaced or added (other AIGC keys
dropped); a new revision of the metadata stream, uncompressed, whose packet has the
``TC260:AIGC`` property merged in and every other property kept (:func:`._xmp.merge_label`),
or, when the Catalog has no metadata stream, a new one (``/Type /Metadata /Subtype /XML``)
and a new revision of the Catalog referencing it; a cross-reference table, or a stream when
the file's last one is a stream, whose trailer keeps ``/Root``, ``/Info`` and ``/ID`` and points
``/Prev`` at the previous section. An object that already holds exactly the label is not
rewritten; a write that changes nothing copies the file as is, so writes are idempotent. An
XMP packet that is not well-formed XML is not edited (its AIGC properties are cut out, the
label goes into Info only). The original bytes are an exact prefix of the output, so
byte-range signatures and C2PA hashes over them stay valid. Superseded revisions keep their
bytes, old labels included; the verifier reports them as info. Encrypted files are not
written (the new strings would need encrypting).

Essence: the file's bytes before the first of the aiglabel update sections that end it (each is
recognised from the tail, :func:`._pdfupdate.update_sections`): the whole original document, as
delivered, equal before and after any number of label writes. A file changed by another tool
after a label write has that change (and the label sections before it) in its essence.

Parsing uses pypdf (the ``documents`` extra), imported only when a PDF is read, over a
:class:`~aiglabel._io.Source` (counted, deadline-checked reads); strict mode first (it checks
no more than the sections it reads), lenient mode for damaged files. pypdf's exceptions become
one-line :class:`~aiglabel.errors.CorruptFileError` (or ``LimitExceededError``).
"""

from __future__ import annotations

import functools
import io
import logging
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from aiglabel._io import EditPlan, Source, SourceIO, Span
from aiglabel.codecs import _pdfupdate as upd
from aiglabel.codecs import _xmp
from aiglabel.codecs._meta import Collector
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import (
    AiglabelError,
    CarrierUnsupportedError,
    CorruptFileError,
    LimitExceededError,
)
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from pypdf import PdfReader
    from pypdf.generic import DictionaryObject, IndirectObject

CARRIER = "pdf:info:AIGC"
XMP_CARRIER = "pdf:xmp"
INFO_METADATA = "pdf:info"
SIGNATURE = b"%PDF-"
SNIFF_WINDOW = 1024  # Acrobat accepts the header anywhere in the first 1024 bytes
_BUFFER = 4096  # pypdf reads byte by byte in places; buffer the Source reads
_LENGTH_RE = re.compile(rb"/Length\s+(\d{1,20})(\s+\d{1,10}\s+R)?")
_MAX_REVISIONS_CHECKED = 8  # container_findings: superseded revisions parsed at most
T = TypeVar("T")


def _pypdf_check() -> None:
    try:
        import pypdf  # noqa: F401
    except ImportError as exc:
        msg = "PDF support needs pypdf: pip install 'aiglabel[documents]'"
        raise CarrierUnsupportedError(msg) from exc
    # pypdf logs repairs of damaged files; keep them out of a command-line tool's stderr
    # (Python's last-resort handler) while leaving them to any logging the application set up.
    log = logging.getLogger("pypdf")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())


def _reader(src: Source, size: int, strict: bool) -> PdfReader:
    from pypdf import PdfReader

    return PdfReader(io.BufferedReader(SourceIO(src, size), _BUFFER), strict=strict)


def _cause(exc: BaseException) -> AiglabelError | None:
    """An aiglabel error (a Source limit or deadline) that pypdf wrapped or chained."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 16:
        if isinstance(current, AiglabelError):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def _diagnosis(src: Source) -> str:
    """What the file's end says about the damage (7.5.5: it must end with the trailer)."""
    try:
        tail = src.read_upto(max(src.size - 1024, 0), 1024)
    except AiglabelError:
        return ""
    if b"%%EOF" not in tail:
        return ": no %%EOF marker at the end (truncated?)"
    if b"startxref" not in tail:
        return ": no startxref before %%EOF"
    return ""


def _guarded(src: Source, work: Callable[[bool], T]) -> T:
    """Run ``work(strict)`` in pypdf's strict mode, then lenient mode if that fails; turn
    what escapes into one-line aiglabel errors naming the file."""
    _pypdf_check()
    from pypdf.errors import LimitReachedError

    for strict in (True, False):
        try:
            return work(strict)
        except AiglabelError as exc:
            if exc.path is None:
                exc.path = src.name
            if strict and isinstance(exc, CorruptFileError):
                continue
            raise
        except Exception as exc:  # pypdf raises many types on damaged input (the boundary)
            inner = _cause(exc)
            if inner is not None:
                inner.path = inner.path or src.name
                raise inner from exc
            if strict:
                continue
            text = (str(exc).splitlines() or [""])[0][:160]
            msg = f"damaged PDF{_diagnosis(src)} ({type(exc).__name__}: {text})"
            if isinstance(exc, LimitReachedError):
                raise LimitExceededError(msg, path=src.name) from exc
            if isinstance(exc, RecursionError | MemoryError):
                msg = f"damaged PDF (objects nested too deeply: {type(exc).__name__})"
            raise CorruptFileError(msg, path=src.name) from exc
    raise AssertionError  # pragma: no cover  (the lenient pass returns or raises)


# --- what the current revision holds -----------------------------------------------------------


@dataclass
class _Doc:
    """The parts of the current revision a label read or write needs."""

    reader: PdfReader
    root: DictionaryObject
    root_ref: IndirectObject | None = None
    info_ref: IndirectObject | None = None
    info: DictionaryObject | None = None
    xmp_ref: IndirectObject | None = None
    xmp_entries: DictionaryObject | None = None
    packet: bytes | None = None
    labels: list[FoundLabel] = field(default_factory=list)  # every one, mirrors not merged


def _is_label_key(key: str) -> bool:
    return key.lstrip("/").upper() == "AIGC"


def _text(value: Any) -> str | None:
    """A PDF string's text: UTF-16 or UTF-8 by byte order mark, else UTF-8 when it decodes,
    else PDFDocEncoding as pypdf read it; ``None`` when ``value`` is not a string."""
    from pypdf.generic import ByteStringObject, TextStringObject

    if isinstance(value, TextStringObject):
        raw = value.get_original_bytes()
    elif isinstance(value, ByteStringObject):
        raw = bytes(value)
    else:
        return None
    if raw[:2] in (b"\xfe\xff", b"\xff\xfe"):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return str(value) if isinstance(value, TextStringObject) else raw.decode("latin-1")


def _offset(reader: PdfReader, ref: IndirectObject | None) -> int | None:
    if ref is None:
        return None
    offset = reader.xref.get(ref.generation, {}).get(ref.idnum)
    return offset if isinstance(offset, int) else None


def _resolve(value: Any) -> Any:
    from pypdf.generic import IndirectObject

    return value.get_object() if isinstance(value, IndirectObject) else value


def _load(src: Source, strict: bool, size: int | None = None) -> _Doc:
    """Parse the current revision's trailer (7.5.5), its Info dictionary (14.3.3) and the
    Catalog's metadata stream (14.3.2) of the first ``size`` bytes (default: all)."""
    from pypdf.generic import DictionaryObject, IndirectObject, StreamObject

    reader = _reader(src, src.size if size is None else size, strict)
    if reader.is_encrypted:
        _decrypt(src, reader)
    raw_root = reader.trailer.raw_get("/Root") if "/Root" in reader.trailer else None
    root = _resolve(raw_root)
    if not isinstance(root, DictionaryObject):
        msg = "the trailer has no /Root catalog dictionary"
        raise CorruptFileError(msg, path=src.name)
    doc = _Doc(reader, root, raw_root if isinstance(raw_root, IndirectObject) else None)
    raw_info = reader.trailer.raw_get("/Info") if "/Info" in reader.trailer else None
    info = _resolve(raw_info)
    if isinstance(info, DictionaryObject):
        doc.info = info
        doc.info_ref = raw_info if isinstance(raw_info, IndirectObject) else None
        offset = _offset(reader, doc.info_ref)
        for key, value in info.items():
            if _is_label_key(key):
                carrier = CARRIER if key == "/AIGC" else f"pdf:info:{key[1:]}"
                text = _text(_resolve(value))
                doc.labels.append(FoundLabel.from_text(
                    carrier, text if text is not None else str(value), offset=offset))
    raw_md = root.raw_get("/Metadata") if "/Metadata" in root else None
    if isinstance(raw_md, IndirectObject):  # 14.3.2: /Metadata is an indirect stream
        _check_length(src, reader, raw_md)
        stream = raw_md.get_object()
        if isinstance(stream, StreamObject):
            data = stream.get_data()
            if len(data) > src.limits.max_metadata:
                msg = (f"XMP metadata stream of {len(data)} bytes exceeds the "
                       f"{src.limits.max_metadata}-byte limit")
                raise LimitExceededError(msg, path=src.name)
            doc.xmp_ref, doc.xmp_entries, doc.packet = raw_md, stream, data
            doc.labels += _xmp.find_labels(data, XMP_CARRIER, _offset(reader, raw_md))
    return doc


def _decrypt(src: Source, reader: PdfReader) -> None:
    """Open an encrypted file with the empty user password (7.6.3.3), as viewers do."""
    try:
        opened = bool(reader.decrypt(""))
    except Exception as exc:  # a missing AES provider, a damaged /Encrypt dictionary
        msg = f"encrypted PDF that cannot be opened ({type(exc).__name__})"
        raise CarrierUnsupportedError(msg, path=src.name) from exc
    if not opened:
        msg = "encrypted PDF that needs a password"
        raise CarrierUnsupportedError(msg, path=src.name)


def _check_length(src: Source, reader: PdfReader, ref: IndirectObject) -> None:
    """Refuse a metadata stream whose declared ``/Length`` exceeds ``max_metadata`` before
    pypdf reads it into memory (an uncompressed object's dictionary is read from its offset)."""
    offset = _offset(reader, ref)
    if offset is None:
        return
    head = src.read_upto(offset, 512)
    match = _LENGTH_RE.search(head.split(b"stream", 1)[0])
    if match is not None and not match.group(2) and int(match.group(1)) > src.limits.max_metadata:
        msg = (f"XMP metadata stream of {int(match.group(1))} bytes exceeds the "
               f"{src.limits.max_metadata}-byte limit")
        raise LimitExceededError(msg, path=src.name)


def _as_one(labels: list[FoundLabel]) -> list[FoundLabel]:
    """The labels as read: an Info label and an XMP label with the same record are one label
    in two places (module docstring), reported as the Info one with a note and any finding
    of the XMP copy it does not have already."""
    info = [lb for lb in labels if lb.carrier != XMP_CARRIER]
    xmp = [lb for lb in labels if lb.carrier == XMP_CARRIER]
    if len(info) != 1 or len(xmp) != 1 or info[0].record is None:
        return labels
    first, mirror = info[0], xmp[0]
    if mirror.record != first.record:
        return labels
    seen = {(f.code, f.message) for f in first.findings}
    extra = [f for f in mirror.findings if (f.code, f.message) not in seen]
    note = Finding("G3.carrier", Severity.INFO,
                   f"the label is mirrored in the XMP metadata stream (TC260:AIGC, {XMP_CARRIER})"
                   "; the same record in both places counts as one label", first.carrier)
    return [replace(first, findings=(*first.findings, *extra, note))]


def _superseded_labels(src: Source) -> list[tuple[int, list[FoundLabel], bool]]:
    """Labels of the revisions that aiglabel's update sections superseded, newest first, and
    whether a mirrored pair was among them."""
    out: list[tuple[int, list[FoundLabel], bool]] = []
    for start in upd.update_sections(src)[:_MAX_REVISIONS_CHECKED]:
        try:
            doc = _guarded(src, functools.partial(_load, src, size=start))
        except (CorruptFileError, LimitExceededError):
            continue
        if doc.labels:
            labels = _as_one(doc.labels)
            out.append((start, labels, len(labels) < len(doc.labels)))
    return out


# --- the update --------------------------------------------------------------------------------


def _info_body(doc: _Doc, label_json: str, max_depth: int) -> tuple[bytes, list[str]]:
    """The new Info dictionary: every entry kept in order, the first AIGC key replaced by
    ``/AIGC`` (or ``/AIGC`` appended), further AIGC keys dropped; and their carriers."""
    entries: list[bytes] = []
    removed: list[str] = []
    placed = False
    label = b"/AIGC " + upd.text_string(label_json)
    for key, value in (doc.info or {}).items():
        if _is_label_key(key):
            if not placed:
                entries.append(label)
                placed = True
            else:
                removed.append(CARRIER if key == "/AIGC" else f"pdf:info:{key[1:]}")
            continue
        entries.append(upd.entry(key, value, max_depth))
    if not placed:
        entries.append(label)
    return upd.dictionary(entries), removed


def _new_packet(doc: _Doc, label_json: str) -> tuple[bytes | None, int]:
    """The metadata stream's new packet (``None``: leave the stream as it is) and how many
    XMP labels it loses: ``label_json`` merged into the packet, or a new packet when there is
    none; a packet that is not well-formed XML is not edited, only its labels cut out."""
    if doc.packet is None:
        return _xmp.new_packet(label_json), 0
    try:
        merged = _xmp.merge_label(doc.packet, label_json)
    except CorruptFileError:
        xmp_labels = sum(lb.carrier == XMP_CARRIER for lb in doc.labels)
        if not xmp_labels:
            return None, 0
        return _xmp.strip_labels(doc.packet), xmp_labels  # may raise: nested too deeply
    return (None if merged == doc.packet else merged), 0


def _plan(src: Source, doc: _Doc, label_json: str) -> EditPlan:
    reader = doc.reader
    plan = EditPlan(carrier=CARRIER)
    info_labels = [lb for lb in doc.labels if lb.carrier != XMP_CARRIER]
    info_done = (doc.info_ref is not None and len(info_labels) == 1
                 and info_labels[0].carrier == CARRIER and info_labels[0].raw == label_json)
    packet, lost = _new_packet(doc, label_json)
    if info_done and packet is None:
        plan.copy(0, src.size)  # already labelled so: nothing to change (writes are idempotent)
        return plan
    if reader.is_encrypted:
        msg = "encrypted PDF: the new Info string would have to be encrypted (not supported)"
        raise CarrierUnsupportedError(msg, path=src.name)
    prev = upd.last_xref(src)
    trailer = reader.trailer
    size = trailer.get("/Size")
    known = [n for gen in reader.xref.values() for n in gen] + list(reader.xref_objStm)
    next_num = max([size if isinstance(size, int) else 0, *(n + 1 for n in known), 1])
    depth = src.limits.max_depth
    objects: list[upd.NewObject] = []
    if doc.info_ref is not None:
        info_num, info_gen = doc.info_ref.idnum, doc.info_ref.generation
    else:
        info_num, info_gen = next_num, 0
        next_num += 1
    if not info_done:
        body, removed = _info_body(doc, label_json, depth)
        plan.removed += removed
        objects.append(upd.NewObject(info_num, info_gen, body))
    root = upd.serialize(trailer.raw_get("/Root"))
    if packet is not None and doc.xmp_ref is not None:  # a new revision of the stream
        kept = b"".join(b" " + upd.entry(k, v, depth) for k, v in (doc.xmp_entries or {}).items()
                        if k not in ("/Length", "/Filter", "/DecodeParms", "/DL"))
        objects.append(upd.NewObject(doc.xmp_ref.idnum, doc.xmp_ref.generation,
                                     upd.stream_body(kept, packet)))
        plan.removed += [XMP_CARRIER] * lost
    elif packet is not None:  # a new stream, and a new revision of the Catalog naming it
        xmp_num = next_num
        next_num += 1
        objects.append(upd.NewObject(xmp_num, 0, upd.stream_body(
            b" /Type /Metadata /Subtype /XML", packet)))
        ref = f"/Metadata {xmp_num} 0 R".encode()
        entries = [ref if key == "/Metadata" else upd.entry(key, value, depth)
                   for key, value in doc.root.items()]
        if "/Metadata" not in doc.root:
            entries.append(ref)
        if doc.root_ref is not None:
            root_num, root_gen = doc.root_ref.idnum, doc.root_ref.generation
        else:  # a direct Catalog in the trailer (7.5.5 wants a reference): make it an object
            root_num, root_gen = next_num, 0
            next_num += 1
        objects.append(upd.NewObject(root_num, root_gen, upd.dictionary(entries)))
        root = f"{root_num} {root_gen} R".encode()
    trailer_entries = b" /Root " + root + f" /Info {info_num} {info_gen} R".encode()
    if "/ID" in trailer:
        trailer_entries += b" /ID " + upd.serialize(_resolve(trailer.raw_get("/ID")), 1)
    last = src.read_upto(src.size - 1, 1)
    plan.copy(0, src.size)
    plan.add(upd.build_section(base=src.size, lead=last not in (b"\n", b"\r"), prev=prev,
                               objects=objects, size=next_num, trailer=trailer_entries))
    return plan


@register
class PdfCodec(CodecBase):
    """PDF: Info dictionary ``/AIGC`` mirrored in XMP ``TC260:AIGC``; incremental writes."""

    name = "pdf"
    description = "Portable Document Format"
    mimes = ("application/pdf",)
    extensions = (".pdf",)
    carriers = (
        CarrierInfo(CARRIER, "write", "Info dictionary key /AIGC, string (20258A §6.3)"),
        CarrierInfo(XMP_CARRIER, "read",
                    "XMP TC260:AIGC in the Catalog /Metadata stream, written as a mirror of "
                    "/AIGC (one label when they agree)"),
    )

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        return Confidence.STRONG if SIGNATURE in head[:SNIFF_WINDOW] else Confidence.NO

    def read_labels(self, src: Source) -> list[FoundLabel]:
        """The labels of the current revision; a mirrored Info/XMP pair is one label."""
        return _as_one(_guarded(src, lambda strict: _load(src, strict)).labels)

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label_json = to_json(record)
        return _guarded(src, lambda strict: _plan(src, _load(src, strict), label_json))

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        """The bytes before aiglabel's trailing update sections (see the module docstring)."""
        starts = upd.update_sections(src)
        return [Span(0, min(starts) if starts else src.size)]

    def metadata(self, src: Source) -> list[MetadataItem]:
        """Info dictionary strings (carrier ``pdf:info``, key without the slash) other than
        the label, then the XMP packet (``pdf:xmp``, key ``xmp``)."""

        def collect(strict: bool) -> list[tuple[str, str, str, int | None]]:
            doc = _load(src, strict)
            found: list[tuple[str, str, str, int | None]] = []
            offset = _offset(doc.reader, doc.info_ref)
            for key, value in (doc.info or {}).items():
                text = None if _is_label_key(key) else _text(_resolve(value))
                if text and text.strip():
                    found.append((INFO_METADATA, key.lstrip("/"), text.strip(), offset))
            if doc.packet is not None:
                found.append((XMP_CARRIER, "xmp", _xmp.decode_packet(doc.packet),
                              _offset(doc.reader, doc.xmp_ref)))
            return found

        out = Collector(src.limits)
        try:
            for carrier, key, text, offset in _guarded(src, collect):
                out.add(carrier, key, text, offset)
        except (CorruptFileError, LimitExceededError, CarrierUnsupportedError):
            pass  # damaged or encrypted: no metadata to show
        return out.items

    def visible_text(self, src: Source, limit: int) -> str | None:
        """The text of the first and the last page (pypdf's ``extract_text``); when both do
        not fit in ``limit`` characters, the first page's start and the last page's end."""

        def extract(strict: bool) -> str:
            pages = _reader(src, src.size, strict).pages
            count = len(pages)
            first = pages[0].extract_text() if count else ""
            last = pages[count - 1].extract_text() if count > 1 else ""
            if not last:
                return first[:limit]
            room_last = min(len(last), max(limit - min(len(first), limit // 2) - 1, 0))
            room_first = max(limit - room_last - 1, 0)
            return (first[:room_first] + "\n" + last[len(last) - room_last :])[:limit]

        return _guarded(src, extract)

    def container_findings(self, src: Source) -> list[Finding]:
        """Info: labels left in revisions that aiglabel's updates superseded (rules §C.7)."""
        out: list[Finding] = []
        for start, labels, mirrored in _superseded_labels(src):
            carriers = ", ".join(sorted({lb.carrier for lb in labels}))
            carriers += " (mirrored in XMP)" if mirrored else ""
            out.append(Finding(
                "G4.superseded-label", Severity.INFO,
                f"an earlier revision (the first {start} bytes) still holds {len(labels)} "
                f"AIGC label(s) in {carriers}; only the current revision's label counts "
                "(incremental update, rules §C.7)"))
        return out
