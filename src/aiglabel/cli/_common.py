"""Helpers shared by the commands: path expansion, error lines, progress and exit codes.

Every per-file failure becomes one stderr line ``aiglabel: error: <path>: <reason>`` and the batch
goes on; :func:`attempt` is the one place that catches :class:`~aiglabel.AiglabelError` and
:class:`OSError`. An unexpected exception becomes one ``aiglabel: internal error`` line (exit 1)
unless ``AIGLABEL_DEBUG=1`` asks for the traceback. rich is imported only when a progress bar
is shown.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

import typer

from aiglabel.errors import AiglabelError, OutputError, UnsupportedFormatError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from rich.progress import Progress

    from aiglabel.signing import LabelSigner

__all__ = [
    "DEBUG_ENV",
    "EXIT_CODES_HELP",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Expansion",
    "FileProgress",
    "InPlaceOption",
    "Job",
    "Outcome",
    "OutputOption",
    "OverwriteOption",
    "QuietOption",
    "Reporter",
    "VerboseOption",
    "attempt",
    "capture",
    "check_output_mode",
    "debug_enabled",
    "error_reason",
    "expand_paths",
    "guard",
    "output_key",
    "report",
    "report_expansion",
    "unique_files",
    "write_mirrored",
]

EXIT_OK = 0  # every file was processed
EXIT_FAILED = 1  # one or more files failed (or an internal error)
EXIT_USAGE = 2  # bad options or arguments (typer's default for usage errors)

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 one or more files failed; 2 usage error. "
    "Set AIGLABEL_DEBUG=1 to see a traceback for an internal error."
)

DEBUG_ENV = "AIGLABEL_DEBUG"

# Options shared by the writing commands (label, propagate), declared once.
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="OUTDIR",
        help="Folder for the written copies (created if missing; folder trees mirrored).",
        show_default=False,
    ),
]
SignKeyOption = Annotated[
    Path | None,
    typer.Option("--sign-key", metavar="KEYFILE", help="Sign the label with this PEM private "
                 "key (aiglabel keys init makes one): label signs ReservedCode1, propagate "
                 "ReservedCode2.", show_default=False),
]
BindContentOption = Annotated[
    bool,
    typer.Option("--bind-content", help="With --sign-key: bind the signature to the content's "
                 "essence digest, so moving the label or editing the content breaks it."),
]


def load_signer(key: Path | None, role: str, bind: bool) -> LabelSigner | None:
    """The signer ``--sign-key``/``--bind-content`` ask for (usage error on a bad key)."""
    if key is None:
        if bind:
            msg = "needs --sign-key"
            raise typer.BadParameter(msg, param_hint="'--bind-content'")
        return None
    from aiglabel.errors import InvalidLabelError
    from aiglabel.signing import LabelSigner
    from aiglabel.signing.keys import load_private_key

    try:
        return LabelSigner(load_private_key(key), role=role, bind_content=bind)
    except InvalidLabelError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--sign-key'") from None
    except ImportError as exc:
        msg = f"signing needs the 'signing' extra (pip install 'aiglabel[signing]'): {exc}"
        raise typer.BadParameter(msg, param_hint="'--sign-key'") from None


InPlaceOption = Annotated[
    bool, typer.Option("--in-place", help="Replace each input file atomically.")
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace existing files in OUTDIR.")
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Print a line per file and skip notes.")
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No summary line and no progress bar.")
]


def check_output_mode(output: Path | None, in_place: bool) -> None:
    """Require exactly one of ``--output`` and ``--in-place`` (a usage error otherwise)."""
    if output is not None and in_place:
        msg = "give either --output OUTDIR or --in-place, not both"
        raise typer.BadParameter(msg, param_hint="'--output' / '--in-place'")
    if output is None and not in_place:
        msg = "one of --output OUTDIR or --in-place is required"
        raise typer.BadParameter(msg, param_hint="'--output' / '--in-place'")

T = TypeVar("T")


def debug_enabled() -> bool:
    """Return whether ``AIGLABEL_DEBUG`` asks for tracebacks instead of one-line errors."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _one_line(text: str) -> str:
    return " ".join(text.split()) if ("\n" in text or "\r" in text) else text


