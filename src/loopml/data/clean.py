"""Declarative cleaning (``data.cleaning``): every action applied is recorded with counts.

``clean_frame`` applies, in this order: type coercion, duplicate-row removal, the
missing-value policies, outlier handling, and the dropping of constant and identifier-like
columns. The target is never coerced, filled or clipped, and rows without a label are
kept (they are the ones to label). The ``CleaningLog`` records each action with the rows
or columns it touched and what was fitted (fill values, clip bounds, date formats), so
``apply_cleaning_log`` can re-apply the column-level actions to new data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loopml.data.infer import is_id_like
from loopml.data.schema import datetime_format, infer_kinds, to_datetime
from loopml.domain import ColumnKind, Schema
from loopml.errors import DataError, SpecError
from loopml.model.cleaning import CleaningTransformer
from loopml.model.values import (
    BOOL_WORDS,
    blank_nulls,
    is_text,
    parse_booleans,
    parse_numbers,
)
from loopml.spec.quality import CleaningSpec, Fill, OutlierSpec

MIN_PARSED_SHARE = 0.95  # coerce a text column when this share of its values parse
_LEADING_ZERO = re.compile(r"^[+-]?0\d")  # 007, 02134: codes, not numbers


@dataclass(frozen=True)
class CleaningLog:
    """What cleaning did, action by action.

    Each action is a JSON-safe dict with ``action`` and the rows it touched, e.g.
    ``{"action": "coerce", "column": "price", "to": "numeric", "rows": 12, "invalid": 0}``,
    ``{"action": "drop_duplicates", "rows": 3}``,
    ``{"action": "fill_missing", "column": "age", "policy": "median", "value": 41.0,
    "rows": 7}``, ``{"action": "clip_outliers", "column": "balance", "method": "iqr",
    "low": -1962.0, "high": 3462.0, "rows": 220}`` or
    ``{"action": "drop_column", "column": "x", "reason": "constant"}``.
    """

    actions: tuple[Mapping[str, Any], ...]
    rows_in: int
    rows_out: int
    columns_in: int
    columns_out: int

    def counts(self) -> dict[str, int]:
        """Rows touched per action (columns for ``drop_column``)."""
        out: dict[str, int] = {}
        for entry in self.actions:
            name = str(entry["action"])
            out[name] = out.get(name, 0) + int(entry.get("rows", 1))
        return out

    def of(self, action: str) -> list[Mapping[str, Any]]:
        """The entries of one action, in the order they were applied."""
        return [entry for entry in self.actions if entry["action"] == action]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict for the run record."""
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "columns_in": self.columns_in,
            "columns_out": self.columns_out,
            "counts": self.counts(),
            "actions": [dict(entry) for entry in self.actions],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CleaningLog:
        return cls(
            actions=tuple(dict(a) for a in data["actions"]),
            rows_in=int(data["rows_in"]),
            rows_out=int(data["rows_out"]),
            columns_in=int(data["columns_in"]),
            columns_out=int(data["columns_out"]),
        )


def clean_frame(
    df: pd.DataFrame,
    spec: CleaningSpec,
    *,
    target: str,
    schema: Schema | None = None,
    protect: Sequence[str] = (),
) -> tuple[pd.DataFrame, CleaningLog]:
    """Clean ``df`` as ``spec`` says and record every action.

    Args:
        df: the rows, with clean column names.
        spec: the spec's ``data.cleaning``.
        target: the label column: never coerced, filled, clipped or dropped; rows without
            a label are kept.
        schema: the saved schema, when there is one: text columns are coerced toward its
            kinds (a numeric column's values that are not numbers become missing, and
            are counted as ``invalid``); columns it does not name are coerced by content.
        protect: columns outliers and column drops must leave alone (the key, the time
            column); ``"*"`` missing-value policies skip them too.

    Returns:
        The cleaned frame (a new frame with a fresh 0..n-1 index) and the log.

    Raises:
        DataError: the target is not a column.
        SpecError: a policy names a column the data does not have, fills the target,
            applies mean/median to a non-numeric column, or fills a value of the wrong
            type; ``outliers.columns`` names the target, a protected or a non-numeric
            column.
    """
    if target not in df.columns:
        raise DataError(f"cannot clean: the target '{target}' is not a column of the data")
    keep = {target, *protect}
    log: list[dict[str, Any]] = []
    frame = df.copy()
    if spec.coerce_types:
        frame = _coerce(frame, target, schema, log)
    if spec.drop_duplicates:
        frame = _drop_duplicates(frame, log)
    frame = _missing(frame, spec.missing, target, keep, log)
    if spec.outliers is not None:
        frame = _outliers(frame, spec.outliers, keep, log)
    if spec.drop_constant:
        frame = _drop_constant(frame, keep, log)
    if spec.drop_id_like:
        frame = _drop_id_like(frame, keep, schema, log)
    frame = frame.reset_index(drop=True)
    return frame, CleaningLog(tuple(log), len(df), len(frame), df.shape[1], frame.shape[1])


