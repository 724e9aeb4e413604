"""`loopml label ...`: export rows that need a label, import labels people gave them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopml.interfaces.cli import render
from loopml.interfaces.cli.common import ProjectDir, handles_errors, open_service

label_app = typer.Typer(help="Label rows by hand: export, fill in, import.", no_args_is_help=True)


@label_app.command("export")
@handles_errors
def export(
    output: Annotated[Path, typer.Argument(help="CSV file to write the unlabelled rows to.")],
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write the rows without a label (after rules and earlier imports) to OUTPUT."""
    service = open_service(project_dir)
    with render.StepProgress() as progress:
        rows = service.export_unlabelled(output, on_event=progress.on_event)
    render.done(f"wrote {rows} unlabelled rows to {output}: fill in the target column")


@label_app.command("import")
@handles_errors
def import_(
    path: Annotated[Path, typer.Argument(help="The filled-in labelling file (CSV).")],
    by: Annotated[str, typer.Option("--by", help="Who labelled the rows.")],
    project_dir: ProjectDir = Path("."),
) -> None:
    """Import labels (matched by data.key); the next `loopml run` trains with them."""
    result = open_service(project_dir).import_labels(path, by)
    render.done(
        f"imported {result['rows']} labels by {result['labelled_by']} "
        f"(sha256 {result['digest'][:12]}); run `loopml run` to use them"
    )
