"""Drift between two tables, with no project: ``loopml drift REFERENCE CURRENT``.

Each side is a DataFrame or a CSV/Parquet file. Parquet is read in record batches and
every batch is added to running counts, so a current file larger than memory is fine;
the reference is read whole (it is binned once: training data fits in memory).

The counts are a mergeable summary: a Parquet file is cut at its row groups into parts
(``loopml.compute.parts``), an ``Executor`` counts each part into windows of its own
(in this process by default; worker processes or a cluster with another executor) and
the windows are merged in file order, which gives the very numbers one reader would
(the KS sample included: the first values of the window). Progress is reported per
chunk in this process; with an executor, when the parts are handed out and when all
are counted (one ``map`` call, so a process pool starts once).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.compute.executor import Executor
from loopml.compute.parts import Part, count_rows, read_batches, table_parts
from loopml.distributions.columns import ColumnReference, ColumnWindow
from loopml.distributions.measure import (
    accumulate,
    build_references,
    column_types,
    feature_dict,
    measure,
    new_windows,
)
from loopml.domain import FeatureDrift
from loopml.domain.monitor import DriftVerdicts
from loopml.errors import DataError
from loopml.spec.monitoring import DriftSettings, Thresholds

CHUNK_ROWS = 250_000
PART_CHUNKS = 8  # a part of a file counted by one worker: about this many chunks
READABLE = (".csv", ".parquet", ".pq")

Table = pd.DataFrame | str | Path
Progress = Callable[[int, int | None], None]
"""Called with (rows counted so far, total rows when known)."""


@dataclass(frozen=True)
class DriftCheck(DriftVerdicts):
    """The answer of ``drift``: one FeatureDrift per column, and the sizes compared."""

    features: tuple[FeatureDrift, ...]
    reference_rows: int
    current_rows: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per column its test, score, threshold and verdict."""
        return {
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "alert": self.alert,
            "drifted": self.drifted_features,
            "columns": [feature_dict(f) for f in self.features],
        }


