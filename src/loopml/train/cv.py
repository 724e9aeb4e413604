"""Cross-validation for the search: default folds, early-stopping slices, fold scores.

Fold scores follow ``loopml.evaluate.metrics.compute_metrics`` (same definitions, same
``THRESHOLD``) but compute only the one metric the search optimizes, on arrays, because
they run once per fold of every trial.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from loopml.errors import SpecError
from loopml.evaluate.metrics import (
    METRIC_NAMES,
    binary_metrics,
    multiclass_metrics,
    regression_metrics,
)
from loopml.model.values import category_string

Fold = tuple[np.ndarray, np.ndarray]
MIN_EARLY_STOPPING_ROWS = 20  # a smaller training part is fitted without an eval set


def carve_early_stopping(
    positions: np.ndarray, *, time_keys: np.ndarray | None, seed: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Split training ``positions`` into (fit, early-stopping) parts, or None when there
    are too few rows. The early-stopping part is ``EARLY_STOPPING_FRACTION`` of the rows:
    the latest by ``time_keys`` (one sortable key per position) when given, else a seeded
    random share. Both parts come back sorted."""
    from loopml.train.zoo import EARLY_STOPPING_FRACTION

    n_stop = int(round(len(positions) * EARLY_STOPPING_FRACTION))
    if n_stop < MIN_EARLY_STOPPING_ROWS or len(positions) - n_stop < MIN_EARLY_STOPPING_ROWS:
        return None
    if time_keys is not None:
        ordered = np.asarray(positions)[np.argsort(time_keys, kind="stable")]
    else:
        ordered = np.random.default_rng(seed).permutation(np.sort(positions))
    return np.sort(ordered[:-n_stop]), np.sort(ordered[-n_stop:])


def check_metric(metric: str, task: str, n_classes: int) -> None:
    """Raise SpecError when the search cannot score folds with ``metric``."""
    kind = task if task == "regression" else ("binary" if n_classes <= 2 else "multiclass")
    allowed = METRIC_NAMES[kind]
    if metric not in allowed:
        raise SpecError(
            f"problem.primary_metric: '{metric}' cannot score {kind} folds; use one of "
            f"{', '.join(allowed)}"
        )


def score_fold(
    metric: str, task: str, estimator: Any, X: Any, y: np.ndarray, positive: Any
) -> float:
    """``metric`` of a fitted ``estimator`` on transformed rows ``X`` with labels ``y``.

    ``positive`` is the positive label of a binary target (None otherwise).

    Raises:
        ValueError: the score is not a finite number (e.g. one class in the fold).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        if task == "regression":
            guess = np.asarray(estimator.predict(X), dtype=float)
            scores = regression_metrics(np.asarray(y, dtype=float), guess, [metric])
        else:
            proba = np.asarray(estimator.predict_proba(X), dtype=float)
            classes = list(estimator.classes_)
            if len(classes) == 2 and positive is not None:
                truth = (y == positive).astype(int)
                scores = binary_metrics(truth, proba[:, classes.index(positive)], [metric])
            else:
                keys = [category_string(c) for c in classes]
                truth = np.array([category_string(v) for v in y], dtype=object)
                guess = np.asarray(keys, dtype=object)[proba.argmax(axis=1)]
                scores = multiclass_metrics(truth, guess, proba, keys, [metric])
    value = float(scores.get(metric, math.nan))
    if not math.isfinite(value):
        raise ValueError(f"{metric} of a fold is {value}")
    return value
