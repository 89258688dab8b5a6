"""``aiglabel label``: write the GB 45438 implicit label into files, losslessly.

Output layout: a file argument goes to ``OUTDIR/<file name>``; a file found under a folder
argument goes to ``OUTDIR/<its path relative to that folder>``, so the folder's tree is mirrored.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path  # noqa: TC003  (typer reads the annotations at run time)
from typing import TYPE_CHECKING, Annotated

import typer

from aiglabel import (
    AIGCRecord,
    InvalidLabelError,
    LabelResult,
    label,
    new_produce_id,
)
from aiglabel._io import DurableBatch
from aiglabel.cli._common import (
    EXIT_FAILED,
    BindContentOption,
    FileProgress,
    InPlaceOption,
    Job,
    Outcome,
    OutputOption,
    OverwriteOption,
    QuietOption,
    Reporter,
    SignKeyOption,
    VerboseOption,
    check_output_mode,
    expand_paths,
    guard,
    load_signer,
    output_key,
    report,
    report_expansion,
    unique_files,
    write_mirrored,
)
from aiglabel.cli._parallel import JobRunner, WorkersOption, pick_workers
from aiglabel.config import PRODUCER_ENV, default_producer
from aiglabel.explicit.files import ExplicitLabel
from aiglabel.explicit.text import DEFAULT_NOTICE
from aiglabel.gb45438 import validate

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiglabel.provenance.step import C2paOptions
    from aiglabel.signing import LabelSigner

__all__ = ["label_command"]


def _label_one(
    src: Path, dst: Path | None, record: AIGCRecord, *, in_place: bool, overwrite: bool,
    notice: ExplicitLabel | None = None, txt_carrier: str | None = None,
    sign: LabelSigner | None = None, c2pa: C2paOptions | None = None,
    progress: Callable[[float], None] | None = None, batch: DurableBatch | None = None,
) -> LabelResult:
    """Label one file, creating the output's parent folders only when they are needed."""
    call = functools.partial(label, record=record, notice=notice, txt_carrier=txt_carrier,
                             sign=sign, c2pa=c2pa, progress=progress)
    if in_place or dst is None:
        return call(src, None, in_place=True, batch=batch)
    return write_mirrored(dst, lambda out: call(src, out, overwrite=overwrite))


def _explicit_label(explicit: bool, wording: str | None, position: str | None,
                    font: Path | None = None, *, seconds: float | None = None,
                    persistent: bool = False, crf: int | None = None, voice: bool = False,
                    voice_clip: Path | None = None,
                    rhythm: tuple[float | None, float | None, float | None] = (None, None, None),
                    corner: str | None = None) -> ExplicitLabel | None:
    """The explicit label ``--explicit`` asks for; the other explicit options need it."""
    options = (("--notice", wording), ("--notice-position", position), ("--font", font),
               ("--label-corner", corner),
               ("--label-seconds", seconds), ("--persistent-label", persistent or None),
               ("--video-crf", crf), ("--voice", voice or None), ("--voice-clip", voice_clip),
               ("--rhythm-unit-ms", rhythm[0]), ("--rhythm-hz", rhythm[1]),
               ("--rhythm-db", rhythm[2]))
    if not explicit:
        given = [o for o, v in options if v is not None]
        if given:
            msg = "needs --explicit"
            raise typer.BadParameter(msg, param_hint=f"'{given[0]}'")
        return None
    for option, path in (("--font", font), ("--voice-clip", voice_clip)):
        if path is not None and not path.is_file():
            msg = f"no such file: {path}"
            raise typer.BadParameter(msg, param_hint=f"'{option}'")
    try:
        return ExplicitLabel(
            wording if wording is not None else DEFAULT_NOTICE, position,
            str(font) if font is not None else None, corner=corner,
            seconds=seconds if seconds is not None else 2.5, persistent=persistent, crf=crf,
            audio_cue="voice" if voice or voice_clip is not None else "rhythm",
            voice_clip=str(voice_clip) if voice_clip is not None else None,
            rhythm_unit_ms=rhythm[0], rhythm_frequency=rhythm[1], rhythm_level_db=rhythm[2])
    except InvalidLabelError as exc:
        text = exc.message
        option = next((o for key, o in (("position", "--notice-position"),
                                        ("duration", "--label-seconds"),
                                        ("crf", "--video-crf"), ("voice", "--voice-clip"),
                                        ("rhythm unit", "--rhythm-unit-ms"),
                                        ("rhythm tone", "--rhythm-hz"),
                                        ("rhythm level", "--rhythm-db"),
                                        ("corner", "--label-corner"))
                       if key in text), "--notice")
        raise typer.BadParameter(text, param_hint=f"'{option}'") from None


