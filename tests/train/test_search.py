"""The search: trials as child runs, parallel workers, failures, pruning, seeds, budgets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.train import custom_models
from tests.train.frames import (
    bank_sample,
    bike_sample,
    feature_signature,
    transform_factory,
    with_models,
)

from loopml.compute import LocalExecutor, ProcessExecutor
from loopml.domain import RunStatus
from loopml.errors import SpecError
from loopml.spec import ProjectSpec
from loopml.storage.metadata import open_metadata_store
from loopml.train.search import SearchResult, fit_default, fit_final, run_search

BOOM = {"name": "boom", "estimator": "tests.train.custom_models:FailsOnSecondFit"}
NOISY = {
    "name": "noisy",
    "estimator": "tests.train.custom_models:Noisy",
    "space": {"noise": {"low": 0.0, "high": 1.0}},
}


@pytest.fixture(scope="module")
def bank() -> tuple[pd.DataFrame, ProjectSpec]:
    return bank_sample(2000)


class Tracking:
    """A real SQLite store in a temporary folder, a project and a parent run."""

    def __init__(self, folder: Path) -> None:
        self.url = f"sqlite:///{folder / 'loopml.db'}"
        self.store = open_metadata_store(self.url)
        self.project_id = self.store.ensure_project("search").project_id
        self.parent = self.store.create_run(self.project_id, "train").run_id

    def search(
        self,
        frame: pd.DataFrame,
        spec: ProjectSpec,
        executor: Any = None,
        **options: Any,
    ) -> SearchResult:
        return run_search(
            frame,
            spec,
            make_transform=transform_factory(frame, spec),
            store=self.store,
            project_id=self.project_id,
            parent_run_id=self.parent,
            snapshot_id="snap-1",
            executor=executor or LocalExecutor(threads=1),
            store_url=self.url,
            **options,
        )

    def trials(self) -> list[Any]:
        return self.store.list_runs(self.project_id, name="trial", parent_run_id=self.parent)


@pytest.fixture
def tracking(tmp_path: Path) -> Iterator[Tracking]:
    tracking = Tracking(tmp_path)
    yield tracking
    tracking.store.close()


def test_parallel_search_records_every_trial_as_a_child_run(
    bank: tuple[pd.DataFrame, ProjectSpec], tracking: Tracking
) -> None:
    frame, spec = bank
    spec = with_models(
        spec,
        candidates=["linear", "hist_gradient_boosting"],
        search={"trials": 8, "workers": 2, "folds": 3, "pruning": False},
    )
    result = tracking.search(frame, spec, executor=ProcessExecutor(2))
    assert result.workers == 2 and result.metric == "roc_auc" and result.greater_is_better
    assert result.trials_completed == 8 and result.trials_failed == result.trials_pruned == 0
    assert result.algorithm in ("linear", "hist_gradient_boosting") and 0.6 < result.score < 1
    runs = tracking.trials()
    assert len(runs) == 8 and all(r.status is RunStatus.SUCCEEDED for r in runs)
    assert len({r.pid for r in runs}) == 2  # both worker processes ran trials
    assert {r.tags["worker"] for r in runs} == {"0", "1"}
    assert sorted(int(r.tags["trial"]) for r in runs) == list(range(8))
    for run in runs:
        assert run.tags["snapshot_id"] == "snap-1" and run.tags["state"] == "complete"
        assert run.params["algorithm"] in ("linear", "hist_gradient_boosting")
        assert ("C" in run.params) == (run.params["algorithm"] == "linear")
        metrics = tracking.store.get_metrics(run.run_id)
        for key in ("roc_auc", "fit_seconds", "score_seconds"):
            assert sorted(m.step for m in metrics if m.key == key) == [0, 1, 2]
        mean = [m.value for m in metrics if m.key == "cv_roc_auc"]
        folds = [m.value for m in metrics if m.key == "roc_auc"]
        assert mean == [pytest.approx(np.mean(folds))]
    best = max(result.trials, key=lambda row: row["value"])
    assert best["value"] == result.score and best["params"] == result.params
    assert {row["pid"] for row in result.trials} == {r.pid for r in runs}
    summary = tracking.store.latest_metrics([tracking.parent])[tracking.parent]
    assert summary["trials_completed"] == 8 and summary["best_cv_roc_auc"] == result.score
    # the first trials are each candidate's defaults
    assert [row["algorithm"] for row in result.trials[:2]] == ["linear", "hist_gradient_boosting"]
    assert result.trials[0]["params"] == {"C": 1.0}


def test_failing_trials_are_recorded_and_the_search_goes_on(
    bank: tuple[pd.DataFrame, ProjectSpec], tracking: Tracking
) -> None:
    frame, spec = bank
    spec = with_models(
        spec,
        candidates=["hist_gradient_boosting", "boom", "linear"],
        custom=[BOOM],
        spaces={"linear": {"C": {"choices": ["high"]}}},  # a parameter of the wrong type
        search={"trials": 6, "pruning": False},
    )
    custom_models.FailsOnSecondFit.calls = 0
    result = tracking.search(frame, spec)
    rows = {row["trial"]: row for row in result.trials}
    assert [rows[i]["algorithm"] for i in range(3)] == ["hist_gradient_boosting", "boom", "linear"]
    assert rows[0]["state"] == "complete"
    assert rows[1]["state"] == "failed"
    assert rows[1]["error"].startswith("fold 2 of 3: RuntimeError: user estimator broke")
    assert rows[2]["state"] == "failed" and "fold 1 of 3" in rows[2]["error"]
    assert "'C' parameter" in rows[2]["error"]
    assert result.trials_failed >= 2 and result.trials_completed >= 1
    assert result.trials_completed + result.trials_failed == 6
    assert result.algorithm == "hist_gradient_boosting"
    runs = {run.run_id: run for run in tracking.trials()}
    boom = runs[rows[1]["run_id"]]
    assert boom.status is RunStatus.FAILED and boom.tags["state"] == "failed"
    assert "user estimator broke" in (boom.error or "")
    fold_scores = tracking.store.get_metrics(boom.run_id, "roc_auc")
    assert [m.step for m in fold_scores] == [0]  # the first fold was scored
    linear = runs[rows[2]["run_id"]]
    assert linear.status is RunStatus.FAILED and linear.params["C"] == "high"


def test_poor_trials_are_pruned(bank: tuple[pd.DataFrame, ProjectSpec], tracking: Tracking) -> None:
    frame, spec = bank
    spec = with_models(
        spec,
        candidates=["noisy"],
        custom=[NOISY],
        search={"trials": 14, "folds": 3, "pruning": True},
    )
    result = tracking.search(frame, spec)
    assert result.trials_pruned >= 1
    pruned = [row for row in result.trials if row["state"] == "pruned"]
    runs = {run.run_id: run for run in tracking.trials()}
    for row in pruned:
        run = runs[row["run_id"]]
        assert run.status is RunStatus.SUCCEEDED and run.tags["state"] == "pruned"
        assert int(run.tags["folds"]) < 3
    assert result.params["noise"] < 0.5  # the best trial is a quiet one
    assert all(len(h["folds"]) <= 3 for h in result.history)
    assert result.history[-1]["best"] == result.score


def test_the_same_seed_gives_the_same_best_params(
    bank: tuple[pd.DataFrame, ProjectSpec], tmp_path: Path
) -> None:
    frame, spec = bank
    spec = with_models(
        spec,
        candidates=["linear", "hist_gradient_boosting"],
        search={"trials": 6, "seed": 3},
    )
    results = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        tracking = Tracking(tmp_path / name)
        results.append(tracking.search(frame, spec))
        tracking.store.close()
    first, second = results
    assert (first.algorithm, first.params, first.score) == (
        second.algorithm,
        second.params,
        second.score,
    )
    assert [r["params"] for r in first.trials] == [r["params"] for r in second.trials]


def test_the_time_budget_stops_the_search_early(
    bank: tuple[pd.DataFrame, ProjectSpec], tracking: Tracking
) -> None:
    frame, spec = bank
    spec = with_models(
        spec, candidates=["linear"], search={"trials": 10_000, "timeout_s": 1.5, "folds": 2}
    )
    started = time.perf_counter()
    progress: list[tuple[str, float | None]] = []
    result = tracking.search(frame, spec, progress=lambda m, f: progress.append((m, f)))
    assert time.perf_counter() - started < 10
    assert 1 <= result.trials_run < 10_000 and result.trials_requested == 10_000
    assert result.stop_reason == "time_budget" and result.timeout_s == 1.5
    assert 1.5 <= result.elapsed_s < 10
    # the parent run records how many trials ran and why the search stopped
    tags = dict(tracking.store.get_run(tracking.parent).tags)
    assert tags["search_stopped"] == "time_budget"
    assert tags["search_trials"] == f"{result.trials_run} of 10000"
    assert tags["search_timeout_s"] == "1.5"
    # each progress line: trials done of the total, the best so far, elapsed and left
    message, fraction = progress[-1]
    assert message.startswith(f"{result.trials_run}/10000 trials · best roc_auc 0.")
    assert "s elapsed, " in message and "left of 2s" in message
    assert fraction is not None and 0.5 < fraction <= 1.0  # the time budget's share


def test_time_folds_regression_and_final_fits(tracking: Tracking) -> None:
    frame, spec = bike_sample(1200)
    spec = with_models(
        spec, candidates=["linear", "lightgbm"], search={"trials": 4, "pruning": False}
    )
    n = len(frame)
    folds = [(np.arange(0, k), np.arange(k, k + n // 4)) for k in (n // 4, n // 2)]
    progress: list[tuple[str, float | None]] = []
    result = tracking.search(
        frame, spec, cv_splits=folds, progress=lambda m, f: progress.append((m, f))
    )
    assert result.metric == "rmse" and not result.greater_is_better
    values = [row["value"] for row in result.trials if row["state"] == "complete"]
    assert result.score == min(values)
    assert len(progress) == 4 and progress[-1][1] == 1.0
    assert progress[-1][0].startswith(f"4/4 trials · best rmse {result.score:.4g} · ")
    assert "left of" not in progress[-1][0]  # no time budget, nothing left to show
    assert result.stop_reason == "trials" and result.trials_run == 4
    signature = feature_signature(frame, spec)
    make = transform_factory(frame, spec)
    final = fit_final(frame, spec, result, make, signature, n_threads=1)
    assert final.model_kind == result.algorithm and final.info["cv_score"] == result.score
    assert final.info["params"] == result.params
    baseline = fit_default("linear", frame, spec, make, signature, n_threads=1)
    assert baseline.model_kind == "linear" and baseline.info["params"] == {"alpha": 1.0}
    assert final.predict(frame.head(5)).predictions.shape == (5,)


def test_settings_that_cannot_work_fail_before_any_trial(
    bank: tuple[pd.DataFrame, ProjectSpec], tracking: Tracking
) -> None:
    frame, spec = bank
    with pytest.raises(ValueError, match="fit_default"):
        tracking.search(frame, with_models(spec, search={"trials": 0}))
    typo = with_models(spec, candidates=["linear"], spaces={"linear": {"c": {"low": 1, "high": 2}}})
    with pytest.raises(SpecError, match="has no parameter 'c'"):
        tracking.search(frame, typo)
    bad_path = with_models(
        spec, candidates=["x"], custom=[{"name": "x", "estimator": "nowhere.at_all:Model"}]
    )
    with pytest.raises(SpecError, match="cannot import 'nowhere.at_all'"):
        tracking.search(frame, bad_path)
    no_store = with_models(spec, candidates=["linear"], search={"trials": 4})
    with pytest.raises(ValueError, match="store_url"):
        run_search(
            frame,
            no_store,
            make_transform=transform_factory(frame, spec),
            store=tracking.store,
            project_id=tracking.project_id,
            parent_run_id=tracking.parent,
            executor=ProcessExecutor(2),
        )
    assert tracking.trials() == []
