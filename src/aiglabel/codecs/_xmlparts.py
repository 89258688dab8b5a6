"""Small helpers for the XML parts of ZIP-based documents (OOXML, EPUB) edited as text.

The codecs change a few elements of a part and keep every other byte, so they edit the text
and check the result parses; parsing goes through defusedxml (no entity expansion, no
external entities).
"""

from __future__ import annotations

import html
import re

from defusedxml import ElementTree

from aiglabel.errors import CorruptFileError

__all__ = ["check_xml", "tag_attrs", "xml_escape"]

_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def tag_attrs(text: str) -> dict[str, str]:
    """The attributes in a start tag's attribute text, entities decoded."""
    return {m.group(1): html.unescape(m.group(2) if m.group(2) is not None else m.group(3))
            for m in _ATTR.finditer(text)}


def xml_escape(text: str) -> str:
    """Escape element text: ``&``, ``<`` and ``>``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def check_xml(data: bytes, part: str, name: str | None) -> None:
    """Parse ``data`` with defusedxml; a failure is a :class:`CorruptFileError` naming ``part``."""
    try:
        ElementTree.fromstring(data)
    except Exception as exc:  # defusedxml raises its own and ParseError types
        msg = f"damaged {part} ({type(exc).__name__})"
        raise CorruptFileError(msg, path=name) from exc
