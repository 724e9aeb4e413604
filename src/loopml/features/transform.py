"""The feature transform: a scikit-learn ColumnTransformer built from the input schema."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from loopml.data.schema import category_strings, datetime_format, to_datetime
from loopml.domain import ColumnKind, Schema
from loopml.errors import DataError

MIN_FREQUENCY = 0.001  # categories in a smaller share of the training rows are "infrequent"
MAX_CATEGORIES = 50  # at most this many one-hot columns per categorical feature
DATE_PARTS = ("year", "month", "day", "day_of_week")


def build_transform(signature: Schema) -> ColumnTransformer:
    """An unfitted transform from a DataFrame holding ``signature``'s columns to a dense
    float array.

    - numeric: to float (unparsable values become missing), median imputation, scaling;
    - categorical and boolean: values as strings (``1`` and ``1.0`` alike), the most
      frequent value for missing ones, one-hot encoding; categories in fewer than
      ``MIN_FREQUENCY`` of the rows (and beyond the ``MAX_CATEGORIES`` most frequent),
      and unseen ones, share one "infrequent" column (all zeros when there is none);
    - datetime: year, month, day and day of week (and hour when the training values have
      times), median imputation, scaling;
    - text: dropped for now.

    Raises:
        DataError: no column of the signature can be used.
    """
    by_kind: dict[ColumnKind, list[str]] = {kind: [] for kind in ColumnKind}
    for col in signature.columns:
        by_kind[col.kind].append(col.name)
    transformers: list[tuple[str, Any, list[str]]] = []
    if by_kind[ColumnKind.NUMERIC]:
        transformers.append(("numeric", _numeric(), by_kind[ColumnKind.NUMERIC]))
    categorical = by_kind[ColumnKind.CATEGORICAL] + by_kind[ColumnKind.BOOLEAN]
    if categorical:
        transformers.append(("categorical", _categorical(), categorical))
    if by_kind[ColumnKind.DATETIME]:
        transformers.append(("datetime", _datetime(), by_kind[ColumnKind.DATETIME]))
    if not transformers:
        raise DataError(
            f"no usable feature column among {signature.names()} (text columns are not "
            "used yet); add numeric, categorical, boolean or datetime columns to the features"
        )
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


def _numeric() -> Pipeline:
    return Pipeline(
        [
            ("to_float", FunctionTransformer(to_float, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]
    )


def _categorical() -> Pipeline:
    return Pipeline(
        [
            ("to_str", FunctionTransformer(to_strings, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)),
            (
                "encode",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=MIN_FREQUENCY,
                    max_categories=MAX_CATEGORIES,
                    sparse_output=False,
                    dtype=np.float64,
                ),
            ),
        ]
    )


def _datetime() -> Pipeline:
    return Pipeline(
        [
            ("parts", DateParts()),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]
    )


def to_float(X: Any) -> np.ndarray:
    """Columns as a float array; values that are not numbers become NaN."""
    frame = _frame(X)
    numbers = frame.apply(pd.to_numeric, errors="coerce")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def to_strings(X: Any) -> np.ndarray:
    """Columns as an object array of category strings, NaN where missing (pandas 3 ``str``
    columns, numbers and booleans alike)."""
    frame = _frame(X)
    out = np.empty(frame.shape, dtype=object)
    for i in range(frame.shape[1]):
        strings = category_strings(frame.iloc[:, i])
        out[:, i] = strings.where(strings.notna(), np.nan).to_numpy(dtype=object)
    return out


def _frame(X: Any) -> pd.DataFrame:
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))


class DateParts(TransformerMixin, BaseEstimator):
    """Turn datetime columns (or date strings) into year, month, day and day-of-week
    numbers, plus the hour when the training values hold times.

    ``fit`` learns each string column's date format (``formats_``), so that the same
    string always means the same date, however few rows ``transform`` is given.
    Missing or unparsable dates become NaN.
    """

    def fit(self, X: Any, y: Any = None) -> DateParts:
        frame = _frame(X)
        self.n_features_in_ = frame.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.formats_: list[str | None] = []
        self.with_hour_: list[bool] = []
        for i in range(frame.shape[1]):
            column = frame.iloc[:, i]
            is_datetime = pd.api.types.is_datetime64_any_dtype(column.dtype)
            fmt = None if is_datetime else datetime_format(column.dropna().astype(str))
            times = to_datetime(column, fmt).dropna()
            self.formats_.append(fmt)
            self.with_hour_.append(bool(len(times) and (times != times.dt.normalize()).any()))
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "formats_")
        frame = _frame(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"DateParts was fitted on {self.n_features_in_} columns, got {frame.shape[1]}"
            )
        blocks = []
        for i, fmt in enumerate(self.formats_):
            times = to_datetime(frame.iloc[:, i], fmt)
            parts = [getattr(times.dt, part) for part in DATE_PARTS]
            if self.with_hour_[i]:
                parts.append(times.dt.hour)
            blocks += [p.to_numpy(dtype=np.float64, na_value=np.nan) for p in parts]
        return np.column_stack(blocks) if blocks else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "formats_")
        if input_features is None:
            input_features = getattr(
                self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]
            )
        names = []
        for name, with_hour in zip(input_features, self.with_hour_, strict=True):
            parts = DATE_PARTS + (("hour",) if with_hour else ())
            names += [f"{name}_{part}" for part in parts]
        return np.asarray(names, dtype=object)
