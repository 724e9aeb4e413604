"""Cut the data into a training part and a hold-out test part, and the training part into
cross-validation folds for the search."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    StratifiedKFold,
    TimeSeriesSplit,
    train_test_split,
)

from loopml.data.schema import category_strings, to_datetime
from loopml.errors import DataError
from loopml.spec.splits import SplitSpec

Folds = list[tuple[np.ndarray, np.ndarray]]
_MISSING_GROUP = "__missing__"


def split_frame(
    df: pd.DataFrame, spec: SplitSpec, target: str, task: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``df`` into ``(train, test)`` as ``spec`` says.

    ``stratified`` keeps each class's share in both parts (for regression it is a random
    split); ``random`` shuffles; ``group`` puts a random ``test_size`` share of the groups
    of ``spec.group_column`` in the test part (rows without a group form one group), so
    no group is in both parts; ``time`` puts the rows at or after ``spec.test_from`` (or
    else the latest ``test_size`` share, never cutting through one timestamp) in the test
    part and keeps only the training rows before its start less ``spec.gap``; both parts
    come in time order. Rows without a target value are dropped first: they can neither
    train nor score a model. Both parts keep ``df``'s index; the same inputs give the
    same split.

    Raises:
        DataError: the target, time or group column is missing, a time value does not
            parse, a class has fewer than 2 rows to stratify on, there are fewer than 2
            groups, or a part would be empty.
    """
    spec = _current(spec)
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
    if spec.method == "group":
        return _split_by_group(df, spec)
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


