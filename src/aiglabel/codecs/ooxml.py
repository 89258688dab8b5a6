"""Office Open XML codec: DOCX, XLSX, PPTX and their template and macro variants.

Spec: ECMA-376 Part 2 (Open Packaging Conventions: ``[Content_Types].xml``, ``_rels/.rels``,
ZIP storage), Part 1 §22.3 (custom file properties, ``docPropsVTypes``); ZIP layout in
:mod:`._zip`.
GB carrier (TC260-PG-20258A §6.1, rules §C.4, [M]): the custom file properties part
``docProps/custom.xml``, a ``property`` with ``fmtid`` ``{D5CDD505-2E9C-101B-9397-08002B2CF9AE}``,
a ``pid`` and ``name="AIGC"`` holding a ``vt:lpwstr`` with the bare JSON. Carrier id
``ooxml:custom:AIGC``; a name that is ``AIGC`` only ignoring case is read under its own id.

Writing [rules §C.4 OOXML details]: an existing ``AIGC`` property is rewritten in place keeping
its ``pid`` (further ones are dropped, GB 6.1 c); otherwise a property with the next free
``pid`` (at least 2) is inserted before ``</Properties>``. Only the bytes of that property
change inside the part. Without the part, a new one is added after the last entry, with an
``Override`` for ``/docProps/custom.xml`` in ``[Content_Types].xml`` and a
``custom-properties`` relationship in ``_rels/.rels`` (each inserted before the closing tag).
Every other entry is copied with its compressed bytes, never re-compressed (:func:`._zip.rebuild`).

Essence: every entry's name and compressed bytes except the package metadata
(``[Content_Types].xml``, ``_rels/.rels``, ``docProps/*``), in file order: the document's
content, unchanged by a write.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span
from aiglabel.codecs import _zip
from aiglabel.codecs._meta import Collector
from aiglabel.codecs._xmlparts import check_xml, tag_attrs, xml_escape
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable

CARRIER = "ooxml:custom:AIGC"
CUSTOM_PART, TYPES_PART, RELS_PART = "docProps/custom.xml", "[Content_Types].xml", "_rels/.rels"
CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
CUSTOM_REL = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
              "custom-properties")
CUSTOM_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
# The main part of each kind of package (ECMA-376 Part 1 §11.3.10, §12.3.23, §13.3.6).
MAIN_PARTS = {"word/document.xml": "word", "xl/workbook.xml": "spreadsheet",
              "ppt/presentation.xml": "presentation"}
_PACKAGE_PARTS = frozenset({TYPES_PART, RELS_PART})
# Descriptive properties worth a detector's look (ECMA-376 Part 2 §11 core, Part 1 §22.2 app).
_CORE_KEYS = frozenset({"title", "subject", "creator", "keywords", "description",
                        "lastModifiedBy", "category", "contentStatus"})
_APP_KEYS = frozenset({"Application", "AppVersion", "Company", "Manager"})
_NEW_CUSTOM = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    f'<Properties xmlns="{CUSTOM_NS}" xmlns:vt="{VT_NS}"></Properties>'
)
# A property element (any prefix) with its content; group "attrs" holds the attributes.
_PROPERTY = re.compile(
    r"<(?P<prefix>[\w.-]+:)?property\b(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)"
    r"</(?P=prefix)?property\s*>)", re.DOTALL)
_TEXT_RUN = re.compile(r"<(?:[\w.-]+:)?t\b[^>]*>([^<]*)</(?:[\w.-]+:)?t\s*>|"
                       r"</(?:[\w.-]+:)?p\s*>|<(?:[\w.-]+:)?br\b[^>]*/>")


def _is_label_name(name: str) -> bool:
    return name.strip().upper() == "AIGC"


def _properties(text: str) -> list[tuple[re.Match[str], dict[str, str], str]]:
    """Each custom property: its match, attributes and decoded value (first child's text)."""
    out = []
    for match in _PROPERTY.finditer(text):
        body = match.group("body") or ""
        inner = re.search(r">([^<]*)<", body)
        out.append((match, tag_attrs(match.group("attrs")),
                    html.unescape(inner.group(1)) if inner else ""))
    return out


def _vt_prefix(text: str) -> str:
    """The prefix bound to the docPropsVTypes namespace in the part (``vt`` if unbound)."""
    match = re.search(r"xmlns:([\w.-]+)\s*=\s*[\"']" + re.escape(VT_NS), text)
    return match.group(1) if match else "vt"


def with_label(text: str, label_json: str) -> tuple[str, int]:
    """The custom properties part with one ``AIGC`` property holding ``label_json``, and how
    many further AIGC properties were dropped (see the module docstring).

    Raises:
        CorruptFileError: no ``Properties`` element to insert into.
    """
    props = _properties(text)
    labels = [(m, a) for m, a, _ in props if _is_label_name(a.get("name", ""))]
    vt = _vt_prefix(text)
    value = f"<{vt}:lpwstr>{xml_escape(label_json)}</{vt}:lpwstr>"
    if labels:
        first, attrs = labels[0]
        prefix = first.group("prefix") or ""
        fmtid = attrs.get("fmtid", FMTID)
        new = (f'<{prefix}property fmtid="{fmtid}" pid="{attrs.get("pid", "2")}" name="AIGC">'
               f"{value}</{prefix}property>")
        out, pos = [], 0
        for match, _ in labels:
            out += [text[pos : match.start()], new if match is first else ""]
            pos = match.end()
        return "".join([*out, text[pos:]]), len(labels) - 1
    pids = [int(a["pid"]) for _, a, _ in props if a.get("pid", "").isdigit()]
    next_pid = max([1, *pids]) + 1
    close = re.search(r"</([\w.-]+:)?Properties\s*>\s*$", text)
    if close is None:
        msg = "docProps/custom.xml has no Properties element to add the label to"
        raise CorruptFileError(msg)
    prefix = close.group(1) or ""
    new = (f'<{prefix}property fmtid="{FMTID}" pid="{next_pid}" name="AIGC">{value}'
           f"</{prefix}property>")
    return text[: close.start()] + new + text[close.start() :], 0


def _insert_before_close(text: str, tag: str, element: str) -> str:
    close = re.search(rf"</([\w.-]+:)?{tag}\s*>\s*$", text)
    if close is None:
        msg = f"no closing {tag} element"
        raise CorruptFileError(msg)
    return text[: close.start()] + element + text[close.start() :]


def _registered(types: str, rels: str) -> tuple[bool, bool]:
    has_type = re.search(r"PartName\s*=\s*[\"']/docProps/custom\.xml[\"']", types, re.I)
    has_rel = any(a.get("Type") == CUSTOM_REL for a in
                  (tag_attrs(m.group(1)) for m in re.finditer(r"<(?:[\w.-]+:)?Relationship\b"
                                                           r"([^>]*)>", rels)))
    return has_type is not None, has_rel


def _register_custom(types: str, rels: str) -> tuple[str | None, str | None]:
    """``[Content_Types].xml`` and ``_rels/.rels`` with the custom part registered (``None``
    where it already was)."""
    has_type, has_rel = _registered(types, rels)
    new_types = None if has_type else _insert_before_close(
        types, "Types", f'<Override PartName="/{CUSTOM_PART}" ContentType="{CUSTOM_TYPE}"/>')
    new_rels = None
    if not has_rel:
        ids = set(re.findall(r"\bId\s*=\s*[\"']([^\"']+)[\"']", rels))
        n = len(ids) + 1
        while f"rId{n}" in ids:
            n += 1
        new_rels = _insert_before_close(
            rels, "Relationships",
            f'<Relationship Id="rId{n}" Type="{CUSTOM_REL}" Target="{CUSTOM_PART}"/>')
    return new_types, new_rels


def _part_text(src: Source, archive: _zip.Archive, name: str) -> str | None:
    entry = archive.get(name)
    if entry is None:
        return None
    data = _zip.read_entry(src, entry)
    check_xml(data, name, src.name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = f"{name} is not UTF-8"
        raise CorruptFileError(msg, path=src.name) from exc


@register
class OoxmlCodec(CodecBase):
    """DOCX/XLSX/PPTX (and .docm/.dotx/.xlsm/.xltx/.pptm/.potx): custom property ``AIGC``."""

    name = "ooxml"
    description = "Office Open XML documents (DOCX, XLSX, PPTX)"
    mimes = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "application/vnd.openxmlformats-officedocument.presentationml.presentation")
    extensions = (".docx", ".docm", ".dotx", ".dotm", ".xlsx", ".xlsm", ".xltx", ".xltm",
                  ".pptx", ".pptm", ".potx", ".potm")
    carriers = (CarrierInfo(CARRIER, "write",
                            "docProps/custom.xml property AIGC, vt:lpwstr (20258A §6.1)"),)

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        if not head.startswith(_zip.LOCAL_SIG) or len(head) < 30:
            return Confidence.NO
        name_len = int.from_bytes(head[26:28], "little")
        first = head[30 : 30 + name_len]
        if first == TYPES_PART.encode() or first.startswith((b"_rels/", b"docProps/",
                                                             b"word/", b"xl/", b"ppt/")):
            return Confidence.STRONG
        return Confidence.WEAK if first != b"mimetype" else Confidence.NO

    def confirm(self, src: Source) -> Confidence:
        if self.sniff(src.head) is Confidence.NO:
            return Confidence.NO
        try:
            archive = _zip.read_archive(src)
        except (CorruptFileError, LimitExceededError):
            return Confidence.WEAK if self.sniff(src.head) is Confidence.STRONG \
                else Confidence.NO  # read_labels says what is wrong
        if archive.get(TYPES_PART) is None:
            return Confidence.NO
        return Confidence.STRONG if any(archive.get(p) for p in MAIN_PARTS) else Confidence.WEAK

    def read_labels(self, src: Source) -> list[FoundLabel]:
        archive = _zip.read_archive(src)
        entry = archive.get(CUSTOM_PART)
        text = _part_text(src, archive, CUSTOM_PART)
        if text is None or entry is None:
            return []
        out = []
        for _, attrs, value in _properties(text):
            name = attrs.get("name", "")
            if _is_label_name(name):
                carrier = CARRIER if name == "AIGC" else f"ooxml:custom:{name.strip()}"
                out.append(FoundLabel.from_text(carrier, value, offset=entry.offset))
        return out

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        archive = _zip.read_archive(src)
        label = to_json(record)
        current = _part_text(src, archive, CUSTOM_PART)
        replace: dict[str, bytes] = {}
        add: dict[str, tuple[bytes, str]] = {}
        removed: list[str] = []
        try:
            custom, dropped = with_label(current if current is not None else _NEW_CUSTOM,
                                         label)
        except CorruptFileError as exc:
            raise CorruptFileError(exc.message, path=src.name) from exc
        removed += [CARRIER] * dropped
        data = custom.encode("utf-8")
        check_xml(data, CUSTOM_PART, src.name)
        if current is None:
            add[CUSTOM_PART] = (data, TYPES_PART)
        elif custom != current:
            replace[CUSTOM_PART] = data
        types = _part_text(src, archive, TYPES_PART)
        rels = _part_text(src, archive, RELS_PART)
        if types is None or rels is None:
            msg = "not an OPC package: [Content_Types].xml or _rels/.rels is missing"
            raise CorruptFileError(msg, path=src.name)
        try:
            new_types, new_rels = _register_custom(types, rels)
        except CorruptFileError as exc:
            raise CorruptFileError(exc.message, path=src.name) from exc
        if new_types is not None:
            replace[TYPES_PART] = new_types.encode("utf-8")
        if new_rels is not None:
            replace[RELS_PART] = new_rels.encode("utf-8")
        plan = EditPlan(carrier=CARRIER, removed=removed)
        plan.extend(_zip.rebuild(src, archive, replace, add))
        return plan

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        archive = _zip.read_archive(src)
        for entry in sorted(archive.entries, key=lambda e: e.offset):
            if entry.name in _PACKAGE_PARTS or entry.name.startswith("docProps/"):
                continue
            yield entry.name.encode("utf-8") + b"\x00"
            yield Span(_zip.data_offset(src, entry), entry.compressed)

    def metadata(self, src: Source) -> list[MetadataItem]:
        """Core properties (``docProps/core.xml``: title, creator, description, ...), the
        application (``docProps/app.xml``) and custom properties other than the label."""
        out = Collector(src.limits)
        try:
            archive = _zip.read_archive(src)
            for part, carrier, keys in (("docProps/core.xml", "ooxml:core", _CORE_KEYS),
                                        ("docProps/app.xml", "ooxml:app", _APP_KEYS)):
                text = _part_text(src, archive, part)
                for key, value in re.findall(r"<(?:[\w.-]+:)?(\w+)\b[^>/]*>([^<]+)</", text or ""):
                    if key in keys and value.strip():
                        out.add(carrier, key, html.unescape(value).strip())
            for _, attrs, value in _properties(_part_text(src, archive, CUSTOM_PART) or ""):
                if not _is_label_name(attrs.get("name", "")):
                    out.add("ooxml:custom", attrs.get("name", ""), value)
        except (CorruptFileError, LimitExceededError):
            pass
        return out.items

    def visible_text(self, src: Source, limit: int) -> str | None:
        """The document's text in reading order: the body (word), shared strings
        (spreadsheet) or slides in order (presentation), paragraphs on their own lines."""
        archive = _zip.read_archive(src)

        def numbered(pattern: str) -> list[str]:
            names = [e.name for e in archive.entries if re.fullmatch(pattern, e.name)]
            return sorted(names, key=lambda n: int(re.sub(r"\D", "", n)))

        if archive.get("word/document.xml"):
            parts = ["word/document.xml"]
        elif archive.get("xl/workbook.xml"):  # shared strings, then inline strings per sheet
            parts = ["xl/sharedStrings.xml", *numbered(r"xl/worksheets/sheet\d+\.xml")]
        else:
            parts = numbered(r"ppt/slides/slide\d+\.xml")
        pieces: list[str] = []
        size = 0
        for part in parts:
            entry = archive.get(part)
            if entry is None:
                continue
            xml = _zip.read_entry(src, entry, min(src.limits.max_metadata, limit * 16))
            for match in _TEXT_RUN.finditer(xml.decode("utf-8", errors="replace")):
                piece = html.unescape(match.group(1)) if match.group(1) is not None else "\n"
                pieces.append(piece)
                size += len(piece)
            pieces.append("\n")
            if size >= limit:
                break
        return "".join(pieces)[:limit]

    def container_findings(self, src: Source) -> list[Finding]:
        archive = _zip.read_archive(src)
        out: list[Finding] = []
        names = [e.name for e in archive.entries]
        if len(set(names)) != len(names):
            out.append(Finding("G5.carrier", Severity.WARNING,
                               "duplicate ZIP entry names; readers may pick either"))
        if archive.get(CUSTOM_PART) is not None:
            types, rels = (_part_text(src, archive, p) or "" for p in (TYPES_PART, RELS_PART))
            has_type, has_rel = _registered(types, rels)
            if not (has_type and has_rel):
                out.append(Finding("G5.carrier", Severity.WARNING,
                                   "docProps/custom.xml is not registered in [Content_Types].xml "
                                   "and _rels/.rels; Office may not show it", CARRIER))
        return out
