"""The cleaning training applied, as the first fitted step of every model's pipeline.

``CleaningTransformer`` turns a record as the source holds it into the row the feature
transform was fitted on: the source's column names (``"Paperless Billing"``) become the
clean ones (``paperless_billing``), text is coerced as the cleaning coerced it (``"yes"``
to True, ``"$1,234.50"`` to 1234.5, dates in the format it found), missing values are
filled and outliers clipped with the fitted values, and dropped columns go. The actions
are those of the data stage's ``CleaningLog`` (see ``loopml.data.clean``), so training,
batch scoring, serving, ``load_model`` and the exports run one implementation.

Values already in their cleaned form pass through unchanged, so the step is idempotent:
a pipeline that holds it can be refitted on cleaned rows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from loopml.domain import ColumnKind
from loopml.errors import DataError
from loopml.model.values import (
    blank_nulls,
    is_missing,
    is_null_token,
    parse_boolean,
    parse_booleans,
    parse_number,
    parse_numbers,
    to_datetime,
)

COLUMN_ACTIONS = ("coerce", "fill_missing", "clip_outliers", "drop_column")
"""The actions of a cleaning log that apply to one row at a time (the others, such as
dropping duplicates, change which rows there are and are not replayed)."""


@dataclass(frozen=True)
class Coercion:
    """How text in one column becomes the cleaned type: ``to`` is ``numeric``,
    ``boolean`` or ``datetime`` (``format`` the date format found in training)."""

    column: str
    to: str
    format: str | None = None

    def apply(self, values: pd.Series) -> pd.Series:
        """``values`` in the cleaned type; what cannot be read becomes missing."""
        if self.to == "numeric":
            if _is_number(values):
                return values
            return parse_numbers(blank_nulls(values))
        if self.to == "boolean":
            if pd.api.types.is_bool_dtype(values.dtype):
                return values
            return parse_booleans(blank_nulls(values))
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            return values
        text = blank_nulls(values).map(lambda v: str(v).strip(), na_action="ignore")
        return to_datetime(text, self.format)

    def invalid(self, values: pd.Series, coerced: pd.Series) -> np.ndarray:
        """Positions of values that held something but could not be coerced."""
        present = blank_nulls(values).notna().to_numpy()
        return np.flatnonzero(present & coerced.isna().to_numpy())

    def read(self, values: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """One column of a request read as ``apply`` reads it, as the array path holds it
        (see ``as_column``), and the positions of the values it could not read. A few
        numbers or booleans are read value by value (microseconds; pandas' string
        methods cost milliseconds whatever the length)."""
        if len(values) <= SCALAR_ROWS and self.to in _SCALAR:
            read = _SCALAR[self.to]
            out = [None if is_null_token(v) else read(v) for v in values.tolist()]
            bad = [i for i, (v, o) in enumerate(zip(values.tolist(), out, strict=True))
                   if is_missing(o) and not is_null_token(v)]  # fmt: skip
            if self.to == "numeric":
                return np.array([math.nan if o is None else o for o in out], dtype=np.float64), bad
            return _object_column([math.nan if o is None else o for o in out]), bad
        series = pd.Series(values, dtype=object)
        coerced = self.apply(series)
        return as_column(coerced), self.invalid(series, coerced).tolist()


SCALAR_ROWS = 64  # up to this many values, numbers and booleans are read one by one
_SCALAR: dict[str, Any] = {"numeric": parse_number, "boolean": parse_boolean}


def _object_column(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def as_column(series: pd.Series) -> np.ndarray:
    """A coerced Series as the array path's column: float64 for numbers, datetime64 for
    dates, objects (NaN where missing) for booleans."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series.to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(object).where(series.notna(), np.nan).to_numpy(dtype=object)
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


