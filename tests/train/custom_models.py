"""User estimators for the zoo and search tests, imported by path (also by worker
processes, as ``tests.train.custom_models``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


class CentroidClassifier(ClassifierMixin, BaseEstimator):
    """Scores rows by their distance to each class's mean row."""

    def __init__(self, shrink: float = 0.0, n_jobs: int | None = None) -> None:
        self.shrink = shrink
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any) -> CentroidClassifier:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        self.centres_ = np.stack([X[y == c].mean(axis=0) for c in self.classes_])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        distance = ((np.asarray(X, dtype=float)[:, None, :] - self.centres_) ** 2).sum(axis=2)
        weights = np.exp(-(distance - distance.min(axis=1, keepdims=True)) * (1 - self.shrink))
        return weights / weights.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class FailsOnSecondFit(CentroidClassifier):
    """Raises on every second ``fit`` of this process: each trial fails on its 2nd fold.
    Reset ``calls`` to 0 before a search."""

    calls = 0

    def fit(self, X: Any, y: Any) -> FailsOnSecondFit:
        type(self).calls += 1
        if type(self).calls % 2 == 0:
            raise RuntimeError("user estimator broke on this fold")
        super().fit(X, y)
        return self


class Noisy(ClassifierMixin, BaseEstimator):
    """Logistic regression whose probabilities are mixed with ``noise`` of random values:
    a high ``noise`` makes a poor model (for pruning)."""

    def __init__(self, noise: float = 0.0, random_state: int = 0) -> None:
        self.noise = noise
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> Noisy:
        self.model_ = LogisticRegression(max_iter=200).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        proba = self.model_.predict_proba(X)
        rng = np.random.default_rng(self.random_state)
        noise = rng.random(proba.shape)
        mixed = (1 - self.noise) * proba + self.noise * noise
        return mixed / mixed.sum(axis=1, keepdims=True)


class NotAnEstimator:
    """Has no fit: refused as a model."""
