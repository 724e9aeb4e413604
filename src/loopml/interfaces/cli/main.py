"""`loopml` commands. Heavy libraries are imported inside commands so `--help` is instant.

Exit codes: 0 success; 1 a result that needs attention (gate said no-go, drift alert);
2 usage or input error; 3 a failure inside loopml or its storage.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from loopml.interfaces.cli import render
from loopml.interfaces.cli.common import ProjectDir, handles_errors, open_service
from loopml.interfaces.cli.data import data_app
from loopml.interfaces.cli.explain import add_explain_command
from loopml.interfaces.cli.labels import label_app
from loopml.interfaces.cli.models import add_model_commands
from loopml.interfaces.cli.monitoring import register as register_monitoring
from loopml.interfaces.cli.runs import runs_app
from loopml.interfaces.cli.serving import register as register_serving

app = typer.Typer(
    name="loopml",
    help="The machine-learning lifecycle for tabular data, from one project spec.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the metadata database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(data_app, name="data")
app.add_typer(label_app, name="label")
app.add_typer(runs_app, name="runs")
register_monitoring(app)
register_serving(app)
add_explain_command(app)


@app.command()
@handles_errors
def init(
    data: Annotated[Path, typer.Argument(help="CSV, TSV, JSON(L) or Parquet file.")],
    target: Annotated[str, typer.Option("--target", "-t", help="The column to predict.")],
    name: Annotated[str | None, typer.Option(help="Project name (default: folder).")] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", "-x", help="A column to keep out of the features (repeat)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing loopml.yaml.")] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write loopml.yaml from DATA: task, column types, metric and split inferred."""
    from loopml.service import init_project

    path, spec, column_map = init_project(
        data, target, project_dir, name=name, exclude=exclude, force=force
    )
    render.spec_written(path, spec, column_map)


@app.command()
@handles_errors
def run(project_dir: ProjectDir = Path(".")) -> None:
    """Run the lifecycle: ingest, validate, split, train, evaluate, gate, register."""
    service = open_service(project_dir)
    with render.StepProgress() as progress:
        summary = service.run(on_event=progress.on_event)
    render.run_summary(summary)
    if summary.gate["verdict"] != "go":
        raise typer.Exit(1)


@app.command()
@handles_errors
def profile(
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file (default: .loopml/reports/).")
    ] = None,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write the EDA report of the current data: statistics, charts, quirks, leakage."""
    service = open_service(project_dir)
    with render.StepProgress() as progress:
        path, result = service.profile(output, on_event=progress.on_event)
    render.profile_summary(path, result)


@app.command()
@handles_errors
def show(
    run_id: Annotated[str, typer.Argument(help="A run id or a unique prefix of one.")],
    history: Annotated[
        bool, typer.Option("--history", help="Every logged step of each metric, not the latest.")
    ] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Show one run: status, timings, parameters, the latest value of each metric, outputs."""
    run_, metrics = open_service(project_dir).get_run(run_id)
    render.run_detail(run_, metrics, history=history)


@app.command()
@handles_errors
def summary(project_dir: ProjectDir = Path(".")) -> None:
    """The champion, its metrics, the last gate verdict and drift check, and reports."""
    service = open_service(project_dir)
    render.project_summary(service)


@app.command()
@handles_errors
def events(
    kind: Annotated[
        str | None, typer.Option(help="Only events whose kind starts with this, e.g. retrain.")
    ] = None,
    last: Annotated[int, typer.Option(help="Show the newest N events.", min=1)] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """The audit trail: gate verdicts, promotions, deployments, alerts, retraining."""
    service = open_service(project_dir)
    chosen = [e for e in service.list_events() if kind is None or e.kind.startswith(kind)]
    render.events(chosen[-last:], as_json=as_json)


add_model_commands(app)  # models, lineage, approve, reject, export, alias


@db_app.command("upgrade")
@handles_errors
def db_upgrade(project_dir: ProjectDir = Path(".")) -> None:
    """Upgrade the metadata database to this loopml's schema."""
    from loopml.config import load_settings
    from loopml.storage.metadata import upgrade_database

    revision = upgrade_database(load_settings(project_dir).db_url)
    render.done(f"database at revision {revision}")


def main() -> None:
    """Console entry point."""
    os.environ.setdefault("OMP_NUM_THREADS", str(min(2, os.cpu_count() or 1)))
    app(prog_name="loopml")


if __name__ == "__main__":  # pragma: no cover
    main()
