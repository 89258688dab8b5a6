"""Pluggable detectors: each turns what it finds in one file into :class:`Evidence`.

A detector is any object with the :class:`Detector` attributes and methods. The pipeline runs
them in order over a shared :class:`~aiglabel.verify.pipeline.Context`, cheap ones first; a
detector marked ``expensive`` is skipped once the verdict already reaches its ``ceiling``
(the strongest verdict its evidence could add), so a labelled file is never decoded.
Later features (C2PA, signed labels, watermarks) add detectors without touching the pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aiglabel.codecs.base import CodecBase
from aiglabel.model import Severity
from aiglabel.verify.model import Claim, Evidence, EvidenceKind, Integrity, Verdict
from aiglabel.verify.text import TEXT_CHECK_WINDOW, decode_text, find_notices, visible_text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aiglabel.codecs.base import FoundLabel
    from aiglabel.gb45438 import AIGCRecord
    from aiglabel.verify.pipeline import Context
    from aiglabel.verify.traces import Trace

__all__ = [
    "Detector",
    "ImplicitLabelDetector",
    "StealthDetector",
    "TextNoticeDetector",
    "TraceDetector",
    "default_detectors",
]


@runtime_checkable
class Detector(Protocol):
    """What the pipeline needs from a detector.

    Attributes:
        name: short id shown in reports.
        ceiling: the strongest verdict this detector's evidence can contribute.
        expensive: reads beyond the headers (pixels, samples); skipped when the verdict
            already reaches ``ceiling``.
    """

    name: str
    ceiling: Verdict
    expensive: bool

    def applies(self, ctx: Context) -> bool:
        """Whether the detector has anything to look at in this file."""
        ...

    def detect(self, ctx: Context) -> Iterable[Evidence]:
        """Examine the file; raise :class:`~aiglabel.errors.AiglabelError` for a damaged one."""
        ...


class ImplicitLabelDetector:
    """The GB 45438 implicit label, read by whichever registered codec owns the format."""

    name = "gb45438-label"
    ceiling = Verdict.CONFIRMED
    expensive = False

    def applies(self, ctx: Context) -> bool:
        return ctx.codec is not None

    def detect(self, ctx: Context) -> list[Evidence]:
        inspection = ctx.inspection()
        out = []
        for found in inspection.labels:
            evidence = _label_evidence(found, self.name)
            record = evidence.record
            if record is not None and (record.reserved_code1 or record.reserved_code2):
                evidence = _with_signatures(evidence, record, ctx)
            out.append(evidence)
        return out


# Worst first: the evidence's integrity is the worst of its signatures' states.
_SIGNATURE_INTEGRITY = (("invalid", Integrity.INVALID),
                        ("binding-broken", Integrity.BINDING_BROKEN),
                        ("unknown-key", Integrity.UNKNOWN_KEY), ("trusted", Integrity.TRUSTED))


def _with_signatures(evidence: Evidence, record: AIGCRecord, ctx: Context) -> Evidence:
    """Check the label's ReservedCode1/2 signatures (rules §D.5); failures become findings."""
    import dataclasses

    from aiglabel.signing import check_signatures

    def essence() -> str | None:
        if ctx.codec is None or (ctx.src.size or 0) > ctx.options.max_hash_bytes:
            return None
        return ctx.codec.essence_digest(ctx.src)

    try:
        checks = tuple(check_signatures(record, trust=ctx.options.trust, essence=essence))
    except (ImportError, ValueError, TypeError, AttributeError) as exc:
        # Never lose the label's evidence over its signature: say why it was not checked.
        ctx.warn(f"signatures not checked ({type(exc).__name__}: {exc})")
        return evidence
    states = {c.state.value for c in checks}
    integrity = next((i for state, i in _SIGNATURE_INTEGRITY if state in states),
                     evidence.integrity)
    for c in checks:
        if c.state.is_failure:
            ctx.note_finding(f"D.signature.{c.state.value}", Severity.ERROR, c.detail)
    signed = [c for c in checks if c.state.value not in ("absent", "opaque")]
    detail = evidence.detail
    if signed:
        detail += "; " + "; ".join(f"{c.field} {c.state.value}" for c in signed)
    return dataclasses.replace(evidence, integrity=integrity, signatures=checks, detail=detail)


