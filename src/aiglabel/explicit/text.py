"""The explicit label for text: a notice at the start, the end or both (rules §A.0, §A.1).

Measures Art. 4(1) asks for a text prompt at the start, the end or a suitable middle position;
GB 5.1 b) for an AI element (``人工智能`` or ``AI``) and a generation element (``生成`` /
``合成``) in it. Default wording :data:`DEFAULT_NOTICE` (``本内容由人工智能生成``) at the
``end`` [project choice, the issue's default]; custom wording is checked by
:func:`check_wording`. The notice goes on its own line (plain text), in its own paragraph
(Markdown: after any front matter at the start; DOCX: a ``w:p`` of its own) or in a
``<p class="aigc-notice">`` inside ``<body>`` (HTML). Adding a notice where the verifier
already finds one (the first or last 64 visible characters, rules §A.8) changes nothing.

For chat and streaming services, :func:`notice_stream` and :func:`anotice_stream` wrap an
iterator of generated chunks and yield them as they come, with the notice before the first and
after the last; nothing is buffered.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from aiglabel.errors import (
    CorruptFileError,
    InvalidLabelError,
)
from aiglabel.gb45438 import notice_elements

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator


__all__ = [
    "DEFAULT_NOTICE",
    "POSITIONS",
    "Position",
    "TextNotice",
    "add_notice",
    "add_notice_to_file",
    "anotice_stream",
    "check_wording",
    "notice_stream",
]

DEFAULT_NOTICE = "本内容由人工智能生成"
Position = Literal["start", "end", "both"]
POSITIONS: tuple[str, ...] = ("start", "end", "both")
TEXT_KINDS = ("text", "markdown", "html")
# Pictures go to aiglabel.explicit.image, which writes JPEG, PNG, WebP and TIFF; GIF and
# HEIF are refused with a message saying so.
IMAGE_CODECS = frozenset({"jpeg", "png", "webp", "tiff", "gif", "heif"})
# Audio gets the rhythm cue (aiglabel.explicit.audio); a file with video is refused there.
AUDIO_CODECS = frozenset({"mp3", "wav", "flac", "ogg", "mp4"})
_FRONT_MATTER = re.compile(r"\A(\ufeff?---[ \t]*\r?\n.*?\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z))",
                           re.S)
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.I)
_BODY_CLOSE = re.compile(r"</body\s*>", re.I)
_HTML_OPEN = re.compile(r"<html\b[^>]*>", re.I)
_HTML_CLOSE = re.compile(r"</html\s*>", re.I)


@dataclass(frozen=True, slots=True)
class TextNotice:
    """An explicit notice to add: its wording, where (``start``, ``end``, ``both``), and for
    pictures an optional font file (the bundled font covers the usual wordings only).

    Raises:
        InvalidLabelError: on creation, wording that breaks rules §A.0 or a bad position.
    """

    wording: str = DEFAULT_NOTICE
    position: str = "end"
    font_path: str | None = None

    def __post_init__(self) -> None:
        check_wording(self.wording)
        _check_position(self.position)


def check_wording(wording: str) -> str:
    """Return ``wording`` when it holds both elements of rules §A.0, else raise.

    Raises:
        InvalidLabelError: a missing AI element (``人工智能`` or ``AI``) or generation element
            (``生成`` and/or ``合成``), named in the message.
    """
    has_ai, has_generation = notice_elements(wording)
    missing = [what for ok, what in ((has_ai, "an AI element (人工智能 or AI)"),
                                     (has_generation, "a generation element (生成 or 合成)"))
               if not ok]
    if missing:
        what = " and ".join(missing)
        msg = f"explicit notice {wording!r} lacks {what} (GB 45438 5.1 b), rules §A.0)"
        raise InvalidLabelError(msg)
    if "\n" in wording or "\r" in wording:
        msg = f"explicit notice {wording!r} must be one line"
        raise InvalidLabelError(msg)
    return wording


def _check_position(position: str) -> None:
    if position not in POSITIONS:
        msg = f"notice position {position!r} is not one of {', '.join(POSITIONS)}"
        raise InvalidLabelError(msg)


def _present(text: str, kind: str) -> set[str]:
    """Where the verifier's checker already counts a notice (rules §A.1)."""
    from aiglabel.verify.text import find_notices, visible_text

    shown = visible_text(text, kind)
    return {n.position for n in find_notices(shown) if n.counts}


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _plain(text: str, notice: str, where: str, *, paragraph: bool) -> str:
    nl = _newline(text)
    gap = nl * (2 if paragraph else 1)
    if where == "start":
        head = _FRONT_MATTER.match(text) if paragraph else None  # Markdown front matter stays
        cut = head.end() if head else (1 if text.startswith("\ufeff") else 0)
        return text[:cut] + notice + gap + text[cut:]
    body = text.rstrip("\r\n")
    if not body:
        return text + notice + nl
    return body + gap + notice + nl


