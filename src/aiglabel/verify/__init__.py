"""Platform-side verification: Art. 6 verdicts from labels, traces and declarations."""

from __future__ import annotations
