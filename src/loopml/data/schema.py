"""Infer a column schema from data and check data against a saved schema."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loopml.data.ordinal import ordinal_order
from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.errors import DataError
from loopml.model.values import (  # noqa: F401 - re-exported for the data stages
    DATE_FORMATS,
    blank_nulls,
    category_string,
    category_strings,
    datetime_format,
    to_datetime,
)

MAX_CATEGORIES = 50  # categoricals with more levels keep ``categories=None``
_SAMPLE = 1000  # distinct values looked at when guessing a string column's kind
_TEXT_MEAN_LENGTH = 40  # strings longer than this on average are free text
_TEXT_MIN_WORDS = 3  # ... or mostly distinct strings of this many words
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


@dataclass(frozen=True)
class Violation:
    """Rows of ``column`` that break ``rule``: how many, an example value and its row.

    Rules: ``missing_column``, ``type``, ``null``, ``out_of_range``, ``unseen_category``.
    """

    column: str
    rule: str
    count: int
    example: str
    row: int | None = None

    @property
    def message(self) -> str:
        where = f" (e.g. row {self.row}: {self.example})" if self.row is not None else ""
        if self.rule == "missing_column":
            return f"column '{self.column}' is missing: {self.example}"
        return f"column '{self.column}': {self.count} rows break '{self.rule}'{where}"


def infer_kinds(df: pd.DataFrame) -> dict[str, ColumnKind]:
    """The kind of every column of ``df``, by dtype and, for strings, by content.

    Numbers stay numeric even when they are codes (declare those ``categorical`` in the
    spec); booleans are boolean; datetimes, and strings that all parse with one date
    format, are datetime; long or many-worded distinct strings are text; strings on a
    known ordered scale or with numeric prefixes (see ``loopml.data.ordinal``) and ordered
    pandas categoricals are ordinal; other strings and pandas categoricals are categorical.
    """
    return {str(name): _kind(df[name]) for name in df.columns}


def _kind(series: pd.Series) -> ColumnKind:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return ColumnKind.BOOLEAN
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return ColumnKind.DATETIME
    if isinstance(dtype, pd.CategoricalDtype):
        return ColumnKind.ORDINAL if dtype.ordered else ColumnKind.CATEGORICAL
    if pd.api.types.is_numeric_dtype(dtype):
        return ColumnKind.NUMERIC
    values = series.dropna()
    if len(values) == 0:
        return ColumnKind.CATEGORICAL
    if not isinstance(dtype, pd.StringDtype):  # object: look at the values' types
        types = values.map(type)
        if types.isin([bool, np.bool_]).all():
            return ColumnKind.BOOLEAN
        if not types.isin([str]).all():
            return ColumnKind.CATEGORICAL
    strings = values.astype(str)
    if datetime_format(strings) is not None:
        return ColumnKind.DATETIME
    if _looks_like_text(strings):
        return ColumnKind.TEXT
    if ordinal_order(strings.unique()) is not None:
        return ColumnKind.ORDINAL
    return ColumnKind.CATEGORICAL


def _looks_like_text(strings: pd.Series) -> bool:
    sample = strings.iloc[:_SAMPLE]
    lengths = sample.str.len()
    if lengths.mean() >= _TEXT_MEAN_LENGTH:
        return True
    words = sample.str.count(r"\s+") + 1
    return bool(sample.nunique() > 0.5 * len(sample) and words.mean() >= _TEXT_MIN_WORDS)


def infer_schema(
    df: pd.DataFrame,
    kinds: Mapping[str, ColumnKind] | None = None,
    orders: Mapping[str, Sequence[str]] | None = None,
) -> Schema:
    """The schema of ``df``: a kind per column (``kinds`` overrides the inferred ones),
    whether it holds nulls, the range of numeric columns and, for categorical columns with
    at most ``MAX_CATEGORIES`` levels, the sorted levels as strings.

    An ordinal column's categories are its levels lowest first: ``orders[name]`` when
    given, else the order of the scale its values sit on (``ordinal_order``), else their
    natural order (``1 < 2 < 10``, text alphabetically).

    Raises:
        DataError: a column with an order in ``orders`` holds a value the order lacks.
    """
    kinds = kinds or {}
    orders = orders or {}
    columns = []
    for name in df.columns:
        series = df[name]
        kind = ColumnKind(kinds[name]) if name in kinds else _kind(series)
        columns.append(_column_schema(str(name), series, kind, orders.get(name)))
    return Schema(tuple(columns))


def _column_schema(
    name: str, series: pd.Series, kind: ColumnKind, order: Sequence[str] | None = None
) -> ColumnSchema:
    low = high = None
    categories = None
    if kind is ColumnKind.NUMERIC:
        numbers = pd.to_numeric(series, errors="coerce")
        if numbers.notna().any():
            low, high = float(numbers.min()), float(numbers.max())
    elif kind is ColumnKind.CATEGORICAL:
        values = series.dropna().unique()
        if len(values) <= MAX_CATEGORIES:
            categories = tuple(category_strings(pd.Series(_sorted(values))).unique())
    elif kind is ColumnKind.ORDINAL:
        categories = ordinal_levels(name, series, order)
    return ColumnSchema(
        name=name,
        kind=kind,
        dtype=str(series.dtype),
        nullable=bool(missing_values(series).any()),
        min=low,
        max=high,
        categories=categories,
    )


def ordinal_levels(
    name: str, series: pd.Series, order: Sequence[str] | None = None
) -> tuple[str, ...]:
    """The levels of an ordinal column lowest first (see ``infer_schema``); DataError
    when ``series`` holds a value that ``order`` lacks."""
    if isinstance(series.dtype, pd.CategoricalDtype) and series.dtype.ordered and not order:
        order = [str(c) for c in series.dtype.categories]
    present = category_strings(pd.Series(_sorted(series.dropna().unique()))).unique()
    if order:
        levels = tuple(str(level) for level in order)
        missing = [str(v) for v in present if v not in levels]
        if missing:
            raise DataError(
                f"column '{name}': {len(missing)} value(s) not in its declared order "
                f"{list(levels)}, e.g. {missing[:3]}; add them to the order (lowest first) "
                "or clean them"
            )
        return levels
    return ordinal_order(present) or tuple(str(v) for v in present)


def _sorted(values: np.ndarray) -> list[object]:
    """Values in their natural order (1, 2, 10) when comparable, else as strings."""
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def check_schema(df: pd.DataFrame, schema: Schema) -> list[Violation]:
    """Every way ``df`` breaks ``schema``: missing columns, values of the wrong type, nulls
    in a column that had none, numbers outside the range and unseen categories.

    Each violation counts the rows and quotes the first offending value and its row
    (the position in ``df``). Columns of ``df`` that the schema does not name are ignored.
    """
    violations = []
    for found in find_breaks(df, schema):
        if found.flags is None:
            violations.append(Violation(found.column, found.rule, len(df), found.why))
            continue
        first = int(np.flatnonzero(found.flags)[0])
        example = describe_value(found.rule, found.values.iloc[first], found.why)
        violations.append(
            Violation(found.column, found.rule, int(found.flags.sum()), example, first)
        )
    return violations


@dataclass(frozen=True)
class RuleBreak:
    """Rows of ``column`` that break ``rule``: ``flags`` marks them (by position) in
    ``values``; ``why`` says what was expected. ``flags`` is None for a missing column."""

    column: str
    rule: str
    flags: np.ndarray | None
    values: pd.Series
    why: str


def find_breaks(df: pd.DataFrame, schema: Schema) -> list[RuleBreak]:
    """The rule breaks behind ``check_schema``, with every offending row flagged."""
    found: list[RuleBreak] = []
    for col in schema.columns:
        if col.name not in df.columns:
            why = f"expected a {col.kind} column"
            found.append(RuleBreak(col.name, "missing_column", None, pd.Series(), why))
            continue
        series = df[col.name]
        if not col.nullable:
            found += _flag(col.name, "null", missing_values(series), series)
        found += _check_values(col, series)
    return found


def missing_values(series: pd.Series) -> pd.Series:
    """Where ``series`` is missing: null, or text that means missing (``" "``, ``n/a``),
    as the cleaning and the input check read it."""
    if series.dtype != object and not isinstance(series.dtype, pd.StringDtype):
        return series.isna()
    return blank_nulls(series).isna()


def describe_value(rule: str, value: object, why: str = "") -> str:
    """How a report quotes an offending value: ``'abc' (not a number)``, or ``null``."""
    example = "null" if rule == "null" else repr(_plain(value))
    return f"{example} ({why})" if why else example


def _check_values(col: ColumnSchema, series: pd.Series) -> list[RuleBreak]:
    present = ~missing_values(series)
    if col.kind is ColumnKind.NUMERIC:
        numbers = pd.to_numeric(series, errors="coerce")
        out = _flag(col.name, "type", present & numbers.isna(), series, "not a number")
        if col.min is not None or col.max is not None:
            low = -np.inf if col.min is None else col.min
            high = np.inf if col.max is None else col.max
            outside = (numbers < low) | (numbers > high)
            out += _flag(col.name, "out_of_range", outside, series, _range(col.min, col.max))
        return out
    if col.kind is ColumnKind.DATETIME:
        parsed = to_datetime(series)
        return _flag(col.name, "type", present & parsed.isna(), series, "not a date")
    if col.kind is ColumnKind.BOOLEAN:
        if pd.api.types.is_bool_dtype(series.dtype):
            return []
        words = series.astype("object").map(lambda v: str(v).strip().lower())
        bad = present & ~words.isin(_TRUE | _FALSE | {"1.0", "0.0"})
        return _flag(col.name, "type", bad, series, "not true/false")
    if col.kind.has_categories and col.categories is not None:
        unseen = present & ~category_strings(series).isin(col.categories)
        return _flag(col.name, "unseen_category", unseen, series, "not seen in training")
    return []


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"outside [{low:g}, {high:g}]"
    return f"below min {low:g}" if low is not None else f"above max {high:g}"


def _flag(
    column: str, rule: str, mask: pd.Series, series: pd.Series, why: str = ""
) -> list[RuleBreak]:
    flags = np.asarray(mask, dtype=bool)
    return [RuleBreak(column, rule, flags, series, why)] if flags.any() else []


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value
