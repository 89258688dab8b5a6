"""The library API: read, inspect and write implicit labels (file, bytes and stream forms)."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from aiglabel._io import (
    DurableBatch,
    EditPlan,
    Source,
    atomic_output,
    emit,
    open_regular,
    parse_errors,
)
from aiglabel._patch import apply_patch
from aiglabel.codecs.base import CarrierInfo, FoundLabel
from aiglabel.errors import (
    CarrierUnsupportedError,
    CorruptFileError,
    LimitExceededError,
    OutputError,
)
from aiglabel.gb45438 import AIGCRecord, validate
from aiglabel.model import Finding, Severity
from aiglabel.registry import Registry, default_registry

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from aiglabel.codecs.base import CodecBase
    from aiglabel.explicit.files import ExplicitLabel
    from aiglabel.explicit.text import TextNotice
    from aiglabel.provenance.step import C2paOptions
    from aiglabel.signing import LabelSigner

__all__ = [
    "FileInput",
    "Inspection",
    "LabelResult",
    "detect_format",
    "essence_digest",
    "inspect",
    "label",
    "label_bytes",
    "label_stream",
    "read_labels",
]

FileInput = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO


def _registry(registry: Registry | None) -> Registry:
    return registry if registry is not None else default_registry


@contextlib.contextmanager
def _open_source(file: FileInput, name: str | None = None) -> Iterator[Source]:
    if isinstance(file, bytes | bytearray | memoryview):
        yield Source(io.BytesIO(bytes(file)), name=name or "<bytes>")
    elif isinstance(file, str | os.PathLike):
        path = os.fspath(file)
        display = name or path
        try:
            f = open_regular(path, display)
        except FileNotFoundError:
            msg = "no such file"
            raise CorruptFileError(msg, path=display) from None
        except IsADirectoryError:
            msg = "is a directory"
            raise CorruptFileError(msg, path=display) from None
        except PermissionError:
            msg = "permission denied"
            raise CorruptFileError(msg, path=display) from None
        with f:
            yield Source(f, name=display)
    else:
        yield Source(file, name=name or getattr(file, "name", None) or "<stream>")


def _hint(file: FileInput, name: str | None) -> str | None:
    if name:
        return name
    if isinstance(file, str | os.PathLike):
        return os.fspath(file)
    return getattr(file, "name", None) if not isinstance(file, bytes | bytearray) else None


def detect_format(file: FileInput, *, name: str | None = None,
                  registry: Registry | None = None) -> str:
    """Return the codec name for a file, judged by its bytes (the extension breaks ties).

    Raises:
        UnsupportedFormatError: no codec recognises the bytes.
    """
    with _open_source(file, name) as src, parse_errors(src.name):
        return _registry(registry).identify(src, _hint(file, name)).name


def read_labels(file: FileInput, *, name: str | None = None,
                registry: Registry | None = None) -> list[FoundLabel]:
    """Return every AIGC label in a file (duplicates included), ``[]`` when there is none.

    Args:
        file: a path, the file's bytes, or a seekable binary stream.
        name: display name / extension hint for bytes and streams.

    Raises:
        UnsupportedFormatError: the format is not supported.
        CorruptFileError: the container is damaged where the labels would be.
    """
    with _open_source(file, name) as src, parse_errors(src.name):
        codec = _registry(registry).identify(src, _hint(file, name))
        return codec.read_labels(src)


@dataclass(frozen=True, slots=True)
class Inspection:
    """Everything ``inspect`` found in one file.

    Attributes:
        path: the file's path or display name.
        format: the codec name.
        size: file size in bytes.
        labels: every label found, in file order.
        findings: file-level findings plus every label's findings (rules §G).
        status: ``compliant``, ``noncompliant`` or ``not_found`` (rules §G aggregate).
        bytes_read: bytes the reader pulled from the file (header-only proof).
    """

    path: str | None
    format: str
    size: int
    labels: tuple[FoundLabel, ...]
    findings: tuple[Finding, ...]
    status: str
    bytes_read: int

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready mapping with the keys ``path``, ``format``, ``labels``, ..."""
        return {
            "path": self.path,
            "format": self.format,
            "size": self.size,
            "status": self.status,
            "labels": [label.to_dict() for label in self.labels],
            "findings": [f.to_dict() for f in self.findings],
            "bytes_read": self.bytes_read,
        }


