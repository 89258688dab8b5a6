"""XMP packets: find the TC260 ``AIGC`` property and merge a new value into a packet.

Spec: XMP Specification Part 1 (ISO 16684-1) and Part 3 (storage in files); image guide
TC260-PG-20259A clause 6 (rules §C.6): namespace ``http://www.tc260.org.cn/ns/AIGC/1.0/``,
prefix ``TC260``, simple property ``AIGC`` holding the bare Annex E JSON.

Edits are text surgery on the packet, guided by a namespace-aware scan: only the ``AIGC``
property changes, so every other namespace, property, comment and the padding survive
byte for byte (rules §C.6 "merge, don't overwrite").
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from defusedxml import ElementTree as SafeET

from aiglabel.codecs.base import FoundLabel
from aiglabel.errors import CorruptFileError
from aiglabel.model import Finding, Severity

TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
# rules §H 3: the URI without the trailing slash is read too.
_TC260_URIS = frozenset({TC260_NS, TC260_NS.rstrip("/")})
# rules §H 3: one open toolkit binds the TC260 prefix to this URI; read with a warning.
_WRONG_URI = "http://ns.adobe.com/xap/1.0/tc/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XPACKET_ID = "W5M0MpCehiHzreSzNTczkc9d"

_TOKEN_RE = re.compile(
    r"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<![^>]*>"
    r"|<(/?)([^\s/>!?]+)((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>",
    re.DOTALL,
)
_ATTR_RE = re.compile(r"\s+([^\s=/>]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class XmpHit:
    """One ``AIGC`` property in a packet (character offsets into the decoded text)."""

    kind: str  # "element" | "attribute"
    start: int
    end: int
    value: str
    uri: str
    # element form only: where the text content lies ([inner_start, inner_end)).
    inner_start: int = -1
    inner_end: int = -1
    self_closing: bool = False

    @property
    def canonical(self) -> bool:
        """Element form under the exact guide URI: the form aiglabel writes."""
        return self.kind == "element" and self.uri == TC260_NS


@dataclass(frozen=True, slots=True)
class _Scan:
    hits: list[XmpHit]
    rdf_close: tuple[int, str] | None  # offset of </rdf:RDF> and the rdf prefix used


def _resolve(qname: str, nsmap: dict[str, str]) -> tuple[str, str, str]:
    prefix, _, local = qname.rpartition(":")
    return prefix, nsmap.get(prefix, ""), local


def _is_aigc(prefix: str, uri: str, local: str) -> bool:
    return local == "AIGC" and (uri in _TC260_URIS or (prefix == "TC260" and uri == _WRONG_URI))


def _scan(text: str) -> _Scan:
    hits: list[XmpHit] = []
    # stack entries: (qname, nsmap, start offset, inner start, is AIGC, uri)
    stack: list[tuple[str, dict[str, str], int, int, bool, str]] = []
    nsmap: dict[str, str] = {"xml": "http://www.w3.org/XML/1998/namespace"}
    rdf_close: tuple[int, str] | None = None
    for m in _TOKEN_RE.finditer(text):
        name = m.group(2)
        if name is None:
            continue  # comment, PI, CDATA, declaration
        if m.group(1):  # end tag
            while stack:
                qname, _, start, inner, aigc, uri = stack.pop()
                nsmap = stack[-1][1] if stack else {"xml": nsmap.get("xml", "")}
                if aigc:
                    inner_text = _text_content(text[inner : m.start()])
                    hits.append(
                        XmpHit("element", start, m.end(), inner_text, uri, inner, m.start())
                    )
                if qname == name:
                    break
            prefix, uri, local = _resolve(name, stack[-1][1] if stack else nsmap)
            if local == "RDF" and (uri == RDF_NS or prefix == "rdf"):
                rdf_close = (m.start(), prefix)
            continue
        local_map = dict(stack[-1][1]) if stack else dict(nsmap)
        attrs = list(_ATTR_RE.finditer(m.group(3) or ""))
        for a in attrs:
            key = a.group(1)
            value = a.group(2) if a.group(2) is not None else a.group(3)
            if key == "xmlns":
                local_map[""] = html.unescape(value)
            elif key.startswith("xmlns:"):
                local_map[key[6:]] = html.unescape(value)
        attr_base = m.start(3)
        for a in attrs:
            key = a.group(1)
            if key.startswith("xmlns"):
                continue
            prefix, uri, local = _resolve(key, local_map)
            if prefix and _is_aigc(prefix, uri, local):
                value = a.group(2) if a.group(2) is not None else a.group(3)
                hits.append(
                    XmpHit(
                        "attribute",
                        attr_base + a.start(),
                        attr_base + a.end(),
                        html.unescape(value),
                        uri,
                    )
                )
        prefix, uri, local = _resolve(name, local_map)
        aigc = _is_aigc(prefix, uri, local)
        if m.group(4):  # self-closing
            if aigc:
                hits.append(
                    XmpHit("element", m.start(), m.end(), "", uri, m.end(), m.end(), True)
                )
            continue
        if len(stack) >= _MAX_DEPTH:
            msg = f"XMP nesting deeper than {_MAX_DEPTH}"
            raise CorruptFileError(msg)
        stack.append((name, local_map, m.start(), m.end(), aigc, uri))
    hits.sort(key=lambda h: h.start)
    return _Scan(hits, rdf_close)


def _text_content(fragment: str) -> str:
    parts: list[str] = []
    pos = 0
    for m in _TOKEN_RE.finditer(fragment):
        parts.append(html.unescape(fragment[pos : m.start()]))
        token = m.group(0)
        if token.startswith("<![CDATA["):
            parts.append(token[9:-3])
        pos = m.end()
    parts.append(html.unescape(fragment[pos:]))
    return "".join(parts).strip()


def decode_packet(packet: bytes) -> str:
    """Decode a packet (UTF-8, or UTF-16 with a BOM), dropping trailing NULs."""
    data = packet.rstrip(b"\x00")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace")


def well_formed(text: str) -> bool:
    """True when the packet parses as XML (entity expansion and DTDs are refused)."""
    start = text.find("<")
    end = text.rfind(">")
    if start < 0 or end < start:
        return False
    try:
        SafeET.fromstring(text[start : end + 1])
    except Exception:  # defusedxml raises ParseError or its own DefusedXmlException types
        return False
    return True


def find_labels(packet: bytes, carrier: str, offset: int | None = None) -> list[FoundLabel]:
    """Return every TC260 ``AIGC`` property in a packet as a :class:`FoundLabel`."""
    text = decode_packet(packet)
    try:
        scan = _scan(text)
    except CorruptFileError as exc:
        return [_damaged(carrier, offset, exc.message)] if "AIGC" in text else []
    if not scan.hits:
        return []
    extra: list[Finding] = []
    if not well_formed(text):
        extra.append(
            Finding("G5.carrier", Severity.ERROR, "XMP packet is not well-formed XML", carrier)
        )
    out: list[FoundLabel] = []
    for hit in scan.hits:
        form = "xmp-attribute" if hit.kind == "attribute" else None
        found = FoundLabel.from_text(carrier, hit.value, offset=offset, form=form)
        notes = list(extra)
        if hit.uri == _WRONG_URI:
            notes.append(Finding("G3.namespace", Severity.WARNING,
                                 f"TC260 prefix bound to {hit.uri}", carrier))
        elif hit.uri != TC260_NS:
            notes.append(Finding("G3.namespace", Severity.WARNING,
                                 f"TC260 namespace URI is {hit.uri!r}", carrier))
        if notes:
            found = FoundLabel(
                found.carrier, found.form, found.record, found.raw,
                (*found.findings, *notes), found.offset,
            )
        out.append(found)
    return out


def _damaged(carrier: str, offset: int | None, why: str) -> FoundLabel:
    finding = Finding("G5.carrier", Severity.ERROR, f"XMP packet unreadable: {why}", carrier)
    return FoundLabel(carrier, None, None, "", (finding,), offset)


def has_aigc(packet: bytes) -> bool:
    """Cheap test: does the packet hold any AIGC property?"""
    return b"AIGC" in packet and bool(_scan(decode_packet(packet)).hits)


def escape_text(value: str) -> str:
    """Escape a value for XML element text; quotes as ``&quot;`` like the guide's example."""
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def new_packet(label_json: str) -> bytes:
    """A fresh XMP packet holding only ``TC260:AIGC`` (element form, rules §C.6)."""
    return (
        f'<?xpacket begin="\ufeff" id="{XPACKET_ID}"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        f' <rdf:RDF xmlns:rdf="{RDF_NS}">\n'
        f'  <rdf:Description rdf:about="" xmlns:TC260="{TC260_NS}">\n'
        f"   <TC260:AIGC>{escape_text(label_json)}</TC260:AIGC>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()


def _cut(text: str, start: int, end: int) -> str:
    # Remove [start, end) and the indentation before it when it stands on its own line.
    line_start = text.rfind("\n", 0, start)
    if line_start >= 0 and text[line_start + 1 : start].strip() == "":
        nl_end = end + 1 if text[end : end + 1] == "\n" else end
        if text[end:nl_end] == "\n" or end == len(text):
            return text[: line_start + 1] + text[nl_end:]
    return text[:start] + text[end:]


def merge_label(packet: bytes | None, label_json: str) -> bytes:
    """Return ``packet`` with exactly one ``TC260:AIGC`` property holding ``label_json``.

    An element under the guide URI is updated in place; every other AIGC property (attribute
    form, other URIs, duplicates) is removed; when none is left a new ``rdf:Description`` is
    added before ``</rdf:RDF>``. Everything else in the packet is kept byte for byte, so the
    same call twice gives the same bytes.

    Raises:
        CorruptFileError: the existing packet is not well-formed XML or has no ``rdf:RDF``.
    """
    if packet is None or not packet.strip(b"\x00 \t\r\n"):
        return new_packet(label_json)
    text = decode_packet(packet)
    if not well_formed(text):
        msg = "existing XMP packet is not well-formed XML; refusing to edit it"
        raise CorruptFileError(msg)
    scan = _scan(text)
    escaped = escape_text(label_json)
    keep = scan.hits[0] if scan.hits and scan.hits[0].canonical else None
    for hit in reversed(scan.hits):
        if hit is keep:
            continue
        text = _cut(text, hit.start, hit.end)
    if keep is not None:
        if keep.self_closing:
            qname = text[keep.start + 1 : keep.end].split()[0].rstrip("/>")
            replacement = text[keep.start : keep.end].rstrip("/>").rstrip() + ">"
            text = text[: keep.start] + replacement + escaped + f"</{qname}>" + text[keep.end :]
        else:
            text = text[: keep.inner_start] + escaped + text[keep.inner_end :]
        return text.encode()
    rescan = _scan(text)
    if rescan.rdf_close is None:
        msg = "existing XMP packet has no rdf:RDF element"
        raise CorruptFileError(msg)
    pos, prefix = rescan.rdf_close
    rdf = f"{prefix}:" if prefix else ""
    block = (
        f' <{rdf}Description {rdf}about="" xmlns:TC260="{TC260_NS}">'
        f"<TC260:AIGC>{escaped}</TC260:AIGC></{rdf}Description>\n "
    )
    return (text[:pos] + block + text[pos:]).encode()


def strip_labels(packet: bytes) -> bytes:
    """Return ``packet`` without any AIGC property (used only inside a write that puts the
    one label elsewhere, GB 6.1 c); everything else is kept byte for byte."""
    text = decode_packet(packet)
    for hit in reversed(_scan(text).hits):
        text = _cut(text, hit.start, hit.end)
    return text.encode()
