"""Built-in codecs, one public module per container format.

:func:`load_builtin` imports every public module here (sorted), which registers its codec with
the default registry. The default registry calls it on first use, so importing a single codec
module, or this package, has no side effects on start-up cost.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["load_builtin"]


def load_builtin() -> None:
    """Import every public codec module so it registers itself."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_") and info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")
