"""Text content for the verifier: recognise plain text, Markdown and HTML, find explicit notices.

The explicit label for text (rules §A.0, §A.1): a notice containing an AI element (``人工智能`` or
``AI``) and a generation element (``生成`` / ``合成``). The checker counts it when both elements
sit within the first or the last 64 characters of the visible text, after trimming whitespace
(``TEXT_CHECK_WINDOW``, rules §A.8); both elements only in the middle are reported as a possible
label, never counted. Matching NFKC-normalises first (full-width ``ＡＩ`` counts) and takes ``AI``
only when no Latin letter flanks it (``MAIN`` does not count; lower-case ``ai`` does not count).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath

from aiglabel.gb45438 import notice_elements

__all__ = [
    "TEXT_CHECK_WINDOW",
    "TEXT_FORMATS",
    "ExplicitNotice",
    "decode_text",
    "find_notices",
    "sniff_text",
    "visible_text",
]

TEXT_CHECK_WINDOW = 64  # characters (rules §A.8, project choice)
TEXT_FORMATS = ("text", "markdown", "html")

_MARKDOWN_EXT = {".md", ".markdown", ".mdown", ".mkd"}
_HTML_EXT = {".html", ".htm", ".xhtml"}
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def _encoding(head: bytes) -> str | None:
    """The text encoding of ``head``, or ``None`` when the bytes are not text."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if b"\x00" in head:
        return None
    sample = head[:65536]
    for name in ("utf-8", "gb18030"):
        try:
            # A multi-byte character may be cut at the end of the sample: decode incrementally.
            text = codecs.getincrementaldecoder(name)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v")
        if text and controls * 100 <= len(text):
            return name
    return None


def sniff_text(head: bytes, hint: str | None = None) -> str | None:
    """``"html"``, ``"markdown"`` or ``"text"`` when the bytes are text, else ``None``.

    The bytes decide that it is text and whether it is HTML; the extension only tells Markdown
    from plain text (both are plain characters) and breaks the tie for HTML fragments.
    """
    if not head or _encoding(head) is None:
        return None
    body = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    suffix = PurePath(hint).suffix.lower() if hint else ""
    if _HTML_START.match(body[:4096]) or suffix in _HTML_EXT:
        return "html"
    if suffix in _MARKDOWN_EXT:
        return "markdown"
    return "text"


def decode_text(data: bytes, head: bytes | None = None) -> str:
    """Decode ``data`` with the encoding sniffed from ``head`` (default: ``data`` itself)."""
    name = _encoding(head if head is not None else data) or "utf-8"
    if name == "utf-16" and head is not None and data[:2] not in (codecs.BOM_UTF16_LE,
                                                                   codecs.BOM_UTF16_BE):
        name = "utf-16-le" if head.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
    return data.decode(name, errors="replace")


class _Visible(HTMLParser):
    _HIDDEN = frozenset({"script", "style", "template", "noscript", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in ("br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n.*?^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)",
                          re.S | re.M)


def visible_text(text: str, kind: str) -> str:
    """The characters a reader sees: HTML tags, scripts and styles dropped, entities decoded;
    a Markdown front matter (metadata, not rendered) dropped."""
    if kind == "markdown":
        return _FRONT_MATTER.sub("", text, count=1)
    if kind != "html":
        return text
    parser = _Visible()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


@dataclass(frozen=True, slots=True)
class ExplicitNotice:
    """An A.0 notice found in text.

    Attributes:
        position: ``"start"`` or ``"end"`` (counted), or ``"middle"`` (reported only).
        snippet: the window or line that holds both elements (at most 80 characters).
    """

    position: str
    snippet: str

    @property
    def counts(self) -> bool:
        """True for a notice at the start or the end (rules §A.1 checker)."""
        return self.position != "middle"


def _has_elements(text: str) -> bool:
    return all(notice_elements(text))


def find_notices(head: str, tail: str | None = None, *, middle: str | None = None,
                 window: int = TEXT_CHECK_WINDOW) -> list[ExplicitNotice]:
    """Find A.0 notices in visible text.

    Args:
        head: the text from its start (the whole text when ``tail`` is ``None``).
        tail: the text's last part, when only the ends were read.
        middle: text to search for a mid-text notice (the whole text when it is small).
        window: characters at each end that count.
    """
    start = unicodedata.normalize("NFKC", head).lstrip()[:window]
    end_source = tail if tail is not None else head
    end = unicodedata.normalize("NFKC", end_source).rstrip()[-window:]
    found: list[ExplicitNotice] = []
    if _has_elements(start):
        found.append(ExplicitNotice("start", _snippet(start)))
    if _has_elements(end) and (not found or end != start):
        found.append(ExplicitNotice("end", _snippet(end)))
    if not found and middle is not None:
        for line in unicodedata.normalize("NFKC", middle).splitlines():
            if _has_elements(line):
                found.append(ExplicitNotice("middle", _snippet(line.strip())))
                break
    return found


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."
