"""Rich rendering of service results for the terminal. No logic beyond presentation."""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def error(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)


def done(message: str) -> None:
    console.print(f"[green]✓[/] {message}")


def config_table(entries: Any) -> None:
    """`loopml config`: each setting, its value and where it came from."""
    table = Table(title="configuration", title_justify="left")
    for column in ("setting", "value", "from"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(entry.name, entry.value, entry.origin)
    console.print(table)


def input_problems(report: Any, errors: Path | None) -> None:
    """The input check's summary (``loopml.model.checks.InputReport``): one warning line
    per column, rule and action, and where the full list went."""
    lines = report.lines()
    if not lines:
        return
    err_console.print(f"[yellow]warning:[/] {len(report.problems)} value(s) broke the schema:")
    for line in lines:
        err_console.print(f"  {line}", soft_wrap=True)
    where = f"every one is in {errors}" if errors else "--errors FILE lists every one"
    err_console.print(f"  ({where}; serve.invalid and serve.unknown in loopml.yaml decide)")


def spec_written(path: Path, spec: Any, column_map: dict[str, str]) -> None:
    problem = spec.problem
    done(f"wrote {path}")
    console.print(
        f"  task [bold]{problem.task}[/], target [bold]{problem.target}[/], "
        f"primary metric [bold]{problem.primary_metric}[/], split [bold]{spec.split.method}[/], "
        f"{len(spec.data.columns)} columns"
    )
    renamed = {k: v for k, v in column_map.items() if k != v}
    if renamed:
        pairs = ", ".join(f"{k!r} -> {v!r}" for k, v in renamed.items())
        console.print(f"  cleaned column names: {pairs}")
    if spec.features.exclude:
        console.print(f"  excluded from features: {', '.join(spec.features.exclude)}")
    search = spec.models.search
    if search.timeout_s is not None:
        console.print(
            f"  model search: up to {search.trials} trials within {search.timeout_s:g} s "
            "(models.search.trials, timeout_s)"
        )
    console.print("  next: [bold]loopml run[/]")


class StepProgress:
    """Prints one line per finished step and, while a step works, one updating line: the
    step, its latest progress message and its elapsed time (ticking on a terminal).

    Off a terminal (a log, CI) the updating line cannot be drawn: a progress message is
    printed as a line of its own, at most once every ``interval_s`` seconds per step.
    """

    def __init__(self, out: Console | None = None, interval_s: float = 10.0) -> None:
        self._console = out or console
        self._interval_s = interval_s
        self._status: Any = None
        self._line = _WorkingLine()
        self._printed_at = 0.0

    def __enter__(self) -> StepProgress:
        self._status = self._console.status(self._line)
        self._status.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._status.stop()

    def on_event(self, event: Any) -> None:
        kind, step = event.kind, event.step
        seconds = f"{event.duration_s:.1f}s" if event.duration_s is not None else ""
        out = self._console
        if kind == "start":
            self._line.start(step)
            self._printed_at = time.monotonic()
        elif kind == "progress":
            pct = f" ({event.fraction:.0%})" if event.fraction is not None else ""
            self._line.message = f"{event.message}{pct}"
            now = time.monotonic()
            if not out.is_terminal and now - self._printed_at >= self._interval_s:
                self._printed_at = now
                out.print(f"  {step:<10} {self._line.message} [{self._line.elapsed()}]")
        elif kind == "reused":
            out.print(f"[cyan]↺[/] {step:<10} reused  {event.message}")
        elif kind == "done":
            out.print(f"[green]✓[/] {step:<10} ran     {seconds}")
        elif kind == "failed":
            out.print(f"[red]✗[/] {step:<10} failed  {event.message}")


class _WorkingLine:
    """The status line of the step at work; rich re-renders it, so its clock ticks."""

    def __init__(self) -> None:
        self.step = "starting"
        self.message = ""
        self._started = time.monotonic()

    def start(self, step: str) -> None:
        self.step, self.message, self._started = step, "", time.monotonic()

    def elapsed(self) -> str:
        whole = round(time.monotonic() - self._started)
        return f"{whole}s" if whole < 120 else f"{whole // 60}m{whole % 60:02d}s"

    def __rich__(self) -> str:
        message = f": {self.message}" if self.message else " ..."
        return f"{self.step}{message} [{self.elapsed()}]"


def run_summary(summary: Any) -> None:
    evaluation, gate, reg = summary.evaluation, summary.gate, summary.registration
    reused = sum(1 for s in summary.steps if s.reused)
    console.print(f"\n{len(summary.steps)} steps, {reused} reused")
    sample_line(getattr(summary, "ingest", {}))
    search_line(getattr(summary, "search", {}))
    data_checks(summary.validation, summary.cleaning)
    metrics_table(evaluation)
    interval_line(evaluation.get("interval"))
    verdict = gate["verdict"]
    color = "green" if verdict == "go" else "red"
    console.print(f"gate: [bold {color}]{verdict.upper()}[/] for {gate['model_kind']}")
    for check in gate["checks"]:
        mark = "[green]✓[/]" if check["passed"] else "[red]✗[/]"
        console.print(f"  {mark} {check['reason']}")
    champion_check(reg.get("champion_check"))
    aliases = f" ({', '.join(reg['aliases'])})" if reg["aliases"] else ""
    console.print(f"model: [bold]{reg['model']}@{reg['version']}[/]{aliases}")
    console.print(f"report: {summary.report_path}")


def sample_line(ingest: dict[str, Any]) -> None:
    """With ``data.sample``: the rows streamed to the snapshot and the sample trained on."""
    if "sample_rows" not in ingest:
        return
    console.print(
        f"data: {ingest['rows']:,} rows streamed to snapshot {ingest['snapshot_id'][:12]}; "
        f"a sample of {ingest['sample_rows']:,} rows trained on"
    )


def interval_line(interval: dict[str, Any] | None) -> None:
    """A regressor's conformal prediction interval and its coverage on the hold-out."""
    if not interval:
        return
    scale = " (of log1p)" if interval.get("scale") == "log" else ""
    half, width = _num(interval["halfwidth"], 2), _num(interval["mean_width"], 2)
    console.print(
        f"prediction interval: {interval['level']:.0%}, ± {half}{scale}; "
        f"hold-out coverage {interval['coverage']:.1%}, mean width {width}"
    )
    if interval["coverage"] < interval["level"] - 0.05:
        console.print(
            "  [yellow]warn[/] the hold-out is covered less often than asked: its rows differ "
            "from the training rows (a later period, a shift); treat the bounds as optimistic"
        )


def champion_check(check: dict[str, Any] | None) -> None:
    """The new version against the current champion (``registry.champion``), when compared."""
    if not check:
        return
    mark = "[green]✓[/]" if check["promote"] else "[yellow]held back[/]"
    console.print(f"champion: {mark} {check['reason']}")


def search_line(search: dict[str, Any]) -> None:
    """How the model search went: trials run of those asked for, time, why it stopped."""
    if "trials_requested" not in search:  # no search ran (trials: 0), or an old run
        return
    ran = search["trials_completed"] + search["trials_pruned"] + search["trials_failed"]
    budget = search.get("timeout_s")
    if search.get("stop_reason") == "time_budget":
        why = f"stopped by the time budget ({budget:g} s, models.search.timeout_s)"
    else:
        why = "all done" + (f" within the {budget:g} s budget" if budget else "")
    console.print(
        f"search: {ran} of {search['trials_requested']} trials in {search['elapsed_s']:.0f} s, "
        f"{why}; best cv {search['metric']} {_num(search['score'])} ({search['algorithm']})",
        soft_wrap=True,
    )


def data_checks(validation: dict[str, Any], cleaning: dict[str, Any]) -> None:
    """One line per validation warning and a count of each cleaning action."""
    warnings = [v for v in validation["violations"] if v["severity"] == "warn"]
    console.print(f"validation: {validation['rows']} rows, {len(warnings)} warnings")
    for v in warnings[:10]:
        console.print(
            f"  [yellow]warn[/] {v['column']}: {v['rule']}, {v['count']} rows, e.g. {v['example']}"
        )
    counts: dict[str, int] = {}
    for entry in cleaning.get("actions", []):
        counts[entry["action"]] = counts.get(entry["action"], 0) + int(entry.get("rows", 1))
    if counts:
        done_ = ", ".join(f"{action} {n}" for action, n in counts.items())
        console.print(f"cleaning: {done_}")


def metrics_table(evaluation: dict[str, Any]) -> None:
    candidates = dict(evaluation["candidates"])
    if evaluation.get("baseline"):
        candidates["baseline"] = evaluation["baseline"]
    keys = sorted({k for m in candidates.values() for k in m})
    table = Table(title="hold-out metrics", title_justify="left")
    table.add_column("metric")
    for name in candidates:
        best = " *" if name == evaluation.get("best") else ""
        table.add_column(f"{name}{best}", justify="right")
    for key in keys:
        table.add_row(key, *[_num(m.get(key)) for m in candidates.values()])
    console.print(table)


def run_detail(run: Any, metrics: list[Any], history: bool = False) -> None:
    """One run: status, timings, parameters, tags, outputs, error, and each metric's
    latest value (its latest step; every step with ``history``)."""
    console.print(f"run [bold]{run.run_id}[/] step [bold]{run.name}[/] {_status(str(run.status))}")
    console.print(f"  started {run.started_at:%Y-%m-%d %H:%M:%S} UTC, {_num(run.duration_s, 2)} s")
    console.print(f"  code {run.code_version}  pid {run.pid} on {run.host}")
    if run.parent_run_id:
        console.print(f"  parent {run.parent_run_id}")
    for key, value in dict(run.params).items():
        console.print(f"  param {key} = {value}", soft_wrap=True)
    for key, value in dict(run.tags).items():
        console.print(f"  tag {key} = {value}")
    for name, digest in dict(run.outputs).items():
        console.print(f"  output {name} sha256:{digest[:16]}")
    if run.error:
        console.print(f"  [red]error[/] {run.error}")
    if metrics and history:
        table = Table("metric", "step", "value")
        for m in metrics:
            table.add_row(m.key, str(m.step), _num(m.value))
        console.print(table)
    elif metrics:
        table = Table("metric", "value", "step", "steps logged", title="latest metrics")
        for m, count in latest_metrics(metrics):
            table.add_row(m.key, _num(m.value), str(m.step), str(count))
        console.print(table)
        if any(count > 1 for _, count in latest_metrics(metrics)):
            console.print("  every step: [bold]--history[/]")


def latest_metrics(metrics: list[Any]) -> list[tuple[Any, int]]:
    """Per metric key, in first-logged order: the value at its latest step (the last
    logged of that step) and how many values were logged."""
    latest: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for m in metrics:
        counts[m.key] = counts.get(m.key, 0) + 1
        if m.key not in latest or m.step >= latest[m.key].step:
            latest[m.key] = m
    return [(m, counts[key]) for key, m in latest.items()]


def serving(version: Any, url: str) -> None:
    console.print(f"serving [bold]{version.ref}[/] on {url}  (POST /predict, GET /health)")


def project_summary(service: Any) -> None:
    from loopml.errors import NotFoundError

    try:
        version, _ = service.load_model()
    except NotFoundError:
        console.print("no champion yet: the last gate said no-go, or `loopml run` never ran")
        version = None
    if version is not None:
        console.print(f"champion: [bold]{version.ref}[/] ({version.lineage.get('model_kind')})")
        console.print(
            "  " + ", ".join(f"{k} {_num(v)}" for k, v in sorted(dict(version.metrics).items()))
        )
    for kind in ("gate.verdict", "drift.checked"):
        events = service.list_events(kind)
        if events:
            console.print(f"{kind}: {_event_line(events[-1].payload)}")
    reports = sorted(service.reports_dir.glob("*.html")) if service.reports_dir.exists() else []
    for path in reports:
        console.print(f"report: {path}")


def _event_line(payload: dict[str, Any]) -> str:
    if "verdict" in payload:
        reasons = "; ".join(payload.get("reasons") or []) or "every criterion met"
        return f"{payload['verdict']} ({reasons})"
    drifted = ", ".join(payload.get("drifted") or []) or "none"
    return f"{payload.get('current_rows')} rows checked, drifted: {drifted}"


def _status(status: str) -> str:
    color = {"succeeded": "green", "failed": "red", "running": "yellow", "reused": "cyan"}
    return f"[{color.get(status, 'white')}]{status}[/]"


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def snapshots_table(snapshots: list[Any]) -> None:
    table = Table()
    for col in ("snapshot", "created", "rows", "columns", "source", "source sha256"):
        table.add_column(col)
    for s in snapshots:
        table.add_row(
            s.snapshot_id[:12],
            s.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            str(s.row_count),
            str(len(s.schema.columns)),
            s.source,
            s.source_hash[:12],
        )
    console.print(table if snapshots else "no snapshots yet: `loopml run`")


def snapshot_diff(diff: Any, a: str, b: str) -> None:
    console.print(f"snapshot {a} -> {b}: {diff.rows_a} -> {diff.rows_b} rows")
    keyed = f" (by key {', '.join(diff.key)})" if diff.key else " (whole rows)"
    console.print(
        f"  rows added {diff.added}, removed {diff.removed}, changed {diff.changed}{keyed}"
    )
    if diff.columns_added or diff.columns_removed:
        console.print(
            f"  columns added: {', '.join(diff.columns_added) or '-'}; "
            f"removed: {', '.join(diff.columns_removed) or '-'}"
        )
    for column, before, after in diff.kind_changes:
        console.print(f"  [yellow]type changed[/] {column}: {before} -> {after}")
    shifted = [s for s in diff.shifts if s.drifted]
    for s in shifted:
        console.print(
            f"  [yellow]distribution shift[/] {s.feature}: {s.method} {s.score:.3g} "
            f"(threshold {s.threshold:g})"
        )
    if not shifted:
        console.print("  no distribution shift above the threshold")


def lineage(version: Any, snapshot: Any) -> None:
    console.print(f"[bold]{version.ref}[/] ({', '.join(version.aliases) or 'no alias'})")
    for key, value in dict(version.lineage).items():
        console.print(f"  {key}: {value}")
    if snapshot is None:
        console.print("no snapshot: trained outside loopml; its sample is train_digest")
        return
    console.print(f"snapshot {snapshot.snapshot_id} ({snapshot.row_count} rows)")
    for source in snapshot.details.get("sources", []):
        query = f" query: {source['query']}" if source.get("query") else ""
        console.print(
            f"  source {source['name']} ({source['type']}): {source['location']}{query} "
            f"sha256 {source['source_hash']}"
        )


def profile_summary(path: Path, profile: Any) -> None:
    done(f"profiled {profile.rows} rows x {len(profile.columns)} columns")
    if profile.sample_note:
        console.print(profile.sample_note, soft_wrap=True)
    colors = {"high": "red", "medium": "yellow", "low": "white"}
    for finding in profile.findings:
        color = colors.get(finding.severity, "white")
        console.print(f"  [{color}]{finding.severity:<6}[/] {finding.kind}: {finding.message}")
    console.print(f"report: {path}")


def events(chosen: list[Any], *, as_json: bool) -> None:
    """Events oldest first: when, kind and the payload's gist (or JSON lines)."""
    import json

    if as_json:
        for e in chosen:
            record = {"at": e.created_at.isoformat(), "kind": e.kind, "payload": e.payload}
            print(json.dumps(record, default=str))
        return
    if not chosen:
        console.print("no events yet")
        return
    table = Table("when (UTC)", "event", "what", show_lines=False)
    for e in chosen:
        table.add_row(e.created_at.strftime("%Y-%m-%d %H:%M:%S"), e.kind, e.gist[:110])
    console.print(table)


class RowProgress:
    """A rich progress bar fed by a ``progress(rows_done, total_or_None)`` callback
    (batch scoring, drift of a large file); gone once the work is done."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> RowProgress:
        from rich.progress import Progress

        self._bar: Any = Progress(console=console, transient=True)
        self._bar.__enter__()
        self._task = self._bar.add_task(self.label, total=None)
        return self

    def update(self, done: int, total: int | None) -> None:
        self._bar.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: Any) -> None:
        self._bar.__exit__(*exc)
