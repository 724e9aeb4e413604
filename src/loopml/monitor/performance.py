"""Score logged predictions against the feedback that arrived for them.

The scorer takes the rows of one window that got feedback (``truth`` beside the logged
``prediction`` and, for binary models, ``probability``) and returns the primary metric
with the same functions as the hold-out evaluation, so both numbers compare.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from loopml.model.values import category_string, category_strings
from loopml.monitor.checks import Scorer


def make_scorer(
    task: str, metric: str, classes: Sequence[Any] | None, positive_class: Any
) -> Scorer:
    """A Scorer of ``metric`` for a model of ``task`` (see the module docstring)."""
    from loopml.evaluate.metrics import binary_metrics, multiclass_metrics, regression_metrics

    def score(rows: pd.DataFrame) -> float | None:
        rows = rows[rows["truth"].notna()]
        if rows.empty:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            if task == "regression":
                y = pd.to_numeric(rows["truth"], errors="coerce").to_numpy(float)
                guess = pd.to_numeric(rows["prediction"], errors="coerce").to_numpy(float)
                keep = ~(np.isnan(y) | np.isnan(guess))
                values = regression_metrics(y[keep], guess[keep], [metric])
            elif len(classes or []) == 2 and "probability" in rows.columns:
                positive = category_strings(rows["truth"]) == category_string(positive_class)
                proba = pd.to_numeric(rows["probability"]).to_numpy(float)
                values = binary_metrics(positive.to_numpy(int), proba, [metric])
            else:
                labels = category_strings(rows["truth"]).to_numpy(dtype=object)
                guessed = category_strings(rows["prediction"]).to_numpy(dtype=object)
                values = multiclass_metrics(labels, guessed, np.empty((0, 0)), [], [metric])
        value = values.get(metric)
        return None if value is None or not math.isfinite(value) else float(value)

    return score
