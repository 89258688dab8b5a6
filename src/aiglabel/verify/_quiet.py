"""Silencing third-party warnings (Pillow's) around a block, safely under threads."""

from __future__ import annotations

import contextlib
import threading
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["quiet_warnings"]

# warnings.catch_warnings() swaps the process-wide filter list on entry and puts the saved one
# back on exit, so two blocks on different threads restore each other's filters (the Python
# docs call it not thread-safe): one thread's "ignore" could outlive its block for the whole
# process. Every such block in aiglabel goes through this lock.
_LOCK = threading.RLock()


@contextlib.contextmanager
def quiet_warnings() -> Iterator[None]:
    """Ignore every warning inside the block (decoder notes, ``DecompressionBombWarning``)."""
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
