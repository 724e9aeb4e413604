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

PLATT_EPS = 1e-6  # probabilities are clipped to [eps, 1 - eps] before Platt's logit


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
            score = calibrate(np.asarray(proba[:, positive], dtype=float), self.calibration)
            chosen = score >= self.threshold
            labels = classes[np.where(chosen, positive, 1 - positive)]
            return Prediction(labels, score)
        return Prediction(classes[proba.argmax(axis=1)], proba)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities (columns in ``classes`` order) as ``predict`` scores them:
        a binary classifier's calibrated, when the evaluation calibrated it."""
        if self.prepare is not None:
            X = self.prepare(X)
        proba = np.asarray(self.pipeline.predict_proba(X[self.feature_names]), dtype=float)
        if len(self.classes or []) != 2 or self.calibration is None:
            return proba
        positive = (self.classes or []).index(self.positive_class)
        out = np.empty_like(proba)
        out[:, positive] = calibrate(proba[:, positive], self.calibration)
        out[:, 1 - positive] = 1.0 - out[:, positive]
        return out

    @property
    def calibration(self) -> dict[str, Any] | None:
        """The calibrator of a binary classifier's positive-class probability, as plain
        data (``info["calibration"]``: isotonic knots or Platt's a, b), else None."""
        return self.info.get("calibration")

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


def calibrate(score: np.ndarray, calibration: dict[str, Any] | None) -> np.ndarray:
    """Map positive-class probabilities through ``calibration``: ``isotonic`` interpolates
    between its knots ``x``, ``y`` (flat beyond them); ``platt`` is
    ``sigmoid(a * logit(p) + b)``; None leaves them as they are."""
    if calibration is None:
        return score
    if calibration["method"] == "isotonic":
        return np.interp(score, calibration["x"], calibration["y"])
    if calibration["method"] == "platt":
        p = np.clip(score, PLATT_EPS, 1.0 - PLATT_EPS)
        z = calibration["a"] * np.log(p / (1.0 - p)) + calibration["b"]
        return 1.0 / (1.0 + np.exp(-z))
    raise ValueError(f"unknown calibration method {calibration['method']!r}")