def _file_findings(codec: CodecBase, labels: list[FoundLabel], hint: str | None) -> list[Finding]:
    out: list[Finding] = []
    if hint:
        suffix = Path(hint).suffix.lower()
        if suffix and suffix not in codec.extensions:
            out.append(Finding("G1.extension", Severity.INFO,
                               f"extension {suffix!r} does not match the {codec.name} content"))
    if len(labels) > 1:
        # GB 6.1 c): only one metadata label may remain, even when the copies agree.
        out.append(Finding("G4.multiple-labels", Severity.ERROR,
                           f"{len(labels)} AIGC labels found; GB 6.1 c) allows one"))
        records = {lb.record for lb in labels}
        if len(records) > 1:
            out.append(Finding("G4.conflicting-labels", Severity.ERROR,
                               "the AIGC labels differ in content"))
    primary = codec.carriers[0].carrier if codec.carriers else None
    if labels and primary and all(lb.carrier != primary for lb in labels):
        roles = {_carrier_info(codec, lb.carrier).role for lb in labels}
        if roles == {"alternative"}:
            out.append(Finding("G3.carrier", Severity.INFO,
                               f"label only in a guide-listed alternative carrier, not {primary}"))
        else:
            out.append(Finding("G3.carrier", Severity.WARNING,
                               f"label only in a carrier no guide lists, not {primary}"))
    return out


def _carrier_info(codec: CodecBase, carrier: str) -> CarrierInfo:
    for info in codec.carriers:
        if info.matches(carrier):
            return info
    return CarrierInfo(carrier, "read", form=None)


def _with_findings(found: FoundLabel, extra: list[Finding]) -> FoundLabel:
    if not extra:
        return found
    return FoundLabel(found.carrier, found.form, found.record, found.raw,
                      (*found.findings, *extra), found.offset)


def _form_findings(codec: CodecBase, found: FoundLabel) -> list[Finding]:
    # rules §G 8 / §B.7: the form differs from the one the guide gives for this carrier (W).
    expected = _carrier_info(codec, found.carrier).form
    if expected is None or found.form is None or found.form == expected:
        return []
    return [Finding("G8.form", Severity.WARNING,
                    f"label stored in {found.form} form; the guide gives {expected} here",
                    found.carrier)]


def inspect(file: FileInput, *, name: str | None = None,
            registry: Registry | None = None) -> Inspection:
    """Read every label in a file and check it against GB 45438 (rules §G, metadata items).

    Raises:
        UnsupportedFormatError: the format is not supported.
        CorruptFileError: the container is damaged where the labels would be.
    """
    with _open_source(file, name) as src, parse_errors(src.name):
        hint = _hint(file, name)
        return inspect_source(src, _registry(registry).identify(src, hint), hint)


def inspect_source(src: Source, codec: CodecBase, hint: str | None = None) -> Inspection:
    """:func:`inspect` for an open source whose codec is known (used by the verifier)."""
    labels = [_with_findings(lb, _form_findings(codec, lb)) for lb in codec.read_labels(src)]
    findings = _file_findings(codec, labels, hint)
    for lb in labels:
        findings.extend(lb.findings)
    findings.extend(codec.container_findings(src))
    if not labels:
        status = "not_found"
    elif any(f.severity is Severity.ERROR for f in findings):
        status = "noncompliant"
    else:
        status = "compliant"
    return Inspection(src.name, codec.name, src.size, tuple(labels), tuple(findings),
                      status, src.bytes_read)


def essence_digest(file: FileInput, *, name: str | None = None,
                   registry: Registry | None = None) -> str:
    """Return the essence digest (``sha256:<hex>`` of the payload without metadata).

    Reads the whole essence; a label write never changes it.
    """
    with _open_source(file, name) as src, parse_errors(src.name):
        return _registry(registry).identify(src, _hint(file, name)).essence_digest(src)


@dataclass(frozen=True, slots=True)
class LabelResult:
    """What a label write did."""

    source: str | None
    destination: str | None
    format: str
    carrier: str
    removed: tuple[str, ...]
    bytes_written: int
    record: AIGCRecord
    warnings: tuple[str, ...] = field(default=())
    patched: bool = False  # in place, only the changed bytes written (aiglabel._patch)
    notice: str | None = None  # the explicit text notice added first (aiglabel.explicit)
    c2pa: str | None = None  # the C2PA manifest signed last (aiglabel.provenance.step)


