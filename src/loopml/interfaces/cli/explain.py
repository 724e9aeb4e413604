"""`loopml explain MODEL ROW`: one prediction and each input column's part in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from loopml.interfaces.cli.common import ProjectDir, handles_errors, open_service
from loopml.interfaces.cli.render import console


def add_explain_command(app: typer.Typer) -> None:
    """Register `loopml explain` on the main app."""
    app.command()(explain)


@handles_errors
def explain(
    model: Annotated[str, typer.Argument(help="NAME@ALIAS or NAME@VERSION, e.g. bank@champion.")],
    row: Annotated[
        str,
        typer.Argument(
            help="The row: a JSON object, @file.json, or a row number (from 0) of --data."
        ),
    ],
    data: Annotated[
        Path | None, typer.Option("--data", "-d", help="CSV/Parquet file that ROW numbers.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Explain one prediction: the prediction and each input column's contribution."""
    from loopml.errors import DataError

    options: dict[str, Any] = {}
    text = row.strip()
    if text.startswith("@"):
        options["row_file"] = Path(text[1:])
    elif text.startswith("{"):
        try:
            options["row"] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"ROW is not a valid JSON object: {exc}") from None
    elif text.isdigit():
        if data is None:
            raise DataError(f"ROW {text} is a row number: name the file with --data FILE")
        options.update(data=data, row_number=int(text))
    else:
        raise DataError("ROW must be a JSON object, @file.json, or a row number with --data")
    version, result = open_service(project_dir).explain(model, **options)
    if as_json:
        console.print_json(json.dumps({"model": version.ref, **result}))
        return
    _print(version.ref, result)


def _print(ref: str, result: dict[str, Any]) -> None:
    line = f"{ref} predicts [bold]{result['prediction']}[/]"
    if "probability" in result:
        line += f" (probability {result['probability']:.3f}, threshold {result['threshold']:.3f})"
    console.print(line)
    console.print(f"contributions by {result['method']}, in {result['units']}:")
    table = Table()
    table.add_column("column")
    table.add_column("contribution", justify="right")
    table.add_row("[dim]base value[/]", f"{result['base_value']:+.4f}")
    for column, value in result["contributions"].items():
        color = "green" if value > 0 else "red" if value < 0 else "dim"
        table.add_row(column, f"[{color}]{value:+.4f}[/]")
    table.add_row("[bold]output[/]", f"[bold]{result['output']:.4f}[/]")
    console.print(table)
