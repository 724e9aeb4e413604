"""Text columns as TF-IDF weights of their most frequent words and word n-grams."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from loopml.features.params import check_number


class TfidfColumns(TransformerMixin, BaseEstimator):
    """One ``TfidfVectorizer`` per text column: the ``max_features`` most frequent terms
    (words and n-grams of up to ``ngram_max`` words), weighted by TF-IDF. Missing text is
    empty text; a column without a single word in training gives no feature.

    ``transform`` returns a sparse matrix (a ``ColumnTransformer`` with
    ``sparse_threshold=0`` makes it dense).

    Attributes:
        vectorizers_: per column, the fitted vectorizer, or None for a column without words.
    """

    def __init__(self, max_features: int = 2000, ngram_max: int = 2) -> None:
        self.max_features = max_features
        self.ngram_max = ngram_max

    def fit(self, X: Any, y: Any = None) -> TfidfColumns:
        check_number(self, "max_features", low=1, integer=True)
        check_number(self, "ngram_max", low=1, integer=True)
        frame = _frame(X)
        self.n_features_in_ = frame.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.vectorizers_: list[TfidfVectorizer | None] = []
        for i in range(frame.shape[1]):
            texts = _texts(frame.iloc[:, i])
            vectorizer = TfidfVectorizer(
                max_features=self.max_features,
                ngram_range=(1, self.ngram_max),
                dtype=np.float64,
            )
            try:
                vectorizer.fit(texts)
            except ValueError:  # empty vocabulary: no word in any row
                self.vectorizers_.append(None)
                continue
            self.vectorizers_.append(vectorizer)
        return self

    def transform(self, X: Any) -> sp.csr_matrix:
        check_is_fitted(self, "vectorizers_")
        frame = _frame(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"TfidfColumns was fitted on {self.n_features_in_} columns, got {frame.shape[1]}"
            )
        blocks = [
            vectorizer.transform(_texts(frame.iloc[:, i]))
            for i, vectorizer in enumerate(self.vectorizers_)
            if vectorizer is not None
        ]
        if not blocks:
            return sp.csr_matrix((len(frame), 0), dtype=np.float64)
        return sp.hstack(blocks, format="csr", dtype=np.float64)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "vectorizers_")
        if input_features is None:
            input_features = getattr(
                self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]
            )
        names: list[str] = []
        for name, vectorizer in zip(input_features, self.vectorizers_, strict=True):
            if vectorizer is not None:
                names += [f"{name}_{term}" for term in vectorizer.get_feature_names_out()]
        return np.asarray(names, dtype=object)


def _texts(column: pd.Series) -> list[str]:
    return [str(v) if not _missing(v) else "" for v in column.tolist()]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X, dtype=object)
    return pd.DataFrame(array.reshape(len(array), -1))