def error_reason(exc: BaseException, display: str) -> str:
    """Return the reason part of an error line for the file shown as ``display``.

    The file name is left out when the error is about ``display`` itself; an error about
    another path (an output file, a folder) keeps that path.
    """
    if isinstance(exc, AiglabelError):
        if exc.path and exc.path != display:
            return _one_line(f"{exc.path}: {exc.message}")
        return _one_line(exc.message)
    if isinstance(exc, OSError):
        detail = exc.strerror or str(exc) or type(exc).__name__
        name = os.fsdecode(exc.filename) if exc.filename is not None else None
        if name and name != display:
            return _one_line(f"{name}: {detail}")
        return _one_line(detail)
    return _one_line(f"{type(exc).__name__}: {exc}")


def _internal_line(where: str | None, exc: BaseException) -> str:
    place = f"{where}: " if where else ""
    return _one_line(
        f"aiglabel: internal error: {place}{type(exc).__name__}: {exc} "
        f"(please report; set {DEBUG_ENV}=1 for a traceback)"
    )


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Turn an unexpected exception in a command body into one stderr line and exit 1.

    typer's own exits and usage errors pass through; with ``AIGLABEL_DEBUG=1`` the exception
    propagates with its traceback.
    """
    try:
        yield
    except (typer.Exit, typer.Abort, typer.BadParameter):
        raise
    except Exception as exc:
        if debug_enabled():
            raise
        sys.stderr.write(_internal_line(None, exc) + "\n")
        raise typer.Exit(EXIT_FAILED) from None


@dataclass(frozen=True, slots=True)
class Job:
    """One file to process.

    Attributes:
        src: the file, as given or as found under a folder argument.
        rel: where it goes under an output folder: the path relative to the folder argument
            it was found in, or just the file name for a file argument.
        explicit: named on the command line (always attempted) rather than found by walking.
    """

    src: Path
    rel: Path
    explicit: bool

    @property
    def display(self) -> str:
        """The path as printed in messages."""
        return str(self.src)


@dataclass(slots=True)
class Expansion:
    """The files found for the PATH arguments.

    Attributes:
        jobs: files to process, in argument order, each folder walked in name order.
        errors: ``(path, reason)`` for folders that could not be read.
        special: entries under folders that are neither regular files nor folders
            (symbolic links to folders, sockets, FIFOs); never processed.
    """

    jobs: list[Job] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    special: list[str] = field(default_factory=list)


def expand_paths(paths: Sequence[Path], *, exclude: Path | None = None) -> Expansion:
    """Expand PATH arguments into files.

    A folder argument is walked recursively: hidden entries (name starting with ``.``) are
    ignored, symbolic links to folders are not followed, and ``exclude`` (the output folder,
    resolved) is not entered. Anything else is an explicit file, kept even if it is missing.
    Repeated files are processed once (in place, see also :func:`unique_files`).

    Args:
        paths: the PATH arguments.
        exclude: a resolved folder never to walk into.
    """
    out = Expansion()
    seen: set[Path] = set()

    def add(job: Job) -> None:
        if job.src not in seen:
            seen.add(job.src)
            out.jobs.append(job)

    for arg in paths:
        if arg.is_dir():
            _walk(arg, add, out, exclude)
        else:
            add(Job(arg, Path(arg.name), explicit=True))
    return out


def _walk(root: Path, add: Callable[[Job], None], out: Expansion, exclude: Path | None) -> None:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            out.errors.append((str(folder), error_reason(exc, str(folder))))
            continue
        subdirs: list[Path] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if exclude is not None and entry.name == exclude.name:
                        if path.resolve() == exclude:
                            continue
                    subdirs.append(path)
                elif entry.is_file():
                    add(Job(path, path.relative_to(root), explicit=False))
                else:
                    out.special.append(str(path))
            except OSError as exc:
                out.errors.append((str(path), error_reason(exc, str(path))))
        stack.extend(reversed(subdirs))


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What :func:`attempt` made of one file.

    Attributes:
        status: ``"ok"``, ``"skipped"`` (unrecognised file found by walking) or ``"failed"``.
        value: the function's result when ``ok``.
        error: the reason when ``failed`` or ``skipped``.
        internal_line: for an unexpected exception, the one ``internal error`` line to print.
    """

    status: Literal["ok", "skipped", "failed"]
    value: T | None = None
    error: str = ""
    internal_line: str = ""