def label_stream(src: BinaryIO, dst: BinaryIO, record: AIGCRecord, *, name: str | None = None,
                 registry: Registry | None = None, sign: LabelSigner | None = None,
                 ) -> LabelResult:
    """Write ``src`` with ``record`` as its single implicit label to the stream ``dst``.

    ``src`` must be seekable; ``dst`` only needs ``write``. Nothing is decoded or re-encoded.

    Raises:
        InvalidLabelError: the record breaks GB 45438 Annex E.
        UnsupportedFormatError, CorruptFileError: the input cannot be labelled.
    """
    validate(record)
    source = Source(src, name=name or getattr(src, "name", None) or "<stream>")
    with parse_errors(source.name):
        codec = _registry(registry).identify(source, name)
        record = _signed(record, codec, source, sign)
        plan = codec.plan_write(source, record)
        written = emit(plan, source, dst)
    return LabelResult(source.name, None, codec.name, plan.carrier, tuple(plan.removed), written,
                       record)


def label_bytes(data: bytes, record: AIGCRecord, *, name: str | None = None,
                registry: Registry | None = None, sign: LabelSigner | None = None) -> bytes:
    """Return ``data`` with ``record`` as its single implicit label (no temporary files)."""
    out = io.BytesIO()
    label_stream(io.BytesIO(data), out, record, name=name or "<bytes>", registry=registry,
                 sign=sign)
    return out.getvalue()


def label(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None,
    record: AIGCRecord,
    *,
    in_place: bool = False,
    overwrite: bool = False,
    registry: Registry | None = None,
    notice: TextNotice | ExplicitLabel | None = None,
    txt_carrier: str | None = None,
    sign: LabelSigner | None = None,
    c2pa: C2paOptions | None = None,
    progress: Callable[[float], None] | None = None,
    batch: DurableBatch | None = None,
) -> LabelResult:
    """Label a file: write ``dst`` (a new file), or replace ``src`` atomically with ``in_place``.

    The output is written to a temporary file in the destination folder and renamed into place
    only when complete; on any error no output remains and ``src`` is untouched. In place, the
    temporary file is fsynced before the rename and the folder after it — unless the codec can
    patch the file where it is (padding with room for the label): then only the changed bytes
    are written, ordered so that a crash at any point leaves the old or the new label
    (:mod:`aiglabel._patch`), and ``LabelResult.patched`` is true.

    Args:
        src: the input file.
        dst: the output path; ``None`` with ``in_place=True``.
        record: the label; validated against Annex E first.
        in_place: replace ``src`` atomically.
        overwrite: allow replacing an existing ``dst``.
        notice: also add the explicit label first (:mod:`aiglabel.explicit.files`: the text
            notice, the image label, the audio cue, or the video label burnt in); text,
            pictures and audio are read whole (at most ``NOTICE_MAX_BYTES``), video is
            streamed. ``LabelResult.notice`` says what was added.
        txt_carrier: for plain text, which has no metadata area (rules §C.5): ``"sidecar"``
            (the text untouched, ``<dst>.aigc.json`` beside it) or ``"frontmatter"`` (a
            Markdown front matter at its head); without it plain text is refused
            (:class:`~aiglabel.errors.PlainTextError`).
        sign: sign the label (:class:`aiglabel.signing.LabelSigner`: the producer's
            ReservedCode1 or a platform's ReservedCode2, optionally bound to the essence
            digest of what is written, after any explicit label).
        c2pa: sign a C2PA manifest as the last step, over the labelled file
            (:class:`aiglabel.provenance.step.C2paOptions`; the ``c2pa`` extra).
        progress: called with the fraction done during long work (burning a video label).
        batch: in place, let this :class:`~aiglabel._io.DurableBatch` make the rewritten file
            durable together with others (one filesystem sync per batch instead of an fsync
            per file); the file is replaced when the batch commits. Crash-safe patches and
            explicit labels are still made durable one by one.

    Raises:
        InvalidLabelError: the record breaks GB 45438 Annex E, or the notice rules §A.0.
        OutputError: no destination, destination equals the source, or it exists.
        UnsupportedFormatError, CorruptFileError: the input cannot be labelled.
        CarrierUnsupportedError: a notice for a format without text.
    """
    validate(record)
    if txt_carrier not in TXT_CARRIERS:
        msg = f"plain-text carrier {txt_carrier!r} is not one of sidecar, frontmatter"
        raise CarrierUnsupportedError(msg, path=os.fspath(src))
    if c2pa is not None:
        from aiglabel.provenance.step import label_with_c2pa

        return label_with_c2pa(src, dst, record, c2pa, in_place=in_place, overwrite=overwrite,
                               registry=registry, notice=notice, txt_carrier=txt_carrier,
                               sign=sign, progress=progress)
    if notice is not None:
        return _label_with_notice(Path(src), dst, record, notice, in_place=in_place,
                                  overwrite=overwrite, registry=registry,
                                  txt_carrier=txt_carrier, sign=sign, progress=progress)
    return write_label(src, dst, record, in_place=in_place, overwrite=overwrite,
                       registry=registry, txt_carrier=txt_carrier, sign=sign, batch=batch)


