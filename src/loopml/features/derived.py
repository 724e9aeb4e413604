"""Derived columns: new numeric columns computed from others by safe row expressions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from loopml.data.expressions import value_of

_CHECK_ROWS = 5  # rows ``fit`` evaluates every expression on, to fail early


def compute(df: pd.DataFrame, expr: str, *, where: str) -> np.ndarray:
    """The value of ``expr`` (arithmetic over ``df``'s columns, see
    ``loopml.data.expressions``) on every row, as floats: a division by zero or a value
    that is not a number gives NaN, true/false give 1/0.

    Raises:
        DataError: the expression does not parse, uses anything outside the whitelist or
            names a column ``df`` does not have (the message names ``where``).
    """
    _, result = value_of(df, expr, where=where)
    if not isinstance(result, pd.Series):
        result = pd.Series(result, index=df.index)
    if pd.api.types.is_bool_dtype(result.dtype):
        result = result.astype("Float64")
    numbers = pd.to_numeric(result, errors="coerce")
    values = np.array(numbers.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    return values


class DerivedColumns(TransformerMixin, BaseEstimator):
    """Add a numeric column per ``(name, expression)`` of ``derived`` to a DataFrame, in
    order (an expression may use the columns derived before it).

    ``transform`` returns the input DataFrame with the new columns appended, so that the
    transformers after it select columns by name.
    """

    def __init__(self, derived: Sequence[tuple[str, str]] = ()) -> None:
        self.derived = derived

    def fit(self, X: Any, y: Any = None) -> DerivedColumns:
        if not isinstance(X, pd.DataFrame):
            raise TypeError("DerivedColumns needs a pandas DataFrame (columns by name)")
        names = [str(c) for c in X.columns]
        for name, _ in self.derived:
            if name in names:
                raise ValueError(f"DerivedColumns: '{name}' is already a column")
            names.append(name)
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self._add(X.head(_CHECK_ROWS))
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "feature_names_in_")
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X, dtype=object), columns=self.feature_names_in_)
        return self._add(X)

    def _add(self, X: pd.DataFrame) -> pd.DataFrame:
        frame = X.copy()
        for i, (name, expr) in enumerate(self.derived):
            values = compute(frame, expr, where=f"features.derived[{i}] ({name})")
            frame[name] = values
        return frame

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_in_")
        names = list(self.feature_names_in_ if input_features is None else input_features)
        return np.asarray(names + [name for name, _ in self.derived], dtype=object)
