"""Platform-side verification: Art. 6 verdicts from labels, traces and declarations.

::

    from aiglabel.verify import verify, propagate

    report = verify("upload.png", declared=False)
    print(report.verdict, report.notice)          # e.g. Verdict.CONFIRMED 内容由AI生成
    propagate("upload.png", "stored.png", platform="001191110108MA01ABCD842PLAT")

The verdict comes from one pure function, :func:`aiglabel.verify.policy.decide`; detectors
(:mod:`aiglabel.verify.detectors`) are pluggable and every registered codec is used.
"""

from __future__ import annotations

from aiglabel.verify.detectors import Detector, default_detectors
from aiglabel.verify.model import (
    Claim,
    Decision,
    Evidence,
    EvidenceKind,
    Integrity,
    Verdict,
    VerifyReport,
)
from aiglabel.verify.pipeline import Context, VerifyOptions, verify
from aiglabel.verify.policy import decide
from aiglabel.verify.propagate import PropagateResult, propagate, propagation_record

__all__ = [
    "Claim",
    "Context",
    "Decision",
    "Detector",
    "Evidence",
    "EvidenceKind",
    "Integrity",
    "PropagateResult",
    "Verdict",
    "VerifyOptions",
    "VerifyReport",
    "decide",
    "default_detectors",
    "propagate",
    "propagation_record",
    "verify",
]
