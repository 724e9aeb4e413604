"""What drift needs to know of a column: the reference's bins, and running counts of a window.

A reference is binned once: a numeric column at its percentiles (the first edge is the
minimum, the last just above the maximum, so values outside the training range land in
the two outer bins), a categorical one by category (plus one bin for unseen categories).
A window of live traffic is accumulated chunk by chunk into the same bins (counts, and
for numbers the sum of the values in each bin), so a log of any length is read in
constant memory and every statistic comes from the counts, except the KS test, which
keeps the first ``SAMPLE_ROWS`` values of a window (it only runs on small windows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from loopml.errors import DataError
from loopml.model.values import category_strings

N_FINE = 100  # percentile bins for Wasserstein and the out-of-range counts
N_COARSE = 10  # decile bins for PSI and Jensen-Shannon
SAMPLE_ROWS = 10_000  # values kept per window (and reference) for the KS test


@dataclass
class NumericReference:
    """A numeric column of the reference, binned at its percentiles."""

    name: str
    edges: np.ndarray  # fine edges: the minimum, the percentiles, just above the maximum
    coarse_of_fine: np.ndarray  # the decile bin of each fine bin
    counts: np.ndarray  # per fine bin (below min, ..., above max)
    sums: np.ndarray
    missing: int
    rows: int
    std: float
    sample: np.ndarray  # sorted float32, at most SAMPLE_ROWS * 10 values
    column_type: str = "numeric"

    def window(self) -> NumericWindow:
        return NumericWindow(self.name, np.zeros_like(self.counts), np.zeros_like(self.sums))

    def coarse(self, counts: np.ndarray, missing: int) -> np.ndarray:
        """Decile counts with a last bin for missing values."""
        binned = np.bincount(self.coarse_of_fine, weights=counts, minlength=N_COARSE + 2)
        return np.append(binned, missing)


@dataclass
class NumericWindow:
    """Running counts of a numeric column over one window."""

    name: str
    counts: np.ndarray
    sums: np.ndarray
    missing: int = 0
    rows: int = 0
    chunks: list[np.ndarray] = field(default_factory=list)
    kept: int = 0

    def add(self, values: np.ndarray, reference: NumericReference) -> None:
        """Count ``values`` (float64 or float32, NaN for missing) into the bins."""
        ordered = np.sort(values.astype(np.float32, copy=False))
        present = ordered[: ordered.size - int(np.count_nonzero(np.isnan(ordered)))]
        self.missing += ordered.size - present.size
        self.rows += ordered.size
        counts, sums = binned(present, reference.edges)
        self.counts += counts
        self.sums += sums
        if self.kept < SAMPLE_ROWS:
            take = values[~np.isnan(values)][: SAMPLE_ROWS - self.kept].astype(np.float32)
            self.chunks.append(take)
            self.kept += take.size

    def merge(self, later: NumericWindow) -> None:
        """Add ``later``, the counts of the rows after these (a part of a file read
        elsewhere): the same window as if one reader had read both, sample included."""
        self.counts += later.counts
        self.sums += later.sums
        self.missing += later.missing
        self.rows += later.rows
        if self.kept < SAMPLE_ROWS and later.kept:
            take = later.sample[: SAMPLE_ROWS - self.kept]
            self.chunks.append(take)
            self.kept += take.size

    @property
    def sample(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.empty(0, np.float32)


@dataclass
class CategoricalReference:
    """A categorical (or boolean) column of the reference: its categories and counts.
    An ordinal column's (``column_type`` ``ordinal``) categories are its levels in order,
    lowest first."""

    name: str
    categories: pd.Index
    counts: np.ndarray  # per category, then unseen (always 0 here)
    missing: int
    rows: int
    column_type: str = "categorical"

    def window(self) -> CategoricalWindow:
        return CategoricalWindow(self.name, np.zeros(len(self.categories) + 1, np.int64))

    def codes(self, values: pd.Series) -> np.ndarray:
        """The bin of each value: its category, unseen (len), or missing (len + 1)."""
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        keys = category_strings(pd.Series(uniques, dtype=object))
        lookup = self.categories.get_indexer(pd.Index(keys.fillna("\0missing")))
        lookup[lookup < 0] = len(self.categories)
        lookup[keys.isna().to_numpy()] = len(self.categories) + 1
        lookup = np.append(lookup, len(self.categories) + 1)  # code -1: missing
        return lookup[codes]


@dataclass
class CategoricalWindow:
    """Running counts of a categorical column over one window (unseen in the last bin)."""

    name: str
    counts: np.ndarray
    missing: int = 0
    rows: int = 0
    examples: set[str] = field(default_factory=set)  # a few unseen categories

    def add(self, values: pd.Series, reference: CategoricalReference) -> None:
        index = reference.codes(values)
        binned = np.bincount(index, minlength=self.counts.size + 1)
        if binned[-2] and len(self.examples) < 5:
            unseen = pd.unique(values[index == len(reference.categories)].astype(str))
            self.examples.update(list(unseen[: 5 - len(self.examples)]))
        self.counts += binned[:-1]
        self.missing += int(binned[-1])
        self.rows += len(values)

    def merge(self, later: CategoricalWindow) -> None:
        """Add ``later``, the counts of the rows after these (see ``NumericWindow.merge``)."""
        self.counts += later.counts
        self.missing += later.missing
        self.rows += later.rows
        self.examples.update(sorted(later.examples)[: max(0, 5 - len(self.examples))])


ColumnReference = NumericReference | CategoricalReference
ColumnWindow = NumericWindow | CategoricalWindow


def numeric_values(values: pd.Series, name: str, where: str) -> np.ndarray:
    """``values`` as float64 with NaN for missing; DataError naming column and side."""
    try:
        numbers = pd.to_numeric(values, errors="raise")
        return np.asarray(numbers.to_numpy(dtype=np.float64, na_value=np.nan))
    except (TypeError, ValueError) as exc:
        raise DataError(f"column '{name}' of the {where} data should be numeric: {exc}") from exc


def binned(ordered: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts and value sums of sorted float32 values in the bins between ``edges``
    (bin ``i`` holds ``edges[i-1] <= v < edges[i]``, the first and last are open)."""
    bounds = np.concatenate([[0], np.searchsorted(ordered, edges, side="left"), [ordered.size]])
    cumulative = np.concatenate([[0.0], np.cumsum(ordered, dtype=np.float64)])
    return np.diff(bounds).astype(np.float64), cumulative[bounds[1:]] - cumulative[bounds[:-1]]


