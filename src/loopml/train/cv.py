"""Cross-validation for the search: default folds, early-stopping slices, fold scores.

Fold scores follow ``loopml.evaluate.metrics.compute_metrics`` (same definitions, same
``THRESHOLD``) but compute only the one metric the search optimizes, on arrays, because
they run once per fold of every trial.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

from loopml.data.schema import category_string, category_strings
from loopml.errors import DataError, SpecError
from loopml.evaluate.metrics import binary_metrics, multiclass_metrics, regression_metrics

Fold = tuple[np.ndarray, np.ndarray]
BINARY_METRICS = (
    "roc_auc",
    "pr_auc",
    "accuracy",
    "balanced_accuracy",
    "f1",
    "precision",
    "recall",
    "log_loss",
    "brier",
)
MULTICLASS_METRICS = ("accuracy", "balanced_accuracy", "f1", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2", "mape")
MIN_EARLY_STOPPING_ROWS = 20  # a smaller training part is fitted without an eval set


def default_folds(
    y: pd.Series,
    task: str,
    folds: int,
    seed: int,
    *,
    time_keys: np.ndarray | None = None,
    groups: pd.Series | None = None,
) -> list[Fold]:
    """Cross-validation folds as positions into ``y``.

    With ``time_keys`` (one sortable time per row): expanding windows, each fold trained
    on earlier times than it is validated on, never cutting through one time. With
    ``groups``: group k-fold (no group on both sides). Otherwise stratified k-fold
    (classification) or shuffled k-fold (regression), seeded.

    Raises:
        DataError: fewer rows (times, groups) than folds, or a class with fewer rows than
            folds.
    """
    n = len(y)
    if n < folds + (1 if time_keys is not None else 0):
        raise DataError(f"cross-validation: {n} training rows cannot make {folds} folds")
    positions = np.arange(n)
    if time_keys is not None:
        return _time_folds(np.asarray(time_keys), folds)
    if groups is not None:
        group_labels = category_strings(groups).fillna("__missing__").to_numpy()
        n_groups = len(set(group_labels))
        if n_groups < folds:
            raise DataError(
                f"cross-validation: {n_groups} groups cannot make {folds} folds; "
                "lower models.search.folds"
            )
        splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        return [(tr, va) for tr, va in splitter.split(positions, groups=group_labels)]
    if task == "classification":
        labels = category_strings(y).fillna("__missing__")
        counts = labels.value_counts()
        if counts.min() < folds:
            raise DataError(
                f"cross-validation: class {counts.index[-1]!r} has {int(counts.min())} "
                f"training rows; {folds} stratified folds need at least {folds} per class. "
                "Lower models.search.folds or collect more rows"
            )
        stratified = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        return [(tr, va) for tr, va in stratified.split(positions, labels.to_numpy())]
    kfold = KFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(tr, va) for tr, va in kfold.split(positions)]


def _time_folds(time_keys: np.ndarray, folds: int) -> list[Fold]:
    """``folds + 1`` consecutive blocks of rows by time (moved to the next change of time,
    so that one time is never on both sides); fold k trains on blocks 0..k and validates
    on block k + 1."""
    order = np.argsort(time_keys, kind="stable")
    ordered = time_keys[order]
    n = len(order)
    cuts = []
    for k in range(1, folds + 1):
        cut = int(n * k / (folds + 1))
        cut = int(np.searchsorted(ordered, ordered[cut], side="left")) if cut < n else n
        cuts.append(cut)
    cuts.append(n)
    out: list[Fold] = []
    for k in range(folds):
        start, end = cuts[k], cuts[k + 1]
        if start == 0 or end <= start:
            raise DataError(
                f"cross-validation: the training rows hold too few distinct times for {folds} "
                "time folds; lower models.search.folds"
            )
        out.append((np.sort(order[:start]), np.sort(order[start:end])))
    return out


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
    if task == "regression":
        allowed: Sequence[str] = REGRESSION_METRICS
    else:
        allowed = BINARY_METRICS if n_classes <= 2 else MULTICLASS_METRICS
    if metric not in allowed:
        kind = task if task == "regression" else ("binary" if n_classes <= 2 else "multiclass")
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
