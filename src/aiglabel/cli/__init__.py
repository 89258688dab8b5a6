"""The ``aiglabel`` command line: a thin typer layer over the library API.

One module per command (``label``, ``inspect``, ``formats``), mounted in :mod:`.main`; shared
path expansion, progress, error lines and exit codes live in :mod:`._common`. The library never
imports this package.
"""

from __future__ import annotations
