"""EPUB codec (EPUB 3 and EPUB 2 e-books).

Spec: EPUB 3.3 (W3C Recommendation 2023) §3.1 OCF ZIP container (``mimetype`` first, stored,
``application/epub+zip``; ``META-INF/container.xml`` names the package document), §5.5
package ``metadata`` and ``meta``, §5.8 prefixes (``prefix`` attribute on ``package``); OPF 2.0.1
§2.2 (EPUB 2 ``<meta name=... content=.../>``). ZIP layout and raw entry copies: :mod:`._zip`.
GB carrier [project choice, rules §C.5]: EPUB 3 -- in the package document, ``prefix="TC260:
http://www.tc260.org.cn/ns/AIGC/1.0/"`` on ``<package>`` and ``<meta property="TC260:AIGC">``
with the bare JSON in ``<metadata>``; EPUB 2 -- ``<meta name="AIGC" content="..."/>``. One
carrier id, ``epub:opf:AIGC``, for both. Both forms are read in either
version, the meta name in any case and the property with any prefix bound to the TC260
namespace.

Writing edits the package document's text: the first AIGC meta is replaced where it is, further
ones are removed (GB 6.1 c), else a meta is inserted before ``</metadata>``; an EPUB 3
``prefix`` attribute gains the TC260 binding when it lacks it. Every other entry -- ``mimetype``
first and stored included -- is copied with its compressed bytes.

Essence: every entry's name and compressed bytes except the package document, in file order.
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
from aiglabel.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterable

# One carrier id for both versions (as Ogg has one for Vorbis and Opus): the place is the same.
CARRIER = "epub:opf:AIGC"
TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
MIMETYPE = b"application/epub+zip"
CONTAINER = "META-INF/container.xml"
_META = re.compile(r"<(?P<prefix>[\w.-]+:)?meta\b(?P<attrs>[^>]*?)(?:/>|>(?P<body>[^<]*)"
                   r"</(?P=prefix)?meta\s*>)", re.S)
_PACKAGE = re.compile(r"<(?:[\w.-]+:)?package\b(?P<attrs>[^>]*)>", re.S)
_DC = re.compile(r"<dc:(title|creator|publisher|description|date|language)\b[^>]*>([^<]*)<")


def _xml_entry(src: Source, archive: _zip.Archive, path: str, missing: str) -> tuple[
        _zip.Entry, bytes]:
    """An XML entry of the EPUB and its bytes, checked for hostile XML."""
    entry = archive.get(path)
    if entry is None:
        raise CorruptFileError(missing, path=src.name)
    data = _zip.read_entry(src, entry)
    check_xml(data, path, src.name)
    return entry, data


def _package_path(src: Source, archive: _zip.Archive) -> str:
    _, xml = _xml_entry(src, archive, CONTAINER, f"EPUB without {CONTAINER}")
    match = re.search(rb"<(?:[\w.-]+:)?rootfile\b[^>]*\bfull-path\s*=\s*[\"']([^\"']+)", xml)
    if match is None:
        msg = "EPUB container.xml names no package document"
        raise CorruptFileError(msg, path=src.name)
    return html.unescape(match.group(1).decode("utf-8"))


def _package(src: Source) -> tuple[_zip.Archive, _zip.Entry, str]:
    archive = _zip.read_archive(src)
    path = _package_path(src, archive)
    entry, data = _xml_entry(src, archive, path, f"EPUB package document {path!r} is missing")
    try:
        return archive, entry, data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = f"{path} is not UTF-8"
        raise CorruptFileError(msg, path=src.name) from exc


def _declared_prefixes(opf: str) -> dict[str, str]:
    """The package's ``prefix`` attribute as prefix -> URI (EPUB 3.3 §5.8)."""
    package = _PACKAGE.search(opf)
    declared = tag_attrs(package.group("attrs")).get("prefix", "") if package else ""
    return dict(re.findall(r"([\w.-]+):\s+(\S+)", declared))


def _tc260_prefixes(opf: str) -> set[str]:
    """Prefixes bound to the TC260 namespace, plus the ``TC260`` spelling itself."""
    return {"TC260"} | {name for name, uri in _declared_prefixes(opf).items()
                        if uri.rstrip("/") == TC260_NS.rstrip("/")}


def _label_metas(opf: str) -> list[tuple[re.Match[str], str, str]]:
    """(match, carrier, value) of every AIGC meta in the package document."""
    prefixes = _tc260_prefixes(opf)
    out = []
    for match in _META.finditer(opf):
        attrs = tag_attrs(match.group("attrs"))
        prop = attrs.get("property", "")
        if ":" in prop and prop.split(":", 1)[0] in prefixes and prop.split(":", 1)[1] == "AIGC":
            out.append((match, CARRIER, html.unescape(match.group("body") or "")))
        elif attrs.get("name", "").strip().upper() == "AIGC":
            carrier = CARRIER if attrs["name"] == "AIGC" else f"epub:opf:{attrs['name'].strip()}"
            out.append((match, carrier, attrs.get("content", "")))
    return out