class Reporter:
    """Counts outcomes and writes error lines, notes, progress and the summary.

    Args:
        verbose: print per-file lines and skip notes.
        quiet: no summary line and no progress bar.
    """

    def __init__(self, *, verbose: bool = False, quiet: bool = False) -> None:
        self.verbose = verbose
        self.quiet = quiet
        self.ok = 0
        self.skipped = 0
        self.failed = 0
        self._start = time.perf_counter()
        self._progress: Progress | None = None

    def _write(self, line: str, *, err: bool = True) -> None:
        live = self._progress
        if live is not None and (err or sys.stdout.isatty()):
            # Print above the bar so the two do not garble each other.
            live.console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)
            return
        stream = sys.stderr if err else sys.stdout
        stream.write(line + "\n")
        stream.flush()

    def error(self, where: str, reason: str) -> None:
        """Print ``aiglabel: error: <where>: <reason>`` and count a failure."""
        self.failed += 1
        self._write(_one_line(f"aiglabel: error: {where}: {reason}"))

    def internal(self, where: str, exc: BaseException) -> None:
        """Print the one-line internal error for ``where`` and count a failure."""
        self.failed += 1
        self._write(_internal_line(where, exc))

    def warning(self, message: str) -> None:
        """Print ``aiglabel: warning: <message>`` (never suppressed)."""
        self._write(f"aiglabel: warning: {message}")

    def skip(self, where: str, reason: str) -> None:
        """Count a skipped file; note it at verbose level."""
        self.skipped += 1
        if self.verbose:
            self._write(_one_line(f"aiglabel: skipped: {where}: {reason}"))

    def result(self, line: str) -> None:
        """Print a per-file success line on stdout at verbose level."""
        if self.verbose:
            self._write(line, err=False)

    def result_line(self, line: str) -> None:
        """Print a per-file line on stdout (a command's main output)."""
        self._write(line, err=False)

    @property
    def elapsed(self) -> float:
        """Seconds since the reporter was made."""
        return time.perf_counter() - self._start

    def summary(self, verb: str) -> None:
        """Print ``<verb> N, skipped N, failed N (T s)`` on stderr unless quiet."""
        if self.quiet:
            return
        elapsed = time.perf_counter() - self._start
        self._write(
            f"{verb} {self.ok}, skipped {self.skipped}, failed {self.failed} ({elapsed:.2f} s)"
        )

    @contextlib.contextmanager
    def progress(self, total: int, description: str) -> Iterator[Callable[[], None]]:
        """Yield an ``advance()`` callable; show a rich bar on a terminal for batches > 1.

        No progress output at all when stderr is not a terminal, when ``quiet``, or for a
        single file.
        """
        if total <= 1 or self.quiet or not sys.stderr.isatty():
            yield _nothing
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        live = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        task = live.add_task(description, total=total)
        with live:
            self._progress = live
            try:
                yield lambda: live.advance(task)
            finally:
                self._progress = None


def _nothing() -> None:
    return None


class FileProgress:
    """A per-file progress callback for long work (a video transcode): ``self(fraction)``.

    The bar appears on the first call -- as a second line under the batch bar, or on its own
    for a single file -- only on a terminal and without ``--quiet``; :meth:`close` removes it.
    """

    def __init__(self, reporter: Reporter, description: str) -> None:
        self._reporter = reporter
        self._description = description
        self._live: Progress | None = None
        self._own = False
        self._task: Any = None

    def __call__(self, fraction: float) -> None:
        if self._reporter.quiet or not sys.stderr.isatty():
            return
        if self._task is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

            live = self._reporter._progress  # noqa: SLF001  (the batch bar, when there is one)
            if live is None:
                live = Progress(TextColumn("{task.description}"), BarColumn(),
                                TaskProgressColumn(), console=Console(stderr=True),
                                transient=True, redirect_stdout=False, redirect_stderr=False)
                live.start()
                self._own = True
            self._live = live
            self._task = live.add_task(self._description, total=1.0)
        if self._live is not None:
            self._live.update(self._task, completed=min(max(fraction, 0.0), 1.0))

    def close(self) -> None:
        """Remove the bar (stop it when it was this file's own)."""
        if self._live is None:
            return
        self._live.remove_task(self._task)
        if self._own:
            self._live.stop()
        self._live = None