def _label_evidence(found: FoundLabel, detector: str) -> Evidence:
    record = found.record
    conforms = not any(f.severity is Severity.ERROR for f in found.findings)
    if record is None:
        detail = "an AIGC label that does not parse"
        if found.findings:
            detail += f" ({found.findings[0].message})"
        return Evidence(EvidenceKind.IMPLICIT, detector, Claim.UNKNOWN, detail, found.carrier,
                        None, None, Integrity.UNCHECKED, 1, conforms=False)
    producer = record.content_producer or "(no producer)"
    detail = f'Label "{record.label}" by {producer}, ProduceID {record.produce_id or "(empty)"}'
    if record.content_propagator and record.content_propagator != record.content_producer:
        detail += f"; propagated by {record.content_propagator}"
    claim = Claim.AI_GENERATED if record.label in ("1", "2", "3") else Claim.UNKNOWN
    # Signature checks (ReservedCode1/2) belong to the signed-label detector; plain metadata
    # carries no integrity mechanism of its own.
    return Evidence(EvidenceKind.IMPLICIT, detector, claim, detail, found.carrier, record,
                    record.label, Integrity.UNCHECKED, 1, conforms=conforms)


_CLAIMS = {c.value: c for c in Claim}


def trace_evidence(trace: Trace, detector: str) -> Evidence:
    """Wrap a :class:`~aiglabel.verify.traces.Trace` as evidence."""
    weight = "" if trace.weight == "strong" else f" [{trace.weight}]"
    return Evidence(EvidenceKind.TRACE, detector, _CLAIMS.get(trace.claim, Claim.UNKNOWN),
                    f"{trace.source}: {trace.detail}{weight}", trace.carrier, tier=trace.tier)


class TraceDetector:
    """Generation traces in metadata (generation-traces.md §1-3): suspected at most."""

    name = "generation-traces"
    ceiling = Verdict.SUSPECTED
    expensive = False

    def applies(self, ctx: Context) -> bool:
        return ctx.codec is not None

    def detect(self, ctx: Context) -> list[Evidence]:
        from aiglabel.verify.traces import find_traces

        return [trace_evidence(t, self.name) for t in find_traces(ctx.metadata())]


class StealthDetector:
    """NovelAI's ``stealth_*`` payload in pixel LSBs (generation-traces.md §1): decodes pixels.

    Runs only on lossless formats that can hold it (PNG, WebP, TIFF), with Pillow installed,
    within the pixel and file-size limits; otherwise it says so in a warning.
    """

    name = "novelai-stealth"
    ceiling = Verdict.SUSPECTED
    expensive = True
    formats = frozenset({"png", "webp", "tiff"})

    def applies(self, ctx: Context) -> bool:
        return ctx.codec is not None and ctx.codec.name in self.formats

    def detect(self, ctx: Context) -> list[Evidence]:
        try:
            from PIL import Image
        except ImportError:
            ctx.warn("pixel checks skipped: Pillow is not installed "
                     "(pip install 'aiglabel[explicit]')")
            return []
        from aiglabel.verify.stealth import read_stealth, stealth_trace

        limits = ctx.options
        if ctx.src.size > limits.max_decode_bytes:
            ctx.warn(f"pixel checks skipped: file larger than {limits.max_decode_bytes} bytes")
            return []
        data = ctx.src.read_at(0, ctx.src.size)
        import io

        from aiglabel.verify._quiet import quiet_warnings

        with quiet_warnings():
            try:
                with Image.open(io.BytesIO(data)) as img:
                    width, height = img.size
                    if width * height > limits.max_pixels:
                        ctx.warn(f"pixel checks skipped: {width}x{height} exceeds "
                                 f"{limits.max_pixels} pixels")
                        return []
                    img.load()
                    payload = read_stealth(img)
            except Exception as exc:  # noqa: BLE001  (a decoder error is a warning here)
                ctx.warn(f"pixel checks skipped: the image does not decode ({exc})")
                return []
        if payload is None:
            return []
        return [trace_evidence(stealth_trace(payload), self.name)]