class CleaningTransformer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Replays the column-level cleaning on new rows (see the module docstring).

    Args:
        actions: the cleaning log's entries (``CleaningLog.actions``); those not in
            ``COLUMN_ACTIONS`` are ignored.
        column_map: ``{source name: clean name}`` as ingestion renamed the columns; a row
            may use either name for a column (not both).
        columns: the columns to return, in order (the model's feature columns); None
            returns every column.

    Fitted attributes: ``feature_names_in_`` and ``n_features_in_`` (scikit-learn's),
    ``aliases_`` (every accepted name -> clean name) and ``coercions_`` (clean name ->
    ``Coercion``).
    """

    def __init__(
        self,
        actions: Sequence[Mapping[str, Any]] = (),
        column_map: Mapping[str, str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> None:
        self.actions = actions
        self.column_map = column_map
        self.columns = columns

    def fit(self, X: Any, y: Any = None) -> CleaningTransformer:
        """Check the actions and learn the input's columns; returns self."""
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            self.n_features_in_ = X.shape[1]
        else:  # scikit-learn's checks of an array (shape, dtype, sparse, empty)
            validate_data(self, X, dtype=None, ensure_all_finite=False)
        entries = [dict(a) for a in self.actions if a.get("action") in COLUMN_ACTIONS]
        for entry in entries:
            if not isinstance(entry.get("column"), str):
                raise DataError(f"cleaning action {entry} names no column")
        self.entries_ = tuple(entries)
        self.aliases_ = {str(k): str(v) for k, v in (self.column_map or {}).items()}
        self.coercions_ = {
            e["column"]: Coercion(e["column"], str(e["to"]), e.get("format"))
            for e in entries
            if e["action"] == "coerce"
        }
        return self

    def transform(self, X: Any) -> Any:
        """The rows cleaned; a DataFrame for a DataFrame, an array for an array.

        Raises:
            DataError: a column is given under two names, or one of ``columns`` is
                missing (named, with the columns the rows have).
        """
        check_is_fitted(self, "entries_")
        array_input = not isinstance(X, pd.DataFrame)
        if array_input:
            X = validate_data(self, X, dtype=None, ensure_all_finite=False, reset=False)
        frame = self.renamed(_frame(X))
        frame = self._replay(frame)
        if self.columns is not None:
            missing = [c for c in self.columns if c not in frame.columns]
            if missing:
                raise DataError(
                    f"the rows lack the model's columns {missing}; they have: "
                    f"{', '.join(map(str, frame.columns))}"
                )
            frame = frame[list(self.columns)]
        return frame.to_numpy() if array_input else frame

    def renamed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with source names replaced by clean ones."""
        check_is_fitted(self, "entries_")
        rename = {c: self.aliases_[c] for c in frame.columns if c in self.aliases_}
        rename = {k: v for k, v in rename.items() if k != v}
        if not rename:
            return frame
        twice = sorted(v for v in rename.values() if v in frame.columns)
        if twice:
            raise DataError(f"columns {twice} are given twice: under the source name and the clean")
        return frame.rename(columns=rename)

    def _replay(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for entry in self.entries_:
            column = entry["column"]
            if column not in frame.columns:
                continue
            action, series = entry["action"], frame[column]
            if action == "coerce":
                frame[column] = self.coercions_[column].apply(series)
            elif action == "fill_missing" and series.isna().any():
                value = entry["value"]
                if pd.api.types.is_datetime64_any_dtype(series.dtype):
                    value = pd.Timestamp(value)
                frame[column] = series.fillna(value)
            elif action == "clip_outliers" and _is_number(series):
                frame[column] = series.clip(entry["low"], entry["high"])
            elif action == "drop_column":
                frame = frame.drop(columns=[column])
        return frame

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The names of the columns ``transform`` returns (scikit-learn's API)."""
        check_is_fitted(self, "entries_")
        if self.columns is not None:
            return np.asarray(list(self.columns), dtype=object)
        names = [self.aliases_.get(str(c), str(c)) for c in self.feature_names_in_]
        dropped = {e["column"] for e in self.entries_ if e["action"] == "drop_column"}
        return np.asarray([n for n in names if n not in dropped], dtype=object)

    def on_columns(self, kinds: Mapping[str, ColumnKind]) -> Callable[[Columns], Columns]:
        """The same actions on a request's columns (one array per clean name, as the
        serving array path holds them), for the columns ``kinds`` names: the cleaning
        step compiled like the model's other steps."""
        check_is_fitted(self, "entries_")
        steps: list[Callable[[Columns], None]] = []
        for entry in self.entries_:
            column, action = entry["column"], entry["action"]
            if column not in kinds:
                continue
            if action == "coerce":
                steps.append(functools.partial(_coerce, self.coercions_[column]))
            elif action == "fill_missing":
                steps.append(functools.partial(_fill, column, entry["value"]))
            elif action == "clip_outliers" and kinds[column] is ColumnKind.NUMERIC:
                steps.append(functools.partial(_clip, column, entry["low"], entry["high"]))
            elif action == "drop_column":
                steps.append(functools.partial(_drop, column))

        def run(columns: Columns) -> Columns:
            out = dict(columns)
            for step in steps:
                step(out)
            return out

        return run

    def source_names(self) -> dict[str, str]:
        """``{clean name: source name}`` for the columns ingestion renamed."""
        check_is_fitted(self, "entries_")
        return {v: k for k, v in self.aliases_.items() if k != v}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = True
        tags.requires_fit = True
        return tags


Columns = dict[str, np.ndarray]
_COERCED_KINDS = {"numeric": "fiub", "boolean": "b", "datetime": "M"}


def _coerce(coercion: Coercion, columns: Columns) -> None:
    values = columns.get(coercion.column)
    if values is None or values.dtype.kind in _COERCED_KINDS[coercion.to]:
        return
    if coercion.to == "boolean" and all(type(v) is bool or is_missing(v) for v in values):
        return
    columns[coercion.column] = coercion.read(values)[0]


def _fill(name: str, value: Any, columns: Columns) -> None:
    values = columns.get(name)
    if values is None:
        return
    if values.dtype.kind in "fM":
        missing = np.isnan(values) if values.dtype.kind == "f" else np.isnat(values)
        if missing.any():
            fill = value if values.dtype.kind == "f" else np.datetime64(pd.Timestamp(value))
            columns[name] = np.where(missing, fill, values)
        return
    missing_at = [is_missing(v) for v in values.tolist()]
    if any(missing_at):
        out = values.copy()
        out[missing_at] = value
        columns[name] = out


def _drop(name: str, columns: Columns) -> None:
    columns.pop(name, None)


def _clip(name: str, low: Any, high: Any, columns: Columns) -> None:
    values = columns.get(name)
    if values is not None and values.dtype.kind == "f":
        columns[name] = np.clip(values, low, high)


def _frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D table of rows, got an array of shape {array.shape}")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def _is_number(series: pd.Series) -> bool:
    dtype = series.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def cleaner_of(pipeline: Any) -> CleaningTransformer | None:
    """The cleaning step a model's pipeline begins with, or None."""
    steps = getattr(pipeline, "steps", None)
    if steps and isinstance(steps[0][1], CleaningTransformer):
        return steps[0][1]
    return None