def _html(text: str, notice: str, where: str) -> str:
    nl = _newline(text)
    element = f'<p class="aigc-notice">{html.escape(notice)}</p>'
    if where == "start":
        opening = _BODY_OPEN.search(text) or _HTML_OPEN.search(text)
        at = opening.end() if opening else 0
        return text[:at] + (nl if opening else "") + element + (nl if not opening else "") + \
            text[at:]
    closing = None
    for match in _BODY_CLOSE.finditer(text):
        closing = match
    if closing is None:
        for match in _HTML_CLOSE.finditer(text):
            closing = match
    at = closing.start() if closing else len(text)
    return text[:at] + element + nl + text[at:]


def add_notice(text: str, *, kind: str = "text", wording: str = DEFAULT_NOTICE,
               position: Position | str = "end") -> str:
    """Return ``text`` with the explicit notice at ``position`` (``start``, ``end``, ``both``).

    Args:
        text: the generated text.
        kind: ``"text"``, ``"markdown"`` or ``"html"``.
        wording: the notice; checked with :func:`check_wording`.
        position: where it goes.

    Raises:
        InvalidLabelError: the wording breaks rules §A.0, or an unknown position or kind.
    """
    check_wording(wording)
    _check_position(position)
    if kind not in TEXT_KINDS:
        msg = f"text kind {kind!r} is not one of {', '.join(TEXT_KINDS)}"
        raise InvalidLabelError(msg)
    present = _present(text, kind)
    for where in ("start", "end") if position == "both" else (position,):
        if where in present:
            continue
        if kind == "html":
            text = _html(text, wording, where)
        else:
            text = _plain(text, wording, where, paragraph=kind == "markdown")
    return text


def notice_stream(chunks: Iterable[str], *, wording: str = DEFAULT_NOTICE,
                  position: Position | str = "end") -> Iterator[str]:
    """Yield ``chunks`` as they come, with the notice before them and/or after them, each on
    its own line. Nothing is buffered: a chat service can forward every chunk at once.

    Raises:
        InvalidLabelError: bad wording or position (raised before the first chunk).
    """
    check_wording(wording)
    _check_position(position)
    return _stream(chunks, wording, position)


def _stream(chunks: Iterable[str], wording: str, position: str) -> Iterator[str]:
    if position in ("start", "both"):
        yield wording + "\n\n"
    last = "\n"
    for chunk in chunks:
        if chunk:
            last = chunk[-1]
            yield chunk
    if position in ("end", "both"):
        yield ("\n\n" if last != "\n" else "\n") + wording + "\n"


async def anotice_stream(chunks: AsyncIterable[str], *, wording: str = DEFAULT_NOTICE,
                         position: Position | str = "end") -> AsyncIterator[str]:
    """:func:`notice_stream` for an async iterator of chunks (an async chat client)."""
    check_wording(wording)
    _check_position(position)
    if position in ("start", "both"):
        yield wording + "\n\n"
    last = "\n"
    async for chunk in chunks:
        if chunk:
            last = chunk[-1]
            yield chunk
    if position in ("end", "both"):
        yield ("\n\n" if last != "\n" else "\n") + wording + "\n"


def add_notice_to_file(data: bytes, *, name: str | None = None, wording: str = DEFAULT_NOTICE,
                       position: Position | str = "end", font_path: str | None = None) -> bytes:
    """The file ``data`` with the explicit notice added: plain text, Markdown, HTML (decoded
    and re-encoded in their encoding), DOCX (only ``word/document.xml`` is rewritten), a
    JPEG/PNG/WebP/TIFF picture (the GB 5.2 label) or audio (the rhythm cue); the same as
    :func:`aiglabel.explicit.files.add_explicit_label` with these three settings.

    Raises:
        InvalidLabelError: bad wording or position.
        CarrierUnsupportedError: a format without text to add a notice to.
        UnsupportedFormatError, CorruptFileError: as for reading the file.
    """
    from aiglabel.explicit.files import ExplicitLabel, add_explicit_label

    _check_position(position)
    return add_explicit_label(data, ExplicitLabel(wording, position, font_path), name=name)


def add_text_notice(data: bytes, kind: str, wording: str, position: Position | str) -> bytes:
    """The text file ``data`` (``kind``: text, markdown or html) with the notice added, in the
    file's own encoding."""
    encoding = _encoding_of(data)
    text = data.decode(encoding)
    noticed = add_notice(text, kind=kind, wording=wording, position=position)
    return data if noticed == text else noticed.encode(encoding)


def _encoding_of(data: bytes) -> str:
    """The encoding to decode and re-encode ``data`` with, so its bytes keep their form."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    for name in ("utf-8", "gb18030"):
        try:
            data.decode(name)
        except UnicodeDecodeError:
            continue
        return name
    msg = "the text is neither UTF-8, UTF-16 nor GB 18030"
    raise CorruptFileError(msg)
