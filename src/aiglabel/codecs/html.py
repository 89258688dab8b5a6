"""HTML codec: ``<meta name="AIGC" content="{…}">`` in the document's ``<head>``.

Spec: HTML Living Standard (https://html.spec.whatwg.org/), §4.2.5 the meta element, §13.2.5
tokenization (tags, attributes, comments, raw-text elements), §13.2.3.2 encoding prescan.
GB carrier (rules §C.5, project choice: the TC260 text guide's HTML clause is unknown): a
``<meta name="AIGC" content="…">`` element in ``<head>``, bare Annex E JSON, ``"`` written as
``&quot;`` (``&``, ``<``, ``>`` escaped too); carrier id ``html:meta:AIGC``.
Also reads: the name in any letter case (meta names are ASCII case-insensitive, rules §C.5),
any attribute order and quoting, entities of every kind; ``<meta property="TC260:AIGC">``
(the EPUB 3 form of rules §C.5; carrier ``html:meta-property:AIGC``, read only).

Reading walks tags from the start to the end of the head: ``</head>``, ``<body>`` or the first
element that cannot be in a head (where an HTML parser leaves the head), bounded by
``Limits.max_metadata`` bytes. Comments, ``<script>``, ``<style>``, ``<template>`` and the
other raw-text elements are skipped, so a ``<meta`` inside them is not a label.

Writing (rules §B.10): the first AIGC meta is replaced in place (only its bytes change) and
every other one is removed with its line when it stands alone on it. Without one, a new line is
inserted right after the charset declaration (which must stay within the first 1024 bytes,
§13.2.3.2), else right after the ``<head …>`` start tag, with the sibling indentation and the
file's newline (on the same line when the head is written inline); without ``<head>``, a
``<head>…</head>`` holding it goes right after ``<html …>``. A document with neither (an HTML
fragment) has no place for metadata: :class:`CarrierUnsupportedError`. XHTML (an XML
declaration or the XHTML namespace) gets ``<meta … />``.

Identification by bytes: STRONG when the text (after a BOM, whitespace, comments and an XML
declaration) starts with ``<!DOCTYPE html`` or ``<html``, WEAK with ``<head`` or ``<body``
(as :func:`aiglabel.verify.text.sniff_text`); other fragments are not claimed.

Encoding: UTF-8, with or without BOM, and UTF-16 with a BOM are read and written. Another
charset declared by ``<meta charset>``, ``http-equiv="Content-Type"`` or the XML declaration is
handled when it is ASCII-compatible (GBK, GB18030, Big5, Shift_JIS, ISO-8859-x, windows-125x:
tags are ASCII there, and aiglabel writes ASCII with non-ASCII characters as ``&#x…;``);
stateful or unknown charsets are read but not written (:class:`CarrierUnsupportedError`).
A document declaring no charset must be UTF-8 to be written (:class:`CorruptFileError`);
reading goes on with a warning, since labels are ASCII.

Essence: every byte outside the AIGC meta elements (with their line when alone on it) and
outside a ``<head>`` element that holds nothing but AIGC metas and whitespace (the one a write
may add).
"""

from __future__ import annotations

import codecs
import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiglabel._io import EditPlan, Source, Span, parse_errors
from aiglabel.codecs._meta import Collector
from aiglabel.codecs.base import CarrierInfo, CodecBase, Confidence, FoundLabel, MetadataItem
from aiglabel.errors import CarrierUnsupportedError, CorruptFileError, LimitExceededError
from aiglabel.gb45438 import AIGC_KEY, AIGCRecord, to_json
from aiglabel.model import Finding, Severity
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Document", "HtmlCodec", "MetaTag", "meta_element", "scan"]

CARRIER = "html:meta:AIGC"
PROPERTY_CARRIER = "html:meta-property:AIGC"
META_CARRIER = "html:meta"
TITLE_CARRIER = "html:title"
XHTML_NS = "http://www.w3.org/1999/xhtml"
SNIFF_WINDOW = 4096
_UTF32 = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_UTF16 = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_WS = "\t\n\f\r "  # HTML's ASCII whitespace
# After whitespace, comments and an XML declaration: the first tag. Explicit whitespace (not
# \s, which also matches U+00A0 and U+0085) keeps the SCREENS entry a superset of sniff.
_START = re.compile(r"(?:[\t\n\f\r ]|<!--.*?-->|<\?xml[^>]*>)*<(!doctype[\t\n\f\r ]+html|html"
                    r"|head|body)(?=[\t\n\f\r />]|$)", re.I | re.S)
