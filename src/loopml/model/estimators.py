"""Estimator wrappers a fitted model may hold (below the stages, so that serving and the
exports read them without importing training)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight


class EncodedClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Fits a classifier that wants labels 0..k-1 (XGBoost) on any labels.

    ``classes_`` are the original labels (sorted); ``predict`` returns them. With
    ``balanced``, a binary problem gets ``scale_pos_weight`` (negatives / positives) and
    a multiclass one balanced sample weights. ``fit`` encodes the labels of an
    ``eval_set`` too.
    """

    def __init__(self, estimator: Any = None, balanced: bool = False) -> None:
        self.estimator = estimator
        self.balanced = balanced

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        eval_set: Sequence[tuple[Any, Any]] | None = None,
        **fit_params: Any,
    ) -> EncodedClassifier:
        self.encoder_ = LabelEncoder().fit(np.asarray(y))
        self.classes_ = self.encoder_.classes_
        codes = self.encoder_.transform(np.asarray(y))
        estimator = clone(self.estimator)
        if self.balanced and len(self.classes_) == 2:
            positives = max(int(codes.sum()), 1)
            estimator.set_params(scale_pos_weight=(len(codes) - positives) / positives)
        elif self.balanced:
            weights = compute_sample_weight("balanced", codes)
            sample_weight = weights if sample_weight is None else weights * sample_weight
        if eval_set is not None:
            eval_codes = [self.encoder_.transform(np.asarray(y_eval)) for _, y_eval in eval_set]
            fit_params["eval_set"] = [
                (X_eval, c) for (X_eval, _), c in zip(eval_set, eval_codes, strict=True)
            ]
            if self.balanced:  # stop on the loss that the fit minimizes
                fit_params["sample_weight_eval_set"] = [self._weights(c, codes) for c in eval_codes]
        estimator.fit(X, codes, sample_weight=sample_weight, **fit_params)
        self.estimator_ = estimator
        if hasattr(estimator, "n_features_in_"):
            self.n_features_in_ = estimator.n_features_in_
        return self

    def _weights(self, codes: np.ndarray, train_codes: np.ndarray) -> np.ndarray:
        """Balanced weights of ``codes``, as the training labels ``train_codes`` set them."""
        counts = np.bincount(train_codes, minlength=len(self.classes_)).astype(float)
        if len(self.classes_) == 2:
            scale = (counts[0] / counts[1]) if counts[1] else 1.0
            return np.where(codes == 1, scale, 1.0)
        per_class = len(train_codes) / (len(self.classes_) * np.maximum(counts, 1.0))
        return np.asarray(per_class[codes])

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "estimator_")