def _c2pa_options(c2pa: bool, cert: Path | None, key: Path | None,
                  edit: bool) -> C2paOptions | None:
    """The C2PA signing ``--c2pa`` asks for; its options need it, and it needs them."""
    if not c2pa:
        given = [o for o, v in (("--c2pa-cert", cert), ("--c2pa-key", key),
                                ("--c2pa-edit", edit or None)) if v is not None]
        if given:
            msg = "needs --c2pa"
            raise typer.BadParameter(msg, param_hint=f"'{given[0]}'")
        return None
    for option, path in (("--c2pa-cert", cert), ("--c2pa-key", key)):
        if path is None:
            msg = f"--c2pa needs {option} (aiglabel keys init --c2pa makes development ones)"
            raise typer.BadParameter(msg, param_hint=f"'{option}'")
        if not path.is_file():
            msg = f"no such file: {path}"
            raise typer.BadParameter(msg, param_hint=f"'{option}'")
    import importlib.util

    if importlib.util.find_spec("c2pa") is None:
        msg = "C2PA signing needs the 'c2pa' extra (pip install 'aiglabel[c2pa]')"
        raise typer.BadParameter(msg, param_hint="'--c2pa'")
    from aiglabel.provenance.step import C2paOptions

    return C2paOptions(str(cert), str(key),
                       "compositeWithTrainedAlgorithmicMedia" if edit else
                       "trainedAlgorithmicMedia")


# Which option sets each Annex E field (PropagateID always mirrors ProduceID here).
_FIELD_OPTION = {
    "ContentProducer": "--producer",
    "ProduceID": "--produce-id",
    "ContentPropagator": "--propagator",
    "PropagateID": "--produce-id",
}


def _usage_error(
    exc: InvalidLabelError, *, propagator_given: bool, from_env: bool
) -> tuple[str | None, str]:
    """Return ``(option, message)`` for a validation error, naming the user's option.

    The first-write rule copies the producer into ContentPropagator and ProduceID into
    PropagateID, so their echoed problems are dropped unless those values were given apart.
    """
    problems = exc.message.split("; ")
    kept = [
        p
        for p in problems
        if not p.startswith("PropagateID")
        and (propagator_given or not p.startswith("ContentPropagator"))
    ] or problems
    field = kept[0].split(":", 1)[0]
    option = _FIELD_OPTION.get(field)
    if option == "--producer" and from_env:
        option = PRODUCER_ENV
    return option, "; ".join(kept)


