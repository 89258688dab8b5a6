"""Result types shared by the codecs, the library API and the command line."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Finding", "Severity"]


class Severity(StrEnum):
    """How serious a conformance finding is (labeling rules §G)."""

    ERROR = "error"  # non-conformant
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of the conformance checklist (labeling rules §G).

    Attributes:
        code: checklist item and short name, e.g. ``"G14.label-value"``.
        severity: error, warning or info.
        message: one sentence naming the field and the rule.
        carrier: the carrier the finding is about, when it is about one.
    """

    code: str
    severity: Severity
    message: str
    carrier: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """Return a JSON-ready mapping."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "carrier": self.carrier,
        }
