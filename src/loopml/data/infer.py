"""Infer a starting project spec (task, target, metric, split, columns) from the data."""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from loopml.data.ingest import clean_name
from loopml.data.schema import category_strings, infer_kinds, ordinal_levels, to_datetime
from loopml.domain import ColumnKind
from loopml.errors import DataError
from loopml.spec import (
    DataSpec,
    FeaturesSpec,
    FileSource,
    ModelsSpec,
    Problem,
    ProjectSpec,
    SplitSpec,
    SuccessCriterion,
)

MAX_CLASSES = 20  # an integer target with at most this many values is a class label
MIN_ID_ROWS = 20  # fewer rows than this are no evidence that a column is an identifier
_POSITIVE_WORDS = ("1", "true", "yes", "y", "positive", "pos")
BUDGET_BASE_S = 60  # the time budget of a search on tiny data
BUDGET_CELLS_PER_CORE_S = 2000  # cells (rows x columns) one core searches per second
BUDGET_MAX_S = 1800  # the longest budget `loopml init` sets: 30 minutes
_ID_NAME = re.compile(r"^(id|index|idx|uuid|guid|key|row|row_?id|instant)$|_id$")


def infer_spec(
    df: pd.DataFrame,
    *,
    target: str,
    source_path: str | Path,
    column_map: Mapping[str, str] | None = None,
    name: str,
    exclude: Sequence[str] = (),
    cores: int | None = None,
) -> ProjectSpec:
    """A project spec for predicting ``target`` from the other columns of ``df``.

    Args:
        df: the data with clean column names (see ``clean_column_names``).
        target: the column to predict, by clean or original name, in any case.
        source_path: the file ``df`` came from; it becomes the path of the one file source.
        column_map: ``{original: clean}`` names from ``clean_column_names``.
        name: the project name; characters a name may not hold become ``-``.
        exclude: columns to keep out of the features (e.g. ones known only after the
            outcome, like the bank data's ``duration``), by clean or original name.
        cores: the machine's CPU cores for the search's time budget; None:
            ``os.cpu_count()``.

    Returns:
        A spec with the task (classification when the target holds strings, booleans or
        at most ``MAX_CLASSES`` integers), the positive class, primary metric and a
        default success criterion, the split (``time`` when a date column is in row
        order, else stratified for classification and random for regression), the kind of
        every column, and identifier-like columns and exact copies of the target (alone
        or as the sum of two columns) excluded from the features, and the search's
        time budget (``models.search.timeout_s``, see ``search_time_budget``).

    Raises:
        DataError: the target or an excluded column is not a column (the message lists
            them), or the target holds no values or a single value.
    """
    column_map = dict(column_map or {})
    column = resolve_target(df, target, column_map, source_path)
    y = df[column]
    if y.isna().all():
        raise DataError(
            f"{source_path}: target column '{column}' holds no values in {len(df)} rows; "
            "choose another target"
        )
    counts = category_strings(y).value_counts()
    if len(counts) < 2:
        raise DataError(
            f"{source_path}: target column '{column}' holds a single value "
            f"({counts.index[0]!r}, {int(counts.iloc[0])} rows): there is nothing to learn; "
            "choose another target or check the data"
        )
    kinds = infer_kinds(df)
    task = infer_task(y)
    problem = _problem(task, column, counts)
    time_column = _time_column(df, kinds, exclude=column)
    split = _split(task, counts, time_column)
    candidates = [c for c in df.columns if c not in (column, time_column)]
    chosen = [resolve_target(df, c, column_map, source_path, role="to exclude") for c in exclude]
    if column in chosen:
        raise DataError(f"{source_path}: '{column}' is the target; it cannot be excluded")
    id_like = [c for c in candidates if c not in chosen and is_id_like(df[c], kinds[c], str(c))]
    dropped = chosen + id_like
    dropped += leaky_columns(df, column, [c for c in candidates if c not in dropped])
    return ProjectSpec(
        name=project_name(name),
        problem=problem,
        data=DataSpec(
            sources=[FileSource(path=str(source_path))],
            columns=kinds,
            orders={c: list(ordinal_levels(c, df[c])) for c in _ordinals(kinds)},
        ),
        split=split,
        features=FeaturesSpec(exclude=dropped),
        models=_models(len(df), len(df.columns) - len(dropped) - 1, cores),
    )


