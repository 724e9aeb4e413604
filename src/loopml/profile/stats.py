"""Column statistics, the missing-value map and row hashes, computed on numpy arrays.

Every column is converted once (``prepare_column``) into arrays: numbers as float64 with
NaN for missing, categories and texts as integer codes in order of first appearance
(``-1`` for missing) with their labels, dates as ``datetime64[ns]``. The statistics of a
kind are then computed from those arrays in one pass: a numeric column is sorted once and
its quartiles, histogram, box plot, zeros and distinct count are read off the sorted
values. No per-row Python object is ever made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loopml.domain import ColumnKind
from loopml.model.values import category_string, category_strings, to_datetime

HIST_BINS = 30  # equal-width bins of a numeric histogram
DISCRETE_MAX = 30  # integral columns with at most this many values get a bar per value
TOP_CATEGORIES = 20  # categories shown by name; the rest are summed as "other"
TOP_TEXTS = 5  # most frequent texts shown
OUTLIER_SAMPLE = 100  # outlier values kept for the box plot (both tails together)
MAX_MONTHS = 240  # a date column spanning more months is counted per year
WORD_SAMPLE = 50_000  # rows whose words are counted in a text column
_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0"})


@dataclass(frozen=True)
class Histogram:
    """Counts per bin. ``edges`` has one more item than ``counts`` (bins are ``[a, b)``,
    the last one closed; ``integral``: of whole numbers, so a bin holds ``a`` to ``b - 1``);
    a discrete column has ``values`` (one per count) and no edges."""

    counts: tuple[int, ...]
    edges: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    integral: bool = False


@dataclass(frozen=True)
class BoxStats:
    """A box plot: quartiles, whiskers at the last values within 1.5 IQR of the box, how
    many values lie beyond them, and a sample of those outliers (the extremes included)."""

    q1: float
    median: float
    q3: float
    lower_fence: float
    upper_fence: float
    outliers_low: int
    outliers_high: int
    outlier_sample: tuple[float, ...]


@dataclass(frozen=True)
class NumericStats:
    """Moments, quantiles, histogram and box plot of the finite values of a column."""

    mean: float
    std: float
    min: float
    q1: float
    median: float
    q3: float
    max: float
    skew: float
    zeros: int
    infinite: int
    histogram: Histogram
    box: BoxStats


@dataclass(frozen=True)
class CategoryStats:
    """The most frequent categories and the rows left in the ``other_categories`` others."""

    top: tuple[tuple[str, int], ...]
    other: int
    other_categories: int


@dataclass(frozen=True)
class DatetimeStats:
    """Range of a date column and rows per ``period`` (``month``, or ``year`` if long)."""

    min: str
    max: str
    period: str
    counts: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class TextStats:
    """Lengths (in characters) and words of a text column, and its most frequent values."""

    length_min: float
    length_mean: float
    length_median: float
    length_max: float
    words_mean: float
    length_histogram: Histogram
    top: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ColumnStats:
    """What a column holds: its kind, counts, and the statistics of that kind."""

    name: str
    kind: ColumnKind
    dtype: str
    count: int
    missing: int
    distinct: int
    memory_bytes: int
    numeric: NumericStats | None = None
    categories: CategoryStats | None = None
    datetime: DatetimeStats | None = None
    text: TextStats | None = None

    @property
    def rows(self) -> int:
        return self.count + self.missing

    @property
    def missing_share(self) -> float:
        return self.missing / self.rows if self.rows else 0.0


@dataclass
class ColumnArrays:
    """One column as arrays (internal to the profile stage).

    ``values``: float64 for numeric and boolean columns (NaN missing), ``datetime64[ns]``
    for dates. ``codes``: integer codes in order of first appearance, ``-1`` for missing,
    for categorical, boolean and text columns; ``uniques`` holds the value of each code
    and ``labels`` its category string (not kept for text, whose values are mostly
    distinct: ``code_labels`` makes them when needed). ``levels``: an ordinal column's
    levels, lowest first (its categories are shown in that order).
    """

    name: str
    kind: ColumnKind
    dtype: str
    missing: np.ndarray
    memory_bytes: int
    values: np.ndarray | None = None
    codes: np.ndarray | None = None
    uniques: pd.Index | None = None
    labels: tuple[str, ...] = ()
    factorized: np.ndarray | None = None
    levels: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return int(self.missing.size)

    @property
    def n_codes(self) -> int:
        """How many codes there are (categories, or distinct texts)."""
        return 0 if self.uniques is None else len(self.uniques)

    def appearance_codes(self) -> np.ndarray:
        """Codes in order of first appearance (``-1`` missing) for any kind of column;
        computed once for numbers and dates."""
        if self.codes is not None:
            return self.codes
        if self.factorized is None:
            assert self.values is not None
            if self.values.dtype.kind == "M":
                codes = pd.factorize(self.values.view(np.int64))[0]
                self.factorized = _small_ints(np.where(self.missing, -1, codes))
            else:
                self.factorized = _small_ints(pd.factorize(self.values)[0])
        return self.factorized

    def code_labels(self, limit: int | None = None) -> list[str]:
        """The category string of codes 0, 1, ... of ``appearance_codes`` (the first
        ``limit`` of them)."""
        if self.codes is not None:
            if self.labels:
                return list(self.labels[:limit])
            assert self.uniques is not None
            return [str(v) for v in self.uniques[:limit]]
        codes = self.appearance_codes()
        present = np.flatnonzero(codes >= 0)
        first_rows = present[np.unique(codes[present], return_index=True)[1]][:limit]
        assert self.values is not None
        values = self.values[first_rows]
        if values.dtype.kind == "M":
            return [str(v) for v in values]
        return [category_string(v) for v in values]


def prepare_column(series: pd.Series, kind: ColumnKind) -> ColumnArrays:
    """``series`` as arrays for its ``kind`` (see ``ColumnArrays``); unparsable numbers
    and dates become missing."""
    name, dtype = str(series.name), str(series.dtype)
    memory = int(series.memory_usage(deep=True, index=False))
    if kind is ColumnKind.NUMERIC:
        values = _float_values(series)
        return ColumnArrays(name, kind, dtype, np.isnan(values), memory, values=values)
    if kind is ColumnKind.DATETIME:
        stamps = _datetime_values(series)
        return ColumnArrays(name, kind, dtype, np.isnat(stamps), memory, values=stamps)
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists, dicts): compare them as text
        codes, uniques = pd.factorize(series.map(str, na_action="ignore"))
    codes = _small_ints(codes)
    arrays = ColumnArrays(
        name, kind, dtype, codes < 0, memory, codes=codes, uniques=pd.Index(uniques)
    )
    if kind is ColumnKind.TEXT:
        return arrays
    arrays.labels = tuple(category_strings(pd.Series(np.asarray(uniques, dtype=object))))
    if kind is ColumnKind.BOOLEAN:
        truth = [label.strip().lower() in _TRUE_WORDS for label in arrays.labels]
        arrays.values = np.where(codes < 0, np.nan, np.array([*truth, 0], dtype=float)[codes])
    return arrays


def _small_ints(codes: np.ndarray) -> np.ndarray:
    """Codes as int32 when they fit (half the memory of intp)."""
    return codes.astype(np.int32) if codes.size and codes.max() < 2**31 - 1 else codes


def _float_values(series: pd.Series) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(series.dtype) or isinstance(
        series.dtype, pd.CategoricalDtype
    ):
        series = pd.to_numeric(series.astype(object), errors="coerce")
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _datetime_values(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = series
    else:  # parse each distinct string once
        codes, uniques = pd.factorize(series)
        parsed = to_datetime(pd.Series(np.asarray(uniques, dtype=object)))
        stamps = pd.Series(parsed.to_numpy(dtype="datetime64[ns]")[codes])
        stamps[codes < 0] = pd.NaT
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[ns]")


def column_stats(col: ColumnArrays) -> ColumnStats:
    """The statistics of one prepared column, by its kind."""
    missing = int(col.missing.sum())
    stats = ColumnStats(
        name=col.name,
        kind=col.kind,
        dtype=col.dtype,
        count=col.rows - missing,
        missing=missing,
        distinct=0,
        memory_bytes=col.memory_bytes,
    )
    if col.kind is ColumnKind.NUMERIC:
        assert col.values is not None
        distinct, numeric = numeric_stats(col.values)
        return dataclasses.replace(stats, distinct=distinct, numeric=numeric)
    if col.kind is ColumnKind.DATETIME:
        assert col.values is not None
        distinct, dates = datetime_stats(col.values, col.missing)
        return dataclasses.replace(stats, distinct=distinct, datetime=dates)
    assert col.codes is not None
    counts = np.bincount(col.codes[col.codes >= 0], minlength=col.n_codes)
    distinct = int(np.count_nonzero(counts))
    if col.kind is ColumnKind.TEXT:
        return dataclasses.replace(stats, distinct=distinct, text=text_stats(col, counts))
    if col.levels:
        categories = ordered_category_stats(col.labels, counts, col.levels)
    else:
        categories = category_stats(col.labels, counts)
    return dataclasses.replace(stats, distinct=distinct, categories=categories)


def numeric_stats(values: np.ndarray) -> tuple[int, NumericStats | None]:
    """(distinct count, statistics) of the finite values of ``values`` (None if none)."""
    finite = np.isfinite(values)
    present = values[finite]
    infinite = int(np.count_nonzero(~finite & ~np.isnan(values)))
    if present.size == 0:
        return 0, None
    ordered = np.sort(present)
    n = ordered.size
    distinct = 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1]))
    q1, median, q3 = sorted_quantiles(ordered, (0.25, 0.5, 0.75))
    mean = float(ordered.mean())
    deviation = ordered - mean
    squared = deviation * deviation
    m2 = float(squared.sum()) / n
    std = float(np.sqrt(m2 * n / (n - 1))) if n > 1 else float("nan")
    skew = float("nan")
    if n > 2 and m2 > 0:
        m3 = float(np.dot(squared, deviation)) / n
        skew = m3 / m2**1.5 * np.sqrt(n * (n - 1)) / (n - 2)
    zeros = int(np.searchsorted(ordered, 0.0, "right") - np.searchsorted(ordered, 0.0, "left"))
    stats = NumericStats(
        mean=mean,
        std=std,
        min=float(ordered[0]),
        q1=q1,
        median=median,
        q3=q3,
        max=float(ordered[-1]),
        skew=float(skew),
        zeros=zeros,
        infinite=infinite,
        histogram=sorted_histogram(ordered, distinct),
        box=sorted_box(ordered, q1, median, q3),
    )
    return distinct, stats


def sorted_quantiles(ordered: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Quantiles of sorted values, interpolated linearly as ``np.percentile`` does."""
    positions = np.asarray(qs, dtype=float) * (ordered.size - 1)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, ordered.size - 1)
    frac = positions - low
    values = ordered[low] + (ordered[high] - ordered[low]) * frac
    return [float(v) for v in values]


