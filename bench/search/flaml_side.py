"""FLAML's side of the search-quality comparison; runs in bench/.venv-flaml (FLAML 2.7).

    bench/.venv-flaml/bin/python bench/search/flaml_side.py FOLDER raw|cleaned BUDGET_S CORES OUT

Reads ``FOLDER/meta.json`` and the training and test rows written by flaml_compare.py
(``train_raw.parquet``: the feature columns and the target as read from the source file;
``train_clean.parquet``: after loopml's cleaning), runs ``AutoML.fit(X, y, task, metric,
time_budget=BUDGET_S, n_jobs=CORES, seed=42)`` with FLAML's defaults for the rest, and
writes ``OUT``: the fit's seconds, the champion, its loss, the number of trials and the
test rows' scores (the positive class's probability, or the prediction). It imports
nothing of loopml. FLAML has no public count of its trials: the benchmark reads its
``_iter_per_learner`` (``config_history`` holds only the trials that improved).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from flaml import AutoML

METRICS = {"roc_auc": "roc_auc", "rmse": "rmse"}  # loopml's metric name: FLAML's


def columns(meta: dict[str, Any], given: str) -> tuple[list[str], str]:
    if given == "raw":
        return meta["raw_features"], meta["raw_target"]
    return meta["features"], meta["target"]


def fit_and_score(folder: Path, given: str, budget: float, cores: int) -> dict[str, Any]:
    meta = json.loads((folder / "meta.json").read_text())
    suffix = "raw" if given == "raw" else "clean"
    train = pd.read_parquet(folder / f"train_{suffix}.parquet")
    test = pd.read_parquet(folder / f"test_{suffix}.parquet")
    features, target = columns(meta, given)
    task = "regression" if meta["task"] == "regression" else "classification"
    automl = AutoML()
    print(
        f"  FLAML {meta['name']} ({given}): {len(train)} rows, {budget:g} s budget",
        file=sys.stderr,
        flush=True,
    )
    started = time.perf_counter()
    automl.fit(
        train[features],
        train[target],
        task=task,
        metric=METRICS[meta["metric"]],
        time_budget=budget,
        n_jobs=cores,
        seed=42,
        verbose=0,
    )
    seconds = time.perf_counter() - started
    with warnings.catch_warnings():  # FLAML warns of categories the fit did not see
        warnings.simplefilter("ignore", UserWarning)
        if task == "regression":
            scores = automl.predict(test[features])
        else:
            classes = [str(c) for c in automl.classes_]
            positive = classes.index(str(meta["positive_class"]))
            scores = automl.predict_proba(test[features])[:, positive]
    return {
        "seconds": seconds,
        "champion": automl.best_estimator,
        "best_loss": float(automl.best_loss),
        "evaluation": automl._state.eval_method,  # the hold-out or CV FLAML chose
        "trials": sum(automl._iter_per_learner.values()),  # config_history: improvements only
        "per_estimator": {k: v for k, v in automl._iter_per_learner.items() if v},
        "config": automl.best_config,
        "scores": [float(s) for s in scores],
    }


def main() -> None:
    folder, given, budget, cores, out = sys.argv[1:6]
    if given not in ("raw", "cleaned"):
        raise SystemExit(f"the input is raw or cleaned, not {given!r}")
    result = fit_and_score(Path(folder), given, float(budget), int(cores))
    Path(out).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