# -- type coercion ------------------------------------------------------------------------


def _coerce(
    frame: pd.DataFrame, target: str, schema: Schema | None, log: list[dict[str, Any]]
) -> pd.DataFrame:
    kinds = {c.name: c.kind for c in schema.columns} if schema is not None else {}
    for column in frame.columns:
        if column == target:
            continue
        series = frame[column]
        result = _coerced(series, kinds.get(str(column)))
        if result is None:
            continue
        values, to, details = result
        present = _present(series)
        invalid = present & values.isna()
        entry: dict[str, Any] = {"action": "coerce", "column": str(column)}
        entry |= {"from": str(series.dtype), "to": to, **details}
        entry |= {"rows": int(present.sum()), "invalid": int(invalid.sum())}
        if invalid.any():
            entry["example"] = str(series[invalid].iloc[0])
        tokens = int((series.notna() & ~present).sum())
        if tokens:  # "n/a", "-", "" and the like, now missing
            entry["null_tokens"] = tokens
        log.append(entry)
        frame[column] = values
    return frame


def _coerced(
    series: pd.Series, kind: ColumnKind | None
) -> tuple[pd.Series, str, dict[str, Any]] | None:
    """The column coerced toward ``kind`` (by content when None), or None to leave it."""
    dtype = series.dtype
    if kind is ColumnKind.NUMERIC:  # booleans are numbers enough
        if pd.api.types.is_numeric_dtype(dtype):
            return None
        return parse_numbers(blank_nulls(series)), "numeric", {}
    if kind is ColumnKind.DATETIME:
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return None
        return _as_datetime(blank_nulls(series), MIN_PARSED_SHARE / 2)
    if kind is ColumnKind.BOOLEAN:
        if pd.api.types.is_bool_dtype(dtype):
            return None
        return parse_booleans(blank_nulls(series)), "boolean", {}
    if kind is not None or not is_text(series):
        return None
    text = blank_nulls(series)
    strings = text.dropna().astype(str).str.strip()
    if strings.empty:
        return None
    if strings.str.lower().isin(BOOL_WORDS).all():
        return parse_booleans(text, digits=False), "boolean", {}
    numbers = parse_numbers(text)
    parsed = numbers.notna().sum() / len(strings)
    if parsed >= MIN_PARSED_SHARE and not strings.str.match(_LEADING_ZERO).any():
        return numbers, "numeric", {}
    return _as_datetime(text, MIN_PARSED_SHARE)


def _as_datetime(text: pd.Series, min_share: float) -> tuple[pd.Series, str, dict[str, Any]] | None:
    """Dates in the first format that parses ``min_share`` of the distinct values."""
    stripped = text.astype("object").map(lambda v: str(v).strip(), na_action="ignore")
    fmt = datetime_format(stripped.dropna(), min_share=min_share)
    if fmt is None:
        return None
    return to_datetime(stripped, fmt), "datetime", {"format": fmt}


def _present(series: pd.Series) -> pd.Series:
    """Values that hold something (not missing, not a null token)."""
    return blank_nulls(series).notna()


# -- rows ---------------------------------------------------------------------------------


def _drop_duplicates(frame: pd.DataFrame, log: list[dict[str, Any]]) -> pd.DataFrame:
    try:
        repeated = frame.duplicated()
    except TypeError:  # unhashable cells (lists from JSON): compare their text
        repeated = frame.astype(str).duplicated()
    count = int(repeated.sum())
    if count:
        log.append({"action": "drop_duplicates", "rows": count})
        frame = frame[~repeated]
    return frame