def sorted_histogram(ordered: np.ndarray, distinct: int, bins: int = HIST_BINS) -> Histogram:
    """A bar per value for a few integers; bins of a whole width for more integers (so
    that no bin holds one value more than its neighbours); else ``bins`` equal-width bins
    (the same counts as ``np.histogram(values, bins)``)."""
    low, high = float(ordered[0]), float(ordered[-1])
    integral = bool(np.all(np.mod(ordered[[0, -1]], 1) == 0))
    if integral and distinct <= DISCRETE_MAX:
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        if np.all(np.mod(ordered[starts], 1) == 0):
            counts = np.diff(np.r_[starts, ordered.size])
            return Histogram(_ints(counts), values=_floats(ordered[starts]))
    whole = integral and high - low < 1e15 and bool(np.all(np.mod(ordered, 1) == 0))
    if whole:
        width = np.ceil((high - low + 1) / bins)
        edges = low + width * np.arange(np.ceil((high - low + 1) / width) + 1)
    else:
        if low == high:
            low, high = low - 0.5, high + 0.5
        edges = np.linspace(low, high, bins + 1)
    below = np.searchsorted(ordered, edges[1:-1], "left")
    counts = np.diff(np.r_[0, below, ordered.size])
    return Histogram(_ints(counts), edges=_floats(edges), integral=whole)


