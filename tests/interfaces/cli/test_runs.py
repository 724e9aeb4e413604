"""`loopml runs` (filters, sort, metric columns) and `loopml runs compare` (table, HTML)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from loopml.service import init_project
from loopml.tracking.client import Tracker

runner = CliRunner()


@dataclass(frozen=True)
class Search:
    folder: Path
    search: str
    trials: list[str]  # in start order; roc_auc 0.70, 0.85, 0.80, 0.95 (pruned: no metric)


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Search:
    """A project with a search run, its five trials (params, per-fold metrics), a stray run."""
    folder = tmp_path_factory.mktemp("cli-runs")
    pd.DataFrame({"x": range(60), "y": [0, 1] * 30}).to_csv(folder / "d.csv", index=False)
    init_project("d.csv", "y", folder, name="tiny")
    tracker = Tracker.open(folder)
    trials = []
    with tracker.start_run("search", params={"budget": 5}) as search:
        for lr, model, auc in [
            (0.1, "linear", 0.70),
            (0.05, "lightgbm", 0.85),
            (0.01, "lightgbm", 0.80),
            (0.2, "xgboost", 0.95),
            (0.3, "xgboost", None),
        ]:
            params = {"lr": lr, "model": model}
            with tracker.start_run("trial", params=params, parent_run_id=search.run_id) as trial:
                trials.append(trial.run_id)
                if auc is None:
                    trial.set_tag("state", "pruned")
                    continue
                for fold in range(3):
                    trial.log_metric("roc_auc", auc - 0.1 + 0.05 * fold, step=fold)
                trial.log_metric("roc_auc", auc, step=3)  # the latest value: the mean
                trial.log_metric("pr_auc", auc / 2, step=3)
    with tracker.start_run("notebook") as stray:
        stray.log_metric("roc_auc", 0.99)
    tracker.close()
    return Search(folder, search.run_id, trials)


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("COLUMNS", "220")
    yield


def invoke(*args: str):
    from loopml.interfaces.cli.main import app

    return runner.invoke(app, list(args), catch_exceptions=False)


def shown(output: str, ids: list[str]) -> list[str]:
    """The ids (8 characters) in ``ids`` in the order the output lists them."""
    found = [(output.find(i[:8]), i) for i in ids if i[:8] in output]
    return [i for _, i in sorted(found)]


def test_where_filters_by_the_latest_metric_and_shows_it(searched: Search) -> None:
    t = searched.trials
    result = invoke("runs", "--where", "roc_auc > 0.8", "-C", str(searched.folder))
    assert result.exit_code == 0, result.output
    assert shown(result.output, t) == [t[3], t[1]]  # newest first; 0.80 is not > 0.8
    assert "roc_auc" in result.output and "0.9500" in result.output
    both = invoke(
        "runs", "-w", "roc_auc >= 0.8", "-w", "params.model == lightgbm", "-C", str(searched.folder)
    )
    assert shown(both.output, t) == [t[2], t[1]]
    pruned = invoke("runs", "--where", 'tags.state == "pruned"', "-C", str(searched.folder))
    assert shown(pruned.output, t) == [t[4]]
    none = invoke("runs", "--where", "roc_auc > 2", "-C", str(searched.folder))
    assert none.exit_code == 0 and "no runs match" in none.output


def test_parent_sort_and_metric_columns(searched: Search) -> None:
    t = searched.trials
    result = invoke(
        "runs", "--parent", searched.search[:6], "--sort", "-roc_auc", "--metric", "pr_auc",
        "-C", str(searched.folder),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert shown(result.output, t) == [t[3], t[1], t[2], t[0], t[4]]
    assert "search" not in result.output  # only its children (its id is their parent)
    assert "pr_auc" in result.output and "0.4750" in result.output
    ascending = invoke(
        "runs", "--parent", searched.search, "--sort", "roc_auc", "-C", str(searched.folder)
    )
    assert shown(ascending.output, t) == [t[0], t[2], t[1], t[3], t[4]]  # no value: last
    everything = invoke("runs", "-C", str(searched.folder))
    assert everything.exit_code == 0 and "notebook" in everything.output
    assert len(shown(everything.output, [*t, searched.search])) == 6


def test_bad_expressions_are_usage_errors(searched: Search) -> None:
    for args, message in [
        (("--where", "roc_auc >> 0.8"), "cannot"),
        (("--where", "roc_auc"), "KEY OP VALUE"),
        (("--where", "roc_auc > high"), "compares with a number"),
        (("--where", "status > failed"), "only with == or !="),
        (("--sort", "params.lr"), "cannot sort by"),
    ]:
        result = invoke("runs", *args, "-C", str(searched.folder))
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
    unknown = invoke("runs", "--parent", "ffffffff", "-C", str(searched.folder))
    assert unknown.exit_code == 2 and "No run id starts with 'ffffffff'" in unknown.output


def test_compare_prints_side_by_side_and_writes_both_charts(searched: Search) -> None:
    t = searched.trials
    out = searched.folder / "compare.html"
    result = invoke(
        "runs", "compare", t[1][:8], t[3], "--out", str(out), "-C", str(searched.folder)
    )
    assert result.exit_code == 0, result.output
    output = result.output
    assert "params.lr" in output and "params.model" in output
    assert "lightgbm" in output and "xgboost" in output
    assert "0.8500" in output and "0.9500" in output
    assert "children of" in output and str(out) in output.replace("\n", "")
    html = out.read_text(encoding="utf-8")
    assert 'id="parallel-coordinates"' in html and '"type":"parcoords"' in html
    assert 'id="optimisation-history"' in html and "best so far" in html
    assert html.count("Plotly.newPlot") == 2
    assert html.count("plotly.js v") == 1  # the library inlined once
    assert "<script src=" not in html  # self-contained
    for trial in t[:4]:  # the whole search is charted; the pruned trial has no value
        assert trial[:8] in html


def test_compare_runs_without_a_common_parent(searched: Search) -> None:
    result = invoke(
        "runs", "compare", searched.trials[0], searched.search, "-C", str(searched.folder)
    )
    assert result.exit_code == 0, result.output
    reports = list((searched.folder / ".loopml" / "reports").glob("compare-*.html"))
    assert len(reports) == 1 and searched.trials[0][:8] in reports[0].name
    assert "params.budget" in result.output


def test_compare_needs_two_known_runs(searched: Search) -> None:
    one = invoke("runs", "compare", searched.trials[0], "-C", str(searched.folder))
    assert one.exit_code == 2 and "at least two runs" in one.output
    unknown = invoke("runs", "compare", searched.trials[0], "eeeeeeee", "-C", str(searched.folder))
    assert unknown.exit_code == 2 and "eeeeeeee" in unknown.output


def test_show_prints_params_and_the_latest_value_of_each_metric(searched: Search) -> None:
    trial = searched.trials[1]  # lr 0.05, lightgbm; roc_auc 0.75, 0.80, 0.85 by fold, 0.85
    result = invoke("show", trial[:8], "-C", str(searched.folder))
    assert result.exit_code == 0, result.output
    assert "param lr = 0.05" in result.output and "param model = lightgbm" in result.output
    rows = [line.split() for line in result.output.splitlines() if "roc_auc" in line]
    assert rows == [["│", "roc_auc", "│", "0.8500", "│", "3", "│", "4", "│"]]  # one row
    assert "0.7500" not in result.output and "--history" in result.output
    history = invoke("show", trial[:8], "--history", "-C", str(searched.folder))
    assert "0.7500" in history.output and "0.8000" in history.output
    assert len([line for line in history.output.splitlines() if "roc_auc" in line]) == 4
