"""Feature selection by importance, by correlation or by mutual information with the target.

The selector is the last step of the fitted transform, so it is fitted on the training rows
only: the hold-out never takes part in choosing the features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
from sklearn.feature_selection import SelectorMixin, mutual_info_classif, mutual_info_regression
from sklearn.utils.validation import check_is_fitted, validate_data

from loopml.features.params import check_choice, check_number

METHODS = ("importance", "correlation", "mutual_info")
TASKS = ("classification", "regression")
DEFAULT_CORRELATION = 0.95


class FeatureSelector(SelectorMixin, BaseEstimator):
    """Keep the columns of a float array that ``method`` chooses.

    - ``importance``: the impurity importances of a quick extremely-randomised tree
      ensemble (50 trees); keep the ``k`` most important, or those with an importance of
      at least ``threshold``, or else those above the mean importance;
    - ``correlation``: going left to right, drop a column whose |Pearson r| with a kept
      column is above ``threshold`` (0.95 when None); ``k`` is not used;
    - ``mutual_info``: keep the ``k`` columns with the most mutual information with the
      target, or those with at least ``threshold``.

    At least one column is always kept; ties keep the leftmost. Scores are computed on at
    most ``max_rows`` rows (a seeded sample), with missing values replaced by the column
    mean.

    Attributes:
        scores_: per input column, the score the choice was made on (importance, mutual
            information, or for ``correlation`` the largest |r| with a column before it).
        support_: per input column, whether it is kept.
    """

    def __init__(
        self,
        method: str = "importance",
        k: int | None = None,
        threshold: float | None = None,
        task: str = "classification",
        random_state: int = 42,
        max_rows: int = 20_000,
    ) -> None:
        self.method = method
        self.k = k
        self.threshold = threshold
        self.task = task
        self.random_state = random_state
        self.max_rows = max_rows

    def fit(self, X: Any, y: Any = None) -> FeatureSelector:
        check_choice(self, "method", METHODS)
        check_choice(self, "task", TASKS)
        check_number(self, "k", low=1, integer=True, optional=True)
        check_number(self, "threshold", low=0.0, optional=True)
        check_number(self, "max_rows", low=10, integer=True)
        if self.method != "correlation" and y is None:
            raise ValueError(f"FeatureSelector: method {self.method!r} needs the target y")
        values = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        values, target = self._sample(values, None if y is None else np.asarray(y))
        values = _fill_means(values)
        if self.method == "correlation":
            self.scores_, self.support_ = _by_correlation(values, self.threshold)
            return self
        if self.method == "importance":
            self.scores_ = self._importances(values, target)
            default = float(np.mean(self.scores_))
            self.support_ = _keep(self.scores_, self.k, self.threshold, default, strict=True)
        else:
            self.scores_ = self._mutual_info(values, target)
            self.support_ = _keep(self.scores_, self.k, self.threshold, 0.0, strict=False)
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return np.asarray(self.support_, dtype=bool)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _sample(self, X: np.ndarray, y: np.ndarray | None) -> tuple[np.ndarray, Any]:
        if len(X) <= self.max_rows:
            return X, y
        rng = np.random.default_rng(self.random_state)
        rows = np.sort(rng.choice(len(X), size=self.max_rows, replace=False))
        return X[rows], None if y is None else y[rows]

    def _importances(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        cls = ExtraTreesClassifier if self.task == "classification" else ExtraTreesRegressor
        model = cls(
            n_estimators=50,
            min_samples_leaf=5,
            max_features="sqrt",
            n_jobs=1,
            random_state=self.random_state,
        )
        model.fit(X, y)
        return np.asarray(model.feature_importances_, dtype=np.float64)

    def _mutual_info(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        if self.task == "classification":
            labels = np.asarray([str(v) for v in y], dtype=object)
            scores = mutual_info_classif(X, labels, random_state=self.random_state)
        else:
            target = np.asarray(y, dtype=np.float64)
            scores = mutual_info_regression(X, target, random_state=self.random_state)
        return np.asarray(scores, dtype=np.float64)


def _fill_means(X: np.ndarray) -> np.ndarray:
    missing = np.isnan(X)
    if not missing.any():
        return X
    with np.errstate(all="ignore"):
        means = np.nanmean(np.where(missing.all(axis=0), 0.0, X), axis=0)
    return np.where(missing, means, X)


def _keep(
    scores: np.ndarray, k: int | None, threshold: float | None, default: float, *, strict: bool
) -> np.ndarray:
    """Mask of the ``k`` best scores, or of those at or above ``threshold``, or else of
    those above (``strict``) or at ``default``; never empty."""
    keep = np.zeros(len(scores), dtype=bool)
    if k is not None:
        order = np.argsort(-scores, kind="stable")
        keep[order[:k]] = True
    elif threshold is not None:
        keep = scores >= threshold
    else:
        keep = scores > default if strict else scores >= default
    if not keep.any() and len(scores):
        keep[int(np.argmax(scores))] = True
    return keep


def _by_correlation(X: np.ndarray, threshold: float | None) -> tuple[np.ndarray, np.ndarray]:
    limit = DEFAULT_CORRELATION if threshold is None else threshold
    n = X.shape[1]
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    with np.errstate(all="ignore"):
        r = np.abs(np.corrcoef(X, rowvar=False)).reshape(n, n)
    r = np.nan_to_num(r, nan=0.0)  # a constant column correlates with nothing
    scores = np.zeros(n)
    keep = np.zeros(n, dtype=bool)
    for j in range(n):
        kept = np.flatnonzero(keep)
        scores[j] = float(r[j, kept].max()) if len(kept) else 0.0
        keep[j] = scores[j] <= limit
    return scores, keep