def sorted_box(ordered: np.ndarray, q1: float, median: float, q3: float) -> BoxStats:
    """Tukey's box plot of sorted values, with up to ``OUTLIER_SAMPLE`` outliers."""
    iqr = q3 - q1
    start = int(np.searchsorted(ordered, q1 - 1.5 * iqr, "left"))
    stop = int(np.searchsorted(ordered, q3 + 1.5 * iqr, "right"))
    low_tail, high_tail = ordered[:start], ordered[stop:]
    half = OUTLIER_SAMPLE // 2
    sample = np.r_[_spread(low_tail, half), _spread(high_tail, half)]
    return BoxStats(
        q1=q1,
        median=median,
        q3=q3,
        lower_fence=float(ordered[start]),
        upper_fence=float(ordered[stop - 1]),
        outliers_low=int(low_tail.size),
        outliers_high=int(high_tail.size),
        outlier_sample=_floats(sample),
    )


def _spread(ordered: np.ndarray, k: int) -> np.ndarray:
    """Up to ``k`` evenly spaced items of ``ordered``, both ends included."""
    if ordered.size <= k:
        return ordered
    return ordered[np.unique(np.linspace(0, ordered.size - 1, k).astype(int))]


def category_stats(labels: Sequence[str], counts: np.ndarray) -> CategoryStats:
    """The ``TOP_CATEGORIES`` most frequent labels (ties in order of appearance)."""
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] > 0]
    top = tuple((labels[i], int(counts[i])) for i in order[:TOP_CATEGORIES])
    rest = order[TOP_CATEGORIES:]
    return CategoryStats(top, int(counts[rest].sum()), int(rest.size))


