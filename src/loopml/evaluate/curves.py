"""The data behind the evaluation report's charts, as small JSON-ready dicts: ROC and PR
curves, calibration, the confusion matrix, metrics across thresholds, residuals."""

from __future__ import annotations

from typing import Any

import numpy as np

from loopml.evaluate.holdout import Scored
from loopml.evaluate.thresholds import threshold_curve

MAX_POINTS = 200
RESIDUAL_POINTS = 1000


def chart_data(scored: Scored, business_value: dict[str, float] | None = None) -> dict[str, Any]:
    """What the report draws for ``scored``, by kind of task."""
    if scored.kind == "binary":
        return {
            "confusion": confusion(scored),
            "roc": roc_points(scored.y, scored.score),
            "pr": pr_points(scored.y, scored.score),
            "calibration": calibration(scored.y, scored.score),
            "thresholds": across_thresholds(scored, business_value),
        }
    if scored.kind == "multiclass":
        return {"confusion": confusion(scored)}
    return {"residuals": residuals(scored)}


def confusion(scored: Scored) -> dict[str, Any]:
    """Counts of (truth, predicted): rows are the truth."""
    if scored.kind == "binary":
        labels, k, truth, guess = list(scored.classes), 2, scored.y, scored.guess
    else:
        labels, k = list(scored.classes), len(scored.classes)
        keep = scored.y >= 0
        truth, guess = scored.y[keep], scored.guess[keep]
    counts = np.bincount(truth * k + guess, minlength=k * k).reshape(k, k)
    return {"labels": labels, "counts": counts.tolist()}


def _thin(*arrays: np.ndarray) -> list[list[float]]:
    n = len(arrays[0])
    keep = np.unique(np.linspace(0, n - 1, min(n, MAX_POINTS)).round().astype(int))
    return [np.round(a[keep], 5).tolist() for a in arrays]


def roc_points(y: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    curve = threshold_curve(y, proba)
    fpr = 1 - curve.specificity
    order = np.lexsort((curve.recall, fpr))
    x, yy, t = _thin(fpr[order], curve.recall[order], curve.thresholds[order])
    return {"fpr": x, "tpr": yy, "threshold": t}


def pr_points(y: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    curve = threshold_curve(y, proba)
    called = (curve.tp + curve.fp) > 0
    recall, precision = curve.recall[called], curve.precision[called]
    order = np.argsort(recall, kind="stable")
    x, yy, t = _thin(recall[order], precision[order], curve.thresholds[called][order])
    return {"recall": x, "precision": yy, "threshold": t, "base_rate": float(y.mean())}


def calibration(y: np.ndarray, proba: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Mean predicted probability against the observed share, per decile of scores."""
    edges = np.unique(np.quantile(proba, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, proba, side="right") - 1, 0, max(len(edges) - 2, 0))
    counts = np.bincount(which, minlength=max(len(edges) - 1, 1))
    used = counts > 0
    predicted = np.bincount(which, weights=proba, minlength=len(counts))[used] / counts[used]
    observed = np.bincount(which, weights=y, minlength=len(counts))[used] / counts[used]
    return {
        "predicted": np.round(predicted, 5).tolist(),
        "observed": np.round(observed, 5).tolist(),
        "rows": counts[used].tolist(),
    }


def across_thresholds(scored: Scored, business_value: dict[str, float] | None) -> dict[str, Any]:
    """precision, recall, f1 (and business value) at 101 thresholds from 0 to 1."""
    curve = threshold_curve(scored.y, scored.score, points=101)
    on_grid = np.isin(curve.thresholds, np.linspace(0, 1, 101))
    out = {
        "threshold": np.round(curve.thresholds[on_grid], 4).tolist(),
        "precision": np.round(curve.precision[on_grid], 5).tolist(),
        "recall": np.round(curve.recall[on_grid], 5).tolist(),
        "f1": np.round(curve.metric("f1")[on_grid], 5).tolist(),
    }
    if business_value:
        out["value"] = np.round(curve.value(business_value)[on_grid], 3).tolist()
    return out


def residuals(scored: Scored, seed: int = 0) -> dict[str, Any]:
    """A sample of (prediction, truth, residual) for the residual plots."""
    n = len(scored)
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(n, size=min(n, RESIDUAL_POINTS), replace=False))
    predicted, truth = scored.guess[keep], scored.y[keep]
    return {
        "predicted": np.round(predicted, 5).tolist(),
        "actual": np.round(truth, 5).tolist(),
        "residual": np.round(truth - predicted, 5).tolist(),
    }
