"""`loopml models`, `lineage`, `alias`, `approve`, `reject` and `export`: the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from loopml.interfaces.cli import render
from loopml.interfaces.cli.common import ProjectDir, handles_errors, open_service

alias_app = typer.Typer(help="Point aliases at model versions.", no_args_is_help=True)
Ref = Annotated[str, typer.Argument(help="NAME@VERSION or NAME@ALIAS.")]
By = Annotated[str, typer.Option("--by", help="Who decides (recorded with the time).")]


def add_model_commands(app: typer.Typer) -> None:
    """Register the registry's commands on the main app."""
    app.command()(models)
    app.command()(lineage)
    app.command()(approve)
    app.command()(reject)
    app.command()(export)
    app.add_typer(alias_app, name="alias")


@handles_errors
def models(
    args: Annotated[
        list[str] | None, typer.Argument(help="[NAME] or show NAME@VERSION", metavar="ARGS")
    ] = None,
    project_dir: ProjectDir = Path("."),
) -> None:
    """List model versions (aliases, status, metrics); `models show NAME@VERSION` for one."""
    args = args or []
    service = open_service(project_dir)
    if args[:1] == ["show"] and len(args) == 2:
        show_version(service.model_details(args[1]))
    elif len(args) <= 1 and args[:1] != ["show"]:
        rows = service.list_models_with_status()
        primary = service.spec.problem.primary_metric
        models_table([(v, s) for v, s in rows if not args or v.name == args[0]], primary)
    else:
        render.error("usage: loopml models [NAME] | loopml models show NAME@VERSION")
        raise typer.Exit(2)


@handles_errors
def lineage(
    model: Annotated[str | None, typer.Argument(help="NAME@VERSION or NAME@ALIAS.")] = None,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Trace a model version to its snapshot, sources, hashes and code version."""
    version, snapshot = open_service(project_dir).lineage(model)
    render.lineage(version, snapshot)


@handles_errors
def approve(
    model: Ref,
    by: By,
    note: Annotated[str, typer.Option("--note", help="Why it is approved.")] = "",
    project_dir: ProjectDir = Path("."),
) -> None:
    """Approve a version that passed the gate: it becomes the champion."""
    decided(open_service(project_dir).approve_model(model, by, note), "approved", ": champion")


@handles_errors
def reject(
    model: Ref,
    by: By,
    note: Annotated[str, typer.Option("--note", help="Why it is rejected (required).")] = "",
    project_dir: ProjectDir = Path("."),
) -> None:
    """Reject a version: it never becomes the champion; who and why are recorded."""
    decided(open_service(project_dir).reject_model(model, by, note), "rejected")


@handles_errors
def export(
    model: Ref,
    out_dir: Annotated[Path, typer.Argument(help="A new (or empty) folder.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="mlflow or onnx.")] = "mlflow",
    project_dir: ProjectDir = Path("."),
) -> None:
    """Export a version as an MLflow pyfunc model or an ONNX graph."""
    version, path = open_service(project_dir).export_model(model, fmt, out_dir)
    render.done(f"exported {version.ref} as {fmt} to {path}")


@alias_app.command("set")
@handles_errors
def alias_set(
    model: Ref,
    alias: Annotated[str, typer.Argument(help="challenger, staging, ... or champion.")],
    by: Annotated[str, typer.Option("--by", help="Who moves it.")] = "",
    project_dir: ProjectDir = Path("."),
) -> None:
    """Point ALIAS at a version (champion only for a version that passed and is approved)."""
    version = open_service(project_dir).set_model_alias(model, alias, by)
    render.done(f"{version.name}@{alias} -> version {version.version}")


@alias_app.command("delete")
@handles_errors
def alias_delete(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    alias: Annotated[str, typer.Argument(help="The alias to remove.")],
    by: Annotated[str, typer.Option("--by", help="Who removes it.")] = "",
    project_dir: ProjectDir = Path("."),
) -> None:
    """Remove an alias (not champion: move it instead)."""
    version = open_service(project_dir).delete_model_alias(name, alias, by)
    render.done(f"removed {name}@{alias} (it pointed at version {version})")


def decided(payload: dict[str, Any], verdict: str, outcome: str = "") -> None:
    render.done(f"{payload['model']}@{payload['version']} {verdict} by {payload['by']}{outcome}")


def models_table(rows: list[tuple[Any, str | None]], primary: str = "") -> None:
    if not rows:
        render.console.print("no models yet: `loopml run`")
        return
    cells = [
        [
            v.ref,
            escape(", ".join(v.aliases)),
            status or "-",
            str(v.lineage.get("gate", "-")),
            str(v.lineage.get("model_kind", "")),
            v.created_at.strftime("%Y-%m-%d %H:%M"),
            _metrics(dict(v.metrics), primary),
        ]
        for v, status in rows
    ]
    table = Table()
    for i, col in enumerate(("model", "aliases", "status", "gate")):  # never cut these
        table.add_column(col, no_wrap=True, min_width=max(len(c[i]) for c in cells))
    for col in ("kind", "created", "metrics"):
        table.add_column(col, overflow="fold")
    for row in cells:
        table.add_row(*row)
    render.console.print(table)


def show_version(details: Any) -> None:
    v, out = details.version, render.console
    out.print(f"[bold]{v.ref}[/] ({', '.join(v.aliases) or 'no alias'})")
    out.print(f"  status: {details.status or '-'}; gate: {v.lineage.get('gate', '-')}")
    check = v.lineage.get("champion_check")
    if check and not check.get("promote"):
        out.print(f"  held back from champion: {escape(str(check['reason']))}", soft_wrap=True)
    out.print(f"  kind: {v.lineage.get('model_kind', '-')}; artifact sha256: {v.artifact_digest}")
    out.print("input signature:")
    for c in v.signature.columns:
        out.print(f"  {c.name}: {c.kind} ({c.dtype}){_range(c)}")
    out.print("output schema:")
    for c in details.output_schema.get("columns", []):
        extra = f" classes {c['classes']}" if "classes" in c else ""
        extra += f" of class {c['of_class']}" if "of_class" in c else ""
        extra += f" ({c['rule']})" if "rule" in c else ""
        out.print(f"  {c['name']}: {c['type']}{extra}")
    out.print("metrics:")
    for key, value in sorted(dict(v.metrics).items()):
        out.print(f"  {key}: {_num(value)}")
    out.print("lineage:")
    for key, value in dict(v.lineage).items():
        if key != "output_schema":
            out.print(f"  {key}: {escape(str(value))}", soft_wrap=True)
    out.print("stage history:")
    for h in details.history:
        when = f"{h['at']:%Y-%m-%d %H:%M:%S}"
        out.print(f"  {when} {h['kind']}: {escape(h['details'])}", soft_wrap=True)


def _metrics(metrics: dict[str, float], primary: str) -> str:
    """The primary metric first, then the next two."""
    keys = sorted(metrics, key=lambda k: k != primary)[:3]
    return ", ".join(f"{k}={_num(metrics[k])}" for k in keys)


def _range(column: Any) -> str:
    if column.categories:
        return f" in {list(column.categories)[:8]}"
    if column.min is not None:
        return f" {column.min:g}..{column.max:g}"
    return ""


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
