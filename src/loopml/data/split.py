"""Cut the data into a training part and a hold-out test part."""

from __future__ import annotations

import math

import pandas as pd
from sklearn.model_selection import train_test_split

from loopml.data.schema import category_strings, to_datetime
from loopml.errors import DataError
from loopml.spec.model import SplitSpec


def split_frame(
    df: pd.DataFrame, spec: SplitSpec, target: str, task: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``df`` into ``(train, test)`` as ``spec`` says.

    ``stratified`` keeps each class's share in both parts (for regression it is a random
    split); ``random`` shuffles; ``time`` puts the latest ``test_size`` share of rows,
    by ``spec.time_column``, in the test part, never cutting through one timestamp.
    Rows without a target value are dropped first: they can neither train nor score a
    model. Both parts keep ``df``'s index; the same inputs give the same split.

    Raises:
        DataError: the target or time column is missing, a time value does not parse,
            a class has fewer than 2 rows to stratify on, or a part would be empty.
    """
    if target not in df.columns:
        raise DataError(
            f"split: target column '{target}' is not in the data "
            f"(columns: {', '.join(map(str, df.columns))})"
        )
    df = df[df[target].notna()]
    if len(df) < 2:
        raise DataError(f"split: {len(df)} rows have a value of '{target}'; at least 2 are needed")
    if spec.method == "time":
        return _split_by_time(df, spec)
    stratify = None
    if spec.method == "stratified" and task == "classification":
        stratify = category_strings(df[target])
        _check_strata(stratify, target, spec.test_size)
    try:
        train, test = train_test_split(
            df, test_size=spec.test_size, random_state=spec.random_state, stratify=stratify
        )
    except ValueError as exc:
        raise DataError(
            f"split: cannot cut {len(df)} rows with test_size {spec.test_size}: {exc}"
        ) from exc
    return train, test


def _check_strata(labels: pd.Series, target: str, test_size: float) -> None:
    counts = labels.value_counts()
    rare = counts[counts < 2]
    if len(rare):
        raise DataError(
            f"split: class {rare.index[0]!r} of '{target}' has {int(rare.iloc[0])} row; "
            "a stratified split needs at least 2 per class. Collect more rows, drop the "
            "class, or use split.method: random"
        )
    n_test = math.ceil(test_size * len(labels))
    if n_test < len(counts) or len(labels) - n_test < len(counts):
        raise DataError(
            f"split: {len(labels)} rows cannot hold all {len(counts)} classes of '{target}' "
            f"in both parts with test_size {test_size}; change test_size or use more rows"
        )


def _split_by_time(df: pd.DataFrame, spec: SplitSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    column = spec.time_column or ""
    if column not in df.columns:
        raise DataError(
            f"split: time column '{column}' is not in the data "
            f"(columns: {', '.join(map(str, df.columns))}); fix split.time_column"
        )
    times = to_datetime(df[column])
    bad = times.isna()
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(
            f"split: {int(bad.sum())} rows of time column '{column}' hold no parsable date "
            f"(e.g. row {first}: {df[column].iloc[first]!r}); fill or drop them"
        )
    order = times.reset_index(drop=True).sort_values(kind="stable").index
    ordered = df.iloc[order]
    sorted_times = times.iloc[order].reset_index(drop=True)
    cut = len(df) - math.ceil(spec.test_size * len(df))
    # move the cut back to the first row of its timestamp, so no timestamp is in both parts
    if 0 < cut < len(df):
        cut = int(sorted_times.searchsorted(sorted_times.iloc[cut], side="left"))
    if cut <= 0 or cut >= len(df):
        raise DataError(
            f"split: cannot cut {len(df)} rows by '{column}' with test_size {spec.test_size}"
            f" (it holds {sorted_times.nunique()} distinct times); use more rows or another "
            "split method"
        )
    return ordered.iloc[:cut], ordered.iloc[cut:]
