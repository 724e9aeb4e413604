"""Strict inputs: rows to score checked against the model's signature, one way everywhere.

Batch scoring (``loopml predict``), the model server and ``load_model`` check rows with
one ``InputChecker`` before the model sees them. The rules, per signature column:

- ``null``: a missing value, or text that means missing (``n/a``, ``-``, a blank), in a
  column the project's schema.yaml marks ``nullable: false`` (training copies it into the
  signature: schema.yaml is where that truth lives);
- ``type``: a value the cleaning cannot read (``"forty"`` in a numeric column);
- ``out_of_range``: a number outside the training range (only with ``check_range``);
- ``unseen_category``: a category training never saw.

What happens follows the ``InputPolicy`` (the spec's ``serve`` section): the first three
rules refuse the row (``invalid: refuse``) or blank the value for the model's imputation
(``invalid: impute``); an unseen category follows ``unknown`` per column: ``error``
refuses the row, ``warn`` scores it (the encoder's unknown level: no one-hot column,
ordinal -1, the rare group) and warns, ``other`` scores it so and only counts it (a
column whose set of values is open). Every problem is reported with its row, column,
rule, value and action.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.model.cleaning import CleaningTransformer
from loopml.model.values import blank_nulls, category_string, is_null_token, parse_numbers

INVALID_ACTIONS = ("refuse", "impute")
UNKNOWN_ACTIONS = ("error", "other", "warn")
MAX_EXAMPLES = 3  # examples quoted per column and rule in a summary
SMALL = 64  # up to this many rows, a column is checked value by value
_ACTIONS = {"error": "refused", "warn": "warned", "other": "counted"}  # unseen category


class InputWarning(UserWarning):
    """Values that broke the signature were imputed or scored as unseen categories."""


@dataclass(frozen=True)
class InputPolicy:
    """What to do with values that break the signature (see the module docstring).

    ``unknown`` maps a column to ``error``, ``other`` or ``warn``; ``"*"`` is every
    other column.
    """

    invalid: str = "refuse"
    unknown: Mapping[str, str] = field(default_factory=lambda: {"*": "warn"})
    check_range: bool = False

    @classmethod
    def of(cls, serve: Any) -> InputPolicy:
        """The policy of the spec's ``serve`` section (a ``ServeSpec`` or alike)."""
        return cls(serve.invalid, dict(serve.unknown), serve.check_range)

    def unknown_for(self, column: str) -> str:
        """The unseen-category policy of ``column``."""
        return self.unknown.get(column, self.unknown.get("*", "warn"))


@dataclass(frozen=True)
class InputProblem:
    """One value that broke a rule: ``action`` is refused, imputed, warned or counted."""

    row: int
    column: str
    rule: str
    value: Any
    action: str

    @property
    def message(self) -> str:
        return f"{_WHY[self.rule]}: {_shown(self.value)} ({self.action})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "rule": self.rule,
            "value": _plain(self.value),
            "action": self.action,
        }


_WHY = {
    "null": "may not be missing",
    "type": "cannot be read",
    "out_of_range": "outside the training range",
    "unseen_category": "a category training never saw",
}


@dataclass(frozen=True)
class InputReport:
    """Every problem found in ``rows`` rows (rows are positions, 0-based)."""

    rows: int
    problems: tuple[InputProblem, ...] = ()

    @property
    def refused_rows(self) -> list[int]:
        """The rows that are not scored, in order."""
        return sorted({p.row for p in self.problems if p.action == "refused"})

    @property
    def ok(self) -> bool:
        """True when no row is refused (imputed and warned values allowed)."""
        return not any(p.action == "refused" for p in self.problems)

    def counts(self) -> dict[tuple[str, str, str], int]:
        """How many values broke each (column, rule, action)."""
        out: dict[tuple[str, str, str], int] = {}
        for p in self.problems:
            key = (p.column, p.rule, p.action)
            out[key] = out.get(key, 0) + 1
        return out

    def lines(self) -> list[str]:
        """One line per column, rule and action, with a few example values and rows."""
        examples: dict[tuple[str, str, str], list[InputProblem]] = {}
        for p in self.problems:
            examples.setdefault((p.column, p.rule, p.action), []).append(p)
        out = []
        for (column, rule, action), found in examples.items():
            shown = ", ".join(f"row {p.row}: {_shown(p.value)}" for p in found[:MAX_EXAMPLES])
            out.append(f"{column}: {len(found)} {action} ({rule}, {_WHY[rule]}), e.g. {shown}")
        return out

    def shifted(self, offset: int) -> InputReport:
        """The report with every row moved by ``offset`` (a chunk of a larger file)."""
        moved = tuple(
            InputProblem(p.row + offset, p.column, p.rule, p.value, p.action) for p in self.problems
        )
        return InputReport(self.rows, moved)

    def to_frame(self) -> pd.DataFrame:
        """The problems as rows: row, column, rule, value (as text), action."""
        return pd.DataFrame(
            [p.to_dict() | {"value": _shown(p.value)} for p in self.problems],
            columns=["row", "column", "rule", "value", "action"],
        )