def search_time_budget(rows: int, columns: int, cores: int) -> int:
    """The seconds `loopml init` gives the model search (``models.search.timeout_s``).

    ``60 + rows * columns / (2000 * cores)``, rounded to 10 s and at most 1800 s
    (30 minutes): a minute for tiny data, plus the time one core takes to search 2,000
    cells (rows x feature columns) a second, shared by the cores. Diamonds (54,000 rows,
    9 columns) gets 180 s on 2 cores and 80 s on 16; the search stops starting trials
    when it runs out, and keeps the best so far.
    """
    seconds = BUDGET_BASE_S + rows * columns / (BUDGET_CELLS_PER_CORE_S * max(1, cores))
    return int(min(BUDGET_MAX_S, math.floor(seconds / 10 + 0.5) * 10))


def _models(rows: int, columns: int, cores: int | None) -> ModelsSpec:
    budget = search_time_budget(rows, max(1, columns), cores or os.cpu_count() or 1)
    defaults = ModelsSpec()
    search = defaults.search.model_copy(update={"timeout_s": float(budget)})
    return defaults.model_copy(update={"search": search})


def _ordinals(kinds: Mapping[str, ColumnKind]) -> list[str]:
    """The ordinal columns: the spec lists their levels, lowest first, for users to see."""
    return [c for c, kind in kinds.items() if kind is ColumnKind.ORDINAL]


def resolve_target(
    df: pd.DataFrame,
    target: str,
    column_map: Mapping[str, str],
    source_path: str | Path = "",
    *,
    role: str = "to use as the target",
) -> str:
    """The clean column name ``target`` refers to: a clean name or an original name,
    exactly or up to stray spaces around it.

    A name that matches a column only in another case (``Price`` for ``price``) is
    refused with the exact name to use: a silent case-insensitive match could pick the
    wrong one of two columns that differ only in case.

    Raises:
        DataError: no column has that name (the message lists the columns and the close
            ones, "did you mean 'price'?").
    """
    columns = [str(c) for c in df.columns]
    if target in columns:
        return target
    if target in column_map and column_map[target] in columns:
        return column_map[target]
    stripped = target.strip()
    if stripped in columns:
        return stripped
    for original, clean in column_map.items():
        if original.strip() == stripped and clean in columns:
            return clean
    folded = [c for c in columns if c.lower() == clean_name(target, 0)]
    folded += [o.strip() for o, c in column_map.items() if o.strip().lower() == stripped.lower()]
    close = list(dict.fromkeys(folded)) or difflib.get_close_matches(
        clean_name(target, 0), columns, n=3
    )
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise DataError(
        f"{source_path or 'the data'}: no column '{target}' {role} (names are matched "
        f"exactly, case included).{hint} Available columns: {', '.join(columns)}."
    )


def infer_task(y: pd.Series) -> str:
    """``classification`` for strings, booleans, categoricals and integer-valued targets
    with at most ``MAX_CLASSES`` distinct values; ``regression`` for other numbers."""
    if not pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
        return "classification"
    values = pd.to_numeric(y.dropna())
    integral = bool(np.all(np.mod(values, 1) == 0))
    if integral and values.nunique() <= MAX_CLASSES:
        return "classification"
    return "regression"


def _problem(task: str, target: str, counts: pd.Series) -> Problem:
    """The problem with a gate that means something for its task: better than the naive
    baseline by a margin and not worse than the linear model (``gate_criteria``)."""
    if task == "regression":
        return Problem(
            task="regression",
            target=target,
            primary_metric="rmse",
            success_criteria=gate_criteria("rmse", 0.1),
        )
    if len(counts) == 2:
        return Problem(
            task="classification",
            target=target,
            positive_class=positive_class(counts),
            primary_metric="roc_auc",
            success_criteria=gate_criteria("roc_auc", 0.2),
        )
    return Problem(
        task="classification",
        target=target,
        primary_metric="accuracy",
        success_criteria=[
            *gate_criteria("balanced_accuracy", 0.25)[:1],
            *gate_criteria("accuracy", 0.0)[1:],
        ],
    )