def _missing(
    frame: pd.DataFrame,
    policies: Mapping[str, Any],
    target: str,
    keep: set[str],
    log: list[dict[str, Any]],
) -> pd.DataFrame:
    for column in policies:
        where = f"data.cleaning.missing.{column}"
        if column == target:
            raise SpecError(
                f"{where}: the target '{target}' is never filled or dropped; rows without "
                "a label are kept for labelling. Remove this entry."
            )
        if column != "*" and column not in frame.columns:
            raise SpecError(
                f"{where}: no column '{column}' in the data; columns: {', '.join(frame.columns)}"
            )
    default = policies.get("*", "keep")
    chosen: dict[str, Any] = {}
    for column in frame.columns:
        if column == target or not frame[column].isna().any():
            continue
        if column in policies:
            chosen[column] = policies[column]
        elif column not in keep:
            chosen[column] = default
    for column, policy in chosen.items():
        if policy == "drop":
            missing = frame[column].isna()
            log.append({"action": "drop_missing", "column": column, "rows": int(missing.sum())})
            frame = frame[~missing]
    for column, policy in chosen.items():
        if policy in ("drop", "keep"):
            continue
        series = frame[column]
        value, name = _fill_value(series, policy, column, explicit=column in policies)
        count = int(series.isna().sum())
        if value is None or count == 0:
            continue
        if pd.api.types.is_integer_dtype(series.dtype) and not float(value).is_integer():
            series = series.astype(float)  # a nullable Int64 column filled with a mean
        frame[column] = series.fillna(value)
        entry = {"action": "fill_missing", "column": column, "policy": name}
        log.append(entry | {"value": _json_value(value), "rows": count})
    return frame


def _fill_value(series: pd.Series, policy: Any, column: str, *, explicit: bool) -> tuple[Any, str]:
    """The value a policy fills ``series`` with (None when it has no values) and the name
    of the policy applied (``mean``/``median`` fall back to ``mode`` on the ``"*"``
    default for columns that are not numeric)."""
    dtype = series.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    where = f"data.cleaning.missing.{column if explicit else '*'}"
    if isinstance(policy, Fill):
        value = policy.fill
        if numeric and not isinstance(value, int | float):
            raise SpecError(f"{where}: fill value {value!r} does not fit numeric column '{column}'")
        text = isinstance(dtype, pd.StringDtype) or is_text(series)
        return (str(value) if text else value), "fill"
    if policy in ("mean", "median") and not numeric:
        if explicit:
            raise SpecError(
                f"{where}: '{policy}' needs a numeric column; '{column}' is {dtype}. "
                "Use mode or {fill: VALUE}."
            )
        policy = "mode"
    values = series.dropna()
    if values.empty:
        return None, policy
    if policy == "mean":
        return float(values.mean()), policy
    if policy == "median":
        return float(values.median()), policy
    return values.mode().iloc[0], policy


def _outliers(
    frame: pd.DataFrame, spec: OutlierSpec, keep: set[str], log: list[dict[str, Any]]
) -> pd.DataFrame:
    columns = spec.columns
    if columns is None:
        columns = [c for c in frame.columns if c not in keep and _is_number(frame[c])]
    for column in columns:
        where = "data.cleaning.outliers.columns"
        if column not in frame.columns:
            raise SpecError(f"{where}: no column '{column}'; columns: {', '.join(frame.columns)}")
        if column in keep:
            raise SpecError(f"{where}: '{column}' is the target or a protected column")
        if not _is_number(frame[column]):
            raise SpecError(f"{where}: '{column}' is not numeric ({frame[column].dtype})")
    bounds = {c: b for c in columns if (b := _bounds(frame[c], spec)) is not None}
    dropped = pd.Series(False, index=frame.index)
    for column, (low, high) in bounds.items():
        series = frame[column]
        outside = (series < low) | (series > high)
        entry = {"column": column, "method": spec.method, "low": low, "high": high}
        if spec.action == "clip":
            count = int(outside.sum())
            if count:
                frame[column] = series.clip(low, high)
                log.append({"action": "clip_outliers", **entry, "rows": count})
        else:
            newly = outside & ~dropped
            if newly.any():
                log.append({"action": "drop_outliers", **entry, "rows": int(newly.sum())})
            dropped |= outside
    return frame[~dropped] if dropped.any() else frame