def merged(reports: Sequence[InputReport]) -> InputReport:
    """One report of several chunks, already ``shifted`` to their place."""
    problems = tuple(p for r in reports for p in r.problems)
    return InputReport(sum(r.rows for r in reports), problems)


@dataclass(frozen=True)
class _Rules:
    """What one column is checked for, prepared once."""

    name: str
    kind: ColumnKind
    nullable: bool
    low: float
    high: float
    categories: frozenset[str] | None
    unknown: str
    ranged: bool = False

    def has_work(self, values: np.ndarray) -> bool:
        """Whether ``values`` may break a rule (numbers in a nullable column without a
        range or categories cannot)."""
        plain = self.nullable and not self.ranged and self.categories is None
        return not plain or values.dtype.kind not in "fiubM"


class InputChecker:
    """Checks rows against ``signature`` under ``policy`` (see the module docstring)."""

    def __init__(self, signature: Schema, policy: InputPolicy | None = None) -> None:
        self.policy = policy or InputPolicy()
        if self.policy.invalid not in INVALID_ACTIONS:
            raise ValueError(f"invalid: use one of {INVALID_ACTIONS}, not {self.policy.invalid!r}")
        self.rules = [self._rules(col) for col in signature.columns]

    def _rules(self, col: ColumnSchema) -> _Rules:
        unknown = self.policy.unknown_for(col.name)
        if unknown not in UNKNOWN_ACTIONS:
            raise ValueError(f"unknown: {col.name}: use one of {UNKNOWN_ACTIONS}, not {unknown!r}")
        ranged = self.policy.check_range and col.kind is ColumnKind.NUMERIC
        low = col.min if ranged and col.min is not None else -math.inf
        high = col.max if ranged and col.max is not None else math.inf
        categories = None
        if col.kind.has_categories and col.categories is not None:
            categories = frozenset(col.categories)
        ranged = low > -math.inf or high < math.inf
        return _Rules(col.name, col.kind, col.nullable, low, high, categories, unknown, ranged)

    def check(
        self,
        columns: Mapping[str, Any],
        *,
        unreadable: Mapping[str, Sequence[tuple[int, Any]]] | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], InputReport]:
        """Check cleaned ``columns`` (name -> array or Series, the cleaning's types).

        Args:
            columns: one sequence of values per signature column, all one length.
            unreadable: per column, the (row, value) pairs the cleaning could not read
                (they are missing in ``columns``).
            raw: per column, the values as given (quoted in the report), when they
                differ from ``columns``.

        Returns:
            ``columns`` with imputed values blanked (NaN), and the report.
        """
        out = dict(columns)
        n = len(next(iter(columns.values()))) if columns else 0
        problems: list[InputProblem] = []
        for rules in self.rules:
            if rules.name not in columns:
                continue
            given = (raw or {}).get(rules.name)
            bad = dict(unreadable.get(rules.name, ())) if unreadable else {}
            values = _array(columns[rules.name])
            if not bad and not rules.has_work(values):
                continue
            if len(values) <= SMALL and values.dtype.kind in "fiubO":
                found, blank = self._small(rules, values, bad, given)
            else:
                found, blank = self._column(rules, values, bad, given)
            problems += found
            if blank:
                values = values.astype(object if values.dtype.kind in "OUSb" else np.float64)
                values[blank] = np.nan
                out[rules.name] = values
        problems.sort(key=lambda p: p.row)
        return out, InputReport(n, tuple(problems))

    def _small(
        self, rules: _Rules, values: np.ndarray, bad: dict[int, Any], given: Any
    ) -> tuple[list[InputProblem], list[int]]:
        """``_column`` value by value, for a few rows (microseconds, not numpy calls)."""
        invalid = "refused" if self.policy.invalid == "refuse" else "imputed"
        unknown = _ACTIONS[rules.unknown]
        problems = [InputProblem(i, rules.name, "type", v, invalid) for i, v in bad.items()]
        blank: list[int] = []
        for i, value in enumerate(values.tolist()):
            if _is_missing(value):
                if type(value) is str:
                    blank.append(i)
                if not rules.nullable and i not in bad:
                    shown = given[i] if given is not None else None
                    problems.append(InputProblem(i, rules.name, "null", shown, invalid))
            elif rules.ranged and not rules.low <= value <= rules.high:
                shown = _given(given, values, i)
                problems.append(InputProblem(i, rules.name, "out_of_range", shown, invalid))
                if invalid == "imputed":
                    blank.append(i)
            elif rules.categories is not None and category_string(value) not in rules.categories:
                problems.append(InputProblem(i, rules.name, "unseen_category", value, unknown))
        return problems, blank

    def _column(
        self, rules: _Rules, values: np.ndarray, bad: dict[int, Any], given: Any
    ) -> tuple[list[InputProblem], list[int]]:
        invalid = "refused" if self.policy.invalid == "refuse" else "imputed"
        problems = [InputProblem(i, rules.name, "type", v, invalid) for i, v in bad.items()]
        missing = _missing(values)
        if not rules.nullable:
            for i in np.flatnonzero(missing).tolist():
                if i not in bad:
                    value = given[i] if given is not None else None
                    problems.append(InputProblem(i, rules.name, "null", value, invalid))
        if rules.kind is ColumnKind.NUMERIC and (rules.low > -math.inf or rules.high < math.inf):
            numbers = values.astype(np.float64)
            with np.errstate(invalid="ignore"):
                outside = np.flatnonzero((numbers < rules.low) | (numbers > rules.high))
            problems += [
                InputProblem(i, rules.name, "out_of_range", _given(given, values, i), invalid)
                for i in outside.tolist()
            ]
        if rules.categories is not None:
            action = _ACTIONS[rules.unknown]
            for i, value in enumerate(values.tolist()):
                if not missing[i] and category_string(value) not in rules.categories:
                    problems.append(InputProblem(i, rules.name, "unseen_category", value, action))
        blank = [p.row for p in problems if p.action == "imputed" and p.rule == "out_of_range"]
        if values.dtype == object:  # text meaning missing is missing, as in training
            blank += [i for i in np.flatnonzero(missing).tolist() if type(values[i]) is str]
        return problems, blank

    def check_frame(
        self, frame: pd.DataFrame, cleaner: CleaningTransformer | None
    ) -> tuple[pd.DataFrame, InputReport]:
        """Check source rows (source or clean names, values as the source holds them).

        Returns the rows under clean names with the checked columns as the cleaning reads
        them (imputed values blank; the model's cleaning step leaves them so and fills
        them), and the report.
        """
        named = cleaner.renamed(frame) if cleaner is not None else frame
        coercions = cleaner.coercions_ if cleaner is not None else {}
        columns: dict[str, Any] = {}
        raw: dict[str, Any] = {}
        unreadable: dict[str, list[tuple[int, Any]]] = {}
        for rules in self.rules:
            if rules.name not in named.columns:
                continue
            series = named[rules.name].reset_index(drop=True)
            if rules.name not in coercions and _plain_numbers(series, rules.kind):
                columns[rules.name] = series  # read as given: nothing unreadable, no raw
                continue
            raw[rules.name] = series.tolist()
            read = _read(series, rules.kind, coercions.get(rules.name))
            present = ~series.map(is_null_token).to_numpy(dtype=bool)
            lost = np.flatnonzero(present & read.isna().to_numpy())
            unreadable[rules.name] = [(int(i), raw[rules.name][i]) for i in lost]
            columns[rules.name] = read.to_numpy(dtype=object) if read.dtype == object else read
        checked, report = self.check(columns, unreadable=unreadable, raw=raw)
        out = named.copy()
        for name, values in checked.items():
            out[name] = pd.Series(np.asarray(values), index=named.index)
        return out, report