def numeric_reference(name: str, values: np.ndarray) -> NumericReference:
    """Bin a reference column at its percentiles (see the module docstring)."""
    ordered = np.sort(values.astype(np.float32, copy=False))
    present = ordered[: ordered.size - int(np.count_nonzero(np.isnan(ordered)))]
    edges, deciles = np.empty(0, np.float32), np.empty(0, np.float32)
    if present.size:
        quantiles = _sorted_quantiles(present, np.arange(N_FINE + 1) / N_FINE)
        step = N_FINE // N_COARSE
        deciles = np.unique(quantiles[step:-1:step])
        quantiles[-1] = np.nextafter(quantiles[-1], np.float32(np.inf))
        edges = np.unique(quantiles)
    lower = np.concatenate([[-np.inf], edges])  # the lower edge of each fine bin
    # decile bins 1..N_COARSE; below the minimum and above the maximum get their own
    coarse_of_fine = np.searchsorted(deciles, lower, side="right") + 1
    coarse_of_fine[0] = 0
    if edges.size:
        coarse_of_fine[-1] = N_COARSE + 1
    counts, sums = binned(present, edges)
    sample = present[np.linspace(0, present.size - 1, min(present.size, SAMPLE_ROWS * 10))
                     .astype(np.int64)] if present.size else present  # fmt: skip
    return NumericReference(
        name=name,
        edges=edges,
        coarse_of_fine=coarse_of_fine,
        counts=counts,
        sums=sums,
        missing=ordered.size - present.size,
        rows=ordered.size,
        std=float(present.std(dtype=np.float64)) if present.size else 0.0,
        sample=sample,
    )


def _sorted_quantiles(ordered: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantiles of sorted values, as float32."""
    position = probabilities * (ordered.size - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, ordered.size - 1)
    below, above = ordered[low].astype(np.float64), ordered[high].astype(np.float64)
    return (below + (above - below) * (position - low)).astype(np.float32)


def ordinal_reference(
    name: str, values: pd.Series, order: Sequence[str] | None = None
) -> CategoricalReference:
    """Count a reference column by level, the levels in ``order`` (lowest first; levels
    the reference holds beyond it follow, sorted; without ``order``, all sorted)."""
    counted = categorical_reference(name, values)
    by_level = dict(zip(counted.categories, counted.counts[:-1], strict=True))
    levels = [str(level) for level in order or ()]
    levels += sorted(c for c in by_level if c not in set(levels))
    counts = np.array([by_level.get(level, 0) for level in levels] + [0], dtype=np.int64)
    return CategoricalReference(
        name, pd.Index(levels), counts, counted.missing, counted.rows, column_type="ordinal"
    )


def categorical_reference(name: str, values: pd.Series) -> CategoricalReference:
    """Count a reference column by category (``1``, ``1.0`` and ``"1"`` are one)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    keys = category_strings(pd.Series(uniques, dtype=object))
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    by_key = pd.Series(counts, index=keys.to_numpy(dtype=object)).dropna()
    by_key = by_key[by_key.index.notna()].groupby(level=0, sort=False).sum()
    by_key = by_key.sort_values(ascending=False, kind="stable")
    categories = pd.Index(by_key.index.astype(str))
    present = int(by_key.sum())
    return CategoricalReference(
        name,
        categories,
        np.append(by_key.to_numpy(np.int64), 0),
        len(values) - present,
        len(values),
    )
