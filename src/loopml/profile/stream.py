"""Profile a file larger than memory: exact column statistics in one streaming pass, the
charts and correlations on a bounded random sample.

``profile_file`` reads a CSV or Parquet file in bounded batches (``loopml.compute.parts``)
once. Every column gets its exact row count and missing count; a numeric column (numbers
in the file's own types) its exact mean, standard deviation, skew, minimum, maximum,
zeros and infinities, from moments merged batch by batch (Chan's pairwise update, so
the answer does not depend on the batch size beyond rounding). The same pass keeps a
uniform random sample of ``sample_rows`` rows (each row draws a random key; the rows with
the smallest keys so far are kept: a mergeable sample, seeded, the same each time).

``profile_frame`` then profiles the sample, and the exact figures replace the sample's
where they exist. What comes from the sample (quantiles, histograms, distinct counts,
categories' shares, duplicate rows, correlations, the target sections and findings) is
said so on the report: ``Profile.sample_note`` names N rows and the sample of M.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from loopml.compute.parts import CHUNK_ROWS, count_rows, read_batches
from loopml.domain import ColumnKind
from loopml.errors import DataError
from loopml.profile.profile import Profile, profile_frame
from loopml.profile.stats import ColumnStats

RowProgress = Callable[[int, int | None], None]
"""Called after each batch of the pass with (rows read, total rows when known)."""
SEED = 20_240_601


@dataclass
class Moments:
    """Mergeable count, mean and central moments (M2, M3) of finite values, with the
    minimum, maximum, zeros, infinities and missing values of a numeric column."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    m3: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    zeros: int = 0
    infinite: int = 0
    missing: int = 0

    def add(self, values: np.ndarray) -> None:
        """Add a batch of float64 values (NaN missing)."""
        missing = int(np.isnan(values).sum())
        finite = values[np.isfinite(values)]
        batch = Moments(missing=missing, infinite=values.size - missing - finite.size)
        if finite.size:
            batch.n, batch.mean = finite.size, float(finite.mean())
            deviation = finite - batch.mean
            squared = deviation * deviation
            batch.m2, batch.m3 = float(squared.sum()), float(np.dot(squared, deviation))
            batch.low, batch.high = float(finite.min()), float(finite.max())
            batch.zeros = int(np.count_nonzero(finite == 0))
        self.merge(batch)

    def merge(self, other: Moments) -> None:
        """Chan's update: these values and ``other``'s as one set."""
        self.missing += other.missing
        self.infinite += other.infinite
        if other.n == 0:
            return
        n = self.n + other.n
        delta = other.mean - self.mean
        m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / n
        m3 = (
            self.m3
            + other.m3
            + delta**3 * self.n * other.n * (self.n - other.n) / n**2
            + 3 * delta * (self.n * other.m2 - other.n * self.m2) / n
        )
        self.mean += delta * other.n / n
        self.n, self.m2, self.m3 = n, m2, m3
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)
        self.zeros += other.zeros

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else math.nan

    @property
    def skew(self) -> float:
        """The adjusted Fisher-Pearson skew, as ``numeric_stats`` computes it."""
        n, m2 = self.n, self.m2 / self.n if self.n else 0.0
        if n <= 2 or m2 <= 0:
            return math.nan
        return (self.m3 / n) / m2**1.5 * math.sqrt(n * (n - 1)) / (n - 2)


@dataclass
class Pass:
    """What one pass over the file keeps: rows, missing counts, numeric moments and the
    sample (rows and their random keys)."""

    rows: int
    missing: dict[str, int]
    moments: dict[str, Moments]
    sample: pd.DataFrame
    keys: np.ndarray


