"""Score a fitted bundle on hold-out rows: every metric of its task, and the array-level
scorers that the search's fold scores share."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from loopml.errors import DataError
from loopml.model.bundle import ModelBundle, Prediction
from loopml.model.values import category_string, category_strings

THRESHOLD = 0.5  # a binary prediction is positive when its probability reaches this
METRIC_NAMES: dict[str, tuple[str, ...]] = {  # what the array scorers compute, per target
    "binary": (
        "roc_auc",
        "pr_auc",
        "accuracy",
        "balanced_accuracy",
        "f1",
        "precision",
        "recall",
        "log_loss",
        "brier",
    ),
    "multiclass": ("accuracy", "balanced_accuracy", "f1", "log_loss"),
    "regression": ("rmse", "mae", "r2", "mape"),
}


def compute_metrics(bundle: ModelBundle, test_df: pd.DataFrame) -> dict[str, float]:
    """Every metric of the bundle's task that the rows allow, as plain floats.

    - binary: roc_auc, pr_auc (average precision), accuracy, balanced_accuracy, f1,
      precision, recall (of the positive class, at the bundle's threshold), log_loss,
      brier; roc_auc and pr_auc are left out when the rows hold a single class;
    - multiclass: accuracy, balanced_accuracy, f1 (macro), and log_loss unless the rows
      hold a label the model never saw;
    - regression: rmse, mae, r2 (with at least 2 rows), mape (a fraction, over rows whose
      target is not 0; left out when all are 0).

    Rows without a target value are left out. Raises DataError when the target column is
    missing or no row has a value.
    """
    target = bundle.target
    rows = labelled_rows(test_df, target, "test")
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


def labelled_rows(frame: pd.DataFrame, target: str, what: str) -> pd.DataFrame:
    """The rows of ``frame`` with a ``target`` value; DataError naming ``what`` rows when
    the column is missing or no row has one."""
    if target not in frame.columns:
        raise DataError(f"evaluate: the {what} rows lack the target column '{target}'")
    rows = frame[frame[target].notna()]
    if len(rows) == 0:
        raise DataError(f"evaluate: no {what} row has a value of '{target}'")
    return rows


def _binary(y: pd.Series, bundle: ModelBundle, prediction: Prediction) -> dict[str, float]:
    truth = (category_strings(y) == category_string(bundle.positive_class)).to_numpy(int)
    proba = np.asarray(prediction.probabilities, dtype=float)
    return binary_metrics(truth, proba, threshold=bundle.threshold)


def _multiclass(y: pd.Series, bundle: ModelBundle, prediction: Prediction) -> dict[str, float]:
    truth = category_strings(y).to_numpy(dtype=object)
    predicted = pd.Series(prediction.predictions, dtype=object)
    guess = category_strings(predicted).to_numpy(dtype=object)
    keys = [category_string(c) for c in bundle.classes or []]
    proba = np.asarray(prediction.probabilities, dtype=float)
    return multiclass_metrics(truth, guess, proba, keys)


def _regression(y: np.ndarray, prediction: Prediction) -> dict[str, float]:
    return regression_metrics(y, np.asarray(prediction.predictions, dtype=float))


# Array-level scorers, shared with the search's fold scores (train/cv.py). ``names``
# limits the work to the metrics asked for.

_BINARY_PROBA: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "roc_auc": skm.roc_auc_score,
    "pr_auc": skm.average_precision_score,
    "log_loss": lambda t, p: skm.log_loss(t, p, labels=[0, 1]),
    "brier": skm.brier_score_loss,
}
_BINARY_LABEL: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "f1": lambda t, g: skm.f1_score(t, g, zero_division=0),
    "precision": lambda t, g: skm.precision_score(t, g, zero_division=0),
    "recall": lambda t, g: skm.recall_score(t, g, zero_division=0),
}
_REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "rmse": lambda y, e: float(np.sqrt(np.mean(e**2))),
    "mae": lambda y, e: float(np.mean(np.abs(e))),
}


def binary_metrics(
    truth: np.ndarray,
    proba: np.ndarray,
    names: Sequence[str] | None = None,
    *,
    threshold: float = THRESHOLD,
) -> dict[str, float]:
    """Binary metrics of positive-class probabilities ``proba`` against 0/1 ``truth``
    (labels at probability ``threshold``); roc_auc and pr_auc need both classes."""
    wanted = set(names) if names is not None else None
    both = 0 < truth.sum() < len(truth)
    out: dict[str, float] = {}
    for name, fn in _BINARY_PROBA.items():
        if (wanted is None or name in wanted) and (both or name not in {"roc_auc", "pr_auc"}):
            out[name] = float(fn(truth, proba))
    guess = (proba >= threshold).astype(int)
    for name, fn in _BINARY_LABEL.items():
        if wanted is None or name in wanted:
            out[name] = float(fn(truth, guess))
    return out


def multiclass_metrics(
    truth: np.ndarray,
    guess: np.ndarray,
    proba: np.ndarray,
    classes: Sequence[str],
    names: Sequence[str] | None = None,
) -> dict[str, float]:
    """accuracy, balanced_accuracy, f1 (macro) of label strings, and log_loss of
    ``proba`` (columns in ``classes`` order) unless ``truth`` holds an unseen label."""
    wanted = set(names) if names is not None else None
    scorers = {
        "accuracy": lambda: skm.accuracy_score(truth, guess),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(truth, guess),
        "f1": lambda: skm.f1_score(truth, guess, average="macro", zero_division=0),
    }
    out = {n: float(fn()) for n, fn in scorers.items() if wanted is None or n in wanted}
    index = {key: i for i, key in enumerate(classes)}
    if (wanted is None or "log_loss" in wanted) and all(label in index for label in truth):
        codes = np.array([index[label] for label in truth])
        out["log_loss"] = float(skm.log_loss(codes, proba, labels=list(range(len(classes)))))
    return out


def regression_metrics(
    y: np.ndarray, guess: np.ndarray, names: Sequence[str] | None = None
) -> dict[str, float]:
    """rmse, mae, r2 (with at least 2 rows) and mape (a fraction, over rows whose target
    is not 0)."""
    wanted = set(names) if names is not None else None
    error = y - guess
    out = {n: fn(y, error) for n, fn in _REGRESSION.items() if wanted is None or n in wanted}
    if (wanted is None or "r2" in wanted) and len(y) >= 2:
        out["r2"] = float(skm.r2_score(y, guess))
    nonzero = y != 0
    if (wanted is None or "mape" in wanted) and nonzero.any():
        out["mape"] = float(np.mean(np.abs(error[nonzero]) / np.abs(y[nonzero])))
    return out
