"""Metrics per slice of the hold-out (each value of a column, numbers in quantile bins),
the worst slices of any column, and the gaps between the groups of a column."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import DataError
from loopml.evaluate.holdout import Scored
from loopml.model.values import category_strings
from loopml.spec.model import greater_is_better

MISSING = "(missing)"
MAX_VALUES = 20  # more distinct values than this: the most frequent, the rest as "other"
BINS = 5


def slice_labels(values: pd.Series) -> pd.Series:
    """A text label per row: the value itself, or its quantile bin for a number with
    more than ``MAX_VALUES`` distinct values; missing values form their own slice."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.nunique() > MAX_VALUES:
            bins = pd.qcut(numbers, BINS, duplicates="drop")
            return bins.astype(str).where(numbers.notna(), MISSING)
    labels = category_strings(values).fillna(MISSING).astype(str)
    top = labels.value_counts().index[:MAX_VALUES]
    return labels.where(labels.isin(top), "other")


def slice_metrics(
    scored: Scored, columns: Sequence[str], *, min_rows: int = 30
) -> list[dict[str, Any]]:
    """One dict per (column, value) slice with at least ``min_rows`` rows: rows, share,
    the truth's rate or mean, the prediction's rate or mean, and every metric.

    Raises:
        DataError: a column is not in the scored rows.
    """
    out: list[dict[str, Any]] = []
    for column in columns:
        if column not in scored.rows.columns:
            raise DataError(
                f"evaluation.slices: column '{column}' is not in the hold-out rows "
                f"(columns: {', '.join(map(str, scored.rows.columns))})"
            )
        labels = slice_labels(scored.rows[column]).to_numpy()
        values, codes = np.unique(labels, return_inverse=True)
        weights = (codes[None, :] == np.arange(len(values))[:, None]).astype(float)
        counts = weights.sum(axis=1)
        metrics = scored.metric_arrays(weights)
        truth = weights @ scored.y.astype(float) / counts
        called = weights @ scored.guess.astype(float) / counts
        for i, value in enumerate(values):
            if counts[i] < min_rows:
                continue
            row = {
                "column": column,
                "value": str(value),
                "rows": int(counts[i]),
                "share": float(counts[i] / len(scored)),
                "metrics": {k: float(v[i]) for k, v in metrics.items() if math.isfinite(v[i])},
            }
            if scored.kind != "multiclass":
                row["actual"], row["predicted"] = float(truth[i]), float(called[i])
            out.append(row)
    return out


def worst_slices(slices: Sequence[dict[str, Any]], metric: str, count: int) -> list[dict[str, Any]]:
    """The ``count`` slices with the worst ``metric`` (those without it are skipped)."""
    with_metric = [s for s in slices if metric in s["metrics"]]
    better = greater_is_better(metric)
    ordered = sorted(with_metric, key=lambda s: s["metrics"][metric], reverse=not better)
    return ordered[:count]


def group_gaps(slices: Sequence[dict[str, Any]], metrics: Sequence[str]) -> list[dict[str, Any]]:
    """For each column, the spread (max - min) across its slices of each of ``metrics``
    and of the predicted rate: a large gap means the groups are treated unequally."""
    by_column: dict[str, list[dict[str, Any]]] = {}
    for s in slices:
        by_column.setdefault(s["column"], []).append(s)
    out = []
    for column, rows in by_column.items():
        if len(rows) < 2:
            continue
        gaps: dict[str, float] = {}
        for name in metrics:
            values = [r["metrics"][name] for r in rows if name in r["metrics"]]
            if len(values) >= 2:
                gaps[name] = max(values) - min(values)
        predicted = [r["predicted"] for r in rows if "predicted" in r]
        if len(predicted) >= 2:
            gaps["predicted"] = max(predicted) - min(predicted)
        out.append({"column": column, "slices": len(rows), "gaps": gaps})
    return out


def slice_columns(scored: Scored, kinds: dict[str, str]) -> list[str]:
    """The columns worth slicing automatically: every input column but text ones."""
    return [c for c in scored.rows.columns if c in kinds and kinds[c] not in ("text",)]
