"""The C2PA detector: a file's manifest, validated offline, as evidence (generation-traces §4).

- **State** (:mod:`aiglabel.provenance.c2pa_read`): ``Trusted`` (the signer chains to an anchor
  in ``VerifyOptions.c2pa_anchors``) becomes integrity ``trusted``; ``Valid`` (sound, signer
  not trusted) ``intact``; ``Invalid`` ``invalid`` (possible tampering); ``Remote`` (the
  manifest lives elsewhere) is reported and never fetched: no network access, ever.
- **Claim**: the ``digitalSourceType`` of the active manifest's actions and of every manifest
  reached through its ingredients (an AI ingredient in an edited file counts):
  ``trainedAlgorithmicMedia`` is AI-generated, ``compositeWithTrainedAlgorithmicMedia`` (or an
  AI ingredient under a non-AI edit) AI-edited; capture, human-made and procedural
  ``algorithmicMedia`` types are non-AI claims; none at all is ``unknown``.
- The policy (:mod:`aiglabel.verify.policy`) lets a Trusted AI claim confirm and anything less
  suggest; a non-AI claim never lowers a verdict but is reported as a contradiction with a GB
  label, and so is a GB label carried in the manifest (``cn.org.tc260.aigc``) that differs
  from the file's own.

The detector looks for the JUMBF ``c2pa`` label (or an XMP provenance reference) in the
file's first and last 64 KiB (256 KiB at the head of a JPEG) before handing the file to
c2pa-python, so files without a manifest cost two small reads. It needs the ``c2pa`` extra;
without it the check is skipped with a warning.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from aiglabel._io import SourceIO
from aiglabel.verify.model import Claim, Evidence, EvidenceKind, Integrity, Verdict

if TYPE_CHECKING:
    from aiglabel._io import Source
    from aiglabel.provenance.c2pa_read import C2paReport
    from aiglabel.verify.pipeline import Context

__all__ = ["C2paDetector", "c2pa_evidence"]

_PROBE = 64 << 10  # bytes looked at at each end for a manifest marker
_JPEG_PROBE = 256 << 10
# Containers c2pa-rs embeds manifests in (generation-traces §4); others are not probed.
_FORMATS = frozenset({"jpeg", "png", "webp", "tiff", "gif", "heif", "mp3", "wav", "flac", "mp4",
                      "avi", "pdf"})
_MARKERS = (b"c2pa", b"dcterms:provenance")
_INTEGRITY = {"Trusted": Integrity.TRUSTED, "Valid": Integrity.INTACT,
              "Invalid": Integrity.INVALID, "Remote": Integrity.UNCHECKED}


def _has_marker(src: Source, codec: str) -> bool:
    """A manifest marker near either end (JPEG: APP11 may follow 128 KiB of EXIF and XMP)."""
    size = _JPEG_PROBE if codec == "jpeg" else _PROBE
    head = src.read_upto(0, size)
    tail = src.read_upto(max(size, src.size - _PROBE), _PROBE) if src.size > size else b""
    return any(m in head or m in tail for m in _MARKERS)


def _claim(report: C2paReport) -> tuple[Claim, str]:
    """The claim and a phrase naming the source types that make it."""
    from aiglabel.verify.traces import source_type_claim

    def code(uri: str) -> str:
        return uri.rstrip("/").rsplit("/", 1)[-1]

    active = [(t, source_type_claim(t)) for t in report.source_types]
    ingredients = [(t, source_type_claim(t)) for t in report.ingredient_source_types]
    for uri, claim in active:
        if claim == "ai-generated":
            return Claim.AI_GENERATED, f"digitalSourceType {code(uri)}"
    for uri, claim in active:
        if claim == "ai-edited":
            return Claim.AI_EDITED, f"digitalSourceType {code(uri)}"
    for uri, claim in ingredients:
        if claim in ("ai-generated", "ai-edited"):
            return Claim.AI_EDITED, f"an ingredient's digitalSourceType {code(uri)}"
    for uri, claim in active:
        if claim == "not-ai":
            return Claim.NOT_AI, f"digitalSourceType {code(uri)} (not an AI claim)"
    return Claim.UNKNOWN, "no AI digitalSourceType"


def c2pa_evidence(report: C2paReport, detector: str = "c2pa") -> Evidence:
    """Turn a :class:`~aiglabel.provenance.c2pa_read.C2paReport` into evidence (its GB label,
    when the manifest carries one, as ``record`` for the contradiction check)."""
    from aiglabel.gb45438 import parse_label

    full = report.to_dict()
    manifest = {k: full[k] for k in ("state", "validation_codes", "signer", "issuer",
                                     "source_types", "ingredient_source_types", "remote_url")}
    if report.state == "Remote":
        return Evidence(EvidenceKind.C2PA, detector, Claim.UNKNOWN,
                        f"remote C2PA manifest at {report.remote_url or '?'}: not fetched (no "
                        "network access), nothing validated", "c2pa:remote",
                        integrity=Integrity.UNCHECKED, tier=2, manifest=manifest)
    claim, why = _claim(report)
    signer = report.signer or report.issuer or "unknown signer"
    detail = f"C2PA manifest, {report.state}, signed by {signer}: {why}"
    if report.claim_generator:
        detail += f"; claim generator {report.claim_generator}"
    if report.state != "Trusted" and report.validation_codes:
        detail += f"; {', '.join(report.validation_codes[:3])}"
    record = None
    if report.gb_label is not None:
        record = parse_label(report.gb_label).record
        detail += "; carries a GB 45438 label"
    return Evidence(EvidenceKind.C2PA, detector, claim, detail, f"c2pa:{report.mime or '?'}",
                    record=record, integrity=_INTEGRITY[report.state], tier=2,
                    manifest=manifest)


class C2paDetector:
    """C2PA manifests (see the module docstring): confirmed when Trusted and AI."""

    name = "c2pa"
    ceiling = Verdict.CONFIRMED
    expensive = False  # runs even on confirmed files: its contradictions are reported

    def applies(self, ctx: Context) -> bool:
        return (ctx.codec is not None and ctx.codec.name in _FORMATS
                and _has_marker(ctx.src, ctx.codec.name))

    def detect(self, ctx: Context) -> list[Evidence]:
        try:
            from aiglabel.provenance.c2pa_read import read_c2pa
        except ImportError:
            ctx.warn("C2PA check skipped: c2pa-python is not installed (extra 'c2pa')")
            return []
        if ctx.src.size > ctx.options.max_hash_bytes:
            ctx.warn(f"C2PA check skipped: file larger than {ctx.options.max_hash_bytes} bytes")
            return []
        stream = io.BufferedReader(SourceIO(ctx.src), buffer_size=1 << 20)
        report = read_c2pa(stream, anchors_pem=ctx.options.c2pa_anchors, name=ctx.path,
                           trust_config=ctx.options.c2pa_trust_config)
        return [] if report is None else [c2pa_evidence(report, self.name)]
