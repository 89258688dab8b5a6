"""``aiglabel inspect``: list every AIGC label in files, with its fields and the findings.

Human output is compact text rendered with rich (imported only here, and only without
``--json``); ``--json`` prints one JSON array of :meth:`aiglabel.Inspection.to_dict` objects,
with ``{"path": ..., "error": ...}`` for files that could not be read.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path  # noqa: TC003  (typer reads the annotations at run time)
from typing import TYPE_CHECKING, Annotated

import typer

from aiglabel import Inspection, inspect
from aiglabel.cli._common import (
    EXIT_FAILED,
    Reporter,
    attempt,
    expand_paths,
    guard,
    report_expansion,
)

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["inspect_command", "render"]

_STATUS_STYLE = {"compliant": "green", "noncompliant": "bold red", "not_found": "yellow"}
_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "dim"}


def render(console: Console, result: Inspection) -> None:
    """Print one inspection as compact text: a header, each label's fields, the findings."""
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    head = Text()
    head.append(result.path or "<input>", style="bold")
    head.append(f"  {result.format}, {result.size} bytes, ")
    head.append(result.status, style=_STATUS_STYLE.get(result.status, ""))
    console.print(head)
    if not result.labels:
        console.print(Text("  no AIGC label", style="yellow"))
    for number, found in enumerate(result.labels, 1):
        line = Text(f"  label {number}: ")
        line.append(found.carrier, style="cyan")
        line.append(f"  form {found.form or 'unparsed'}")
        console.print(line)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        if found.record is not None:
            for key, value in found.record.to_dict().items():
                grid.add_row(Text(key), Text(value) if value else Text('""', style="dim"))
        else:
            grid.add_row(Text("raw"), Text(found.raw))
        console.print(Padding(grid, (0, 0, 0, 4), expand=False))
    if result.findings:
        console.print(Text("  findings"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for finding in result.findings:
            severity = finding.severity.value
            grid.add_row(
                Text(severity, style=_SEVERITY_STYLE.get(severity, "")),
                Text(finding.code),
                Text(finding.message),
            )
        console.print(Padding(grid, (0, 0, 0, 4), expand=False))


def inspect_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            help="Files and folders to inspect; folders are walked recursively.",
            show_default=False,
        ),
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON array on stdout.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Note files skipped while walking.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary line.")] = False,
) -> None:
    """Show every AIGC label in files: carrier, form, the seven fields and the findings.

    Folders are walked like `aiglabel label` does (hidden entries ignored, unrecognised files
    skipped). Exit 0 when every file was read, labelled or not; 1 when any file failed.
    """
    with guard():
        reporter = Reporter(verbose=verbose, quiet=quiet or json_output)
        expansion = expand_paths(paths)
        report_expansion(expansion, reporter)
        items: list[dict[str, object]] = [
            {"path": where, "error": reason} for where, reason in expansion.errors
        ]
        console: Console | None = None
        if not json_output:
            from rich.console import Console

            console = Console(highlight=False)
        for job in expansion.jobs:
            outcome = attempt(job, functools.partial(inspect, job.src), reporter)
            if outcome.status == "failed":
                items.append({"path": job.display, "error": outcome.error})
            elif outcome.value is not None:
                items.append(outcome.value.to_dict())
                if console is not None:
                    render(console, outcome.value)
        if json_output:
            sys.stdout.write(json.dumps(items, ensure_ascii=False, indent=2) + "\n")
            sys.stdout.flush()
        reporter.summary("inspected")
    if reporter.failed:
        raise typer.Exit(EXIT_FAILED)
