"""Run-time settings read from the environment, in one place.

``AIGLABEL_PRODUCER``
    The provider code (rules §F) written as ``ContentProducer`` when the command line gets no
    ``--producer``. When it is unset, the bundled demo uses :data:`DEMO_PRODUCER`.
"""

from __future__ import annotations

import os

__all__ = ["DEMO_PRODUCER", "PRODUCER_ENV", "default_producer"]

PRODUCER_ENV = "AIGLABEL_PRODUCER"

# DEMO VALUE ONLY. A made-up organisation code with a valid layout and USCC check character
# (USCC 91110000MA0DEMXY0T, service type 1, application code DEMO) so the bundled demo runs.
# It identifies no real provider: a generation service must pass its own registered code.
DEMO_PRODUCER = "001191110000MA0DEMXY0T1DEMO"


def default_producer() -> tuple[str, bool]:
    """Return the producer code to use and whether it is the demo value."""
    value = os.environ.get(PRODUCER_ENV, "").strip()
    if value:
        return value, False
    return DEMO_PRODUCER, True
