"""The explicit notice in a DOCX body: one paragraph of its own, first or last.

WordprocessingML (ECMA-376 Part 1 §17.2.2 body, §17.3.1.22 paragraph): ``w:body`` holds the
block content and ends with the section properties ``w:sectPr``, which must stay last; the
notice paragraph goes right after ``<w:body>`` (start) or right before that final ``w:sectPr``
(end, else before ``</w:body>``). Only ``word/document.xml`` is rewritten; every other entry is
copied with its compressed bytes (:func:`aiglabel.codecs._zip.rebuild`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from aiglabel._io import Span
from aiglabel.codecs import _zip
from aiglabel.errors import CarrierUnsupportedError, CorruptFileError

if TYPE_CHECKING:
    from aiglabel._io import Source

__all__ = ["add_docx_notice"]

DOCUMENT = "word/document.xml"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _paragraph(prefix: str, text: str) -> str:
    p = f"{prefix}:" if prefix else ""
    return f'<{p}p><{p}r><{p}t xml:space="preserve">{escape(text)}</{p}t></{p}r></{p}p>'


def add_docx_notice(src: Source, wording: str, position: str) -> bytes:
    """The DOCX in ``src`` with a notice paragraph at the start, end or both.

    Raises:
        CarrierUnsupportedError: a spreadsheet or presentation (no body to add a paragraph to).
        CorruptFileError: no ``w:body`` in the document part.
    """
    from aiglabel.codecs.ooxml import OoxmlCodec
    from aiglabel.verify.text import find_notices

    archive = _zip.read_archive(src)
    entry = archive.get(DOCUMENT)
    if entry is None:
        msg = "explicit notices go into Word documents; this package has no word/document.xml"
        raise CarrierUnsupportedError(msg, path=src.name)
    xml = _zip.read_entry(src, entry).decode("utf-8")
    shown = OoxmlCodec().visible_text(src, 1 << 20) or ""
    present = {n.position for n in find_notices(shown) if n.counts}
    match = re.search(r"xmlns:([\w.-]+)\s*=\s*[\"']" + re.escape(W_NS), xml)
    prefix = match.group(1) if match else "w"
    p = f"{prefix}:" if prefix else ""
    body_open = re.search(rf"<{p}body\b[^>]*>", xml)
    body_close = re.search(rf"</{p}body\s*>", xml)
    if body_open is None or body_close is None:
        msg = "word/document.xml has no w:body"
        raise CorruptFileError(msg, path=src.name)
    paragraph = _paragraph(prefix, wording)
    wanted = ("start", "end") if position == "both" else (position,)
    if "end" in wanted and "end" not in present:
        last_sect = None
        for sect in re.finditer(rf"<{p}sectPr\b", xml[body_open.end() : body_close.start()]):
            last_sect = sect
        at = body_open.end() + last_sect.start() if last_sect else body_close.start()
        xml = xml[:at] + paragraph + xml[at:]
    if "start" in wanted and "start" not in present:
        xml = xml[: body_open.end()] + paragraph + xml[body_open.end() :]
    pieces = _zip.rebuild(src, archive, {DOCUMENT: xml.encode("utf-8")}, {})
    return b"".join(src.read_at(p.offset, p.length) if isinstance(p, Span) else p
                    for p in pieces)
