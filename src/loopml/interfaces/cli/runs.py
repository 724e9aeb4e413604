"""`loopml runs`: list and filter runs; `loopml runs compare`: side by side, with charts.

loopml runs --where "roc_auc > 0.8" --where "params.model == lightgbm" --sort -roc_auc
loopml runs --parent 3f2a1b9c --metric pr_auc       # the trials of a search
loopml runs compare 3f2a 9c1b 77de --out compare.html
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from loopml.interfaces.cli import render
from loopml.interfaces.cli.common import ProjectDir, handles_errors, open_service

runs_app = typer.Typer(
    help="List runs (filter, sort, metric columns); `runs compare A B` puts them side by side.",
)
_STATUS_COLORS = {"succeeded": "green", "failed": "red", "running": "yellow", "reused": "cyan"}


def _check_where(values: list[str] | None) -> list[str] | None:
    from loopml.tracking.query import parse_condition

    for text in values or []:
        try:
            parse_condition(text)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return values


def _check_sort(value: str | None) -> str | None:
    from loopml.tracking.query import parse_order_by

    if value is None:
        return None
    try:
        return parse_order_by(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@runs_app.callback(invoke_without_command=True)
@handles_errors
def runs(
    ctx: typer.Context,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            "-w",
            help='A condition, repeatable: "roc_auc > 0.8", "params.lr <= 0.01", '
            '"tags.state == pruned", "status == failed", "duration > 60".',
            callback=_check_where,
        ),
    ] = None,
    parent: Annotated[
        str | None, typer.Option("--parent", help="Only children of this run (a search's trials).")
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort", help="A metric key to sort by; -KEY for descending.", callback=_check_sort
        ),
    ] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="A metric column to show (repeat).")
    ] = None,
    step: Annotated[str | None, typer.Option("--step", help="Only runs of this step.")] = None,
    status: Annotated[str | None, typer.Option(help="running, succeeded, failed, reused.")] = None,
    limit: Annotated[int, typer.Option(help="How many (newest first unless --sort).")] = 30,
    project_dir: ProjectDir = Path("."),
) -> None:
    """List runs, newest first: filter with --where, sort by a metric, show metric columns."""
    if ctx.invoked_subcommand is not None:
        return
    table = open_service(project_dir).search_runs(
        where or [],
        name=step,
        status=status,
        parent=parent,
        order_by=sort,
        metrics=metric or [],
        limit=limit,
    )
    _runs_table(table, filtered=bool(where or parent or step or status))


@runs_app.command("compare")
@handles_errors
def compare(
    ctx: typer.Context,
    run_ids: Annotated[
        list[str],
        typer.Argument(help="Two or more run ids (or unique prefixes).", metavar="RUN..."),
    ],
    metric: Annotated[
        str | None,
        typer.Option("--metric", "-m", help="The metric to chart (default: the primary one)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="HTML file (default: .loopml/reports/compare-*.html)."),
    ] = None,
    project_dir: Annotated[
        Path | None, typer.Option("--dir", "-C", help="Project folder (default: the current one).")
    ] = None,
) -> None:
    """Parameters and metrics side by side; an HTML report with the search's charts.

    The report has a parallel-coordinates chart and an optimisation-history chart of the
    runs' parent search (all its trials), or of the compared runs when they have none.
    """
    if len(set(run_ids)) < 2:
        raise typer.BadParameter("give at least two runs to compare", param_hint="RUN...")
    parent_dir = ctx.parent.params.get("project_dir") if ctx.parent is not None else None
    folder = project_dir or parent_dir or Path(".")
    comparison = open_service(folder).compare_runs(run_ids, metric=metric, out=out)
    _comparison_table(comparison)
    render.done(f"wrote {comparison.report_path}")


def _runs_table(table: Any, *, filtered: bool) -> None:
    if not table.runs:
        render.console.print("no runs match" if filtered else "no runs yet: `loopml run`")
        return
    grid = Table()
    for col in ("run", "step", "status", "started", "seconds", "parent", *table.metric_keys):
        grid.add_column(col, justify="right" if col in table.metric_keys else "left")
    for r in table.runs:
        grid.add_row(
            r.run_id[:8],
            escape(r.name),
            _status(str(r.status)),
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            _num(r.duration_s, 2),
            (r.parent_run_id or "")[:8],
            *[_num(table.value(r.run_id, key)) for key in table.metric_keys],
        )
    render.console.print(grid)


def _comparison_table(comparison: Any) -> None:
    runs = comparison.runs
    grid = Table(title="runs side by side (yellow: differs, green: best)", title_justify="left")
    grid.add_column("")
    for r in runs:
        grid.add_column(f"{r.run_id[:8]}\n{escape(r.name)}", justify="right")
    grid.add_row("status", *[_status(str(r.status)) for r in runs])
    grid.add_row("seconds", *[_num(r.duration_s, 2) for r in runs])
    for key in comparison.param_keys:
        label = _differs(f"params.{key}", comparison.params_differ(key))
        grid.add_row(label, *[_param(r.params, key) for r in runs])
    for key in comparison.metric_keys:
        best = comparison.best(key)
        cells = []
        for r in runs:
            value = comparison.value(r, key)
            text = _num(value)
            cells.append(f"[bold green]{text}[/]" if value is not None and value == best else text)
        grid.add_row(_differs(key, comparison.metrics_differ(key)), *cells)
    render.console.print(grid)
    if comparison.parent is not None:
        render.console.print(
            f"charts: the {len(comparison.population)} children of "
            f"{comparison.parent.run_id[:8]} ({comparison.parent.name}), "
            f"metric {comparison.metric or '-'}"
        )


def _differs(label: str, differs: bool) -> str:
    return f"[bold yellow]{label}[/]" if differs else label


def _param(params: Any, key: str) -> str:
    if key not in params:
        return "-"
    value = params[key]
    if isinstance(value, float):
        return f"{value:.6g}"
    return escape(value if isinstance(value, str) else repr(value))


def _status(status: str) -> str:
    return f"[{_STATUS_COLORS.get(status, 'white')}]{status}[/]"


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)