_TAG = re.compile(r"<(?:(!--)|(/?)([A-Za-z][^\t\n\f\r />]*)|[!?])")
_SKIP = re.compile(r"[\t\n\f\r /]*")
_ATTR_NAME = re.compile(r"[^\t\n\f\r />][^\t\n\f\r /=>]*")
_EQ = re.compile(r"[\t\n\f\r ]*=[\t\n\f\r ]*")
_UNQUOTED = re.compile(r"[^\t\n\f\r >]*")
_LINE_END = re.compile(r"[ \t]*(?:\r?\n|\Z)")
_NEWLINE = re.compile(r"\r?\n")
_NEXT_INDENT = re.compile(r"(?:[ \t]*\r?\n)*([ \t]*)")
_CHARSET = re.compile(r"charset[\t\n\f\r ]*=[\t\n\f\r ]*[\"']?([^\t\n\f\r \"';>]+)", re.I)
_XML_ENCODING = re.compile(r"[\t\n\f\r ]*<\?xml[^>]*encoding[\t\n\f\r ]*=[\t\n\f\r ]*"
                           r"[\"']([^\"']+)", re.I)
# Raw-text and RCDATA elements of the head (§13.2.5.2-5), and template (inert): skipped to
# their end tag.
_RAW = frozenset({"script", "style", "title", "template", "noframes"})
# Start tags an HTML parser keeps in the head (§13.2.6.4.4); any other one starts the body.
_HEAD_TAGS = frozenset({"html", "head", "base", "basefont", "bgsound", "link", "meta", "title",
                        "noscript", "noframes", "style", "script", "template"})
_STATEFUL = ("iso2022", "utf-7", "hz")  # Python codec names of stateful encodings
_end_tags: dict[str, re.Pattern[str]] = {}


@dataclass(frozen=True, slots=True)
class MetaTag:
    """An AIGC ``<meta>`` element: ``[start, end)`` in the scanned text, its carrier, the
    name or property as written and the raw ``content`` value (``None`` when absent)."""

    start: int
    end: int
    carrier: str
    name: str
    content: str | None


