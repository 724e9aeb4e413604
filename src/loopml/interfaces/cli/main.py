"""`loopml` commands. Heavy libraries are imported inside commands so `--help` is instant.

Exit codes: 0 success; 1 a result that needs attention (gate said no-go, drift alert);
2 usage or input error; 3 a failure inside loopml or its storage.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

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
from loopml.interfaces.cli.ui import register as register_ui
from loopml.interfaces.cli.users import users_app

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
app.add_typer(users_app, name="users")
register_monitoring(app)
register_serving(app)
add_explain_command(app)
register_ui(app)


@app.command()
@handles_errors
def init(
    data: Annotated[
        str | None,
        typer.Argument(
            help="CSV, TSV, JSON(L) or Parquet file, or a URL: s3://bucket/calls.csv "
            "(or --sql-url)."
        ),
    ] = None,
    target: Annotated[str, typer.Option("--target", "-t", help="The column to predict.")] = "",
    sql_url: Annotated[
        str | None,
        typer.Option(help="Start from a database: a SQLAlchemy URL (password as ${VAR})."),
    ] = None,
    query: Annotated[str | None, typer.Option(help="With --sql-url: the SELECT to read.")] = None,
    table: Annotated[
        str | None, typer.Option(help="With --sql-url: a whole table (schema.name allowed).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Project name (default: folder).")] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", "-x", help="A column to keep out of the features (repeat)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing loopml.yaml.")] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write loopml.yaml from DATA: task, column types, metric and split inferred.

    From a database: `loopml init --sql-url URL --query "select ..." --target COL` writes
    a spec with that SQL source; the schema is inferred from the query's rows."""
    from loopml.service import init_project

    source = _init_source(data, sql_url, query, table)
    if not target:
        raise _usage("--target COLUMN is required: the column to predict")
    path, spec, column_map = init_project(
        source, target, project_dir, name=name, exclude=exclude, force=force
    )
    render.spec_written(path, spec, column_map)


def _init_source(
    data: str | None, sql_url: str | None, query: str | None, table: str | None
) -> Any:
    if sql_url is None:
        if query is not None or table is not None:
            raise _usage("--query and --table go with --sql-url URL")
        if data is None:
            raise _usage("name the data: a file (loopml init DATA --target COL) or --sql-url")
        return data
    if data is not None:
        raise _usage(f"give either a file ({data}) or --sql-url, not both")
    from pydantic import ValidationError

    from loopml.spec.sources import SqlSource

    try:
        return SqlSource(url=sql_url, query=query, table=table)
    except ValidationError as exc:
        raise _usage(f"--sql-url needs --query or --table: {exc.errors()[0]['msg']}") from None


def _usage(message: str) -> Exception:
    from loopml.errors import SpecError

    return SpecError(message)


@app.command("config")
@handles_errors
def config_(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: setting -> value and origin.")
    ] = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Show the effective store, artifacts and cluster, and where each came from
    (env, loopml.toml, loopml.yaml or default); passwords are masked."""
    from loopml.service.configuration import effective_config

    entries = effective_config(project_dir)
    if as_json:
        import json

        shown = {e.name: {"value": e.value, "from": e.origin} for e in entries}
        typer.echo(json.dumps(shown, indent=2))
        return
    render.config_table(entries)


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
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Profile this CSV/Parquet file instead, of any size: one streaming pass, "
            "the charts on a random sample.",
        ),
    ] = None,
    sample_rows: Annotated[
        int, typer.Option("--sample-rows", min=1, help="With --file: rows sampled for charts.")
    ] = 200_000,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write the EDA report of the current data: statistics, charts, quirks, leakage."""
    service = open_service(project_dir)
    if file is not None:
        with render.RowProgress("profiling") as rows:
            path, result = service.profile_file(
                file, output, sample_rows=sample_rows, progress=rows.update
            )
        render.profile_summary(path, result)
        return
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
