"""Built-in codecs, one public module per container format.

:func:`load_builtin` imports every public module here (sorted), which registers its codec with
the default registry. The default registry calls it on first use, so importing a single codec
module, or this package, has no side effects on start-up cost.

Identifying one file does not need every module: :func:`load_for` imports only the modules
whose first-bytes screen (:data:`SCREENS`) matches the file's head. Each screen accepts at
least every head its codec's ``sniff`` can claim (``tests/test_registry.py`` checks it on every
fixture, real sample and fuzzed head), so identification gives the same answer either way, and
a command-line run that labels one format imports one or two codec modules, not all of them.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SCREENS", "load_builtin", "load_for", "screened"]

_RIFF_FORMS = (b"RIFF", b"RF64", b"BW64")
# QuickTime files may start with any of these top-level atoms instead of ftyp (mp4._QT_FIRST).
_QT_FIRST = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")

SCREENS: dict[str, Callable[[bytes], bool]] = {
    "avi": lambda h: h.startswith(b"RIFF"),
    "epub": lambda h: h.startswith(b"PK\x03\x04"),
    "flac": lambda h: h.startswith((b"fLaC", b"ID3")),
    "flv": lambda h: h.startswith(b"FLV"),
    "gif": lambda h: h.startswith(b"GIF8"),
    "heif": lambda h: h[4:8] == b"ftyp",
    "html": lambda h: h.lstrip(b"\xef\xbb\xbf\xfe\xff\x00 \t\r\n\x0c")[:1] == b"<",
    "jpeg": lambda h: h.startswith(b"\xff\xd8"),
    # Markdown's sniff refuses any head with a NUL byte (binary), as most media heads have.
    "markdown": lambda h: b"\x00" not in h and any(
        s in h for s in (b"#", b">", b"- ", b"* ", b"`", b"](", b"--", b"|")),
    "mkv": lambda h: h.startswith(b"\x1a\x45\xdf\xa3"),
    # A tag, or an MPEG frame sync at byte 0: 11 set bits (so not JPEG's FF D8).
    "mp3": lambda h: h.startswith(b"ID3") or (len(h) > 1 and h[0] == 0xFF and h[1] >= 0xE0),
    "mp4": lambda h: h[4:8] in _QT_FIRST,
    "ogg": lambda h: h.startswith(b"OggS"),
    "ooxml": lambda h: h.startswith(b"PK\x03\x04"),
    "pdf": lambda h: b"%PDF-" in h[:1024],
    "png": lambda h: h.startswith(b"\x89PNG"),
    "text": lambda h: h.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        bool(h) and b"\x00" not in h[:65536]),
    "tiff": lambda h: h.startswith((b"II", b"MM")),
    "wav": lambda h: h.startswith(_RIFF_FORMS),
    "webp": lambda h: h.startswith(b"RIFF"),
}


@functools.cache
def _public() -> tuple[str, ...]:
    return tuple(sorted(info.name for info in pkgutil.iter_modules(__path__)
                        if not info.name.startswith("_") and info.name != "base"))


def load_builtin() -> None:
    """Import every public codec module so it registers itself."""
    for name in _public():
        importlib.import_module(f"{__name__}.{name}")


def screened(head: bytes) -> list[str]:
    """The codec modules that may claim a file starting with ``head``: those whose screen
    matches, and every module without a screen."""
    return [name for name in _public() if name not in SCREENS or SCREENS[name](head)]


def load_for(head: bytes) -> None:
    """Import the codec modules that may claim ``head`` (see :func:`screened`).

    Always through ``importlib.import_module``, never a ``sys.modules`` check: a module that
    another thread is still importing is already in ``sys.modules`` before its codec has
    registered, and only the import system's module lock waits for it to finish.
    """
    for name in screened(head):
        importlib.import_module(f"{__name__}.{name}")
