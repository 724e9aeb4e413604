"""`loopml monitor`, `loopml drift` and `loopml staleness`: watching models and data.

`drift` needs no project: it compares two files. `monitor` exits 1 when the latest
window alerts (drift, data quality, live metric, operations); `--watch` repeats it
every `--every` seconds until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from loopml.interfaces.cli.common import ProjectDir, handles_errors, open_service
from loopml.interfaces.cli.render import console


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `loopml` app."""
    app.command()(monitor)
    app.command()(drift)
    app.command()(staleness)


@handles_errors
def monitor(
    model: Annotated[str | None, typer.Argument(help="NAME@ALIAS or NAME@VERSION.")] = None,
    watch: Annotated[bool, typer.Option(help="Check again every --every seconds.")] = False,
    every: Annotated[float, typer.Option(help="Seconds between checks with --watch.")] = 60.0,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Drift, data quality, live metric and operations of served traffic; exit 1 on alert.

    Without MODEL: every version the active deployment serves (a shadow apart, whose
    alerts are shown but do not set the exit code), else the champion."""
    service = open_service(project_dir)
    if not watch:
        result = service.monitor(model)
        _print_monitor(result)
        if result.alert:
            raise typer.Exit(1)
        return
    if every <= 0:
        _fail("--every must be a number of seconds above 0")
    from loopml.errors import LoopMLError
    from loopml.monitor.watch import repeat

    def report_error(exc: Exception) -> None:
        if not isinstance(exc, LoopMLError):
            raise exc
        console.print(f"[red]error:[/] {exc}")

    runs = repeat(lambda: service.monitor(model), every, on_result=_print_monitor,
                  on_error=report_error)  # fmt: skip
    console.print(f"stopped after {runs} check(s)")


@handles_errors
def drift(
    reference: Annotated[Path, typer.Argument(help="The baseline: a .csv or .parquet file.")],
    current: Annotated[Path, typer.Argument(help="The data to check: .csv or .parquet.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print per column test, score, threshold, verdict.")
    ] = False,
    threshold: Annotated[
        list[str] | None,
        typer.Option(help="TEST=VALUE, e.g. wasserstein=0.1 or ks=0.05 (repeat)."),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(help="NAME=numeric|categorical: measure only these (repeat)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(min=1, help="Processes counting parts of a Parquet CURRENT at once."),
    ] = 1,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Count the parts on a Dask cluster: local, local:N or tcp://host:port "
            "(its workers must see CURRENT's path; LOOPML_CLUSTER is not read here).",
        ),
    ] = None,
) -> None:
    """Compare two files column by column, without a project; exit 1 when one drifted.

    CURRENT may be larger than memory: it is read in chunks (with --workers N or
    --cluster, its row groups are counted in parallel and merged) into the reference's
    bins."""
    from loopml.compute import executor_for
    from loopml.interfaces.cli.render import RowProgress
    from loopml.monitor.compare import drift as compare

    executor = executor_for(workers, cluster=cluster) if workers > 1 or cluster else None
    try:
        with RowProgress("counting") as progress:
            check = compare(
                reference,
                current,
                columns=_pairs(column, "--column") or None,
                thresholds={k: _number(v, k) for k, v in _pairs(threshold, "--threshold").items()},
                progress=progress.update,
                executor=executor,
            )
    finally:
        if executor is not None:
            executor.close()
    if as_json:
        typer.echo(json.dumps(check.to_dict(), indent=2))
    else:
        console.print(_drift_table(check.features, f"{current} against {reference}"))
        _print_verdict(check.drifted_features, check.current_rows)
    if check.alert:
        raise typer.Exit(1)


@handles_errors
def staleness(project_dir: ProjectDir = Path(".")) -> None:
    """Per served model version: days until its live metric fell, first drifted features."""
    figures = open_service(project_dir).staleness()
    table = Table(title="staleness", title_justify="left")
    for name in ("model", "first prediction", "metric fell", "days", "first drift", "features"):
        table.add_column(name)
    for ref, s in figures.items():
        table.add_row(
            ref, _when(s.first_at), _when(s.degraded_at),
            "-" if s.days_to_degrade is None else f"{s.days_to_degrade:.1f}",
            _when(s.first_drift_at), ", ".join(s.first_drifted) or "-",
        )  # fmt: skip
    console.print(table if figures else "no version of this project has logged predictions yet")


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    pairs = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            _fail(f"{option} takes KEY=VALUE, got '{item}'")
        pairs[key.strip()] = value.strip()
    return pairs


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        _fail(f"--threshold {name}={text}: the value should be a number")
        raise


def _fail(message: str) -> None:
    from loopml.errors import DataError

    raise DataError(message)


def _drift_table(features: Any, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("feature", "type", "test", "score", "threshold", "drift", "note"):
        table.add_column(name, justify="right" if name in ("score", "threshold") else "left")
    for f in features:
        flag = "[red]DRIFT[/]" if f.drifted else "[green]ok[/]"
        score = "-" if math.isnan(f.score) else f"{f.score:.4g}"
        table.add_row(f.feature, f.column_type, f.method, score, f"{f.threshold:g}", flag, f.note)
    return table


def _print_verdict(drifted: list[str], rows: int) -> None:
    if drifted:
        console.print(f"[bold red]ALERT[/]: drift in {', '.join(drifted)}")
    elif rows == 0:
        console.print("[yellow]the current data has no rows: nothing to compare[/]")
    else:
        console.print("[green]no drift[/]")


_ROLES = {"primary": "", "challenger": " (challenger)", "shadow": " (shadow)"}


def _print_monitor(result: Any) -> None:
    _print_judged(result)
    for other in result.others:
        _print_judged(other)
    if result.retraining:
        console.print(f"retraining: {result.retraining}")


def _print_judged(result: Any) -> None:
    outcome, report = result.outcome, result.report
    latest = outcome.latest
    ref = f"{report.model_name}@{report.version}{_ROLES.get(result.role, '')}"
    if latest is None:
        console.print(f"{ref}: {outcome.message}")
    else:
        title = f"drift of {ref}, latest window: {latest.rows} rows"
        console.print(_drift_table(latest.drift, title))
        if latest.note:
            console.print(f"[yellow]{latest.note}[/]")
        for op in latest.operations:
            console.print(
                f"v{op.version}: {op.rows} requests, p50 {op.p50_ms:.3g} ms, "
                f"p95 {op.p95_ms:.3g} ms, errors {op.error_rate:.2%}"
            )
        if latest.performance is not None:
            console.print(latest.performance.message)
        for issue in latest.quality:
            if not issue.alert:
                console.print(f"[yellow]data quality[/]: {issue.message}")
    shadow = " (shadow, not acted on)" if result.role == "shadow" else ""
    for signal, evidence in outcome.alerts.items():
        console.print(f"[bold red]ALERT[/]{shadow} {signal}: {'; '.join(evidence)}")
    if not outcome.alert:
        console.print("[green]no alert[/]")
    for action in result.actions:
        color = "green" if action.delivered else "red"
        console.print(f"[{color}]{action.action}[/]: {action.message}")
    console.print(f"report: {result.report_path}")


def _when(value: Any) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")