def _plain_numbers(series: pd.Series, kind: ColumnKind) -> bool:
    """A numeric column that already holds numbers (no text to parse, no null tokens):
    checked as arrays, without a Python call per value (a batch of millions of rows)."""
    return kind is ColumnKind.NUMERIC and series.dtype.kind in "fiu"


def _read(series: pd.Series, kind: ColumnKind, coercion: Any) -> pd.Series:
    """``series`` as the cleaning reads it: coerced as training coerced it; a numeric
    column holding text read as numbers (what is not a number: missing)."""
    if coercion is not None:
        return pd.Series(coercion.apply(series)).reset_index(drop=True)
    if kind is ColumnKind.NUMERIC and not pd.api.types.is_numeric_dtype(series.dtype):
        return parse_numbers(blank_nulls(series)).reset_index(drop=True)
    if series.dtype == object:
        text = blank_nulls(series)
        return text.where(text.notna(), np.nan).reset_index(drop=True)
    return series


def _array(values: Any) -> np.ndarray:
    """``values`` as an array: objects unless they are numbers, booleans or dates."""
    if isinstance(values, pd.Series):
        if isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object:
            return values.to_numpy(dtype=object)
        if pd.api.types.is_extension_array_dtype(values.dtype):
            return values.astype(object).to_numpy(dtype=object)
        return values.to_numpy()
    array = np.asarray(values)
    return array if array.dtype.kind in "fiubM" else np.asarray(values, dtype=object)


def _given(given: Any, values: np.ndarray, i: int) -> Any:
    return given[i] if given is not None else values[i]


def _missing(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.asarray(np.isnan(values), dtype=bool)
    if values.dtype.kind == "M":
        return np.asarray(np.isnat(values), dtype=bool)
    if values.dtype.kind in "iub":
        return np.zeros(len(values), dtype=bool)
    return np.fromiter((_is_missing(v) for v in values.tolist()), dtype=bool, count=len(values))


def _is_missing(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NaT or value is pd.NA or is_null_token(value)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _shown(value: Any) -> str:
    value = _plain(value)
    return "null" if value is None else repr(value)
