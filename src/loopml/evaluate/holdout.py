"""Score a model on hold-out rows once, then compute its metrics, their bootstrap
confidence intervals, and every metric across thresholds from those scores."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loopml.evaluate import bootstrap as bs
from loopml.evaluate.metrics import labelled_rows
from loopml.model.bundle import ModelBundle
from loopml.model.values import category_string, category_strings
from loopml.spec.evaluation import BootstrapSpec


@dataclass(frozen=True)
class Scored:
    """A model's scores on hold-out rows, as arrays.

    ``kind`` is ``binary``, ``multiclass`` or ``regression``; ``y`` the truth (0/1, class
    codes with -1 for a class the model never saw, or numbers); ``score`` the positive
    class's probability, the class probabilities, or the prediction; ``guess`` the
    predicted label (0/1 at ``threshold``, class codes) or the prediction; ``classes``
    the class labels as text (binary: negative, positive).
    """

    kind: str
    y: np.ndarray
    score: np.ndarray
    guess: np.ndarray
    rows: pd.DataFrame
    threshold: float | None = None
    classes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.y)

    def metric_arrays(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Every metric per row of ``weights`` (resamples or slices x rows)."""
        if self.kind == "binary":
            return bs.binary_scores(self.y, self.score, float(self.threshold or 0.5), weights)
        if self.kind == "multiclass":
            return bs.multiclass_scores(self.y, self.guess, self.score, weights)
        return bs.regression_scores(self.y, self.guess, weights)

    def metrics(self) -> dict[str, float]:
        """The metrics on all the rows (NaN ones left out)."""
        values = self.metric_arrays(np.ones((1, len(self))))
        return {k: float(v[0]) for k, v in values.items() if math.isfinite(v[0])}


def score_rows(bundle: ModelBundle, frame: pd.DataFrame) -> Scored:
    """Predict ``frame``'s rows that have a target value with ``bundle``.

    Raises:
        DataError: the target column is missing or no row has a value.
    """
    target = bundle.target
    rows = labelled_rows(frame, target, "hold-out")
    prediction = bundle.predict(rows)
    if bundle.task == "regression":
        y = pd.to_numeric(rows[target]).to_numpy(float)
        guess = np.asarray(prediction.predictions, dtype=float)
        return Scored("regression", y, guess, guess, rows)
    keys = tuple(category_string(c) for c in bundle.classes or [])
    proba = np.asarray(prediction.probabilities, dtype=float)
    truth = category_strings(rows[target]).to_numpy(dtype=object)
    if len(keys) == 2:
        positive = category_string(bundle.positive_class)
        y = positive_truth(bundle, rows[target])
        guess = (proba >= bundle.threshold).astype(int)
        labels = (next(k for k in keys if k != positive), positive)
        return Scored("binary", y, proba, guess, rows, bundle.threshold, labels)
    index = {key: i for i, key in enumerate(keys)}
    codes = np.array([index.get(label, -1) for label in truth], dtype=int)
    return Scored("multiclass", codes, proba, proba.argmax(axis=1), rows, None, keys)


def positive_truth(bundle: ModelBundle, values: pd.Series) -> np.ndarray:
    """1 where ``values`` is a binary bundle's positive class (compared as text), else 0."""
    truth = category_strings(values).to_numpy(dtype=object)
    return (truth == category_string(bundle.positive_class)).astype(int)


def holdout_summary(scored: Scored, spec: BootstrapSpec) -> dict[str, Any]:
    """Metrics, their bootstrap intervals, and (regression) error quantiles, as JSON."""
    intervals = bs.bootstrap(
        scored.metric_arrays,
        len(scored),
        samples=spec.samples,
        confidence=spec.confidence,
        seed=spec.seed,
    )
    out: dict[str, Any] = {
        "rows": len(scored),
        "metrics": scored.metrics(),
        "intervals": {k: list(v) for k, v in intervals.items()},
        "confidence": spec.confidence,
        "resamples": spec.samples,
    }
    if scored.kind == "regression":
        out["error_quantiles"] = bs.error_quantiles(scored.y - scored.guess)
    if scored.kind == "binary":
        out["threshold"] = scored.threshold
        out["positives"] = int(scored.y.sum())
    return out
