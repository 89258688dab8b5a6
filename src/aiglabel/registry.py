"""Codec registry and format identification: the bytes decide, the extension breaks ties."""

from __future__ import annotations

import threading
from pathlib import PurePath
from typing import TYPE_CHECKING, TypeVar

from aiglabel.codecs.base import CodecBase, Confidence
from aiglabel.errors import UnsupportedFormatError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from aiglabel._io import Source

__all__ = ["Registry", "default_registry", "identify", "register"]

C = TypeVar("C", bound=type[CodecBase])


class Registry:
    """An ordered set of codecs; tests may build their own. Thread-safe: codec modules may
    register (on import) while other threads identify files."""

    def __init__(self) -> None:
        self._codecs: dict[str, type[CodecBase]] = {}
        self._lock = threading.RLock()

    def register(self, codec: C) -> C:
        """Add a codec class (usable as a decorator).

        Raises:
            ValueError: a codec of the same name is already registered.
        """
        with self._lock:
            if codec.name in self._codecs:
                msg = f"codec {codec.name!r} is already registered"
                raise ValueError(msg)
            self._codecs[codec.name] = codec
        return codec

    def __iter__(self) -> Iterator[type[CodecBase]]:
        with self._lock:
            codecs = list(self._codecs.values())
        return iter(sorted(codecs, key=lambda c: c.name))

    def __len__(self) -> int:
        return len(self._codecs)

    def get(self, name: str) -> type[CodecBase]:
        """Return the codec called ``name``.

        Raises:
            KeyError: no such codec.
        """
        return self._codecs[name]

    def identify(self, src: Source, name_hint: str | None = None) -> CodecBase:
        """Pick the codec for ``src``.

        The highest confidence wins; among equals, one whose extensions include the hint's
        suffix; then the name. An extension alone never selects a codec.

        Raises:
            UnsupportedFormatError: no codec claims the bytes.
        """
        suffix = PurePath(name_hint).suffix.lower() if name_hint else ""
        head = src.head
        if not head:
            msg = "empty file"
            raise UnsupportedFormatError(msg, path=src.name)
        best: tuple[int, int, str] | None = None
        chosen: CodecBase | None = None
        for cls in self._candidates(head):
            score = cls.sniff(head)
            if score is Confidence.NO:
                continue
            codec = cls()
            score = codec.confirm(src)
            if score is Confidence.NO:
                continue
            key = (int(score), int(suffix in cls.extensions), cls.name)
            if best is None or key[:2] > best[:2]:
                best, chosen = key, codec
        if chosen is None:
            msg = f"unsupported format (first bytes {head[:8].hex(' ')})"
            raise UnsupportedFormatError(msg, path=src.name)
        return chosen


    def _candidates(self, head: bytes) -> Iterator[type[CodecBase]]:
        """The codecs to try on a file starting with ``head`` (all of them here)."""
        del head
        return iter(self)


class _DefaultRegistry(Registry):
    """The process-wide registry; loads the built-in codecs on first use."""

    def __init__(self) -> None:
        super().__init__()
        self._loaded = False

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        # Set only once every module is imported, so no thread skips load_for() meanwhile.
        # The import system's module locks serialise the imports themselves; this lock is
        # not held across them (a codec module registering on import takes self._lock).
        from aiglabel.codecs import load_builtin

        load_builtin()
        self._loaded = True

    def __iter__(self) -> Iterator[type[CodecBase]]:
        self._ensure_loaded()
        return super().__iter__()

    def _candidates(self, head: bytes) -> Iterator[type[CodecBase]]:
        """Import only the built-in codec modules whose first-bytes screen matches
        (:func:`aiglabel.codecs.load_for`); every codec registered so far is tried."""
        if not self._loaded:
            from aiglabel.codecs import load_for

            load_for(head)
        return Registry.__iter__(self)

    def __len__(self) -> int:
        self._ensure_loaded()
        return super().__len__()

    def get(self, name: str) -> type[CodecBase]:
        self._ensure_loaded()
        return super().get(name)


default_registry: Registry = _DefaultRegistry()
register = default_registry.register


def identify(src: Source, name_hint: str | None = None) -> CodecBase:
    """Identify ``src`` with the default registry (see :meth:`Registry.identify`)."""
    return default_registry.identify(src, name_hint)
