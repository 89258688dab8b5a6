"""``aiglabel propagate``: a platform writes its propagation fields into uploaded files.

Each file is verified first (the same pipeline as ``aiglabel verify``). A usable upstream label
keeps ``Label``, ``ContentProducer``, ``ProduceID`` and ``ReservedCode1``; the platform's
``ContentPropagator`` and ``PropagateID`` are set and ``ReservedCode2`` emptied. Without one, a
label with ``Label`` "2" (``--declared``) or "3" (suspected) is created; a file whose verdict is
``none`` is refused. Output layout as ``aiglabel label``.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path  # noqa: TC003  (typer reads the annotations at run time)
from typing import TYPE_CHECKING, Annotated

import typer

from aiglabel._io import DurableBatch
from aiglabel.cli._common import (
    EXIT_FAILED,
    BindContentOption,
    InPlaceOption,
    Job,
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
from aiglabel.cli._parallel import JobRunner, pick_workers
from aiglabel.errors import InvalidLabelError
from aiglabel.gb45438 import AIGCRecord, new_produce_id

if TYPE_CHECKING:
    from aiglabel.signing import LabelSigner
    from aiglabel.verify.propagate import PropagateResult

__all__ = ["propagate_command"]


def _propagate_one(src: Path, dst: Path | None, *, platform: str, propagate_id: str | None,
                   declared: bool, in_place: bool, overwrite: bool,
                   sign: LabelSigner | None = None,
                   batch: DurableBatch | None = None) -> PropagateResult:
    from aiglabel.verify.propagate import propagate  # the verifier loads only when used

    call = functools.partial(propagate, src, platform=platform, propagate_id=propagate_id,
                             declared=declared, overwrite=overwrite, sign=sign)
    if in_place or dst is None:
        return call(None, in_place=True, batch=batch)
    return write_mirrored(dst, call)


def _check_platform(platform: str, propagate_id: str | None) -> None:
    from aiglabel.verify.model import Verdict, VerifyReport
    from aiglabel.verify.propagate import propagation_record

    probe = VerifyReport(path="", format="probe", size=0, verdict=Verdict.SUSPECTED,
                         label_to_write="3")
    try:
        propagation_record(probe, platform, propagate_id or new_produce_id())
    except InvalidLabelError as exc:
        option = "--propagate-id" if exc.message.startswith("PropagateID") else "--platform"
        raise typer.BadParameter(exc.message, param_hint=f"'{option}'") from None


def _describe(result: PropagateResult) -> str:
    record: AIGCRecord = result.record
    if result.created:
        return (f'created Label "{record.label}" ({result.report.verdict.value}); propagator '
                f"{record.content_propagator}, PropagateID {record.propagate_id}")
    return (f'kept Label "{record.label}" by {record.content_producer or "(no producer)"}; '
            f"propagator {record.content_propagator}, PropagateID {record.propagate_id}")


def propagate_command(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="FILE", help="Files and folders; folders are walked recursively.",
                       show_default=False),
    ],
    platform: Annotated[
        str,
        typer.Option("--platform", metavar="CODE", help="The platform's provider code "
                     "(ContentPropagator).", show_default=False),
    ],
    propagate_id: Annotated[
        str | None,
        typer.Option("--propagate-id", metavar="ID", help="PropagateID (only with exactly one "
                     "file); default: a new UUID per file.", show_default=False),
    ] = None,
    declared: Annotated[
        bool, typer.Option("--declared", help="The uploader declared the content AI-generated "
                           '(creates Label "2" where no label exists).')
    ] = False,
    output: OutputOption = None,
    in_place: InPlaceOption = False,
    overwrite: OverwriteOption = False,
    workers: Annotated[
        int,
        typer.Option("--workers", "-j", min=0, metavar="N",
                     help="Files worked on at once (threads); 0 = 1 (each file is verified "
                     "first, Python work that threads share one core for)."),
    ] = 0,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
    sign_key: SignKeyOption = None,
    bind_content: BindContentOption = False,
) -> None:
    """Write a platform's ContentPropagator and PropagateID into files (Measures Art. 6).

    The producer's Label, ContentProducer, ProduceID and ReservedCode1 stay as they are. A file
    without a usable label gets a new one with Label "2" (--declared) or "3" (suspected from
    traces or an explicit notice); a file with nothing pointing to AI is refused.
    """
    check_output_mode(output, in_place)
    _check_platform(platform, propagate_id)
    signer = load_signer(sign_key, "platform", bind_content)
    with guard():
        exclude = output.resolve() if output is not None else None
        expansion = expand_paths(paths, exclude=exclude)
        if propagate_id is not None and len(expansion.jobs) > 1:
            msg = (f"--propagate-id needs exactly one input file, got {len(expansion.jobs)}; "
                   "leave it out to get one per file")
            raise typer.BadParameter(msg, param_hint="'--propagate-id'")
        reporter = Reporter(verbose=verbose, quiet=quiet)
        report_expansion(expansion, reporter)
        # In place: one filesystem sync per batch of files (aiglabel._io.DurableBatch).
        batch = DurableBatch() if in_place else None
        work = functools.partial(_work, output=output, platform=platform,
                                 propagate_id=propagate_id, declared=declared,
                                 in_place=in_place, overwrite=overwrite, signer=signer,
                                 batch=batch)
        jobs = unique_files(expansion.jobs) if in_place else expansion.jobs
        # One worker unless -j says more: each file is verified first, Python work under a
        # per-file wall-clock budget that threads sharing the GIL would eat into.
        threads = pick_workers(workers, heavy=True)
        # The runner is innermost: it stops its threads before the batch commits or aborts.
        with reporter.progress(len(jobs), "propagating") as advance, (
                batch or contextlib.nullcontext()), JobRunner(
                    threads, on_abort=batch.abort if batch else None) as runner:
            for job, outcome in runner.run(jobs, work, key=output_key(output, in_place)):
                report(job, outcome, reporter)
                if outcome.status == "ok" and outcome.value is not None:
                    where = (f"-> {output / job.rel}" if output is not None and not in_place
                             else "(in place)")
                    reporter.result(f"{job.display} {where}: {_describe(outcome.value)}")
                advance()
        reporter.summary("written")
    if reporter.failed:
        raise typer.Exit(EXIT_FAILED)


def _work(job: Job, *, output: Path | None, platform: str, propagate_id: str | None,
          declared: bool, in_place: bool, overwrite: bool, signer: LabelSigner | None,
          batch: DurableBatch | None) -> PropagateResult:
    """Propagate one file (on a worker thread when ``--workers`` > 1)."""
    dst = None if in_place or output is None else output / job.rel
    return _propagate_one(job.src, dst, platform=platform, propagate_id=propagate_id,
                          declared=declared, in_place=in_place, overwrite=overwrite,
                          sign=signer, batch=batch)