def _bounds(series: pd.Series, spec: OutlierSpec) -> tuple[float, float] | None:
    """The fitted bounds, or None for a column with no spread (or only two values)."""
    values = series.dropna().astype(float)
    if values.nunique() <= 2:
        return None
    if spec.method == "iqr":
        q1, q3 = float(values.quantile(0.25)), float(values.quantile(0.75))
        spread = q3 - q1
        low, high = q1 - spec.factor * spread, q3 + spec.factor * spread
    else:
        mean, spread = float(values.mean()), float(values.std())
        low, high = mean - spec.z * spread, mean + spec.z * spread
    if not spread or not math.isfinite(spread):
        return None
    if pd.api.types.is_integer_dtype(series.dtype):  # inward to whole numbers: ints stay ints
        return math.ceil(low), math.floor(high)
    return low, high


def _is_number(series: pd.Series) -> bool:
    dtype = series.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


# -- columns ------------------------------------------------------------------------------


def _drop_constant(frame: pd.DataFrame, keep: set[str], log: list[dict[str, Any]]) -> pd.DataFrame:
    drop = []
    for column in frame.columns:
        if column in keep:
            continue
        series = frame[column]
        try:
            distinct = series.nunique(dropna=False)
        except TypeError:
            distinct = series.astype(str).nunique(dropna=False)
        if distinct <= 1:
            value = _json_value(series.iloc[0]) if len(series) else None
            entry = {"action": "drop_column", "column": column, "reason": "constant"}
            log.append(entry | {"value": value})
            drop.append(column)
    return frame.drop(columns=drop)


def _drop_id_like(
    frame: pd.DataFrame, keep: set[str], schema: Schema | None, log: list[dict[str, Any]]
) -> pd.DataFrame:
    candidates = [c for c in frame.columns if c not in keep]
    kinds = infer_kinds(frame[candidates])
    if schema is not None:
        kinds |= {c.name: c.kind for c in schema.columns if c.name in kinds}
    drop = [c for c in candidates if is_id_like(frame[c], kinds[c], str(c))]
    for column in drop:
        log.append({"action": "drop_column", "column": column, "reason": "id_like"})
    return frame.drop(columns=drop)


def _json_value(value: Any) -> Any:
    """A value as JSON holds it: numpy scalars as Python ones, timestamps as ISO text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# -- re-applying ----------------------------------------------------------------------------


def apply_cleaning_log(df: pd.DataFrame, log: CleaningLog) -> pd.DataFrame:
    """Re-apply the column-level actions of ``log`` to new rows (e.g. data to score):
    the same coercions (date formats included), fill values, clip bounds and column drops,
    through the model's own ``CleaningTransformer``. Row-level actions (duplicates,
    dropped missing values or outliers) are not replayed; columns the log names that
    ``df`` lacks are skipped."""
    return cleaner_for(log).fit(df).transform(df)


def cleaner_for(
    log: CleaningLog,
    column_map: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
) -> CleaningTransformer:
    """An unfitted ``CleaningTransformer`` that replays ``log`` (see its arguments)."""
    return CleaningTransformer(actions=log.actions, column_map=column_map, columns=columns)


def example_row(frame: pd.DataFrame, look_at: int = 1000) -> dict[str, Any]:
    """A row of ``frame`` as JSON holds it: of the first ``look_at``, the first with the
    fewest missing values (the example the model server documents)."""
    if frame.empty:
        return {}
    head = frame.iloc[:look_at]
    row = head.iloc[int(np.argmin(head.isna().sum(axis=1).to_numpy()))]
    return {str(k): _json_value(v) for k, v in row.items() if not _missing_value(v)}


def source_example(cleaning: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """The cleaning record's example row, for ``columns`` only, under the source's names."""
    source = {clean: raw for raw, clean in cleaning.get("column_map", {}).items()}
    example = cleaning.get("example", {})
    return {source.get(c, c): example[c] for c in columns if c in example}


def _missing_value(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)
