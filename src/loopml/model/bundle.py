"""The unit that is registered, served and loaded as a library: transform + estimator."""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from loopml.domain import Schema
from loopml.model.cleaning import CleaningTransformer, cleaner_of
from loopml.model.target import interval_bounds, inverse_target

PLATT_EPS = 1e-6  # probabilities are clipped to [eps, 1 - eps] before Platt's logit


@dataclass
class Prediction:
    """Model output for a batch: ``probabilities`` is the positive class's (binary) or
    one column per class (multiclass); None for regression."""

    predictions: np.ndarray
    probabilities: np.ndarray | None = None


@dataclass
class ModelBundle:
    """A fitted scikit-learn ``pipeline`` with everything needed to call it the way
    training did: the cleaning (a ``CleaningTransformer``: source names, coercions, fills,
    clips), the fitted feature transform and the estimator, in that order.

    ``signature`` lists the model's columns (clean names) in training order, with kinds
    and ranges; the cleaning step accepts each under its source name too, with values as
    the source held them. ``classes`` is the estimator's ``classes_`` for classifiers.
    ``info`` holds what training recorded (parameters, the chosen ``threshold``, the
    ``calibration``, an ``input_example`` row as the source held it). The same pickled
    bytes are what training produced and what serving loads, so serving applies exactly
    what training applied.
    """

    pipeline: Any
    signature: Schema
    task: str
    target: str
    model_kind: str
    classes: list[Any] | None = None
    positive_class: Any = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return self.signature.names()

    @property
    def cleaner(self) -> CleaningTransformer | None:
        """The cleaning step the pipeline begins with (None for a model without one)."""
        return cleaner_of(self.pipeline)

    @property
    def model_pipeline(self) -> Any:
        """The pipeline after its cleaning step: the feature transform and the estimator,
        taking cleaned rows (the whole pipeline when it has no cleaning step)."""
        if self.cleaner is None:
            return self.pipeline
        return self.pipeline[1:]

    def inputs(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` as the pipeline takes it: whole when it begins with the cleaning step
        (which renames and selects), else the signature's columns."""
        return X if self.cleaner is not None else X[self.feature_names]

    def predict(self, X: pd.DataFrame) -> Prediction:
        """Predict for source rows holding at least the model's columns (under their
        source or clean names; extra ones ignored)."""
        X = self.inputs(X)
        if self.task == "regression":
            return self.from_estimates(self.pipeline.predict(X))
        return self.from_probabilities(self.pipeline.predict_proba(X))

    def from_estimates(self, raw: Any) -> Prediction:
        """A regressor's prediction from its estimator's ``predict``: in original units
        (``info["target_transform"]`` undone). Every path that scores rows goes here."""
        return Prediction(inverse_target(raw, self.target_transform))

    def predict_interval(self, predictions: Any) -> tuple[np.ndarray, np.ndarray] | None:
        """Lower and upper bounds of the conformal prediction interval around a
        regressor's ``predictions`` (``info["interval"]``); None without one."""
        return interval_bounds(predictions, self.info.get("interval"))

    @property
    def target_transform(self) -> str | None:
        """What the estimator's target went through (``log``), None for nothing."""
        return self.info.get("target_transform")

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
        proba = np.asarray(self.pipeline.predict_proba(self.inputs(X)), dtype=float)
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

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle; a bundle of loopml 0.1 kept its cleaning as a ``prepare`` callable
        (a partial of ``apply_cleaning_log``): it becomes the pipeline's first step."""
        prepare = state.pop("prepare", None)
        self.__dict__.update(state)
        if prepare is not None and self.cleaner is None:
            self.pipeline = _with_cleaner(self.pipeline, prepare, self.feature_names)

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


def with_cleaner(pipeline: Any, cleaner: CleaningTransformer) -> Any:
    """``pipeline`` (fitted) with the fitted ``cleaner`` as its first step."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("clean", cleaner), *pipeline.steps])


def _with_cleaner(pipeline: Any, prepare: Any, columns: list[str]) -> Any:
    log = getattr(prepare, "keywords", {}).get("log")
    if log is None:
        raise TypeError(f"cannot read the cleaning of a 0.1 bundle from {prepare!r}")
    cleaner = CleaningTransformer(actions=log.actions, columns=columns)
    return with_cleaner(pipeline, cleaner.fit(pd.DataFrame(columns=columns)))


def calibrate(score: np.ndarray, calibration: dict[str, Any] | None) -> np.ndarray:
    """Map positive-class probabilities through ``calibration``: ``isotonic`` interpolates
    between its knots ``x``, ``y`` (flat beyond them); ``platt`` is
    ``sigmoid(a * logit(p) + b)``; None leaves them as they are."""
    if calibration is None:
        return score
    if calibration["method"] == "isotonic":
        return np.asarray(np.interp(score, calibration["x"], calibration["y"]), dtype=np.float64)
    if calibration["method"] == "platt":
        p = np.clip(score, PLATT_EPS, 1.0 - PLATT_EPS)
        z = calibration["a"] * np.log(p / (1.0 - p)) + calibration["b"]
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)
    raise ValueError(f"unknown calibration method {calibration['method']!r}")
