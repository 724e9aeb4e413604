"""The unit that is registered, served and loaded as a library: transform + estimator."""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from loopml.domain import Schema


@dataclass
class Prediction:
    """Model output for a batch: ``probabilities`` is the positive class's (binary) or
    one column per class (multiclass); None for regression."""

    predictions: np.ndarray
    probabilities: np.ndarray | None = None


@dataclass
class ModelBundle:
    """A fitted scikit-learn ``pipeline`` (the fitted feature transform followed by the
    estimator) with everything needed to call it the way training did.

    ``signature`` lists the input columns in training order, with kinds and ranges;
    ``classes`` is the estimator's ``classes_`` for classifiers; ``prepare`` re-applies
    the fitted column-level cleaning (type coercions, fill values, clip bounds) to new rows
    before the transform. The same pickled bytes are what training produced and what
    serving loads, so serving applies exactly what training applied.
    """

    pipeline: Any
    signature: Schema
    task: str
    target: str
    model_kind: str
    classes: list[Any] | None = None
    positive_class: Any = None
    info: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None

    @property
    def feature_names(self) -> list[str]:
        return self.signature.names()

    def predict(self, X: pd.DataFrame) -> Prediction:
        """Predict for rows holding at least the signature's columns (extra ones ignored)."""
        if self.prepare is not None:
            X = self.prepare(X)
        X = X[self.feature_names]
        if self.task == "regression":
            return Prediction(np.asarray(self.pipeline.predict(X), dtype=float))
        return self.from_probabilities(self.pipeline.predict_proba(X))

    def from_probabilities(self, proba: np.ndarray) -> Prediction:
        """A classifier's prediction from its estimator's ``predict_proba`` (columns in
        ``classes`` order): binary labels at ``threshold``, else the most likely class.
        Every path that scores rows (serving's array path too) goes through here."""
        classes = np.asarray(self.classes, dtype=object)
        if len(classes) == 2:
            positive = (self.classes or []).index(self.positive_class)
            chosen = proba[:, positive] >= self.threshold
            labels = classes[np.where(chosen, positive, 1 - positive)]
            return Prediction(labels, proba[:, positive])
        return Prediction(classes[proba.argmax(axis=1)], proba)

    @property
    def threshold(self) -> float:
        """A binary prediction is the positive class when its probability reaches this:
        the threshold the evaluation chose (``info["threshold"]``), else 0.5."""
        return float(self.info.get("threshold", 0.5))

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        pickle.dump(self, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        return buffer.getvalue()

    @staticmethod
    def from_bytes(data: bytes) -> ModelBundle:
        """Unpickle a bundle. Only call on bytes whose sha256 was verified by the store."""
        bundle = pickle.loads(data)  # noqa: S301 - hash verified by the caller
        if not isinstance(bundle, ModelBundle):
            raise TypeError(f"artifact holds a {type(bundle).__name__}, not a ModelBundle")
        return bundle
