"""Visible progress: the search's budget, its progress line, and how it stopped."""

from __future__ import annotations

import io
import time
from pathlib import Path

from rich.console import Console
from tests.helpers import bank_project, edit_spec
from typer.testing import CliRunner

from loopml.interfaces.cli.main import app
from loopml.interfaces.cli.render import StepProgress
from loopml.pipeline.step import StepEvent
from loopml.service import ProjectService

runner = CliRunner()


def test_a_small_budget_stops_the_search_and_the_run_says_so(
    tmp_path: Path, bank_csv: Path
) -> None:
    project = bank_project(tmp_path, bank_csv, rows=1500)
    init = runner.invoke(
        app, ["init", "data/bank.csv", "--target", "subscribed ", "-C", str(project)]
    )
    assert init.exit_code == 0, init.output
    assert "model search: up to 50 trials within " in init.output  # the generated budget

    def tiny_budget(spec: dict) -> None:
        spec["models"]["search"].update(trials=10_000, timeout_s=2, folds=2, workers=1)
        spec["models"]["candidates"] = ["linear"]

    edit_spec(project, tiny_budget)
    events: list[StepEvent] = []
    started = time.perf_counter()
    summary = ProjectService.open(project).run(on_event=events.append)
    assert time.perf_counter() - started < 120
    search = summary.search
    assert search["stop_reason"] == "time_budget" and search["trials_requested"] == 10_000
    ran = search["trials_completed"] + search["trials_pruned"] + search["trials_failed"]
    assert 1 <= ran < 10_000 and 2 <= search["elapsed_s"] < 15
    lines = [e for e in events if e.step == "train" and e.kind == "progress"]
    assert any(" trials · best roc_auc 0." in e.message for e in lines)
    assert all(e.fraction is not None for e in lines if " trials · " in e.message)
    last = [e for e in lines if " trials · " in e.message][-1]
    assert f"{ran}/10000 trials" in last.message and "left of 2s" in last.message

    again = runner.invoke(app, ["run", "-C", str(project)])  # every step reused
    assert f"search: {ran} of 10000 trials in " in again.output
    assert "stopped by the time budget (2 s, models.search.timeout_s)" in again.output


def test_progress_off_a_terminal_prints_lines_with_the_elapsed_time() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with StepProgress(console, interval_s=0) as progress:
        progress.on_event(StepEvent("train", "start"))
        progress.on_event(StepEvent("train", "progress", "3/50 trials · best rmse 504.6", 0.06))
        progress.on_event(StepEvent("train", "done", duration_s=1.25))
    text = out.getvalue()
    assert "train      3/50 trials · best rmse 504.6 (6%) [0s]" in text
    assert "train      ran     1.2s" in text


def test_progress_off_a_terminal_is_throttled() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with StepProgress(console, interval_s=60) as progress:
        progress.on_event(StepEvent("train", "start"))
        for i in range(20):
            progress.on_event(StepEvent("train", "progress", f"{i}/20 trials", i / 20))
    assert "trials" not in out.getvalue()  # nothing within the first minute