TXT_CARRIERS = (None, "sidecar", "frontmatter")


def _signed(record: AIGCRecord, codec: CodecBase, source: Source,
            sign: LabelSigner | None) -> AIGCRecord:
    """``record`` signed as ``sign`` asks (the essence digest read only when it binds)."""
    if sign is None:
        return record
    return sign.sign(record, lambda: codec.essence_digest(source))


def _plan_for(codec: CodecBase, source: Source, record: AIGCRecord,
              txt_carrier: str | None) -> tuple[EditPlan, bytes | None]:
    """The codec's plan; for plain text with an opt-in carrier (rules §C.5), the Markdown
    front-matter plan, or a copy of the text plus the sidecar bytes to write beside it."""
    if codec.name != "text" or txt_carrier is None:
        return codec.plan_write(source, record), None
    if txt_carrier == "frontmatter":
        from aiglabel.codecs.markdown import MarkdownCodec

        return MarkdownCodec().plan_write(source, record), None
    from aiglabel.codecs.text import SIDECAR_CARRIER, sidecar_bytes

    plan = EditPlan(carrier=SIDECAR_CARRIER)
    plan.copy(0, source.size)
    return plan, sidecar_bytes(record)


def _write_sidecar(dst_path: Path, data: bytes, *, durable: bool) -> int:
    from aiglabel.codecs.text import sidecar_path

    with atomic_output(Path(sidecar_path(dst_path)), overwrite=True, durable=durable) as out:
        out.write(data)
    return len(data)


NOTICE_MAX_BYTES = 256 << 20  # text, pictures and audio get their explicit label in memory


def _label_with_notice(src: Path, dst: str | os.PathLike[str] | None, record: AIGCRecord,
                       notice: TextNotice | ExplicitLabel, *, in_place: bool, overwrite: bool,
                       registry: Registry | None, txt_carrier: str | None,
                       sign: LabelSigner | None = None,
                       progress: Callable[[float], None] | None = None) -> LabelResult:
    from aiglabel.explicit.files import (
        VIDEO_CONTAINERS,
        ExplicitLabel,
        add_explicit_label,
        has_video,
    )

    explicit = notice if isinstance(notice, ExplicitLabel) else ExplicitLabel(
        notice.wording, notice.position, notice.font_path)
    dst_path = _destination(src, dst, in_place=in_place)
    _writable(dst_path, overwrite=overwrite or in_place)  # before the explicit-label work
    with _open_source(src) as probe, parse_errors(probe.name):
        kind = _registry(registry).identify(probe, str(src)).name
    if kind in VIDEO_CONTAINERS and has_video(src):
        return _label_video(src, dst_path, record, explicit, in_place=in_place,
                            overwrite=overwrite, registry=registry, sign=sign,
                            progress=progress)
    size = src.stat().st_size
    if size > NOTICE_MAX_BYTES:
        msg = f"{size} bytes is too large to add an explicit label to (limit {NOTICE_MAX_BYTES})"
        raise LimitExceededError(msg, path=str(src))
    with parse_errors(str(src)):
        noticed = add_explicit_label(src.read_bytes(), explicit, name=str(src))
        source = Source.from_bytes(noticed, str(src))
        codec = _registry(registry).identify(source, str(src))
        record = _signed(record, codec, source, sign)
        plan, sidecar = _plan_for(codec, source, record, txt_carrier)
        with atomic_output(dst_path, overwrite=overwrite or in_place, durable=in_place,
                           mode_from=src) as out:
            written = emit(plan, source, out)
        if sidecar is not None:
            written += _write_sidecar(dst_path, sidecar, durable=in_place)
    return LabelResult(str(src), str(dst_path), codec.name, plan.carrier, tuple(plan.removed),
                       written, record, notice=explicit.wording)


