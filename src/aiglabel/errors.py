"""Exceptions raised by aiglabel.

The hierarchy::

    AiglabelError
    ├── UnsupportedFormatError(ValueError)            no codec claimed the bytes
    ├── CorruptFileError(ValueError)                  claimed, then failed to parse
    ├── InvalidLabelError(ValueError)                 a record that breaks GB 45438 Annex E
    ├── CarrierUnsupportedError(NotImplementedError)  the format cannot hold the label (yet)
    ├── LimitExceededError                            a size / count / depth / time budget was hit
    ├── OutputError(OSError)                          the destination cannot be written
    └── NothingToLabelError(ValueError)               platform write refused: verdict is none

Every error may carry ``path``: the file it is about. ``str(err)`` is one line and names the
file when it is known, so a command-line tool can print it as it is.
"""

from __future__ import annotations

__all__ = [
    "AiglabelError",
    "CarrierUnsupportedError",
    "CorruptFileError",
    "InvalidLabelError",
    "LimitExceededError",
    "NothingToLabelError",
    "OutputError",
    "PlainTextError",
    "UnsupportedFormatError",
]


class AiglabelError(Exception):
    """Base class of every error aiglabel raises on purpose.

    Args:
        message: one line saying what is wrong.
        path: the file concerned, when known.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        if self.path:
            return f"{self.path}: {self.message}"
        return self.message


class UnsupportedFormatError(AiglabelError, ValueError):
    """No codec recognised the file's bytes."""


class CorruptFileError(AiglabelError, ValueError):
    """A codec recognised the file but its structure is damaged or truncated."""


class InvalidLabelError(AiglabelError, ValueError):
    """A label record breaks GB 45438 Annex E (a field name and the rule are in the message)."""


class CarrierUnsupportedError(AiglabelError, NotImplementedError):
    """The format cannot carry the implicit label in this version, or not in this file's layout."""


class LimitExceededError(AiglabelError):
    """A safety limit (metadata size, element count, nesting depth) was exceeded."""


class OutputError(AiglabelError, OSError):
    """The destination cannot be written (exists, same as the source, permission denied)."""


class NothingToLabelError(AiglabelError, ValueError):
    """A platform write was asked for a file whose verdict is ``none``: no label, no declaration
    and no AI trace, so there is nothing to label and no label may be invented (rules §E.6)."""


class PlainTextError(CarrierUnsupportedError, UnsupportedFormatError):
    """Plain text has no metadata area (rules §C.5): the implicit label needs an opt-in carrier
    (a sidecar file or a front matter). A folder walk skips such files as unsupported."""
