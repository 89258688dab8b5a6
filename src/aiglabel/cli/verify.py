"""``aiglabel verify``: the platform check — an Art. 6 verdict per file, in parallel.

Human output: one line per file on stdout (verdict, format, notice, strongest evidence), the
summary table on stderr. ``--json`` prints one JSON array of report objects
(:meth:`aiglabel.verify.VerifyReport.to_dict`), ``--ndjson`` one object per line as files
finish (in input order). ``--html`` also writes a self-contained report page.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path  # noqa: TC003  (typer reads the annotations at run time)
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aiglabel.cli._common import (
    EXIT_FAILED,
    Reporter,
    expand_paths,
    guard,
    report_expansion,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from aiglabel.cli._common import Job
    from aiglabel.verify import VerifyOptions

__all__ = ["EXIT_GATE", "VERIFY_EXIT_HELP", "verify_command"]

EXIT_GATE = 3  # --fail-on: some file's verdict reached the threshold

VERIFY_EXIT_HELP = (
    "Exit codes: 0 every file verified (and none reached --fail-on); 1 one or more files could "
    "not be verified; 2 usage error; 3 a verdict reached the --fail-on level (only when no "
    "file failed). Set AIGLABEL_DEBUG=1 to see a traceback for an internal error."
)

_LEVELS = ("suspected", "possibly", "confirmed")
_RANK = {"none": 0, "suspected": 1, "possibly": 2, "confirmed": 3}
_STYLE = {"confirmed": "bold red", "possibly": "dark_orange", "suspected": "yellow",
          "none": "green"}
_AUTO_PARALLEL_MIN = 16  # fewer files than this run in one process: start-up would dominate


@dataclass(frozen=True, slots=True)
class _Settings:
    """What each verification needs, picklable for worker processes: the declaration, the
    trust file and C2PA anchor file paths, and whether a signature is required."""

    declared: bool = False
    trust: str | None = None
    anchors: str | None = None
    require_signature: bool = False
    trust_config: str | None = None


@functools.cache
def _options(settings: _Settings) -> VerifyOptions:
    """Verify options for ``settings``, the files read once per process."""
    from aiglabel.signing.trust import TrustStore
    from aiglabel.verify import VerifyOptions

    trust = TrustStore.load(settings.trust) if settings.trust else None
    anchors = Path(settings.anchors).read_text("utf-8") if settings.anchors else None
    config = Path(settings.trust_config).read_text("utf-8") if settings.trust_config else None
    return VerifyOptions(trust=trust, c2pa_anchors=anchors, c2pa_trust_config=config,
                         require_signature=settings.require_signature)


def _verify_one(path: str, settings: _Settings) -> dict[str, Any]:
    """Worker entry point (module level so process pools can pickle it)."""
    from aiglabel.verify import verify

    return verify(path, declared=settings.declared, options=_options(settings)).to_dict()


def _reports(jobs: Sequence[Job], settings: _Settings,
             workers: int) -> Iterator[dict[str, Any]]:
    paths = [str(job.src) for job in jobs]
    if workers <= 1 or len(paths) <= 1:
        for path in paths:
            yield _verify_one(path, settings)
        return
    from concurrent.futures import ProcessPoolExecutor  # only here: it costs start-up time

    chunk = max(1, min(64, len(paths) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_verify_one, paths, [settings] * len(paths), chunksize=chunk)


def _workers(requested: int, jobs: int) -> int:
    if requested > 0:
        return requested
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 1 if jobs < _AUTO_PARALLEL_MIN else max(1, cpus or 1)


def _line(report: dict[str, Any]) -> str:
    verdict = report["verdict"]
    parts = [f"{report['path']}: {verdict}"]
    if report["format"]:
        parts.append(f"[{report['format']}]")
    if report["notice"]:
        parts.append(f"«{report['notice']}»")
    counted = [e for e in report["evidence"] if e["contributes"]]
    if counted:
        strongest = max(counted, key=lambda e: _RANK[e["contributes"]])
        parts.append(f"— {strongest['kind']}: {strongest['detail']}")
    if report["contradictions"]:
        parts.append(f"(contradictions: {len(report['contradictions'])})")
    return " ".join(parts)


def _summary_table(counts: dict[str, int], failed: int, skipped: int, seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"verified in {seconds:.2f} s", title_justify="left")
    table.add_column("verdict")
    table.add_column("files", justify="right")
    for verdict in ("confirmed", "possibly", "suspected", "none"):
        table.add_row(f"[{_STYLE[verdict]}]{verdict}[/]", str(counts[verdict]))
    table.add_row("failed", str(failed))
    if skipped:
        table.add_row("skipped", str(skipped))
    Console(stderr=True, highlight=False).print(table)


def verify_command(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH", help="Files and folders; folders are walked recursively.",
                       show_default=False),
    ],
    declared: Annotated[
        bool, typer.Option("--declared", help="The uploader declared the content AI-generated.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON array of reports on stdout.")
    ] = False,
    ndjson: Annotated[
        bool, typer.Option("--ndjson", help="Print one JSON report per line as files finish.")
    ] = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", metavar="REPORT.html", help="Also write a self-contained HTML "
                     "report (thumbnails need Pillow).", show_default=False),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option("--fail-on", metavar="LEVEL", help="Exit 3 when any verdict is at least "
                     "LEVEL: suspected, possibly or confirmed.", show_default=False),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", "-j", metavar="N", help="Processes; 0 = one per CPU "
                          "for batches of 16 files or more.", min=0)
    ] = 0,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Note files skipped while walking.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No per-file lines, no summary table.")
    ] = False,
    trust: Annotated[
        Path | None,
        typer.Option("--trust", metavar="TRUSTFILE", help="Trust file of label-signing keys "
                     "(aiglabel keys init writes one): signatures in ReservedCode1/2 by these "
                     "keys are 'trusted', others 'unknown-key'.", show_default=False),
    ] = None,
    require_signature: Annotated[
        bool, typer.Option("--require-signature", help="A Label \"1\" confirms only with a "
                           "trusted producer signature (else suspected).")
    ] = False,
    c2pa_anchors: Annotated[
        Path | None,
        typer.Option("--c2pa-anchors", metavar="PEM", help="Trust anchors (CA certificates) "
                     "for C2PA manifests: a manifest chaining to one is Trusted.",
                     show_default=False),
    ] = None,
    c2pa_trust_config: Annotated[
        Path | None,
        typer.Option("--c2pa-trust-config", metavar="FILE", help="Extra accepted C2PA signer "
                     "EKU OIDs, one per line (the CAI store.cfg); see docs/c2pa.md.",
                     show_default=False),
    ] = None,
) -> None:
    """Verify files for a platform: Art. 6 verdict confirmed / possibly / suspected / none.

    Evidence: the GB 45438 implicit label (every supported format), generation traces in
    metadata, NovelAI pixel payloads, explicit notices in text, and the uploader's declaration.
    When walking folders, hidden entries are ignored and files that are neither a supported
    format nor text are skipped; a file named explicitly is always reported.
    """
    if json_output and ndjson:
        msg = "give --json or --ndjson, not both"
        raise typer.BadParameter(msg, param_hint="'--json'")
    if fail_on is not None and fail_on not in _LEVELS:
        msg = f"{fail_on!r} is not one of {', '.join(_LEVELS)}"
        raise typer.BadParameter(msg, param_hint="'--fail-on'")
    machine = json_output or ndjson
    for option, given in (("--trust", trust), ("--c2pa-anchors", c2pa_anchors),
                          ("--c2pa-trust-config", c2pa_trust_config)):
        if given is not None and not given.is_file():
            msg = f"no such file: {given}"
            raise typer.BadParameter(msg, param_hint=f"'{option}'")
    settings = _Settings(declared, str(trust) if trust else None,
                         str(c2pa_anchors) if c2pa_anchors else None, require_signature,
                         str(c2pa_trust_config) if c2pa_trust_config else None)
    if trust is not None:
        from aiglabel.errors import InvalidLabelError

        try:
            _options(settings)
        except InvalidLabelError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--trust'") from None
    with guard():
        reporter = Reporter(verbose=verbose, quiet=quiet)
        expansion = expand_paths(paths)
        report_expansion(expansion, reporter)
        counts = dict.fromkeys(_RANK, 0)
        collected: list[dict[str, Any]] = []
        gate = False
        jobs = expansion.jobs
        with reporter.progress(len(jobs), "verifying") as advance:
            for job, report in zip(jobs, _reports(jobs, settings,
                                                  _workers(workers, len(jobs))), strict=True):
                advance()
                if report["errors"] and report["format"] is None and not job.explicit:
                    reporter.skip(job.display, "not a supported format or text")
                    continue
                if report["errors"]:
                    reporter.error(job.display, report["errors"][0].removeprefix(
                        f"{job.display}: "))
                else:
                    reporter.ok += 1
                    counts[report["verdict"]] += 1
                    if fail_on is not None and _RANK[report["verdict"]] >= _RANK[fail_on]:
                        gate = True
                collected.append(report)
                if ndjson:
                    sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
                    sys.stdout.flush()
                elif not machine and not quiet:
                    reporter.result_line(_line(report))
        if json_output:
            sys.stdout.write(json.dumps(collected, ensure_ascii=False, indent=2) + "\n")
            sys.stdout.flush()
        if html is not None:
            from aiglabel.verify.html import write_html

            write_html(html, collected)
        if not quiet:
            _summary_table(counts, reporter.failed, reporter.skipped, reporter.elapsed)
    if reporter.failed:
        raise typer.Exit(EXIT_FAILED)
    if gate:
        raise typer.Exit(EXIT_GATE)
