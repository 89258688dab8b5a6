"""``aiglabel formats``: the codecs in the registry, their extensions and label carriers."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from aiglabel.cli._common import guard

if TYPE_CHECKING:
    from aiglabel.codecs.base import CodecBase

__all__ = ["codec_rows", "formats_command"]


def _codec_dict(codec: type[CodecBase]) -> dict[str, object]:
    return {
        "name": codec.name,
        "description": getattr(codec, "description", ""),
        "mimes": list(codec.mimes),
        "extensions": list(codec.extensions),
        "writable": codec.writable,
        "carriers": [
            {
                "carrier": info.carrier,
                "role": info.role,
                "note": info.note,
                "primary": info.role == "write",
            }
            for info in codec.carriers
        ],
    }


def codec_rows() -> list[dict[str, object]]:
    """Return one JSON-ready mapping per registered codec, sorted by name."""
    import aiglabel.codecs  # noqa: F401  (registers the built-in codecs)
    from aiglabel.registry import default_registry

    return [_codec_dict(codec) for codec in default_registry]


def formats_command(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON array instead of a table.")
    ] = False,
) -> None:
    """List the supported formats: codec, extensions, label carriers and notes.

    The carrier marked * is the one `aiglabel label` writes; the others are also read.
    """
    with guard():
        import aiglabel.codecs  # noqa: F401  (registers the built-in codecs)
        from aiglabel.registry import default_registry

        codecs = list(default_registry)
        if json_output:
            rows = codec_rows()
            sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
            sys.stdout.flush()
            return
        _print_table(codecs)


def _print_table(codecs: list[type[CodecBase]]) -> None:
    """Print one block per codec: a heading line, then its carriers and notes as a grid."""
    from rich.console import Console
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    for codec in codecs:
        head = Text(codec.name, style="bold")
        description = getattr(codec, "description", "")
        if description:
            head.append(f"  {description}")
        head.append(f"  [{' '.join(codec.extensions)}]", style="dim")
        if not codec.writable:
            head.append("  (read only)", style="yellow")
        console.print(head)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for info in codec.carriers:
            primary = info.role == "write"
            grid.add_row(
                Text(("* " if primary else "  ") + info.carrier, style="bold" if primary else ""),
                Text(info.note),
            )
        console.print(Padding(grid, (0, 0, 0, 2), expand=False))
    console.print(
        Text("* the carrier `aiglabel label` writes; the others are also read", style="dim")
    )