def gate_criteria(metric: str, margin: float) -> list[SuccessCriterion]:
    """``metric`` better than the baseline by ``margin`` of the way to perfect (rmse by
    0.1: at most 90 % of the mean's rmse; roc_auc by 0.2: 0.6 or more against 0.5) and no
    more than 2 % of the way worse than the linear model on the same hold-out."""
    return [
        SuccessCriterion(metric=metric, better_than="baseline", by=margin),
        SuccessCriterion(metric=metric, better_than="linear", by=-0.02),
    ]


def positive_class(counts: pd.Series) -> str | int:
    """The positive one of two labels (``counts``: rows per label string): ``1``, ``True``,
    ``yes`` and the like when present, else the rarer label."""
    labels = [str(v) for v in counts.index]
    for word in _POSITIVE_WORDS:
        for label in labels:
            if label.strip().lower() == word:
                return _spec_label(label)
    ordered = sorted(labels, key=lambda label: (int(counts[label]), label))
    return _spec_label(ordered[0])


def _spec_label(label: str) -> str | int:
    """A label as the spec stores it: an int when it is one (``"1"`` -> 1), else a string."""
    return int(label) if re.fullmatch(r"-?\d+", label) else label


def _time_column(df: pd.DataFrame, kinds: Mapping[str, ColumnKind], exclude: str) -> str | None:
    """The first datetime column whose values never go back in time down the rows."""
    for column, kind in kinds.items():
        if kind is not ColumnKind.DATETIME or column == exclude:
            continue
        times = to_datetime(df[column]).dropna()
        if times.nunique() > 1 and times.is_monotonic_increasing:
            return column
    return None


def _split(task: str, counts: pd.Series, time_column: str | None) -> SplitSpec:
    if time_column is not None:
        return SplitSpec(method="time", time_column=time_column)
    if task == "classification" and int(counts.min()) >= 2:
        return SplitSpec(method="stratified")
    return SplitSpec(method="random")


def is_id_like(series: pd.Series, kind: ColumnKind, name: str = "") -> bool:
    """Whether a column looks like a row identifier rather than a feature.

    True for a column without nulls whose values are all distinct (in at least
    ``MIN_ID_ROWS`` rows) and that is a numeric sequence or permutation (``1..n`` in any
    order), strictly increasing down the rows, a string column, or named like an id.
    """
    n = len(series)
    if n < MIN_ID_ROWS or series.isna().any() or series.nunique() != n:
        return False
    if _ID_NAME.search(name.lower()) or kind is ColumnKind.CATEGORICAL:
        return True
    if kind is not ColumnKind.NUMERIC or pd.api.types.is_bool_dtype(series.dtype):
        return False
    values = pd.to_numeric(series)
    if values.is_monotonic_increasing:
        return True
    integral = bool(np.all(np.mod(values, 1) == 0))
    return integral and float(values.max() - values.min()) == n - 1


def leaky_columns(df: pd.DataFrame, target: str, candidates: Sequence[str]) -> list[str]:
    """The ``candidates`` that give the target away exactly: a copy of it, or two numeric
    columns that add up to it in every row (bike sharing's ``casual + registered == cnt``).
    """
    y = df[target]
    known = y.notna()
    keys = category_strings(y[known])
    leaky = [
        c
        for c in candidates
        if df[c].nunique() == keys.nunique()  # cheap test first
        and category_strings(df.loc[known, c]).equals(keys)
    ]
    numeric = [
        c
        for c in candidates
        if c not in leaky
        and pd.api.types.is_numeric_dtype(df[c].dtype)
        and not pd.api.types.is_bool_dtype(df[c].dtype)
    ]
    if not pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
        return leaky
    values = {c: df[c].to_numpy(dtype=float) for c in numeric}
    target_values = y.to_numpy(dtype=float)
    for i, a in enumerate(numeric):
        for b in numeric[i + 1 :]:
            total = values[a] + values[b]
            rows = ~np.isnan(total) & ~np.isnan(target_values)
            if rows.sum() >= MIN_ID_ROWS and np.allclose(total[rows], target_values[rows]):
                leaky += [c for c in (a, b) if c not in leaky]
    return leaky


def project_name(name: str) -> str:
    """``name`` made a valid project name: letters, digits, ``_``, ``.``, ``-``; it starts
    with a letter or digit (``project`` when nothing is left)."""
    text = re.sub(r"[^A-Za-z0-9_.\-]+", "-", name.strip())
    text = re.sub(r"-{2,}", "-", text).lstrip("_.-").rstrip("-")
    return text or "project"
