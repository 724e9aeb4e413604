"""Date and time parts of datetime columns (or of dates written as text)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from loopml.model.values import datetime_format, to_datetime

PARTS = ("year", "month", "day", "dayofweek", "hour", "dayofyear", "is_weekend")
DEFAULT_PARTS = ("year", "month", "dayofweek", "hour")
_ATTRIBUTES = {"dayofweek": "day_of_week", "dayofyear": "day_of_year"}  # pandas' names


class DateFeatures(TransformerMixin, BaseEstimator):
    """Turn each datetime column into the numbers ``parts`` names: ``year``, ``month``,
    ``day``, ``dayofweek`` (Monday 0), ``hour``, ``dayofyear``, ``is_weekend`` (1 or 0).

    ``hour`` is given only for columns whose training values hold times (not for plain
    dates). ``fit`` learns each text column's date format (``formats_``) so that the same
    text always means the same date, however few rows ``transform`` gets. Missing or
    unparsable dates give NaN.
    """

    def __init__(self, parts: Sequence[str] = DEFAULT_PARTS) -> None:
        self.parts = parts

    def fit(self, X: Any, y: Any = None) -> DateFeatures:
        unknown = [p for p in self.parts if p not in PARTS]
        if unknown or not self.parts:
            raise ValueError(
                f"DateFeatures: parts={list(self.parts)!r}; use some of {', '.join(PARTS)}"
            )
        frame = _frame(X)
        self.n_features_in_ = frame.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.formats_: list[str | None] = []
        self.parts_: list[tuple[str, ...]] = []
        for i in range(frame.shape[1]):
            column = frame.iloc[:, i]
            is_datetime = pd.api.types.is_datetime64_any_dtype(column.dtype)
            fmt = None if is_datetime else datetime_format(column.dropna().astype(str))
            times = to_datetime(column, fmt).dropna()
            with_hour = bool(len(times) and (times != times.dt.normalize()).any())
            self.formats_.append(fmt)
            self.parts_.append(tuple(p for p in self.parts if p != "hour" or with_hour))
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "formats_")
        frame = _frame(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"DateFeatures was fitted on {self.n_features_in_} columns, got {frame.shape[1]}"
            )
        blocks = []
        for i, fmt in enumerate(self.formats_):
            times = to_datetime(frame.iloc[:, i], fmt)
            blocks += [_part(times, part) for part in self.parts_[i]]
        return np.column_stack(blocks) if blocks else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "formats_")
        if input_features is None:
            input_features = getattr(
                self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]
            )
        names = []
        for name, parts in zip(input_features, self.parts_, strict=True):
            names += [f"{name}_{part}" for part in parts]
        return np.asarray(names, dtype=object)


def _part(times: pd.Series, part: str) -> np.ndarray:
    if part == "is_weekend":
        values = (times.dt.day_of_week >= 5).astype(float).where(times.notna())
    else:
        values = getattr(times.dt, _ATTRIBUTES.get(part, part))
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _frame(X: Any) -> pd.DataFrame:
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))