def attempt(job: Job, func: Callable[[], T], reporter: Reporter) -> Outcome[T]:
    """Run ``func`` for one file and report the outcome (:func:`capture`, then :func:`report`)."""
    outcome = capture(job, func)
    report(job, outcome, reporter)
    return outcome


def capture(job: Job, func: Callable[[], T]) -> Outcome[T]:
    """Run ``func`` for one file; the one place per-file errors are caught. Prints nothing, so
    it may run on a worker thread (:class:`aiglabel.cli._parallel.JobRunner`).

    An :class:`~aiglabel.UnsupportedFormatError` for a file found by walking a folder is a skip;
    for an explicit file it is a failure. Any :class:`~aiglabel.AiglabelError` or
    :class:`OSError` is a failure with a one-line reason. Anything else is an internal error,
    or propagates when ``AIGLABEL_DEBUG=1``.
    """
    try:
        value = func()
    except UnsupportedFormatError as exc:
        reason = error_reason(exc, job.display)
        return Outcome("failed" if job.explicit else "skipped", error=reason)
    except (AiglabelError, OSError) as exc:
        return Outcome("failed", error=error_reason(exc, job.display))
    except Exception as exc:
        if debug_enabled():
            raise
        return Outcome("failed", error=f"internal error: {type(exc).__name__}: {exc}",
                       internal_line=_internal_line(job.display, exc))
    return Outcome("ok", value)


def report(job: Job, outcome: Outcome[Any], reporter: Reporter) -> None:
    """Count ``outcome`` and print its error or skip line (on the main thread)."""
    if outcome.status == "ok":
        reporter.ok += 1
    elif outcome.status == "skipped":
        reporter.skip(job.display, outcome.error)
    elif outcome.internal_line:
        reporter.failed += 1
        reporter._write(outcome.internal_line)  # noqa: SLF001  (formed on the worker thread)
    else:
        reporter.error(job.display, outcome.error)


def output_key(output: Path | None, in_place: bool) -> Callable[[Job], Path | None]:
    """The key :meth:`~aiglabel.cli._parallel.JobRunner.run` chains jobs by: the output path
    under ``output``. Two inputs that map to one output (``a/x.jpg`` and ``b/x.jpg`` given as
    files) then run one after the other in input order, as with one worker: the first file
    that can be labelled writes it, a later one fails with "output exists" (or replaces it
    with ``--overwrite``)."""
    if in_place or output is None:
        return lambda job: None
    base = output
    return lambda job: base / job.rel


def unique_files(jobs: Sequence[Job]) -> list[Job]:
    """``jobs`` without later names of a file already listed (a hard link, a symbolic link,
    another spelling of the path), so in place no two workers rewrite one file. Files that
    cannot be ``stat``-ed stay: their job reports the error."""
    seen: set[tuple[int, int]] = set()
    out = []
    for job in jobs:
        try:
            st = os.stat(job.src)
        except OSError:
            out.append(job)
            continue
        identity = (st.st_dev, st.st_ino)
        if identity not in seen:
            seen.add(identity)
            out.append(job)
    return out


def write_mirrored(dst: Path, write: Callable[[Path], T]) -> T:
    """Call ``write(dst)``, creating ``dst``'s folder only when the write needs it.

    A file that cannot be processed fails before its output is created, so it leaves no empty
    folder behind. The folder is checked *before* the write: when it was missing, an
    :class:`~aiglabel.OutputError` means "no folder" (or another worker made it meanwhile),
    so the folder is made and the write tried once more; when it existed, the error stands.
    """
    existed = dst.parent.is_dir()
    try:
        return write(dst)
    except OutputError:
        if existed:
            raise
    dst.parent.mkdir(parents=True, exist_ok=True)
    return write(dst)


def report_expansion(expansion: Expansion, reporter: Reporter) -> None:
    """Report unreadable folders (errors) and special entries (skips) found while walking."""
    for where, reason in expansion.errors:
        reporter.error(where, reason)
    for where in expansion.special:
        reporter.skip(where, "not a regular file")