def sample_holdout(
    train: pd.DataFrame, spec: SplitSpec, target: str, task: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cut a random out-of-sample hold-out of ``spec.sample_share`` from the training
    part: ``(rest, sample)``. The search and the final fit see only ``rest``; ``sample``
    scores the model on the training period, beside the out-of-time test part. With a
    share of 0 (or too few rows to spare) ``sample`` is empty. Classes are stratified
    when each has at least 2 rows; ``rest`` keeps ``train``'s order (time order).
    """
    share = _current(spec).sample_share
    n_sample = math.floor(share * len(train))
    if n_sample < 1 or len(train) - n_sample < 2:
        return train, train.iloc[:0]
    stratify = None
    if task == "classification":
        labels = category_strings(train[target])
        counts = labels.value_counts()
        if counts.min() >= 2 and n_sample >= len(counts):
            stratify = labels
    _, picked = train_test_split(
        np.arange(len(train)),
        test_size=n_sample,
        random_state=spec.random_state,
        stratify=stratify,
    )
    chosen = np.zeros(len(train), dtype=bool)
    chosen[picked] = True
    return train.iloc[~chosen], train.iloc[chosen]


def cv_splitter(
    spec: SplitSpec, task: str, n_folds: int, train_df: pd.DataFrame, target: str
) -> Folds:
    """Cross-validation folds of the training part, cut the way ``spec`` cuts the hold-out.

    ``stratified`` (classification): stratified k-fold; ``stratified`` (regression) and
    ``random``: shuffled k-fold; ``group``: group k-fold on ``spec.group_column`` (no group
    in a fold's both sides); ``time``: expanding windows over the distinct times of
    ``spec.time_column`` - each fold validates on a later stretch of time than all of its
    training rows, and only the rows before the validation start less ``spec.gap``
    train it. The same inputs give the same folds.

    Args:
        spec: the split policy (the one that cut the hold-out).
        task: ``classification`` or ``regression``.
        n_folds: number of folds, at least 2.
        train_df: the training part only (as ``split_frame`` returns it: every row has a
            target value); the hold-out never enters the search.
        target: the target column (stratification labels).

    Returns:
        ``[(train_positions, validation_positions), ...]``: positions (not index labels)
        into ``train_df``, usable as scikit-learn's ``cv=``.

    Raises:
        DataError: too few rows, classes, groups or distinct times for ``n_folds``, or a
            column is missing or does not parse.
    """
    spec = _current(spec)
    if n_folds < 2:
        raise DataError(f"cross-validation needs at least 2 folds, got {n_folds}")
    n = len(train_df)
    if n < n_folds:
        raise DataError(f"cross-validation: {n} training rows cannot make {n_folds} folds")
    positions = np.arange(n)
    if spec.method == "time":
        return _time_folds(train_df, spec, n_folds)
    if spec.method == "group":
        groups = _groups(train_df, spec.group_column or "")
        n_groups = groups.nunique()
        if n_groups < n_folds:
            raise DataError(
                f"cross-validation: '{spec.group_column}' holds {n_groups} groups in the "
                f"training part; {n_folds} folds need at least {n_folds}. Use fewer folds"
            )
        splitter = GroupKFold(n_splits=n_folds, shuffle=True, random_state=spec.random_state)
        return [(tr, va) for tr, va in splitter.split(positions, groups=groups.to_numpy())]
    if spec.method == "stratified" and task == "classification":
        if target not in train_df.columns:
            raise DataError(f"cross-validation: target column '{target}' is not in the data")
        labels = category_strings(train_df[target]).fillna(_MISSING_GROUP)
        counts = labels.value_counts()
        if counts.min() < n_folds:
            raise DataError(
                f"cross-validation: class {counts.index[-1]!r} of '{target}' has "
                f"{int(counts.min())} training rows; {n_folds} stratified folds need at "
                f"least {n_folds} per class. Use fewer folds or split.method: random"
            )
        strat = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=spec.random_state)
        return [(tr, va) for tr, va in strat.split(positions, labels.to_numpy())]
    kfold = KFold(n_splits=n_folds, shuffle=True, random_state=spec.random_state)
    return [(tr, va) for tr, va in kfold.split(positions)]


def _current(spec: SplitSpec) -> SplitSpec:
    """``spec`` as a ``loopml.spec.splits.SplitSpec``: an older spec object (without the
    group and out-of-time fields) is read into one."""
    if isinstance(spec, SplitSpec):
        return spec
    return SplitSpec.model_validate(spec.model_dump())


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


def _groups(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        raise DataError(
            f"split: group column '{column}' is not in the data "
            f"(columns: {', '.join(map(str, df.columns))}); fix split.group_column"
        )
    return category_strings(df[column]).fillna(_MISSING_GROUP)


def _split_by_group(df: pd.DataFrame, spec: SplitSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    groups = _groups(df, spec.group_column or "")
    n_groups = groups.nunique()
    if n_groups < 2:
        raise DataError(
            f"split: group column '{spec.group_column}' holds {n_groups} group; a group "
            "split needs at least 2. Use another split method"
        )
    splitter = GroupShuffleSplit(
        n_splits=1, test_size=spec.test_size, random_state=spec.random_state
    )
    try:
        train_pos, test_pos = next(splitter.split(df, groups=groups.to_numpy()))
    except ValueError as exc:
        raise DataError(
            f"split: cannot cut {n_groups} groups of '{spec.group_column}' with test_size "
            f"{spec.test_size}: {exc}"
        ) from exc
    return df.iloc[train_pos], df.iloc[test_pos]


def _times(df: pd.DataFrame, column: str) -> pd.Series:
    """The time column parsed (text dates too), on positions 0..n-1."""
    if column not in df.columns:
        raise DataError(
            f"split: time column '{column}' is not in the data "
            f"(columns: {', '.join(map(str, df.columns))}); fix split.time_column"
        )
    times = to_datetime(df[column]).reset_index(drop=True)
    bad = times.isna()
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(
            f"split: {int(bad.sum())} rows of time column '{column}' hold no parsable date "
            f"(e.g. row {first}: {df[column].iloc[first]!r}); fill or drop them"
        )
    return times


def _same_zone(stamp: pd.Timestamp, times: pd.Series) -> pd.Timestamp:
    zone = getattr(times.dt, "tz", None)
    if zone is not None and stamp.tzinfo is None:
        return stamp.tz_localize(zone)
    if zone is None and stamp.tzinfo is not None:
        return stamp.tz_convert(None)
    return stamp


def _split_by_time(df: pd.DataFrame, spec: SplitSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    column = spec.time_column or ""
    times = _times(df, column)
    order = times.sort_values(kind="stable").index.to_numpy()
    sorted_times = times.iloc[order].reset_index(drop=True)
    if spec.test_start is not None:
        start = _same_zone(spec.test_start, times)
        cut = int(sorted_times.searchsorted(start, side="left"))
        if cut >= len(df):
            raise DataError(
                f"split: no row of '{column}' is at or after test_from {spec.test_from} "
                f"(the latest is {sorted_times.iloc[-1]}); move split.test_from earlier"
            )
    else:
        cut = len(df) - math.ceil(spec.test_size * len(df))
        # move the cut back to the first row of its timestamp: no timestamp in both parts
        if 0 < cut < len(df):
            cut = int(sorted_times.searchsorted(sorted_times.iloc[cut], side="left"))
        if cut <= 0 or cut >= len(df):
            raise DataError(
                f"split: cannot cut {len(df)} rows by '{column}' with test_size "
                f"{spec.test_size} (it holds {sorted_times.nunique()} distinct times); use "
                "more rows or another split method"
            )
        start = sorted_times.iloc[cut]
    end = int(sorted_times.searchsorted(start - spec.gap_delta, side="left"))
    if end <= 0:
        why = f" less the gap {spec.gap}" if spec.gap else ""
        raise DataError(
            f"split: no training row of '{column}' is before the test start {start}{why} "
            f"(the earliest is {sorted_times.iloc[0]}); move split.test_from later or "
            "shorten split.gap"
        )
    return df.iloc[order[:end]], df.iloc[order[cut:]]


def _time_folds(train_df: pd.DataFrame, spec: SplitSpec, n_folds: int) -> Folds:
    column = spec.time_column or ""
    times = _times(train_df, column)
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert(None)
    distinct = np.sort(times.unique())
    if len(distinct) <= n_folds:
        raise DataError(
            f"cross-validation: '{column}' holds {len(distinct)} distinct times in the "
            f"training part; {n_folds} time folds need more than {n_folds}. Use fewer folds"
        )
    values = times.to_numpy()
    gap = spec.gap_delta.to_timedelta64()
    folds: Folds = []
    for _, val_times in TimeSeriesSplit(n_splits=n_folds).split(distinct):
        first, last = distinct[val_times[0]], distinct[val_times[-1]]
        train = np.flatnonzero(values < first - gap)
        valid = np.flatnonzero((values >= first) & (values <= last))
        if len(train) == 0:
            raise DataError(
                f"cross-validation: the first time fold, from {pd.Timestamp(first)}, has no "
                f"training rows before it less the gap {spec.gap}; use fewer folds or a "
                "shorter split.gap"
            )
        folds.append((train, valid))
    return folds
