"""The platform write-back (Measures Art. 6, rules §E.2, §E.3): propagation fields into the file.

:func:`propagate` verifies the file, then rewrites its single GB label:

- an upstream label that can be used is kept: ``Label``, ``ContentProducer``, ``ProduceID``
  and ``ReservedCode1`` keep their values exactly; ``ContentPropagator`` and ``PropagateID``
  become the platform's, and ``ReservedCode2`` (the propagator's security-data slot) is
  replaced by the platform's value, empty by default, since an earlier platform's signature
  cannot cover the new fields;
- with no usable label, a new one is created with ``Label`` ``"2"`` (the uploader declared AI
  content) or ``"3"`` (suspected from traces or an explicit mark), empty producer fields
  (rules §E.3: a platform does not invent a producer) and the platform's fields;
- a file whose verdict is ``none`` is refused with :class:`~aiglabel.errors.NothingToLabelError`.

Every other carrier's AIGC label is removed by the same write, so exactly one label remains
(GB 6.1 c)); the write is lossless and atomic like :func:`aiglabel.label`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aiglabel._api import LabelResult, write_label
from aiglabel.errors import (
    CorruptFileError,
    InvalidLabelError,
    NothingToLabelError,
    UnsupportedFormatError,
)
from aiglabel.gb45438 import AIGCRecord, check, new_produce_id
from aiglabel.model import Severity
from aiglabel.verify.model import EvidenceKind, Verdict, VerifyReport
from aiglabel.verify.pipeline import DEFAULT_OPTIONS, VerifyOptions, verify

if TYPE_CHECKING:
    from aiglabel._io import DurableBatch
    from aiglabel.registry import Registry
    from aiglabel.signing import LabelSigner

__all__ = ["PropagateResult", "propagate", "propagation_record"]

_PLATFORM_FIELDS = ("ContentPropagator", "PropagateID", "ReservedCode2")


@dataclass(frozen=True, slots=True)
class PropagateResult:
    """What :func:`propagate` did.

    Attributes:
        report: the verification of the input, before the write.
        record: the label written.
        created: a new label was created (no usable upstream label).
        written: the write's details (destination, carrier, removed carriers).
    """

    report: VerifyReport
    record: AIGCRecord
    created: bool
    written: LabelResult


def _check_platform_fields(record: AIGCRecord) -> None:
    problems = [f.message for f in check(record)
                if f.severity is Severity.ERROR and f.message.startswith(_PLATFORM_FIELDS)]
    if problems:
        raise InvalidLabelError("; ".join(problems))


def propagation_record(report: VerifyReport, platform: str, propagate_id: str,
                       reserved_code2: str = "") -> tuple[AIGCRecord, bool]:
    """The label a platform writes for a verified file: ``(record, created)``.

    Raises:
        NothingToLabelError: the verdict is ``none``.
        InvalidLabelError: the platform's code or id breaks Annex E.
    """
    upstream = None
    best = -1
    for e, c in zip(report.evidence, report.contributions, strict=False):
        if (e.kind is EvidenceKind.IMPLICIT and e.record is not None
                and e.label_value in ("1", "2", "3") and c is not None and c.rank > best):
            upstream, best = e.record, c.rank
    if upstream is not None:
        record = replace(upstream, content_propagator=platform, propagate_id=propagate_id,
                         reserved_code2=reserved_code2)
        created = False
    elif report.verdict is Verdict.NONE or report.label_to_write is None:
        msg = ("verdict is none (no label, no declaration, no AI trace or explicit mark): "
               "refusing to invent a label; pass --declared if the uploader declared AI content")
        raise NothingToLabelError(msg, path=report.path)
    else:
        record = AIGCRecord(label=report.label_to_write, content_producer="", produce_id="",
                            content_propagator=platform, propagate_id=propagate_id,
                            reserved_code2=reserved_code2)
        created = True
    _check_platform_fields(record)
    return record, created


def _refuse_countersigning(report: VerifyReport, path: str) -> None:
    """A platform never signs over a label whose producer signature failed: its signature
    covers ReservedCode1 and would vouch for a tampered label.

    Raises:
        InvalidLabelError: naming the failed field and state.
    """
    for e in report.evidence:
        for sig in e.signatures:
            if sig.state.is_failure:
                msg = (f"refusing to sign: the label's {sig.field} signature is "
                       f"{sig.state.value} ({sig.detail})")
                raise InvalidLabelError(msg, path=path)


def propagate(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None = None,
    *,
    platform: str,
    propagate_id: str | None = None,
    declared: bool = False,
    reserved_code2: str = "",
    in_place: bool = False,
    overwrite: bool = False,
    options: VerifyOptions = DEFAULT_OPTIONS,
    registry: Registry | None = None,
    sign: LabelSigner | None = None,
    batch: DurableBatch | None = None,
) -> PropagateResult:
    """Verify ``src`` and write the platform's propagation fields into its single label.

    Args:
        src: the uploaded file.
        dst: the output path (a new file); ``None`` with ``in_place=True``.
        platform: the platform's 27-character provider code (``ContentPropagator``).
        propagate_id: the platform's content number; a new UUIDv4 when omitted.
        declared: the uploader declared the content AI-generated (Art. 6 (2)).
        reserved_code2: the platform's security data for ``ReservedCode2`` (default empty).
        in_place: replace ``src`` atomically.
        overwrite: allow replacing an existing ``dst``.
        sign: sign ``ReservedCode2`` with the platform's key (a
            :class:`~aiglabel.signing.LabelSigner` with ``role="platform"``): the signature
            covers fields 1-6, so the producer's fields and signature too.
        batch: in place, make the rewritten file durable together with others through this
            :class:`~aiglabel._io.DurableBatch` (see :func:`aiglabel.label`).

    Raises:
        NothingToLabelError: the verdict is ``none``; nothing is written.
        UnsupportedFormatError, CorruptFileError, LimitExceededError: the file cannot be
            verified or written.
        InvalidLabelError: the platform's fields, or an upstream label that must be kept
            as it is, break Annex E.
        OutputError: the destination cannot be written.
    """
    if sign is not None and sign.role != "platform":
        msg = "a platform signs ReservedCode2: the signer's role must be platform"
        raise InvalidLabelError(msg, path=os.fspath(src))
    report = verify(src, declared=declared, options=options, registry=registry)
    if report.errors:
        reason = report.errors[0].removeprefix(f"{report.path}: ")
        error = UnsupportedFormatError if report.format is None else CorruptFileError
        raise error(reason, path=os.fspath(src))
    if sign is not None:
        _refuse_countersigning(report, os.fspath(src))
    pid = propagate_id if propagate_id is not None else new_produce_id()
    record, created = propagation_record(report, platform, pid, reserved_code2)
    try:
        written = write_label(src, dst, record, in_place=in_place, overwrite=overwrite,
                              registry=registry, sign=sign, batch=batch)
    except InvalidLabelError as exc:
        if created:
            raise
        msg = (f"the upstream label breaks GB 45438 Annex E ({exc.message}); its producer "
               "fields must be kept as they are, so it cannot be rewritten")
        raise InvalidLabelError(msg, path=os.fspath(src)) from None
    return PropagateResult(report, written.record, created, written)
