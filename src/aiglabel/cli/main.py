"""The ``aiglabel`` typer app: mounts one command per module; :func:`run` is the entry point."""

from __future__ import annotations

from typing import Annotated

import typer

from aiglabel.cli import formats, inspect, keys, label, propagate, verify
from aiglabel.cli._common import EXIT_CODES_HELP

__all__ = ["app", "run"]

app = typer.Typer(
    name="aiglabel",
    help="Write, read and verify GB 45438-2025 AIGC labels, losslessly.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        from aiglabel import __version__

        typer.echo(f"aiglabel {__version__}")
        raise typer.Exit


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Write, read and verify GB 45438-2025 AIGC labels: the implicit (metadata) label,
    losslessly, with optional explicit labels, signatures and C2PA manifests."""


app.command("label", epilog=EXIT_CODES_HELP)(label.label_command)
app.command("inspect", epilog=EXIT_CODES_HELP)(inspect.inspect_command)
app.command("formats")(formats.formats_command)
app.command("verify", epilog=verify.VERIFY_EXIT_HELP)(verify.verify_command)
app.command("propagate", epilog=EXIT_CODES_HELP)(propagate.propagate_command)
app.add_typer(keys.app, name="keys")


def run() -> None:
    """Console-script entry point (``aiglabel = "aiglabel.cli.main:run"``)."""
    app(prog_name="aiglabel")


if __name__ == "__main__":  # pragma: no cover
    run()
