"""The Art. 6 verdict as one pure function of the evidence and the uploader's declaration.

Rules (labeling rules §E.1, §E.3, §E.6; generation-traces.md "the one rule" and §7). Each
piece of evidence *contributes* a verdict; the file's verdict is the strongest contribution
(``confirmed > possibly > suspected > none``):

=====================================================  ==============  ==========================
Evidence                                               Contributes     Note
=====================================================  ==============  ==========================
GB label, ``Label`` "1", parsed, integrity not invalid  confirmed       conformance errors are
                                                                       reported, not demoted
GB label, ``Label`` "1", signature invalid or its      suspected       warning "label not intact";
content binding broken                                                 a contradiction too
GB label, ``Label`` "1", no trusted producer signature  suspected       only with
                                                                       ``require_signature``
GB label, ``Label`` "2" / "3"                           possibly /      upstream platform's
                                                       suspected       verdict, kept
GB label that cannot be used (no parse, bad Label)     suspected       an AIGC label was meant;
                                                                       replaced on write (§E.3)
uploader declaration                                   possibly        Art. 6 (2)
C2PA AI claim, validation Trusted                      confirmed       configurable; warning
                                                                       "non-GB carrier"
C2PA AI claim, Valid-untrusted / unchecked / invalid   suspected       invalid: "possible tampering"
watermark, explicit mark, generation trace (AI claim)  suspected       never more (unsigned hints)
any not-AI or unknown claim                            nothing         never lowers; contradictions
=====================================================  ==============  ==========================

The platform's label write (§E.3, §E.6): a usable upstream GB label is kept (only the
propagation fields change); otherwise ``"2"`` when the uploader declared AI content, ``"3"``
for any other verdict above ``none``, and nothing for ``none`` — a label is never invented.
``"1"`` is never created by a platform, even when a Trusted C2PA manifest confirms the content.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiglabel.verify.model import Claim, Decision, Evidence, EvidenceKind, Integrity, Verdict

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["NOTICES", "contribution", "decide"]

# Platform notice defaults per verdict (rules §E.1, project choice; each keeps the A.0 elements).
NOTICES: dict[Verdict, str] = {
    Verdict.CONFIRMED: "内容由AI生成",
    Verdict.POSSIBLY: "内容可能由AI生成",
    Verdict.SUSPECTED: "疑似使用了AI生成技术",
}

_UPSTREAM = {"1": Verdict.CONFIRMED, "2": Verdict.POSSIBLY, "3": Verdict.SUSPECTED}


def _usable_label(e: Evidence) -> bool:
    return e.kind is EvidenceKind.IMPLICIT and e.record is not None and e.label_value in _UPSTREAM


def _producer_trusted(e: Evidence) -> bool:
    return any(c.role == "producer" and c.state.value == "trusted" for c in e.signatures)


def contribution(e: Evidence, *, trust_c2pa: bool = True,
                 require_signature: bool = False) -> Verdict | None:
    """What one piece of evidence contributes on its own (the table in the module docstring)."""
    if e.kind is EvidenceKind.DECLARATION:
        return Verdict.POSSIBLY
    if e.kind is EvidenceKind.IMPLICIT:
        if not _usable_label(e):
            return Verdict.SUSPECTED
        upstream = _UPSTREAM[e.label_value or ""]
        if upstream is Verdict.CONFIRMED and (
                e.integrity.is_failure or require_signature and not _producer_trusted(e)):
            return Verdict.SUSPECTED
        return upstream
    if not e.claim.is_ai:
        return None
    if e.kind is EvidenceKind.C2PA and e.integrity is Integrity.TRUSTED and trust_c2pa:
        return Verdict.CONFIRMED
    return Verdict.SUSPECTED


def _warnings(evidence: Sequence[Evidence], contributions: Sequence[Verdict | None]) -> list[str]:
    out: list[str] = []
    for e, c in zip(evidence, contributions, strict=True):
        where = f" in {e.carrier}" if e.carrier else ""
        if e.kind is EvidenceKind.IMPLICIT:
            if not _usable_label(e):
                out.append(f"unusable AIGC label{where} (counted as suspected; a platform write "
                           f"replaces it): {e.detail}")
            elif e.label_value == "1" and e.integrity.is_failure:
                why = ("its signature is invalid" if e.integrity is Integrity.INVALID
                       else "its signature binds other content")
                out.append(f"label not intact{where}: {why}, so Label \"1\" only counts as "
                           "suspected")
            elif e.label_value == "1" and c is Verdict.SUSPECTED:
                out.append(f"Label \"1\"{where} has no trusted producer signature, which this "
                           "verification requires: it only counts as suspected")
            elif e.label_value in ("2", "3"):
                out.append(f"upstream label{where} has Label \"{e.label_value}\" (set by an "
                           "earlier platform); it is kept")
            elif c is Verdict.CONFIRMED and not e.conforms:
                out.append(f"confirmed on a label{where} that breaks GB 45438 conformance rules "
                           "(see findings)")
        elif e.kind is EvidenceKind.C2PA and e.claim.is_ai:
            if c is Verdict.CONFIRMED:
                out.append("confirmed by a Trusted C2PA manifest: a non-GB carrier")
            elif e.integrity is Integrity.INVALID:
                out.append(f"C2PA manifest{where} fails validation: possible tampering")
    return out


def _contradictions(evidence: Sequence[Evidence],
                    contributions: Sequence[Verdict | None]) -> list[str]:
    out: list[str] = []
    ai = [e for e, c in zip(evidence, contributions, strict=True)
          if c is not None and e.kind is not EvidenceKind.DECLARATION]
    not_ai = [e for e in evidence if e.claim is Claim.NOT_AI]
    if ai and not_ai:
        claim = ai[0]
        out.extend(f"{e.detector}{_at(e)} claims non-AI origin ({e.detail}) while "
                   f"{claim.detector}{_at(claim)} claims AI generation" for e in not_ai)
    labels = [e for e in evidence if _usable_label(e)]
    producers = {(e.record.content_producer if e.record else "") for e in labels}
    if len(producers) > 1:
        names = ", ".join(sorted(f"{p or '(empty)'}" for p in producers))
        out.append(f"{len(labels)} GB labels name different producers: {names}")
    values = {e.label_value for e in labels}
    if len(values) > 1:
        out.append(f"GB labels disagree on Label: {', '.join(sorted(v or '' for v in values))}")
    for e in labels:
        out.extend(f"{c.field} says {c.state.value} while the label{_at(e)} claims Label "
                   f"\"{e.label_value}\" by {c.signer or '(empty)'}: {c.detail}"
                   for c in e.signatures if c.state.is_failure)
    for e in evidence:
        if e.kind is EvidenceKind.C2PA and e.record is not None:
            mine = (e.record.label, e.record.content_producer, e.record.produce_id)
            out.extend(f"the C2PA manifest's GB label (Label \"{mine[0]}\", {mine[1] or '(empty)'}"
                       f", ProduceID {mine[2] or '(empty)'}) differs from the file's{_at(lab)}"
                       for lab in labels if lab.record is not None and mine != (
                           lab.record.label, lab.record.content_producer,
                           lab.record.produce_id))
    weak_label = [e for e in labels if e.label_value in ("2", "3")]
    c2pa_ai = [e for e in evidence if e.kind is EvidenceKind.C2PA and e.claim.is_ai]
    if weak_label and c2pa_ai:
        out.append(f"a C2PA manifest claims AI generation while the GB label says Label "
                   f"\"{weak_label[0].label_value}\"; the stronger signal sets the verdict")
    return out


def _at(e: Evidence) -> str:
    return f" ({e.carrier})" if e.carrier else ""


def decide(evidence: Sequence[Evidence], declared: bool = False, *,
           trust_c2pa: bool = True, require_signature: bool = False) -> Decision:
    """Turn evidence and the uploader's declaration into the Art. 6 verdict.

    Args:
        evidence: everything the detectors found (declaration evidence counts as ``declared``).
        declared: the uploader declared the content AI-generated (Art. 6 (2)).
        trust_c2pa: let a Trusted C2PA AI claim confirm (rules §E.6, default on).
        require_signature: a Label "1" confirms only with a trusted producer signature.

    Pure: the same inputs always give the same :class:`~aiglabel.verify.model.Decision`.
    """
    contributions = tuple(contribution(e, trust_c2pa=trust_c2pa,
                                       require_signature=require_signature) for e in evidence)
    declared = declared or any(e.kind is EvidenceKind.DECLARATION for e in evidence)
    verdict = max((c for c in contributions if c is not None), default=Verdict.NONE)
    if declared:
        verdict = max(verdict, Verdict.POSSIBLY)
    keep_upstream = any(_usable_label(e) for e in evidence)
    if keep_upstream or verdict is Verdict.NONE:
        label_to_write = None
    else:
        label_to_write = "2" if declared else "3"
    return Decision(
        verdict=verdict,
        contributions=contributions,
        label_to_write=label_to_write,
        keep_upstream=keep_upstream,
        notice=NOTICES.get(verdict),
        warnings=tuple(_warnings(evidence, contributions)),
        contradictions=tuple(_contradictions(evidence, contributions)),
    )
