"""Comparing runs: which runs are charted, which metric, its direction; the charts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.domain import Metric, Project, Run, RunStatus
from loopml.storage.metadata import MetadataStore, open_metadata_store
from loopml.tracking.charts import comparison_html, optimisation_history, parallel_coordinates
from loopml.tracking.compare import compare_runs, guess_greater_is_better
from loopml.tracking.query import parse_condition, parse_order_by


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetadataStore]:
    opened = open_metadata_store(f"sqlite:///{tmp_path / 'runs.db'}")
    yield opened
    opened.close()


@pytest.fixture
def project(store: MetadataStore) -> Project:
    return store.ensure_project("p")


def trial(store: MetadataStore, project: Project, parent: Run, number: int, **values) -> Run:
    params = {"algorithm": "lightgbm" if number % 2 else "linear", "lr": 0.1 * (number + 1)}
    run = store.create_run(
        project.project_id,
        "trial",
        params=params,
        tags={"trial": str(number)},
        parent_run_id=parent.run_id,
    )
    store.log_metrics(run.run_id, [Metric(k, v, 2) for k, v in values.items()])
    store.finish_run(run.run_id, RunStatus.SUCCEEDED)
    return run


def test_trials_of_a_search_chart_the_cv_mean_of_every_sibling(
    store: MetadataStore, project: Project
) -> None:
    search = store.create_run(project.project_id, "search")
    runs = [
        trial(store, project, search, n, roc_auc=0.5 + n / 10, cv_roc_auc=0.6 + n / 20)
        for n in (2, 0, 1, 3)  # logged out of trial order
    ]
    pruned = trial(store, project, search, 4, roc_auc=0.1)  # no cv_ mean: not charted
    comparison = compare_runs(store, [runs[0].run_id[:6], runs[2].run_id, runs[0].run_id])
    assert [r.run_id for r in comparison.runs] == [runs[0].run_id, runs[2].run_id]
    assert comparison.parent is not None and comparison.parent.run_id == search.run_id
    assert len(comparison.population) == 5
    assert comparison.population[-1].run_id == pruned.run_id
    assert comparison.metric == "cv_roc_auc" and comparison.greater_is_better
    assert comparison.trial_numbers() == [2, 0, 1, 3, 4]
    assert comparison.params_differ("algorithm") and comparison.params_differ("lr")
    assert comparison.best("cv_roc_auc") == pytest.approx(0.7)
    history = optimisation_history(comparison)
    best = next(t for t in history.data if t.name == "best so far")
    assert list(best.x) == [0, 1, 2, 3] and list(best.y) == pytest.approx([0.6, 0.65, 0.7, 0.75])
    parallel = parallel_coordinates(comparison).data[0]
    labels = [d["label"] for d in parallel.dimensions]
    assert labels == ["algorithm", "lr", "cv_roc_auc"]
    assert list(parallel.dimensions[0]["ticktext"]) == ["lightgbm", "linear"]


def test_unrelated_runs_chart_a_metric_they_share(store: MetadataStore, project: Project) -> None:
    a = store.create_run(project.project_id, "a", params={"x": [1, 2]})
    b = store.create_run(project.project_id, "b")
    store.log_metrics(a.run_id, [Metric("rmse", 2.0), Metric("r2", 0.5)])
    store.log_metrics(b.run_id, [Metric("rmse", 1.0), Metric("mae", math.nan)])
    comparison = compare_runs(store, [a.run_id, b.run_id], metric="roc_auc", greater_is_better=True)
    assert comparison.parent is None
    assert [r.run_id for r in comparison.population] == [a.run_id, b.run_id]
    assert comparison.metric == "rmse" and not comparison.greater_is_better  # guessed
    assert comparison.best("rmse") == 1.0 and comparison.value(b, "mae") is None
    assert comparison.metric_keys == ("mae", "r2", "rmse")
    html = comparison_html(comparison)
    assert "smaller</b> is better" not in html and "(smaller is better)" in html
    quiet = store.create_run(project.project_id, "quiet")
    none = compare_runs(store, [quiet.run_id, store.create_run(project.project_id, "q").run_id])
    assert none.metric is None
    assert "no common metric" in comparison_html(none)  # both charts still render
    with pytest.raises(ValueError, match="at least one"):
        compare_runs(store, [])


def test_direction_guess_and_parsing() -> None:
    assert not guess_greater_is_better("log_loss") and not guess_greater_is_better("val_RMSE")
    assert guess_greater_is_better("roc_auc") and guess_greater_is_better("accuracy")
    assert parse_condition("auc>=0.5").op == ">=" and parse_condition("a = 1").op == "=="
    assert parse_condition("params.model == 'light gbm'").value == "light gbm"
    assert parse_condition("tags.n != 3").value == 3.0
    assert parse_order_by(" -roc_auc ") == "-roc_auc" and parse_order_by("duration")
    for bad in ("", "roc_auc", "roc_auc >", "> 3", "a >> 1"):
        with pytest.raises(ValueError, match="cannot read"):
            parse_condition(bad)
    with pytest.raises(ValueError, match="cannot sort by 'tags.x'"):
        parse_order_by("tags.x")


def test_timings_are_better_when_smaller() -> None:
    from loopml.tracking.compare import guess_greater_is_better

    assert not guess_greater_is_better("fit_seconds")
    assert not guess_greater_is_better("log_loss")
    assert guess_greater_is_better("cv_roc_auc")
