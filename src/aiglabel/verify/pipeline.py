"""One call per file: identify, run the detectors, apply the policy, return a report.

The pipeline never raises for a file's content: a damaged, hostile or unsupported file gives a
report with ``errors`` (status ``inconclusive``), and a declaration still counts (Art. 6 (2)).
Resource limits, all in :class:`VerifyOptions`:

- bytes: metadata structures are capped by ``limits.max_metadata`` (16 MiB); pixel checks only
  read files up to ``max_decode_bytes`` (64 MiB); text up to 1 MiB whole, else 64 KiB per end;
- pixels: ``max_pixels`` (50 MP) for any decode;
- structure: ``limits.max_items`` chunks/boxes/segments and ``limits.max_depth`` nesting;
- time: ``max_seconds`` per file (10 s); every read checks the deadline, and detectors that
  have not run when it passes are reported as skipped.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiglabel._api import FileInput, Inspection, _hint, _open_source, inspect_source
from aiglabel._io import DEFAULT_LIMITS, Limits, Source
from aiglabel.errors import AiglabelError, UnsupportedFormatError
from aiglabel.model import Finding, Severity
from aiglabel.registry import Registry, default_registry
from aiglabel.verify.detectors import Detector, default_detectors
from aiglabel.verify.model import Claim, Evidence, EvidenceKind, Verdict, VerifyReport
from aiglabel.verify.policy import decide
from aiglabel.verify.text import sniff_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aiglabel.codecs.base import CodecBase, MetadataItem
    from aiglabel.signing.trust import TrustStore

__all__ = ["Context", "VerifyOptions", "verify"]


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """Budgets and policy switches for one verification (see the module docstring)."""

    limits: Limits = DEFAULT_LIMITS
    max_seconds: float = 10.0
    max_pixels: int = 50_000_000
    max_decode_bytes: int = 64 * 1024 * 1024
    trust_c2pa: bool = True
    trust: TrustStore | None = None  # label-signing keys (aiglabel.signing.trust)
    max_hash_bytes: int = 4 << 30  # content bindings: essence hashed up to this file size
    c2pa_anchors: str | None = None  # PEM trust anchors for C2PA manifests
    c2pa_trust_config: str | None = None  # extra accepted signer EKU OIDs (CAI store.cfg)
    require_signature: bool = False  # Label "1" confirms only with a trusted producer signature


DEFAULT_OPTIONS = VerifyOptions()


@dataclass(slots=True)
class Context:
    """What detectors share for one file: the source, its codec, cached reads, notes."""

    src: Source
    path: str
    codec: CodecBase | None
    text_kind: str | None
    options: VerifyOptions
    verdict_so_far: Verdict = Verdict.NONE
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _inspection: Inspection | None = None
    _metadata: list[MetadataItem] | None = None

    def inspection(self) -> Inspection:
        """Labels and conformance findings from the codec (read once)."""
        if self._inspection is None:
            if self.codec is None:
                msg = "no codec for this file"
                raise UnsupportedFormatError(msg, path=self.path)
            self._inspection = inspect_source(self.src, self.codec, self.path)
        return self._inspection

    def metadata(self) -> list[MetadataItem]:
        """Other metadata values from the codec (read once)."""
        if self._metadata is None:
            self._metadata = self.codec.metadata(self.src) if self.codec is not None else []
        return self._metadata

    def warn(self, message: str) -> None:
        """Add a warning to the report."""
        if message not in self.warnings:
            self.warnings.append(message)

    def note_finding(self, code: str, severity: Severity, message: str) -> None:
        """Add a conformance finding to the report."""
        self.findings.append(Finding(code, severity, message))


def _declaration() -> Evidence:
    return Evidence(EvidenceKind.DECLARATION, "uploader", Claim.AI_GENERATED,
                    "the uploader declared the content AI-generated")


def verify(
    file: FileInput,
    *,
    declared: bool = False,
    name: str | None = None,
    options: VerifyOptions = DEFAULT_OPTIONS,
    detectors: Sequence[Detector] | None = None,
    registry: Registry | None = None,
) -> VerifyReport:
    """Verify one file and return its Art. 6 report; never raises for the file's content.

    Args:
        file: a path, the file's bytes, or a seekable binary stream.
        declared: the uploader declared the content AI-generated (Art. 6 (2)).
        name: display name / extension hint for bytes and streams.
        options: limits and policy switches.
        detectors: the detectors to run (default :func:`default_detectors`).
        registry: codecs to identify the format with (default: every registered codec).

    Raises:
        OSError: only for a path that cannot be opened for a reason other than the file
            being absent or a folder (which are reported in the report's ``errors``).
    """
    started = time.monotonic()
    display = name or (os.fspath(file) if isinstance(file, str | os.PathLike) else "<bytes>")
    report = VerifyReport(path=display, format=None, size=None)
    evidence: list[Evidence] = [_declaration()] if declared else []
    ctx: Context | None = None
    try:
        with _open_source(file, name) as src:
            src.deadline = started + options.max_seconds
            report.size = src.size
            ctx = _context(src, display, _hint(file, name), options,
                           registry or default_registry)
            report.format = ctx.codec.name if ctx.codec is not None else ctx.text_kind
            if report.format is None:
                report.errors.append(f"{display}: unsupported format (no codec recognises the "
                                     "bytes and it is not text)")
            else:
                _run(ctx, detectors if detectors is not None else default_detectors(),
                     evidence, report, declared)
            report.bytes_read = src.bytes_read
    except AiglabelError as exc:
        report.errors.append(str(exc) if exc.path else f"{display}: {exc}")
    except RecursionError:
        report.errors.append(f"{display}: nesting too deep to follow")
    except MemoryError:
        report.errors.append(f"{display}: out of memory while reading")
    if ctx is not None:
        report.findings.extend(ctx.findings)
        report.warnings.extend(ctx.warnings)
    _finish(report, evidence, declared, options)
    report.seconds = time.monotonic() - started
    return report


def _context(src: Source, display: str, hint: str | None, options: VerifyOptions,
             registry: Registry) -> Context:
    src.limits = options.limits
    try:
        codec: CodecBase | None = registry.identify(src, hint)
    except UnsupportedFormatError:
        codec = None
    text_kind = sniff_text(src.head, hint) if codec is None else codec.text_kind
    return Context(src, display, codec, text_kind, options)


def _run(ctx: Context, detectors: Sequence[Detector], evidence: list[Evidence],
         report: VerifyReport, declared: bool) -> None:
    for detector in detectors:
        if not detector.applies(ctx):
            continue
        if detector.expensive and ctx.verdict_so_far >= detector.ceiling:
            continue
        deadline = ctx.src.deadline
        if deadline is not None and time.monotonic() > deadline:
            ctx.warn(f"time limit of {ctx.options.max_seconds:g} s reached: "
                     f"{detector.name} did not run")
            continue
        try:
            found = list(detector.detect(ctx))
        except AiglabelError as exc:
            if detector.name == "gb45438-label":
                raise  # the container itself is damaged: the report is inconclusive
            ctx.warn(f"{detector.name}: {exc.message}")
            continue
        except (RecursionError, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001  (a detector bug must not lose the report)
            report.errors.append(f"{ctx.path}: internal error in {detector.name} "
                                 f"({type(exc).__name__}: {exc})")
            continue
        evidence.extend(found)
        if found:
            ctx.verdict_so_far = decide(evidence, declared, trust_c2pa=ctx.options.trust_c2pa,
                                        require_signature=ctx.options.require_signature
                                        ).verdict
    with contextlib.suppress(UnsupportedFormatError):
        if ctx.codec is not None:
            inspection = ctx.inspection()
            report.findings.extend(inspection.findings)
            report.status = inspection.status


def _finish(report: VerifyReport, evidence: list[Evidence], declared: bool,
            options: VerifyOptions) -> None:
    decision = decide(evidence, declared, trust_c2pa=options.trust_c2pa,
                      require_signature=options.require_signature)
    report.evidence = evidence
    report.contributions = list(decision.contributions)
    report.verdict = decision.verdict
    report.notice = decision.notice
    report.label_to_write = decision.label_to_write
    report.warnings.extend(w for w in decision.warnings if w not in report.warnings)
    report.contradictions.extend(decision.contradictions)
    if report.errors:
        report.status = "inconclusive"
    elif report.format is not None and report.status == "not_found" and any(
        f.severity is Severity.ERROR for f in report.findings
    ):
        report.status = "noncompliant"