@dataclass(slots=True)
class Document:
    """What a scan found in the head of an HTML document.

    Offsets are character indexes into :attr:`text`; :meth:`byte` maps them to the file.
    """

    text: str
    bom: int
    codec: str | None  # "utf-16-le"/"utf-16-be"; None: bytes read one to one as Latin-1
    complete: bool = False
    charset: str | None = None  # declared (or BOM) charset, Python codec name
    problem: str | None = None  # why this charset cannot be written
    xhtml: bool = False
    html_tag: tuple[int, int] | None = None
    head_tag: tuple[int, int] | None = None
    head_close: tuple[int, int] | None = None
    charset_tag: tuple[int, int] | None = None  # the <meta> declaring the charset
    labels: list[MetaTag] = field(default_factory=list)
    others: list[tuple[str, str, int]] = field(default_factory=list)
    title: tuple[str, int] | None = None
    stop: int = 0  # where the scan ended

    def byte(self, index: int) -> int:
        """The file offset of character ``index``."""
        if self.codec is None:
            return self.bom + index
        return self.bom + len(self.text[:index].encode(self.codec, "surrogatepass"))

    def encode(self, text: str) -> bytes:
        """New text as the file's bytes (ASCII-compatible charsets get ASCII or UTF-8)."""
        if self.codec is not None:
            return text.encode(self.codec, "surrogatepass")
        return text.encode("utf-8")

    def value(self, raw: str) -> str:
        """An attribute value as text: charset decoded, character references resolved."""
        if self.codec is None:
            raw = raw.encode("latin-1").decode(self.charset or "utf-8", errors="replace")
        return html.unescape(raw)

    def line_span(self, start: int, end: int) -> tuple[int, int]:
        """``[start, end)`` widened to its whole line(s) when nothing else is on them."""
        line = self.text.rfind("\n", 0, start) + 1
        after = _LINE_END.match(self.text, end)
        if after is not None and not self.text[line:start].strip(" \t"):
            return line, after.end()
        return start, end

    def hidden(self) -> list[tuple[int, int]]:
        """The spans that are not essence: AIGC metas, and a head holding only them."""
        spans = [self.line_span(m.start, m.end) for m in self.labels]
        if self.head_tag is not None and self.head_close is not None:
            inner, pos = [], self.head_tag[1]
            for m in self.labels:
                if self.head_tag[1] <= m.start < self.head_close[0]:
                    inner.append(self.text[pos : m.start])
                    pos = m.end
            inner.append(self.text[pos : self.head_close[0]])
            if not "".join(inner).strip(_WS):
                spans.append(self.line_span(self.head_tag[0], self.head_close[1]))
        merged: list[tuple[int, int]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged


def _attributes(text: str, i: int, room: int) -> tuple[dict[str, str | None], int] | None:
    """Attributes of a start tag from ``i`` (after its name) and the index after ``>``, or
    ``None`` when the tag does not end. First occurrence wins (§13.2.5.33).

    Raises:
        LimitExceededError: more than ``room`` attributes.
    """
    attrs: dict[str, str | None] = {}
    n, seen = len(text), 0
    while True:
        seen += 1
        if seen > room + 1:
            msg = "more tags and attributes than Limits.max_items before the end of the head"
            raise LimitExceededError(msg)
        i = _SKIP.match(text, i).end()  # type: ignore[union-attr]
        if i >= n:
            return None
        if text[i] == ">":
            return attrs, i + 1
        name = _ATTR_NAME.match(text, i)
        assert name is not None  # text[i] is not whitespace, "/" or ">"
        i = name.end()
        value: str | None = None
        eq = _EQ.match(text, i)
        if eq is not None:
            i = eq.end()
            if i < n and text[i] in "\"'":
                close = text.find(text[i], i + 1)
                if close < 0:
                    return None
                value, i = text[i + 1 : close], close + 1
            else:
                unquoted = _UNQUOTED.match(text, i)
                assert unquoted is not None
                value, i = unquoted.group(), unquoted.end()
        attrs.setdefault(name.group().lower(), value)


def _end_tag(name: str) -> re.Pattern[str]:
    pattern = _end_tags.get(name)
    if pattern is None:
        pattern = _end_tags[name] = re.compile(rf"</{name}(?=[\t\n\f\r />]|\Z)", re.I)
    return pattern


def _walk(doc: Document, whole: bool, max_items: int) -> None:
    """Fill ``doc`` from its text, up to the end of the head or of the text."""
    text, pos, count = doc.text, 0, 0
    doc.complete, doc.stop = whole, len(text)  # the text's end ends the head only at EOF
    while (tag := _TAG.search(text, pos)) is not None:
        count += 1
        if count > max_items:
            msg = "more tags and attributes than Limits.max_items before the end of the head"
            raise LimitExceededError(msg)
        if tag.group(1):  # <!-- comment -->; "<!-->" and "<!--->" are empty ones
            after = tag.end()
            short = 1 if text.startswith(">", after) else 2 if text.startswith("->", after) else 0
            end = after + short - 3 if short else text.find("-->", after)
            if end < 0:
                return
            pos = end + 3
            continue
        name = (tag.group(3) or "").lower()
        if not name or tag.group(2):  # <!doctype>, <?pi>, </end tag>
            end = text.find(">", tag.end())
            if end < 0:
                return
            if tag.group(2) and name == "head":
                doc.head_close = (tag.start(), end + 1)
                doc.complete, doc.stop = True, end + 1
                return
            pos = end + 1
            continue
        if name not in _HEAD_TAGS:  # <body>, or content: the head is over (§13.2.6.4.4)
            doc.complete, doc.stop = True, tag.start()
            return
        parsed = _attributes(text, tag.end(), max_items - count)
        if parsed is None:
            return
        attrs, end = parsed
        count += len(attrs)
        if name == "html" and doc.html_tag is None:
            doc.html_tag = (tag.start(), end)
            doc.xhtml = doc.xhtml or (attrs.get("xmlns") or "").strip(_WS) == XHTML_NS
        elif name == "head" and doc.head_tag is None:
            doc.head_tag = (tag.start(), end)
        elif name == "meta":
            _meta(doc, attrs, tag.start(), end)
        elif name in _RAW:
            close = _end_tag(name).search(text, end)
            if name == "title" and doc.title is None:
                doc.title = (text[end : close.start() if close else len(text)], tag.start())
            if close is None:
                return
            end = close.start()
        pos = end


def _meta(doc: Document, attrs: dict[str, str | None], start: int, end: int) -> None:
    name, prop, content = attrs.get("name"), attrs.get("property"), attrs.get("content")
    # Annex E a): the name contains AIGC; meta names compare ASCII case-insensitively.
    if name is not None and name.strip(_WS).lower() == "aigc":
        doc.labels.append(MetaTag(start, end, CARRIER, name, content))
        return
    if prop is not None and prop.strip(_WS).lower().rsplit(":", 1)[-1] == "aigc":
        doc.labels.append(MetaTag(start, end, PROPERTY_CARRIER, prop, content))
        return
    http_equiv = attrs.get("http-equiv")
    if doc.charset is None:  # §13.2.3.2 prescan: the first declaration counts
        if attrs.get("charset"):
            doc.charset = attrs["charset"]
        elif (http_equiv or "").strip(_WS).lower() == "content-type":
            declared = _CHARSET.search(content or "")
            doc.charset = declared.group(1) if declared else None
        if doc.charset is not None:
            doc.charset_tag = (start, end)
    key = name or prop or http_equiv or attrs.get("itemprop")
    if key and content:
        doc.others.append((key, content, start))


def _decode_start(head: bytes) -> tuple[str, int, str | None] | None:
    """The text to look at, the BOM length and the UTF-16 codec, or ``None`` for binary."""
    if head.startswith(_UTF32):
        return None
    for mark, name in _UTF16:
        if head.startswith(mark):
            body = head[2:]
            return body[: len(body) & ~1].decode(name, "surrogatepass"), 2, name
    if b"\x00" in head:
        return None
    bom = 3 if head.startswith(codecs.BOM_UTF8) else 0
    return head[bom:].decode("latin-1"), bom, None


def _settle_charset(doc: Document, data: bytes, src: Source, *, strict: bool) -> None:
    """Resolve the declared charset (§13.2.3.2) and check UTF-8 where none is declared: an
    error when ``strict`` (writing), else a :attr:`Document.problem` (reading stays possible:
    labels are ASCII)."""
    if doc.codec is not None:
        doc.charset = "utf-16"
        return
    if doc.charset is None and doc.bom == 0:
        declared = _XML_ENCODING.match(doc.text)
        doc.charset = declared.group(1) if declared else None
    if doc.bom:
        doc.charset = "utf-8"
    if doc.charset is not None:
        label = doc.charset
        try:
            doc.charset = codecs.lookup(label).name
        except LookupError:
            doc.charset = None
            doc.problem = f"unknown charset {label!r}"
            return
        if doc.charset.startswith(("utf-16", "utf-32")):
            doc.charset = "utf-8"  # §13.2.3.2: a meta declaring UTF-16 means UTF-8
        elif doc.charset.startswith(_STATEFUL) or "<meta>".encode(doc.charset) != b"<meta>":
            doc.problem = f"charset {label!r} is not ASCII-compatible"
            return
    if doc.charset in (None, "utf-8"):
        try:
            codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
        except UnicodeDecodeError as exc:
            msg = (f"not UTF-8 (invalid byte at offset {doc.bom + exc.start}) and no other "
                   "charset is declared; declare it with <meta charset>")
            if strict:
                raise CorruptFileError(msg, path=src.name) from None
            doc.problem = msg


def scan(src: Source, *, for_write: bool = False) -> Document:
    """Scan the head of an HTML document (see the module docstring).

    Raises:
        CorruptFileError: not HTML text; ``for_write``: not UTF-8 without a declared charset.
        LimitExceededError: more tags than ``Limits.max_items`` before the head ends.
    """
    limit = src.limits.max_metadata
    data = src.head[: limit + 1]
    while True:
        start = _decode_start(data)
        if start is None:
            msg = "not HTML text (NUL bytes or a UTF-32 byte order mark)"
            raise CorruptFileError(msg, path=src.name)
        doc = Document(*start)
        whole = len(data) == src.size
        _walk(doc, whole, src.limits.max_items)
        if doc.complete or len(data) > limit:
            break
        data = src.read_upto(0, min(src.size, limit + 1))
    doc.xhtml = doc.xhtml or doc.text.lstrip(_WS).startswith("<?xml")
    _settle_charset(doc, data[doc.bom : doc.byte(doc.stop)], src, strict=for_write)
    return doc


def meta_element(label_json: str, doc: Document) -> str:
    """The ``<meta name="AIGC" …>`` element for ``doc``: content attribute-escaped (rules
    §C.5), non-ASCII as character references unless the file is UTF-8 or UTF-16."""
    value = (label_json.replace("&", "&amp;").replace('"', "&quot;")
             .replace("<", "&lt;").replace(">", "&gt;"))
    if doc.charset not in ("utf-8", "utf-16", None):
        value = "".join(c if ord(c) < 0x80 else f"&#x{ord(c):X};" for c in value)
    close = " />" if doc.xhtml else ">"
    return f'<meta name="{AIGC_KEY}" content="{value}"{close}'


def _line_indent(text: str, start: int) -> str:
    line = text.rfind("\n", 0, start) + 1
    before = text[line:start]
    return before if not before.strip(" \t") else ""


def _insertion(doc: Document, element: str) -> tuple[int, str]:
    """Where and what to insert when the document has no AIGC meta yet: after the charset
    declaration (it must stay in the first 1024 bytes, §13.2.3.2), else after ``<head …>``,
    else in a new head after ``<html …>``."""
    text = doc.text
    tag = doc.charset_tag or doc.head_tag or doc.html_tag
    if tag is None:
        msg = ("no <head> or <html> start tag: an HTML fragment has no place for metadata "
               "(wrap it in a document with a <head>)")
        raise CarrierUnsupportedError(msg)
    wrap = tag is doc.html_tag
    at = tag[1]
    newline = _NEWLINE.match(text, at)
    if newline is None:  # written inline: stay inline
        return at, f"<head>{element}</head>" if wrap else element
    nl = newline.group()
    following = _NEXT_INDENT.match(text, newline.end())
    assert following is not None
    indent, own = following.group(1), _line_indent(text, tag[0])
    unit = "\t" if "\t" in indent + own else "  "
    if tag is doc.charset_tag:
        indent = own
    elif text[following.end() : following.end() + 6].lower() == "</head":
        indent = own + unit
    if wrap:
        return newline.end(), f"{indent}<head>{nl}{indent}{unit}{element}{nl}{indent}</head>{nl}"
    return newline.end(), f"{indent}{element}{nl}"


def _label(doc: Document, meta: MetaTag) -> FoundLabel:
    offset = doc.byte(meta.start)
    if meta.content is None:
        return FoundLabel(meta.carrier, None, None, "", (Finding(
            "G5.carrier", Severity.ERROR, "AIGC meta element has no content attribute",
            meta.carrier),), offset)
    found = FoundLabel.from_text(meta.carrier, doc.value(meta.content), offset=offset)
    if meta.carrier == CARRIER and meta.name != AIGC_KEY:
        note = Finding("G6.field-case", Severity.INFO, f"meta name written {meta.name!r}; "
                       "meta names are case-insensitive, rules §C.5 write 'AIGC'", meta.carrier)
        found = FoundLabel(found.carrier, found.form, found.record, found.raw,
                           (*found.findings, note), found.offset)
    return found


@register
class HtmlCodec(CodecBase):
    """HTML: ``<meta name="AIGC" content="…">`` in the head."""

    name = "html"
    description = "HTML document"
    mimes = ("text/html", "application/xhtml+xml")
    extensions = (".html", ".htm", ".xhtml")
    carriers = (
        CarrierInfo(CARRIER, "write", '<meta name="AIGC" content> in <head> (rules §C.5, '
                    "project choice); name in any case"),
        CarrierInfo(PROPERTY_CARRIER, "read", '<meta property="TC260:AIGC"> (EPUB 3 style)'),
    )
    text_kind = "html"

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        """STRONG: after a BOM, whitespace, comments and an XML declaration the text starts
        with ``<!DOCTYPE html`` or ``<html``; WEAK: with ``<head`` or ``<body``."""
        start = _decode_start(head[: 2 * SNIFF_WINDOW + 4])
        if start is None or b"\x00" in head and start[2] is None:
            return Confidence.NO
        found = _START.match(start[0][:SNIFF_WINDOW])
        if found is None:
            return Confidence.NO
        first = found.group(1).lower()
        return Confidence.STRONG if first.startswith(("!", "html")) else Confidence.WEAK

    def read_labels(self, src: Source) -> list[FoundLabel]:
        with parse_errors(src.name, "HTML"):
            doc = scan(src)
            return [_label(doc, meta) for meta in doc.labels]

    def metadata(self, src: Source) -> list[MetadataItem]:
        """The ``<title>`` (carrier ``html:title``) and the other named ``<meta>`` values
        (``html:meta``, key = name, property or http-equiv)."""
        out = Collector(src.limits)
        try:
            with parse_errors(src.name, "HTML"):
                doc = scan(src)
        except (CorruptFileError, LimitExceededError):
            return []
        if doc.title is not None:
            out.add(TITLE_CARRIER, "title", " ".join(doc.value(doc.title[0]).split()),
                    doc.byte(doc.title[1]))
        for key, content, start in doc.others:
            out.add(META_CARRIER, key, doc.value(content), doc.byte(start))
        return out.items

    def container_findings(self, src: Source) -> list[Finding]:
        try:
            with parse_errors(src.name, "HTML"):
                doc = scan(src)
        except (CorruptFileError, LimitExceededError):
            return []
        out: list[Finding] = []
        if doc.problem is not None:
            out.append(Finding("G5.carrier", Severity.WARNING, f"{doc.problem}: labels are "
                               "read, not written"))
        if not doc.complete:
            out.append(Finding("G2.read-limit", Severity.INFO, "the HTML head does not end "
                               f"within {src.limits.max_metadata} bytes; labels were looked "
                               "for up to there"))
        return out

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        label_json = to_json(record)
        with parse_errors(src.name, "HTML"):
            doc = scan(src, for_write=True)
            if doc.problem is not None:
                msg = f"{doc.problem}: convert the document to UTF-8 to label it"
                raise CarrierUnsupportedError(msg)
            if not doc.complete:
                msg = f"the HTML head does not end within {src.limits.max_metadata} bytes"
                raise LimitExceededError(msg)
            element = meta_element(label_json, doc)
            edits: list[tuple[int, int, str]] = []
            plan = EditPlan(carrier=CARRIER)
            # GB 6.1 c) / rules §B.10: rewrite the first label in place, remove the others.
            keep = next((m for m in doc.labels if m.carrier == CARRIER),
                        doc.labels[0] if doc.labels else None)
            for meta in doc.labels:
                if meta is keep:
                    edits.append((meta.start, meta.end, element))
                else:
                    edits.append((*doc.line_span(meta.start, meta.end), ""))
                if meta is not keep or meta.carrier != CARRIER:
                    plan.removed.append(meta.carrier)
            if keep is None:
                at, new = _insertion(doc, element)
                edits.append((at, at, new))
            pos = 0
            for start, end, new in sorted(edits):
                plan.copy(pos, doc.byte(start))
                plan.add(doc.encode(new))
                pos = doc.byte(end)
            plan.copy(pos, src.size)
            return plan

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        with parse_errors(src.name, "HTML"):
            doc = scan(src)
            parts: list[bytes | Span] = []
            pos = 0
            for start, end in doc.hidden():
                first, last = doc.byte(start), doc.byte(end)
                if first > pos:
                    parts.append(Span(pos, first - pos))
                pos = last
            if src.size > pos:
                parts.append(Span(pos, src.size - pos))
            return parts
