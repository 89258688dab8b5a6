"""Collecting :class:`~aiglabel.codecs.base.MetadataItem` values under a budget.

Every codec's ``metadata()`` feeds one :class:`Collector`. It bounds the total text exposed for
one file by ``Limits.max_metadata`` characters: the value that crosses the budget is truncated,
later ones are dropped, and :attr:`Collector.room` tells a codec how many bytes a read still
is worth reading (:meth:`Collector.want`), so a walk reads no more than it can expose and
never more than ``max_metadata`` at once, and stops once :attr:`Collector.full`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiglabel.codecs.base import MetadataItem

if TYPE_CHECKING:
    from aiglabel._io import Limits

__all__ = ["Collector", "decode_text"]


def decode_text(raw: bytes) -> str:
    """Decode a stored string: trailing NULs dropped, UTF-8, else Latin-1.

    Latin-1 text (PNG ``tEXt``, EXIF ASCII written by old tools) with bytes over 0x7F is
    almost never valid UTF-8, so trying UTF-8 first mis-decodes nothing in practice and reads
    the UTF-8 that many writers store where the format asks for Latin-1 or ASCII.
    """
    data = raw.rstrip(b"\x00")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class Collector:
    """The items found so far and what is left of the budget.

    Args:
        limits: the source's limits; ``max_metadata`` is both the largest value read and the
            total number of characters exposed for the file.
    """

    def __init__(self, limits: Limits) -> None:
        self.items: list[MetadataItem] = []
        self.cap = limits.max_metadata
        self.left = limits.max_metadata

    @property
    def room(self) -> int:
        """Characters still exposable: the most bytes worth reading for the next value."""
        return max(self.left, 0)

    def want(self, size: int, extra: int = 0) -> int:
        """Bytes worth reading of a ``size``-byte structure: the room left plus ``extra``
        (headers, framing), never more than ``max_metadata``."""
        return max(min(size, self.room + extra, self.cap), 0)

    @property
    def full(self) -> bool:
        """True when the budget is spent (the walk may stop)."""
        return self.left <= 0

    def add(self, carrier: str, key: str, value: str, offset: int | None = None) -> None:
        """Record one value, truncated to the budget left; empty values are skipped."""
        if not value or self.full:
            return
        value = value[: self.left]
        self.left -= len(value)
        self.items.append(MetadataItem(carrier, key, value, offset))
