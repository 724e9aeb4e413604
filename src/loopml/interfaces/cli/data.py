"""`loopml data ...`: snapshot versions and diffs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from loopml.interfaces.cli import render
from loopml.interfaces.cli.common import ProjectDir, handles_errors, open_service

data_app = typer.Typer(help="Data snapshots: versions and diffs.", no_args_is_help=True)


@data_app.command("versions")
@handles_errors
def versions(project_dir: ProjectDir = Path(".")) -> None:
    """List the project's data snapshots, newest first, with their sources."""
    render.snapshots_table(open_service(project_dir).list_snapshots())


@data_app.command("diff")
@handles_errors
def diff(
    a: Annotated[str, typer.Argument(help="Snapshot id (or a unique prefix): the older one.")],
    b: Annotated[str, typer.Argument(help="Snapshot id (or a unique prefix): the newer one.")],
    key: Annotated[
        list[str] | None, typer.Option("--key", "-k", help="Row key column (repeat).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Rows added, removed and changed, schema changes and distribution shifts."""
    result = open_service(project_dir).diff_snapshots(a, b, key)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        render.snapshot_diff(result, a, b)