class TextNoticeDetector:
    """The explicit text label (rules §A.0, §A.1): a notice at the start or end of the text."""

    name = "text-notice"
    ceiling = Verdict.SUSPECTED
    expensive = False
    whole_text_limit = 1 << 20  # read whole files up to this size (for the mid-text check)
    end_bytes = 1 << 16  # otherwise read this much at each end

    def applies(self, ctx: Context) -> bool:
        return ctx.text_kind is not None or (
            ctx.codec is not None and type(ctx.codec).visible_text is not CodecBase.visible_text)

    def detect(self, ctx: Context) -> list[Evidence]:
        src, kind = ctx.src, ctx.text_kind or "text"
        head_bytes = src.head
        if ctx.text_kind is None and ctx.codec is not None:  # a document: the codec extracts
            extracted = ctx.codec.visible_text(src, self.whole_text_limit)
            notices = [] if extracted is None else find_notices(extracted, middle=extracted)
        elif src.size <= self.whole_text_limit:
            whole = visible_text(decode_text(src.read_at(0, src.size), head_bytes), kind)
            notices = find_notices(whole, middle=whole)
        else:
            head = visible_text(decode_text(src.read_at(0, self.end_bytes), head_bytes), kind)
            tail_raw = src.read_at(src.size - self.end_bytes, self.end_bytes)
            tail = visible_text(decode_text(tail_raw, head_bytes), kind)
            notices = find_notices(head, tail)
            ctx.note_finding("G27.text-label", Severity.INFO,
                             f"large text: only the first and last {self.end_bytes} bytes "
                             "were searched for a notice")
        out: list[Evidence] = []
        for notice in notices:
            if notice.counts:
                out.append(Evidence(EvidenceKind.EXPLICIT, self.name, Claim.AI_GENERATED,
                                    f"notice {notice.snippet!r} in the {notice.position} "
                                    f"{TEXT_CHECK_WINDOW} characters", f"text:{notice.position}",
                                    tier=6))
            else:
                ctx.note_finding("G27.text-label", Severity.WARNING,
                                 f"an AI notice {notice.snippet!r} appears only mid-text; it "
                                 "does not count as the explicit label (rules §A.1)")
        return out


class RhythmDetector:
    """The audio rhythm label (GB 5.3 c), rules §A.3): the Morse "AI" cue at the start or the
    end of the programme (the first and last 30 s are searched). Decodes audio, so it runs
    only with PyAV and numpy installed and within ``max_decode_bytes``, else it says so."""

    name = "audio-rhythm"
    ceiling = Verdict.SUSPECTED
    expensive = True
    formats = frozenset({"mp3", "wav", "flac", "ogg", "mp4"})
    window_s = 30.0

    def applies(self, ctx: Context) -> bool:
        return ctx.codec is not None and ctx.codec.name in self.formats

    def detect(self, ctx: Context) -> list[Evidence]:
        try:
            from aiglabel.verify.rhythm import decode_ends
        except ImportError:
            ctx.warn("audio checks skipped: PyAV and numpy are not installed")
            return []
        from aiglabel.explicit.audio import find_rhythm

        if ctx.src.size > ctx.options.max_decode_bytes:
            ctx.warn(f"audio checks skipped: file larger than {ctx.options.max_decode_bytes} "
                     "bytes")
            return []
        ends = decode_ends(ctx.src.read_at(0, ctx.src.size), self.window_s)
        if ends is None:
            return []
        rate, total, head, tail = ends
        for offset, samples in ((0, head), (total - len(tail), tail)):
            match = find_rhythm(samples, rate)
            if match is not None:
                # Short programmes: both windows hold everything; the side nearer the cue
                # decides (the cue lasts 11 units).
                begin = offset / rate + match.start
                after = total / rate - (begin + 11 * match.unit_ms / 1000)
                where = "start" if begin <= after else "end"
                return [Evidence(EvidenceKind.EXPLICIT, self.name, Claim.AI_GENERATED,
                                 f"Morse 'AI' rhythm cue at the {where} ({match.frequency:.0f} "
                                 f"Hz, unit {match.unit_ms:.0f} ms)", f"audio:{where}",
                                 tier=6)]
        return []


def default_detectors() -> list[Detector]:
    """The built-in detectors, cheap first."""
    from aiglabel.verify.c2pa import C2paDetector

    return [ImplicitLabelDetector(), C2paDetector(), TraceDetector(), TextNoticeDetector(),
            StealthDetector(), RhythmDetector()]
