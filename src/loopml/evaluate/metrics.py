"""Score a fitted bundle on hold-out rows, and pick the best of several candidates."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from loopml.data.schema import category_string, category_strings
from loopml.errors import DataError, StageError
from loopml.spec.model import greater_is_better
from loopml.train.bundle import ModelBundle, Prediction

THRESHOLD = 0.5  # a binary prediction is positive when its probability reaches this


def compute_metrics(bundle: ModelBundle, test_df: pd.DataFrame) -> dict[str, float]:
    """Every metric of the bundle's task that the rows allow, as plain floats.

    - binary: roc_auc, pr_auc (average precision), accuracy, balanced_accuracy, f1,
      precision, recall (of the positive class, at probability ``THRESHOLD``), log_loss,
      brier; roc_auc and pr_auc are left out when the rows hold a single class;
    - multiclass: accuracy, balanced_accuracy, f1 (macro), and log_loss unless the rows
      hold a label the model never saw;
    - regression: rmse, mae, r2 (with at least 2 rows), mape (a fraction, over rows whose
      target is not 0; left out when all are 0).

    Rows without a target value are left out. Raises DataError when the target column is
    missing or no row has a value.
    """
    target = bundle.target
    if target not in test_df.columns:
        raise DataError(f"evaluate: the test rows lack the target column '{target}'")
    rows = test_df[test_df[target].notna()]
    if len(rows) == 0:
        raise DataError(f"evaluate: no test row has a value of '{target}'")
    prediction = bundle.predict(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # incl. UndefinedMetricWarning
        if bundle.task == "regression":
            values = _regression(pd.to_numeric(rows[target]).to_numpy(float), prediction)
        elif len(bundle.classes or []) == 2:
            values = _binary(rows[target], bundle, prediction)
        else:
            values = _multiclass(rows[target], bundle, prediction)
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(v)}


def _binary(y: pd.Series, bundle: ModelBundle, prediction: Prediction) -> dict[str, float]:
    truth = (category_strings(y) == category_string(bundle.positive_class)).to_numpy(int)
    proba = np.asarray(prediction.probabilities, dtype=float)
    guess = (proba >= THRESHOLD).astype(int)
    out: dict[str, float] = {}
    if 0 < truth.sum() < len(truth):
        out["roc_auc"] = skm.roc_auc_score(truth, proba)
        out["pr_auc"] = skm.average_precision_score(truth, proba)
    out["accuracy"] = skm.accuracy_score(truth, guess)
    out["balanced_accuracy"] = skm.balanced_accuracy_score(truth, guess)
    out["f1"] = skm.f1_score(truth, guess, zero_division=0)
    out["precision"] = skm.precision_score(truth, guess, zero_division=0)
    out["recall"] = skm.recall_score(truth, guess, zero_division=0)
    out["log_loss"] = skm.log_loss(truth, proba, labels=[0, 1])
    out["brier"] = skm.brier_score_loss(truth, proba)
    return out


def _multiclass(y: pd.Series, bundle: ModelBundle, prediction: Prediction) -> dict[str, float]:
    truth = category_strings(y).to_numpy(dtype=object)
    predicted = pd.Series(prediction.predictions, dtype=object)
    guess = category_strings(predicted).to_numpy(dtype=object)
    out: dict[str, float] = {
        "accuracy": skm.accuracy_score(truth, guess),
        "balanced_accuracy": skm.balanced_accuracy_score(truth, guess),
        "f1": skm.f1_score(truth, guess, average="macro", zero_division=0),
    }
    keys = [category_string(c) for c in bundle.classes or []]
    index = {key: i for i, key in enumerate(keys)}
    if all(label in index for label in truth):
        codes = np.array([index[label] for label in truth])
        proba = np.asarray(prediction.probabilities, dtype=float)
        out["log_loss"] = skm.log_loss(codes, proba, labels=list(range(len(keys))))
    return out


def _regression(y: np.ndarray, prediction: Prediction) -> dict[str, float]:
    guess = np.asarray(prediction.predictions, dtype=float)
    error = y - guess
    out: dict[str, float] = {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
    }
    if len(y) >= 2:
        out["r2"] = skm.r2_score(y, guess)
    nonzero = y != 0
    if nonzero.any():
        out["mape"] = float(np.mean(np.abs(error[nonzero]) / np.abs(y[nonzero])))
    return out


def pick_best(candidates: Mapping[str, Mapping[str, float]], metric: str) -> str:
    """The name of the candidate with the best ``metric`` (greater or smaller, as the
    metric says); the first listed wins a tie. Candidates without the metric are skipped.

    Raises:
        StageError: no candidate has a value of ``metric``.
    """
    better = greater_is_better(metric)
    best: str | None = None
    best_value = 0.0
    for name, values in candidates.items():
        value = values.get(metric)
        if value is None or not math.isfinite(value):
            continue
        if best is None or (value > best_value if better else value < best_value):
            best, best_value = name, value
    if best is None:
        raise StageError(
            f"no candidate has a value of '{metric}' ({', '.join(candidates) or 'none'}); "
            "check that the test rows hold both classes or choose another primary_metric",
            step="evaluate",
        )
    return best