def drift(
    reference: Table,
    current: Table,
    *,
    columns: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    settings: DriftSettings | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> DriftCheck:
    """Drift of every shared column between ``reference`` and ``current``.

    Args:
        reference: the baseline, a DataFrame or a .csv/.parquet path.
        current: the data to check, the same kinds; Parquet is read in batches.
        columns: ``{name: "numeric" | "categorical"}`` to measure (default: every column
            of the reference whose dtype is numeric, boolean, string or category).
        thresholds: per test, e.g. ``{"wasserstein": 0.1, "ks": 0.05}``; the rest default.
        settings: the full drift settings (tests, ``large_sample``), as in the spec.
        chunk_rows: rows per batch when reading ``current``.
        progress: called after each chunk (with ``executor``: before and after the parts).
        executor: counts the parts of a Parquet ``current`` (see the module docstring);
            None reads it here, chunk by chunk.

    Returns:
        A DriftCheck: per column the test chosen, its score, threshold and verdict.

    Raises:
        DataError: a file that cannot be read, an empty reference, a missing column, a
            numeric column holding text, an unknown test in ``thresholds``.
    """
    settings = _settings(settings, thresholds)
    ref_frame = read_table(reference, "reference")
    if ref_frame.empty:
        raise DataError(f"the reference {_name(reference)} has no rows; drift needs a baseline")
    types = dict(columns) if columns is not None else column_types(ref_frame)
    if not types:
        raise DataError(f"the reference {_name(reference)} has no numeric or categorical column")
    references = build_references(ref_frame, types)
    if executor is not None and not isinstance(current, pd.DataFrame):
        windows, rows = _count_parts(references, Path(current), chunk_rows, executor, progress)
    else:
        windows, rows = _count(references, current, chunk_rows, progress)
    features = tuple(measure(references[n], windows[n], settings) for n in types)
    return DriftCheck(features, len(ref_frame), rows)


Windows = dict[str, ColumnWindow]


def _count(
    references: Mapping[str, ColumnReference],
    current: Table,
    chunk_rows: int,
    progress: Progress | None,
) -> tuple[Windows, int]:
    """The windows of ``current``, read here chunk by chunk."""
    total = None if isinstance(current, pd.DataFrame) else _known_rows(Path(current))
    windows = new_windows(references)
    rows = 0
    for chunk in iter_chunks(current, chunk_rows, "current"):
        _accumulate(windows, references, chunk, current, rows)
        rows += len(chunk)
        if progress is not None:
            progress(rows, total)
    return windows, rows


def _count_parts(
    references: Mapping[str, ColumnReference],
    current: Path,
    chunk_rows: int,
    executor: Executor,
    progress: Progress | None,
) -> tuple[Windows, int]:
    """The windows of ``current``, its parts counted by ``executor``
    and merged in file order (one ``map``: progress before and after it)."""
    if current.suffix.lower() == ".csv":
        return _count(references, current, chunk_rows, progress)
    _check_readable(current, "current")
    parts = table_parts(current, rows_per_part=chunk_rows * PART_CHUNKS)
    total = sum(p.rows or 0 for p in parts)
    count = functools.partial(count_part, references, chunk_rows=chunk_rows)
    windows = new_windows(references)
    rows = 0
    if progress is not None:
        progress(0, total)
    for counted in executor.map(count, parts):  # one map: a process pool starts once
        for name, window in counted.items():
            windows[name].merge(window)  # type: ignore[arg-type]
        rows += next(iter(counted.values())).rows if counted else 0
    if progress is not None:
        progress(rows, total)
    return windows, rows


def count_part(
    references: Mapping[str, ColumnReference], part: Part, *, chunk_rows: int = CHUNK_ROWS
) -> Windows:
    """One part of a file counted into fresh windows (runs in a worker: plain data in
    and out)."""
    windows = new_windows(references)
    done = 0
    for batch in read_batches(part, chunk_rows):
        chunk = batch.to_pandas()
        _accumulate(windows, references, chunk, part.path, part.first_row + done)
        done += len(chunk)
    return windows


def _accumulate(
    windows: Windows,
    references: Mapping[str, ColumnReference],
    chunk: pd.DataFrame,
    table: Table,
    first_row: int,
) -> None:
    """``accumulate``, its errors naming the file and the chunk's rows."""
    try:
        accumulate(windows, references, chunk)
    except DataError as exc:
        if isinstance(table, pd.DataFrame):
            raise
        last = first_row + len(chunk) - 1
        raise DataError(f"current file {table}, rows {first_row} to {last}: {exc}") from exc


def _known_rows(path: Path) -> int | None:
    try:
        return count_rows(path)
    except DataError:
        return None  # iter_chunks says what is wrong with it


def _settings(
    settings: DriftSettings | None, thresholds: Mapping[str, float] | None
) -> DriftSettings:
    settings = settings or DriftSettings()
    if not thresholds:
        return settings
    unknown = sorted(set(thresholds) - set(Thresholds.model_fields))
    if unknown:
        raise DataError(
            f"unknown drift test {', '.join(unknown)}; thresholds apply to "
            f"{', '.join(Thresholds.model_fields)}"
        )
    try:
        merged = Thresholds(**{**settings.thresholds.model_dump(), **thresholds})
    except ValueError as exc:
        raise DataError(f"invalid drift threshold: {exc}") from exc
    return settings.model_copy(update={"thresholds": merged})


def _name(table: Table) -> str:
    return "frame" if isinstance(table, pd.DataFrame) else f"file {table}"


def read_table(table: Table, where: str) -> pd.DataFrame:
    """A whole table as a DataFrame (DataError for a missing or unreadable file)."""
    if isinstance(table, pd.DataFrame):
        return table
    chunks = list(iter_chunks(table, CHUNK_ROWS, where))
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def iter_chunks(table: Table, chunk_rows: int, where: str) -> Iterator[pd.DataFrame]:
    """Batches of at most ``chunk_rows`` rows (one empty frame for an empty table)."""
    if isinstance(table, pd.DataFrame):
        if table.empty:
            yield table
        for start in range(0, len(table), chunk_rows):
            yield table.iloc[start : start + chunk_rows]
        return
    path = Path(table)
    suffix = _check_readable(path, where)
    try:
        yield from (
            _parquet_chunks(path, chunk_rows) if suffix != ".csv" else _csv_chunks(path, chunk_rows)
        )
    except (OSError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{where} file {path} cannot be read: {exc}") from exc


def _check_readable(path: Path, where: str) -> str:
    """The suffix of a readable table file; DataError for another kind or no file."""
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise DataError(f"{where} file {path}: read .csv or .parquet files, not '{suffix}'")
    if not path.is_file():
        raise DataError(f"{where} file {path} does not exist")
    return suffix


def _csv_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    try:
        reader = pd.read_csv(path, chunksize=chunk_rows)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"file {path} is empty: not even a header row") from exc
    with reader:
        first = True
        for chunk in reader:
            first = False
            yield chunk
        if first:
            yield pd.DataFrame()


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    from loopml.compute.parts import schema_of

    empty = True
    for batch in read_batches(path, chunk_rows):
        empty = False
        yield batch.to_pandas()
    if empty:
        yield schema_of(path).empty_table().to_pandas()