def ordered_category_stats(
    labels: Sequence[str], counts: np.ndarray, levels: Sequence[str]
) -> CategoryStats:
    """The first ``TOP_CATEGORIES`` present ``levels`` in their order; labels that are not
    levels (and levels past the first ``TOP_CATEGORIES``) are counted in ``other``."""
    by_label: dict[str, int] = {}
    for label, count in zip(labels, counts, strict=True):
        by_label[label] = by_label.get(label, 0) + int(count)
    present = [level for level in levels if by_label.get(level, 0) > 0]
    top = tuple((level, by_label[level]) for level in present[:TOP_CATEGORIES])
    shown = {level for level, _ in top}
    rest = [count for label, count in by_label.items() if label not in shown and count > 0]
    return CategoryStats(top, int(sum(rest)), len(rest))


def datetime_stats(stamps: np.ndarray, missing: np.ndarray) -> tuple[int, DatetimeStats | None]:
    """(distinct count, statistics) of a ``datetime64[ns]`` array."""
    present = stamps[~missing]
    if present.size == 0:
        return 0, None
    ordered = np.sort(present)
    distinct = 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1]))
    months = ordered.astype("datetime64[M]").astype(np.int64)
    period = "month"
    if months[-1] - months[0] >= MAX_MONTHS:
        months = ordered.astype("datetime64[Y]").astype(np.int64)
        period = "year"
    counts = np.bincount(months - months[0])
    unit = "M" if period == "month" else "Y"
    starts = (months[0] + np.arange(counts.size)).astype(f"datetime64[{unit}]")
    unit_shown = "D" if np.all(ordered.view(np.int64) % (86_400 * 10**9) == 0) else "s"
    stats = DatetimeStats(
        min=str(ordered[0].astype(f"datetime64[{unit_shown}]")).replace("T", " "),
        max=str(ordered[-1].astype(f"datetime64[{unit_shown}]")).replace("T", " "),
        period=period,
        counts=tuple((str(s), int(c)) for s, c in zip(starts, counts, strict=True)),
    )
    return distinct, stats


def text_stats(col: ColumnArrays, counts: np.ndarray) -> TextStats | None:
    """Length statistics of a text column, measured once per distinct text with pyarrow,
    and the mean number of words on up to ``WORD_SAMPLE`` evenly spread rows."""
    assert col.codes is not None and col.uniques is not None
    if not counts.any():
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = pa.array(pd.Series(col.uniques).astype("str").array)
    lengths = pc.utf8_length(strings).to_numpy(zero_copy_only=False).astype(float)
    present = col.codes[col.codes >= 0]
    ordered = np.sort(lengths[present])
    distinct = 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1]))
    picked = np.unique(present[:: max(1, present.size // WORD_SAMPLE)])
    split = pc.utf8_split_whitespace(strings.take(pa.array(picked)))
    words = pc.list_value_length(split).to_numpy(zero_copy_only=False).astype(float)
    top = np.argsort(-counts, kind="stable")[:TOP_TEXTS]
    return TextStats(
        length_min=float(ordered[0]),
        length_mean=float(ordered.mean()),
        length_median=sorted_quantiles(ordered, (0.5,))[0],
        length_max=float(ordered[-1]),
        words_mean=float(np.average(words, weights=counts[picked])),
        length_histogram=sorted_histogram(ordered, distinct),
        top=tuple((str(col.uniques[i]), int(counts[i])) for i in top if counts[i] > 0),
    )


def missing_map(masks: Sequence[np.ndarray], chunks: int = 100) -> tuple[list[int], np.ndarray]:
    """(first row of each chunk, share missing per column and chunk) over ``chunks`` equal
    blocks of rows; the array has a row per column."""
    rows = masks[0].size if masks else 0
    chunks = max(1, min(chunks, rows))
    starts = np.linspace(0, rows, chunks + 1).astype(int)
    sizes = np.diff(starts)
    shares = np.empty((len(masks), chunks))
    for i, mask in enumerate(masks):
        counts = np.add.reduceat(mask, starts[:-1], dtype=np.int64) if rows else np.zeros(1)
        shares[i] = counts / np.maximum(sizes, 1)
    return [int(s) for s in starts[:-1]], shares


def row_hashes(columns: Sequence[ColumnArrays]) -> np.ndarray:
    """A 64-bit hash of every row over all ``columns`` (missing values hash alike)."""
    rows = columns[0].rows if columns else 0
    state = np.full(rows, 0x9E3779B97F4A7C15, dtype=np.uint64)
    for col in columns:
        if col.codes is not None:
            key = col.codes.astype(np.int64).view(np.uint64)
        else:
            assert col.values is not None
            if col.values.dtype.kind == "M":
                key = col.values.view(np.int64).view(np.uint64)
            else:
                key = np.where(col.missing, np.nan, col.values + 0.0).view(np.uint64)
        state = _mix(state * np.uint64(0x100000001B3) + _mix(key))
    return state


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads every input bit over the whole output word."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _ints(values: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)