def label_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            help="Files and folders to label; folders are walked recursively.",
            show_default=False,
        ),
    ],
    output: OutputOption = None,
    producer: Annotated[
        str | None,
        typer.Option(
            "--producer",
            metavar="CODE",
            help=f"ContentProducer provider code; default ${PRODUCER_ENV}, else a DEMO value.",
            show_default=False,
        ),
    ] = None,
    produce_id: Annotated[
        str | None,
        typer.Option(
            "--produce-id",
            metavar="ID",
            help="ProduceID (only with exactly one file); default: a new UUID per file.",
            show_default=False,
        ),
    ] = None,
    propagator: Annotated[
        str | None,
        typer.Option(
            "--propagator",
            metavar="CODE",
            help="ContentPropagator code; default: the producer (first write).",
            show_default=False,
        ),
    ] = None,
    explicit: Annotated[
        bool,
        typer.Option(
            "--explicit",
            help="Also add the explicit label before the implicit one: the text notice (text, "
            "Markdown, HTML, DOCX), the picture label (JPEG, PNG, WebP, TIFF), the audio cue "
            "(MP3, WAV, FLAC, Opus, M4A) or the video label burnt into the opening frames "
            "(MP4, MOV, MKV, WebM, AVI, FLV); each is checked on the output. Other formats "
            "fail with a message.",
        ),
    ] = False,
    notice: Annotated[
        str | None,
        typer.Option(
            "--notice",
            metavar="TEXT",
            help=f"Wording of the notice (with --explicit); default {DEFAULT_NOTICE}. Must hold "
            "人工智能 or AI, and 生成 or 合成.",
            show_default=False,
        ),
    ] = None,
    notice_position: Annotated[
        str | None,
        typer.Option(
            "--notice-position",
            metavar="WHERE",
            help="Where the explicit label goes (with --explicit): start, middle, end, both, "
            "or a list such as start,end. Default: text at the end, pictures bottom-right "
            "(start: top-left), audio at the start, video on the opening frames (which it "
            "always gets; middle/end add more).",
            show_default=False,
        ),
    ] = None,
    font: Annotated[
        Path | None,
        typer.Option(
            "--font",
            metavar="PATH",
            help="Font file for the image label (with --explicit) when the wording has "
            "characters the bundled font lacks.",
            show_default=False,
        ),
    ] = None,
    label_corner: Annotated[
        str | None,
        typer.Option(
            "--label-corner",
            metavar="WHERE",
            help="Pictures and video (with --explicit): bottom-right (default), bottom-left, "
            "top-right, top-left, bottom or top.",
            show_default=False,
        ),
    ] = None,
    label_seconds: Annotated[
        float | None,
        typer.Option(
            "--label-seconds",
            metavar="S",
            help="Video (with --explicit): how long each label shows; default 2.5, at least "
            "2 (GB 45438 5.4).",
            show_default=False,
        ),
    ] = None,
    persistent_label: Annotated[
        bool,
        typer.Option(
            "--persistent-label",
            help="Video (with --explicit): keep the label on every frame.",
        ),
    ] = False,
    video_crf: Annotated[
        int | None,
        typer.Option(
            "--video-crf",
            metavar="N",
            help="Video (with --explicit): encoder quality (CRF) for x264/x265/libvpx/SVT-AV1; "
            "default 18 for H.264, 20 HEVC, 24 VP9, 28 AV1.",
            show_default=False,
        ),
    ] = None,
    voice: Annotated[
        bool,
        typer.Option(
            "--voice",
            help="Audio (with --explicit): a spoken notice (the bundled 本内容由人工智能生成 "
            "clip) instead of the Morse 'AI' rhythm cue.",
        ),
    ] = False,
    voice_clip: Annotated[
        Path | None,
        typer.Option(
            "--voice-clip",
            metavar="PATH",
            help="Audio (with --explicit): your own voice prompt (any audio file PyAV reads, "
            "at most 30 s, spoken at 120-160 characters a minute); implies --voice.",
            show_default=False,
        ),
    ] = None,
    rhythm_unit_ms: Annotated[
        float | None,
        typer.Option("--rhythm-unit-ms", metavar="MS", show_default=False,
                     help="Audio (with --explicit): Morse unit of the rhythm cue, 60-100 ms; "
                     "default 60 (dot 1 unit, dash 3)."),
    ] = None,
    rhythm_hz: Annotated[
        float | None,
        typer.Option("--rhythm-hz", metavar="HZ", show_default=False,
                     help="Audio (with --explicit): tone of the rhythm cue, 200-4000 Hz; "
                     "default 1000."),
    ] = None,
    rhythm_db: Annotated[
        float | None,
        typer.Option("--rhythm-db", metavar="DBFS", show_default=False,
                     help="Audio (with --explicit): peak level of the rhythm cue, -40..0 "
                     "dBFS; default -12."),
    ] = None,
    txt_carrier: Annotated[
        str | None,
        typer.Option(
            "--txt-carrier",
            metavar="KIND",
            help="Plain text has no metadata area: 'sidecar' writes <file>.aigc.json beside "
            "it (text untouched), 'frontmatter' a Markdown front matter at its head. Without "
            "it, .txt files are refused (skipped when found in a folder).",
            show_default=False,
        ),
    ] = None,
    in_place: InPlaceOption = False,
    overwrite: OverwriteOption = False,
    workers: WorkersOption = 0,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
    sign_key: SignKeyOption = None,
    bind_content: BindContentOption = False,
    c2pa: Annotated[
        bool,
        typer.Option("--c2pa", help="Sign a C2PA manifest as the last step (c2pa.created, "
                     "digitalSourceType trainedAlgorithmicMedia, the GB label as an "
                     "assertion); needs --c2pa-cert and --c2pa-key."),
    ] = False,
    c2pa_cert: Annotated[
        Path | None,
        typer.Option("--c2pa-cert", metavar="CHAIN", help="PEM certificate chain of the C2PA "
                     "signer (aiglabel keys init --c2pa writes signer-chain.pem).",
                     show_default=False),
    ] = None,
    c2pa_key: Annotated[
        Path | None,
        typer.Option("--c2pa-key", metavar="KEY", help="PEM private key of the C2PA signer.",
                     show_default=False),
    ] = None,
    c2pa_edit: Annotated[
        bool,
        typer.Option("--c2pa-edit", help="The content is an AI edit of existing content: "
                     "digitalSourceType compositeWithTrainedAlgorithmicMedia."),
    ] = False,
) -> None:
    """Write the GB 45438-2025 implicit label into files, losslessly (and with --explicit,
    --sign-key, --c2pa the explicit label, a signature, a C2PA manifest).

    Each file gets Label "1", the producer code, a new ProduceID, and (first-write rule)
    ContentPropagator = producer and PropagateID = ProduceID unless --propagator is given.
    A file argument is written to OUTDIR/<name>; files under a folder argument to
    OUTDIR/<path relative to the folder>. When walking folders, hidden entries are ignored and
    files no codec recognises are skipped; a file named explicitly is always attempted.
    """
    check_output_mode(output, in_place)
    text_notice = _explicit_label(explicit, notice, notice_position, font,
                                  seconds=label_seconds, persistent=persistent_label,
                                  crf=video_crf, voice=voice, voice_clip=voice_clip,
                                  rhythm=(rhythm_unit_ms, rhythm_hz, rhythm_db),
                                  corner=label_corner)
    signer = load_signer(sign_key, "producer", bind_content)
    c2pa_options = _c2pa_options(c2pa, c2pa_cert, c2pa_key, c2pa_edit)
    if txt_carrier not in (None, "sidecar", "frontmatter"):
        msg = f"{txt_carrier!r} is not one of sidecar, frontmatter"
        raise typer.BadParameter(msg, param_hint="'--txt-carrier'")

    if producer is not None:
        code, demo = producer, False
    else:
        code, demo = default_producer()
    try:
        validate(
            AIGCRecord.for_producer(
                code,
                produce_id if produce_id is not None else new_produce_id(),
                propagator=propagator,
            )
        )
    except InvalidLabelError as exc:
        option, msg = _usage_error(
            exc, propagator_given=propagator is not None, from_env=producer is None
        )
        raise typer.BadParameter(msg, param_hint=f"'{option}'" if option else None) from None

    with guard():
        exclude = output.resolve() if output is not None else None
        expansion = expand_paths(paths, exclude=exclude)
        if produce_id is not None and len(expansion.jobs) > 1:
            msg = (
                f"--produce-id needs exactly one input file, got {len(expansion.jobs)} "
                "(a content number must be unique); leave it out to get one per file"
            )
            raise typer.BadParameter(msg, param_hint="'--produce-id'")

        reporter = Reporter(verbose=verbose, quiet=quiet)
        if demo:
            reporter.warning(
                f"using producer {code}, a DEMO VALUE — pass --producer or set {PRODUCER_ENV}"
            )
        report_expansion(expansion, reporter)
        # In place, rewritten files become durable together: one filesystem sync per batch
        # of up to 64 files / 256 MiB instead of an fsync per file (aiglabel._io.DurableBatch).
        batch = DurableBatch() if in_place else None
        work = functools.partial(
            _work, output=output, code=code, produce_id=produce_id, propagator=propagator,
            in_place=in_place, overwrite=overwrite, reporter=reporter, notice=text_notice,
            txt_carrier=txt_carrier, signer=signer, c2pa=c2pa_options, batch=batch,
        )
        threads = pick_workers(workers, heavy=explicit or c2pa)
        jobs = unique_files(expansion.jobs) if in_place else expansion.jobs
        # The runner is innermost: it stops its threads before the batch commits or aborts.
        with reporter.progress(len(jobs), "labelling") as advance, (
                batch or contextlib.nullcontext()), JobRunner(
                    threads, on_abort=batch.abort if batch else None) as runner:
            for job, outcome in runner.run(jobs, work, key=output_key(output, in_place)):
                report(job, outcome, reporter)
                _show(job, outcome, output, in_place, reporter)
                advance()
        reporter.summary("labelled")
    if reporter.failed:
        raise typer.Exit(EXIT_FAILED)