def with_label(opf: str, label_json: str) -> tuple[str, int, str]:
    """The package document with one AIGC meta holding ``label_json``, how many further ones
    were dropped, and the carrier written (see the module docstring).

    Raises:
        CorruptFileError: no ``<package>`` or ``</metadata>``.
    """
    package = _PACKAGE.search(opf)
    if package is None:
        msg = "EPUB package document without <package>"
        raise CorruptFileError(msg)
    epub3 = tag_attrs(package.group("attrs")).get("version", "2").startswith("3")
    metas = _label_metas(opf)
    if epub3:
        new = f'<meta property="TC260:AIGC">{xml_escape(label_json)}</meta>'
    else:
        new = f'<meta name="AIGC" content="{html.escape(label_json, quote=True)}"/>'
    if metas:
        out, pos = [], 0
        for i, (match, _, _) in enumerate(metas):
            out += [opf[pos : match.start()], new if i == 0 else ""]
            pos = match.end()
        opf, dropped = "".join([*out, opf[pos:]]), len(metas) - 1
    else:
        close = re.search(r"</(?:[\w.-]+:)?metadata\s*>", opf)
        if close is None:
            msg = "EPUB package document without </metadata>"
            raise CorruptFileError(msg)
        opf, dropped = opf[: close.start()] + new + opf[close.start() :], 0
    bound = _declared_prefixes(opf).get("TC260", "").rstrip("/") == TC260_NS.rstrip("/")
    if epub3 and not bound:
        opf = _declare_prefix(opf)
    return opf, dropped, CARRIER


def _declare_prefix(opf: str) -> str:
    package = _PACKAGE.search(opf)
    if package is None:  # checked by the caller
        return opf
    attrs = package.group("attrs")
    binding = f"TC260: {TC260_NS}"
    existing = re.search(r"""\bprefix\s*=\s*(["'])(.*?)\1""", attrs, re.S)
    if existing:
        start = package.start("attrs") + existing.start(2)
        end = package.start("attrs") + existing.end(2)
        value = existing.group(2).rstrip()
        return opf[:start] + (value + " " if value else "") + binding + opf[end:]
    at = package.end("attrs")
    return opf[:at] + f' prefix="{binding}"' + opf[at:]


@register
class EpubCodec(CodecBase):
    """EPUB 3 / EPUB 2: an AIGC meta in the package document's metadata."""

    name = "epub"
    description = "EPUB e-book (OCF ZIP container)"
    mimes = ("application/epub+zip",)
    extensions = (".epub",)
    carriers = (CarrierInfo(CARRIER, "write", "EPUB 3 <meta property=\"TC260:AIGC\">, "
                            "EPUB 2 <meta name=\"AIGC\" content=...> (rules §C.5)"),)

    @staticmethod
    def sniff(head: bytes) -> Confidence:
        # OCF §3.3: the first entry is "mimetype", stored, its content right after the header.
        if head.startswith(_zip.LOCAL_SIG) and head[30:38] == b"mimetype" and \
                head[38:58] == MIMETYPE:
            return Confidence.STRONG
        return Confidence.NO

    def read_labels(self, src: Source) -> list[FoundLabel]:
        _, entry, opf = _package(src)
        return [FoundLabel.from_text(carrier, value, offset=entry.offset)
                for _, carrier, value in _label_metas(opf)]

    def plan_write(self, src: Source, record: AIGCRecord) -> EditPlan:
        archive, entry, opf = _package(src)
        carriers = [carrier for _, carrier, _ in _label_metas(opf)]
        try:
            new, _, primary = with_label(opf, to_json(record))
        except CorruptFileError as exc:
            raise CorruptFileError(exc.message, path=src.name) from exc
        data = new.encode("utf-8")
        check_xml(data, entry.name, src.name)
        plan = EditPlan(carrier=primary, removed=carriers[1:])
        replace = {entry.name: data} if new != opf else {}
        plan.extend(_zip.rebuild(src, archive, replace, {}))
        return plan

    def essence_parts(self, src: Source) -> Iterable[bytes | Span]:
        archive = _zip.read_archive(src)
        package = _package_path(src, archive)
        for entry in sorted(archive.entries, key=lambda e: e.offset):
            if entry.name != package:
                yield entry.name.encode("utf-8") + b"\x00"
                yield Span(_zip.data_offset(src, entry), entry.compressed)

    def metadata(self, src: Source) -> list[MetadataItem]:
        """Dublin Core title, creator, publisher, description, date and language."""
        out = Collector(src.limits)
        try:
            _, entry, opf = _package(src)
            for key, value in _DC.findall(opf):
                if value.strip():
                    out.add("epub:dc", key, html.unescape(value).strip(), entry.offset)
        except (CorruptFileError, LimitExceededError):
            pass
        return out.items

    def visible_text(self, src: Source, limit: int) -> str | None:
        """The text of the first and last documents of the reading order (spine)."""
        from aiglabel.verify.text import visible_text

        archive, entry, opf = _package(src)
        base = entry.name.rsplit("/", 1)[0] + "/" if "/" in entry.name else ""
        manifest = {a.get("id", ""): a.get("href", "") for a in
                    (tag_attrs(m.group(1)) for m in re.finditer(r"<(?:[\w.-]+:)?item\b([^>]*)>",
                                                            opf))}
        spine = [manifest.get(tag_attrs(m.group(1)).get("idref", ""), "") for m in
                 re.finditer(r"<(?:[\w.-]+:)?itemref\b([^>]*)>", opf)]
        texts = []
        for href in dict.fromkeys(spine[:1] + spine[-1:]):
            doc = archive.get(base + html.unescape(href)) if href else None
            if doc is not None:
                raw = _zip.read_entry(src, doc, min(src.limits.max_metadata, limit * 8))
                texts.append(visible_text(raw.decode("utf-8", errors="replace"), "html"))
        return "\n".join(texts)[:limit] if texts else None