def profile_file(
    path: str | Path,
    *,
    target: str | None,
    task: str | None = None,
    kinds: Mapping[str, ColumnKind] | None = None,
    orders: Mapping[str, Sequence[str]] | None = None,
    sample_rows: int = 200_000,
    chunk_rows: int = CHUNK_ROWS,
    progress: RowProgress | None = None,
    title: str = "",
) -> Profile:
    """Profile a CSV or Parquet file of any size (see the module docstring).

    Arguments are ``profile_frame``'s, but ``sample_rows`` is the sample the charts and
    correlations use, and ``chunk_rows`` the rows read at a time.

    Raises:
        DataError: a missing, empty or unreadable file (named), a file with no rows, or
            what ``profile_frame`` raises for the sample (a target it lacks).
    """
    started = time.perf_counter()
    path = Path(path)
    scanned = scan(path, sample_rows=sample_rows, chunk_rows=chunk_rows, progress=progress)
    if scanned.rows == 0:
        raise DataError(f"{path}: has a header but no rows; nothing to profile")
    sampled = profile_frame(
        scanned.sample.reset_index(drop=True), target=target, task=task, kinds=kinds,
        orders=orders, sample_rows=sample_rows, title=title,
    )  # fmt: skip
    columns = tuple(_exact(col, scanned) for col in sampled.columns)
    share = scanned.rows / max(len(scanned.sample), 1)
    note = (
        f"Computed on all {scanned.rows:,} rows of {path.name} in one pass (counts, missing "
        f"values, mean, std, min, max); quantiles, histograms, distinct counts, categories, "
        f"duplicates, correlations and the target sections on a random sample of "
        f"{len(scanned.sample):,} rows."
    )
    return dataclasses.replace(
        sampled,
        rows=scanned.rows,
        columns=columns,
        memory_bytes=int(sampled.memory_bytes * share),
        sample_rows=len(scanned.sample),
        sample_note=note,
        seconds=time.perf_counter() - started,
    )


def scan(
    path: Path,
    *,
    sample_rows: int,
    chunk_rows: int = CHUNK_ROWS,
    progress: RowProgress | None = None,
) -> Pass:
    """One pass over ``path``: rows, missing values, numeric moments, the sample."""
    total = count_rows(path)
    rng = np.random.default_rng(SEED)
    state: Pass | None = None
    for batch in read_batches(path, chunk_rows):
        chunk = batch.to_pandas()
        if state is None:
            state = Pass(0, {c: 0 for c in chunk.columns}, _numeric(chunk), chunk.iloc[:0],
                         np.empty(0))  # fmt: skip
        _count(state, chunk)
        _keep_sample(state, chunk, rng.random(len(chunk)), sample_rows)
        if progress is not None:
            progress(state.rows, total)
    if state is None:
        raise DataError(f"{path}: has a header but no rows; nothing to profile")
    return state


def _numeric(chunk: pd.DataFrame) -> dict[str, Moments]:
    """A Moments per column that the file types as numbers (not booleans)."""
    return {
        name: Moments()
        for name in chunk.columns
        if pd.api.types.is_numeric_dtype(chunk[name].dtype)
        and not pd.api.types.is_bool_dtype(chunk[name].dtype)
    }


def _count(state: Pass, chunk: pd.DataFrame) -> None:
    state.rows += len(chunk)
    for name in state.missing:
        column = chunk[name]
        state.missing[name] += int(column.isna().sum())
        if name in state.moments:
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            state.moments[name].add(values)


def _keep_sample(state: Pass, chunk: pd.DataFrame, keys: np.ndarray, size: int) -> None:
    """Keep the ``size`` rows with the smallest keys of the sample and ``chunk``."""
    if len(state.sample) >= size:
        threshold = state.keys.max()
        chunk, keys = chunk[keys < threshold], keys[keys < threshold]
    if not len(chunk):
        return
    rows = pd.concat([state.sample, chunk], ignore_index=False)
    keys = np.concatenate([state.keys, keys])
    if len(rows) > size:
        order = np.argpartition(keys, size - 1)[:size]
        rows, keys = rows.iloc[order], keys[order]
    state.sample, state.keys = rows, keys


def _exact(col: ColumnStats, scanned: Pass) -> ColumnStats:
    """``col`` (from the sample) with the pass's exact figures."""
    missing = scanned.missing.get(col.name)
    if missing is None:
        return col
    exact = dataclasses.replace(col, missing=missing, count=scanned.rows - missing)
    moments = scanned.moments.get(col.name)
    if moments is None or col.numeric is None or moments.n == 0:
        return exact
    numeric = dataclasses.replace(
        col.numeric,
        mean=moments.mean,
        std=moments.std,
        skew=moments.skew,
        min=moments.low,
        max=moments.high,
        zeros=moments.zeros,
        infinite=moments.infinite,
    )
    return dataclasses.replace(exact, numeric=numeric)
