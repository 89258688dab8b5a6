"""What the verifier produces: evidence, the Art. 6 verdict, and the per-file report.

Plain data, no I/O: detectors create :class:`Evidence`, :func:`aiglabel.verify.policy.decide`
turns it into a :class:`Decision`, the pipeline wraps both in a :class:`VerifyReport`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiglabel.gb45438 import AIGCRecord
    from aiglabel.model import Finding
    from aiglabel.signing import SignatureCheck

__all__ = [
    "Claim",
    "Decision",
    "Evidence",
    "EvidenceKind",
    "Integrity",
    "Verdict",
    "VerifyReport",
]


class Verdict(StrEnum):
    """The Art. 6 outcome, ordered ``none < suspected < possibly < confirmed`` (rules §E.1)."""

    NONE = "none"
    SUSPECTED = "suspected"  # 疑似 — Art. 6 (3)
    POSSIBLY = "possibly"  # 可能 — Art. 6 (2)
    CONFIRMED = "confirmed"  # 属于 — Art. 6 (1)

    @property
    def rank(self) -> int:
        """0 for none up to 3 for confirmed."""
        return _RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank >= other.rank


_RANK = {Verdict.NONE: 0, Verdict.SUSPECTED: 1, Verdict.POSSIBLY: 2, Verdict.CONFIRMED: 3}


class EvidenceKind(StrEnum):
    """Where a piece of evidence comes from."""

    IMPLICIT = "implicit-metadata"  # a GB 45438 label in the file's metadata
    C2PA = "c2pa"
    WATERMARK = "watermark"
    EXPLICIT = "explicit-mark"  # a visible or audible label (A.0 elements), Art. 6 (3)
    TRACE = "generation-trace"  # generation-traces.md §1-3
    DECLARATION = "declaration"  # the uploader says the content is AI-generated, Art. 6 (2)


class Claim(StrEnum):
    """What a piece of evidence says about the content."""

    AI_GENERATED = "ai-generated"
    AI_EDITED = "ai-edited"
    NOT_AI = "not-ai"  # a capture or human-made claim: never lowers a verdict, can contradict
    UNKNOWN = "unknown"  # e.g. an unknown IPTC code: reported, not counted

    @property
    def is_ai(self) -> bool:
        """True for the two AI claims."""
        return self in (Claim.AI_GENERATED, Claim.AI_EDITED)


class Integrity(StrEnum):
    """Whether the evidence's integrity could be checked, and the result."""

    UNCHECKED = "unchecked"  # no integrity mechanism (plain metadata, traces, declarations)
    INTACT = "intact"  # a signature or hash verified
    TRUSTED = "trusted"  # verified and the signer chains to a configured trust anchor
    INVALID = "invalid"  # a signature or hash failed: possible tampering
    BINDING_BROKEN = "binding-broken"  # a valid signature bound to other content
    UNKNOWN_KEY = "unknown-key"  # signed, but with a key we cannot check or do not trust

    @property
    def is_failure(self) -> bool:
        """True when the check failed (invalid, or a broken content binding)."""
        return self in (Integrity.INVALID, Integrity.BINDING_BROKEN)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One signal a detector found.

    Attributes:
        kind: the evidence class.
        detector: the detector's name.
        claim: what the signal says.
        detail: one sentence for people, with the matched value.
        carrier: where in the file it sits, when it sits in the file.
        record: the parsed GB label (implicit-metadata evidence), else ``None``.
        label_value: the raw ``Label`` value when a label was found, even if unparseable
            fields made ``record`` ``None``; ``None`` otherwise.
        integrity: the integrity check and its result.
        tier: strength rank from generation-traces.md §7 (1 = GB label ... 7 = classifier);
            0 for declarations and non-AI claims.
        conforms: for a GB label, whether it passed the conformance checks (no §G errors).
        signatures: for a GB label, the check of ReservedCode1 and ReservedCode2
            (:mod:`aiglabel.signing`); ``integrity`` is the worst of them.
        manifest: for C2PA evidence, the manifest's validation: ``state`` (Trusted, Valid,
            Invalid, Remote), ``validation_codes``, ``signer``, ``issuer``,
            ``source_types``, ``ingredient_source_types``, ``remote_url``.
    """

    kind: EvidenceKind
    detector: str
    claim: Claim
    detail: str
    carrier: str | None = None
    record: AIGCRecord | None = None
    label_value: str | None = None
    integrity: Integrity = Integrity.UNCHECKED
    tier: int = 0
    conforms: bool = True
    signatures: tuple[SignatureCheck, ...] = ()
    manifest: dict[str, Any] | None = None

    def to_dict(self, contributes: Verdict | None = None) -> dict[str, Any]:
        """Return a JSON-ready mapping (``contributes`` is filled in by the report)."""
        return {
            "kind": self.kind.value,
            "detector": self.detector,
            "carrier": self.carrier,
            "claim": self.claim.value,
            "tier": self.tier,
            "integrity": self.integrity.value,
            "detail": self.detail,
            "record": self.record.to_dict() if self.record is not None else None,
            "signatures": [s.to_dict() for s in self.signatures],
            "manifest": self.manifest,
            "contributes": contributes.value if contributes is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer for one file.

    Attributes:
        verdict: the strongest contribution (rules §E.6).
        contributions: per evidence item, in input order, what it contributed (``None`` for
            nothing).
        label_to_write: the ``Label`` a platform writes when it creates a label: ``"2"`` or
            ``"3"``; ``None`` when an upstream GB label is kept, or when the verdict is
            ``none`` (no label may be invented).
        keep_upstream: a usable upstream GB label exists and must be kept (rules §E.3).
        notice: the platform notice text (rules §E.1 defaults), ``None`` for ``none``.
        warnings: policy notes such as "label not intact" or "non-GB carrier".
        contradictions: signals that disagree, each one sentence (never resolved silently).
    """

    verdict: Verdict
    contributions: tuple[Verdict | None, ...]
    label_to_write: str | None
    keep_upstream: bool
    notice: str | None
    warnings: tuple[str, ...] = ()
    contradictions: tuple[str, ...] = ()


@dataclass(slots=True)
class VerifyReport:
    """Everything the verifier found in one file.

    ``status`` is the §G aggregate: ``inconclusive`` when processing failed, ``noncompliant``
    when a label has §G errors, ``compliant`` when a label passed, ``not_found`` otherwise.
    """

    path: str
    format: str | None
    size: int | None
    verdict: Verdict = Verdict.NONE
    notice: str | None = None
    label_to_write: str | None = None
    status: str = "not_found"
    evidence: list[Evidence] = field(default_factory=list)
    contributions: list[Verdict | None] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    contradictions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    bytes_read: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping with the keys ``path``, ``format``, ``verdict``,
        ``evidence``, ``findings`` and the rest of the fields."""
        contributions = list(self.contributions) + [None] * (
            len(self.evidence) - len(self.contributions)
        )
        return {
            "path": self.path,
            "format": self.format,
            "size": self.size,
            "verdict": self.verdict.value,
            "notice": self.notice,
            "label_to_write": self.label_to_write,
            "status": self.status,
            "evidence": [e.to_dict(c) for e, c in zip(self.evidence, contributions, strict=True)],
            "findings": [f.to_dict() for f in self.findings],
            "warnings": list(self.warnings),
            "contradictions": list(self.contradictions),
            "errors": list(self.errors),
            "bytes_read": self.bytes_read,
            "seconds": round(self.seconds, 6),
        }
