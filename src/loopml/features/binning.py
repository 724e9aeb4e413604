"""Numeric columns cut into bins: quantile or equal-width intervals, one-hot or ordinal."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import KBinsDiscretizer
from sklearn.utils.validation import check_is_fitted

from loopml.features.params import check_choice, check_number


class Binner(TransformerMixin, BaseEstimator):
    """scikit-learn's ``KBinsDiscretizer`` with ``n_bins`` bins per column, ``strategy``
    ``quantile`` or ``uniform``, ``encode`` ``onehot`` (dense) or ``ordinal``.

    Quantile bins that would be empty (a value that fills several quantiles, like ``-1``
    in most rows) are merged quietly: ``n_bins_`` says how many bins each column got.
    The input must hold no missing values (impute first).
    """

    def __init__(
        self,
        n_bins: int = 5,
        strategy: str = "quantile",
        encode: str = "onehot",
        random_state: int = 42,
    ) -> None:
        self.n_bins = n_bins
        self.strategy = strategy
        self.encode = encode
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> Binner:
        check_number(self, "n_bins", low=2, integer=True)
        check_choice(self, "strategy", ("quantile", "uniform"))
        check_choice(self, "encode", ("onehot", "ordinal"))
        extra: dict[str, Any] = {}
        if self.strategy == "quantile":
            extra["quantile_method"] = "averaged_inverted_cdf"
        self.discretizer_ = KBinsDiscretizer(
            n_bins=self.n_bins,
            encode="onehot-dense" if self.encode == "onehot" else "ordinal",
            strategy=self.strategy,
            dtype=np.float64,
            random_state=self.random_state,
            **extra,
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Bb]ins whose width are too small")
            self.discretizer_.fit(X)
        self.n_features_in_ = self.discretizer_.n_features_in_
        if hasattr(self.discretizer_, "feature_names_in_"):
            self.feature_names_in_ = self.discretizer_.feature_names_in_
        self.n_bins_ = np.asarray(self.discretizer_.n_bins_)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "discretizer_")
        return np.asarray(self.discretizer_.transform(X), dtype=np.float64)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "discretizer_")
        return np.asarray(self.discretizer_.get_feature_names_out(input_features), dtype=object)
