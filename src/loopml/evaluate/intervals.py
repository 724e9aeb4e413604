"""Prediction intervals of a regression model: split-conformal from out-of-fold residuals
of the training part (never the hold-out), stored in the bundle and checked on the hold-out.

A copy of the model is refitted on ``OOF_FOLDS`` folds cut the way the split cuts; the
absolute residuals of the rows each copy did not see give the conformal quantile ``q`` at
``level`` (the ``ceil((n + 1) * level) / n`` empirical quantile), so ``prediction -+ q``
covers about ``level`` of new rows. For a log target the residuals are of log1p values and
the interval is multiplicative (wider for larger predictions).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from loopml.model.bundle import ModelBundle
from loopml.model.target import interval_bounds
from loopml.spec.model import ProjectSpec

OOF_ROWS = 8000  # training rows (at most) whose out-of-fold residuals size the interval
OOF_FOLDS = 3


def fit_interval(
    bundle: ModelBundle, train: pd.DataFrame, spec: ProjectSpec
) -> dict[str, Any] | None:
    """The conformal interval of a regression ``bundle`` at
    ``spec.evaluation.prediction_interval`` (plain data for ``bundle.info["interval"]``),
    or None for a classifier, with the interval turned off, or when the refits fail."""
    from loopml.data.split import cv_splitter
    from loopml.evaluate.evaluation import refittable

    level = spec.evaluation.prediction_interval
    if bundle.task != "regression" or level is None:
        return None
    rows = train[train[bundle.target].notna()]
    if len(rows) > OOF_ROWS:
        picked = np.sort(np.random.default_rng(0).choice(len(rows), OOF_ROWS, replace=False))
        rows = rows.iloc[picked]
    X, y = rows[bundle.feature_names], rows[bundle.target]
    log = bundle.target_transform == "log"
    fit_y = np.log1p(y.to_numpy(dtype=float)) if log else y.to_numpy(dtype=float)
    raw = np.full(len(rows), np.nan)
    try:
        folds = cv_splitter(spec.split, "regression", OOF_FOLDS, rows, bundle.target)
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for fit_at, score_at in folds:
                model = refittable(bundle.pipeline).fit(X.iloc[fit_at], fit_y[fit_at])
                raw[score_at] = model.predict(X.iloc[score_at])
    except Exception:  # noqa: BLE001 - no interval rather than a failed evaluation
        return None
    scored = np.isfinite(raw)
    residuals = np.abs(fit_y[scored] - raw[scored])
    n = len(residuals)
    if n < 10:
        return None
    rank = min(1.0, math.ceil((n + 1) * level) / n)
    return {
        "level": level,
        "halfwidth": float(np.quantile(residuals, rank, method="higher")),
        "scale": "log" if log else "original",
        "method": f"split conformal, out-of-fold residuals of {n:,} training rows "
        f"({OOF_FOLDS} folds)",
    }


def interval_coverage(bundle: ModelBundle, rows: pd.DataFrame) -> dict[str, Any] | None:
    """The share of hold-out ``rows`` whose target lies within the bundle's interval,
    and its mean width (None without an interval)."""
    interval = bundle.info.get("interval")
    rows = rows[rows[bundle.target].notna()]
    if not interval or not len(rows):
        return None
    predictions = bundle.predict(rows).predictions
    low, high = interval_bounds(predictions, interval) or (predictions, predictions)
    truth = rows[bundle.target].to_numpy(dtype=float)
    covered = (truth >= low) & (truth <= high)
    return {
        **interval,
        "coverage": float(covered.mean()),
        "mean_width": float(np.mean(high - low)),
        "rows": len(rows),
    }