def _work(
    job: Job,
    *,
    output: Path | None,
    code: str,
    produce_id: str | None,
    propagator: str | None,
    in_place: bool,
    overwrite: bool,
    reporter: Reporter,
    notice: ExplicitLabel | None,
    txt_carrier: str | None,
    signer: LabelSigner | None,
    c2pa: C2paOptions | None,
    batch: DurableBatch | None,
) -> LabelResult:
    """Label one file (on a worker thread when ``--workers`` > 1); errors propagate to capture."""
    record = AIGCRecord.for_producer(code, produce_id, propagator=propagator)
    dst = None if in_place or output is None else output / job.rel
    progress = FileProgress(reporter, f"labelling {job.display}")
    try:
        return _label_one(job.src, dst, record, in_place=in_place, overwrite=overwrite,
                          notice=notice, txt_carrier=txt_carrier, sign=signer, c2pa=c2pa,
                          progress=progress, batch=batch)
    finally:
        progress.close()


def _show(job: Job, outcome: Outcome[LabelResult], output: Path | None, in_place: bool,
          reporter: Reporter) -> None:
    """The verbose success line and the file's warnings (main thread, input order)."""
    if outcome.status != "ok" or outcome.value is None:
        return
    result = outcome.value
    dst = None if in_place or output is None else output / job.rel
    where = f"-> {dst}" if dst is not None else "(in place)"
    shown = f"explicit + {result.carrier}" if result.notice else result.carrier
    if result.c2pa:
        shown += f" + C2PA {result.c2pa}"
    reporter.result(f"{job.display} {where} ({shown})")
    for warning in result.warnings:
        reporter.warning(f"{job.display}: {warning}")