def _label_video(src: Path, dst_path: Path, record: AIGCRecord, explicit: ExplicitLabel, *,
                 in_place: bool, overwrite: bool, registry: Registry | None,
                 sign: LabelSigner | None,
                 progress: Callable[[float], None] | None = None) -> LabelResult:
    """Burn the label into a video (streamed through an unnamed temporary file in the
    destination folder, gone on any failure), then write the implicit label from it."""
    import tempfile

    from aiglabel.explicit.files import add_explicit_video

    with tempfile.TemporaryFile(dir=dst_path.parent, prefix=".aiglabel-video-") as tmp:
        report = add_explicit_video(src, tmp, explicit, name=str(src), progress=progress)
        tmp.seek(0)
        source = Source(tmp, name=str(src))
        with parse_errors(str(src)):
            codec = _registry(registry).identify(source, str(src))
            record = _signed(record, codec, source, sign)
            plan = codec.plan_write(source, record)
            with atomic_output(dst_path, overwrite=overwrite or in_place, durable=in_place,
                               mode_from=src) as out:
                written = emit(plan, source, out)
    check = report.check
    shown = (f"{explicit.video_label().wording} for {check.opening_seconds:g} s "
             f"({check.opening_frames} frames)")
    return LabelResult(str(src), str(dst_path), codec.name, plan.carrier, tuple(plan.removed),
                       written, record, warnings=report.warnings, notice=shown)


def _writable(dst_path: Path, *, overwrite: bool) -> None:
    """Fail early, before long work, when ``dst_path`` cannot be written: no folder, or an
    existing file without ``overwrite`` (checked again when the output is linked).

    Raises:
        OutputError: naming the destination.
    """
    if not dst_path.parent.is_dir():
        msg = f"output folder {dst_path.parent} does not exist"
        raise OutputError(msg, path=str(dst_path))
    if not overwrite and dst_path.exists():
        msg = "output exists (use --overwrite or --in-place)"
        raise OutputError(msg, path=str(dst_path))


def _destination(src_path: Path, dst: str | os.PathLike[str] | None, *, in_place: bool) -> Path:
    if in_place:
        return src_path
    if dst is None:
        msg = "no output path given (pass dst or in_place=True)"
        raise OutputError(msg, path=str(src_path))
    dst_path = Path(dst)
    if dst_path.exists() and src_path.exists() and os.path.samefile(src_path, dst_path):
        msg = "output is the input file; use in_place=True (--in-place) to modify it"
        raise OutputError(msg, path=str(dst_path))
    return dst_path


def write_label(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None,
    record: AIGCRecord,
    *,
    in_place: bool = False,
    overwrite: bool = False,
    registry: Registry | None = None,
    txt_carrier: str | None = None,
    sign: LabelSigner | None = None,
    batch: DurableBatch | None = None,
) -> LabelResult:
    """:func:`label` without the up-front validation (the codecs still serialize strictly).

    For callers that validate part of the record themselves, as the platform write-back does:
    it checks the platform's fields and must keep the producer's fields as they are.
    """
    src_path = Path(src)
    dst_path = _destination(src_path, dst, in_place=in_place)
    with _open_source(src_path) as source, parse_errors(source.name):
        codec = _registry(registry).identify(source, str(src_path))
        record = _signed(record, codec, source, sign)
        patch = codec.plan_patch(source, record) if in_place else None
        if patch is None:
            plan, sidecar = _plan_for(codec, source, record, txt_carrier)
            written = 0
            if sidecar is None or not in_place:  # in place, a sidecar leaves the text alone
                with atomic_output(dst_path, overwrite=overwrite or in_place, durable=in_place,
                                   mode_from=src_path, batch=batch if in_place else None
                                   ) as out:
                    written = emit(plan, source, out)
            if sidecar is not None:
                written += _write_sidecar(dst_path, sidecar, durable=in_place)
            return LabelResult(str(src_path), str(dst_path), codec.name, plan.carrier,
                               tuple(plan.removed), written, record)
        size = source.size
    # Padding had room: write only the changed bytes, crash-safe (aiglabel._patch).
    written = apply_patch(src_path, patch, expected_size=size)
    return LabelResult(str(src_path), str(dst_path), codec.name, patch.carrier,
                       tuple(patch.removed), written, record, patched=True)
