"""Read the prediction log chunk by chunk into windows: drift, quality, operations, feedback.

The log is a stream of DataFrames (one per logged batch, in any order) with the columns
``prediction_id``, ``predicted_at`` (UTC), ``latency_ms``, the model's inputs and outputs,
and optionally ``model_version`` (or ``version``) and ``error``. Each row goes to the
window of its time (or of its position, for count windows) and is added to running
counts, so memory holds one chunk plus a fixed amount per window, whatever the length of
the log. Shadow rows carry the challenger's ``model_version``, so they never mix with
the champion's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from loopml.distributions.columns import ColumnReference, ColumnWindow
from loopml.distributions.measure import accumulate, new_windows
from loopml.spec.monitoring import Window

VERSION_COLUMNS = ("model_version", "version")
COALESCE_ROWS = 50_000  # small logged batches are read together: fewer, larger passes
LATENCY_EDGES = np.geomspace(0.01, 100_000.0, 401)  # ms, 4.1 % apart


@dataclass
class Operations:
    """Latency histogram, errors and rows of one model version in one window."""

    rows: int = 0
    errors: int = 0
    latency_counts: np.ndarray = field(default_factory=lambda: np.zeros(402, np.int64))

    def add(self, latency_ms: np.ndarray, errors: int) -> None:
        index = np.searchsorted(LATENCY_EDGES, latency_ms[~np.isnan(latency_ms)])
        self.latency_counts += np.bincount(index, minlength=self.latency_counts.size)
        self.rows += latency_ms.size
        self.errors += errors

    def percentile(self, q: float) -> float:
        """The ``q``-th latency percentile in ms (the geometric middle of its bin, within
        2.1 %); NaN when there is none."""
        total = int(self.latency_counts.sum())
        if total == 0:
            return float("nan")
        index = int(np.searchsorted(np.cumsum(self.latency_counts), q / 100 * total))
        if index == 0 or index >= LATENCY_EDGES.size:
            return float(LATENCY_EDGES[min(index, LATENCY_EDGES.size - 1)])
        return float(np.sqrt(LATENCY_EDGES[index - 1] * LATENCY_EDGES[index]))


@dataclass
class WindowState:
    """Everything accumulated for one window."""

    key: int
    first_at: datetime | None = None
    last_at: datetime | None = None
    rows: int = 0
    columns: dict[str, ColumnWindow] = field(default_factory=dict)
    operations: dict[int, Operations] = field(default_factory=dict)  # by model version
    outcomes: list[pd.DataFrame] = field(default_factory=list)  # rows with feedback

    def see(self, times: pd.Series) -> None:
        first, last = times.min().to_pydatetime(), times.max().to_pydatetime()
        self.first_at = first if self.first_at is None else min(self.first_at, first)
        self.last_at = last if self.last_at is None else max(self.last_at, last)


@dataclass
class LogScan:
    """Windows of the monitored version, oldest first, and the rows read in all."""

    windows: list[WindowState]
    rows: int
    versions: set[int]


def scan_log(
    chunks: Iterable[pd.DataFrame],
    references: Mapping[str, ColumnReference],
    window: Window,
    *,
    version: int,
    feedback: Mapping[str, Any] | None = None,
) -> LogScan:
    """Accumulate every chunk of the log into windows.

    Rows of ``version`` feed drift, quality and feedback; rows of every version (the
    ``version`` column, when the log has one) feed the operations figures. Rows whose
    ``prediction_id`` has feedback keep their outputs and the true value.
    """
    feedback = feedback or {}
    truth = pd.Series(feedback, dtype=object) if feedback else None
    states: dict[int, WindowState] = {}
    rows, offset, versions = 0, 0, set[int]()
    for chunk in _coalesced(chunks, COALESCE_ROWS):
        times = pd.to_datetime(chunk["predicted_at"], utc=True)
        keys = _window_keys(times, window, offset)
        offset += len(chunk)
        rows += len(chunk)
        chunk_versions = _versions(chunk, version)
        versions.update(int(v) for v in pd.unique(chunk_versions))
        for key in pd.unique(keys):
            mask = keys == key
            state = states.get(int(key))
            if state is None:
                state = states[int(key)] = WindowState(int(key), columns=new_windows(references))
            _add(state, chunk[mask], times[mask], chunk_versions[mask], version, references, truth)
    ordered = [states[k] for k in sorted(states)]
    return LogScan(ordered, rows, versions)


def _coalesced(chunks: Iterable[pd.DataFrame], min_rows: int) -> Iterable[pd.DataFrame]:
    """The chunks in order, consecutive small ones joined into about ``min_rows``."""
    pending: list[pd.DataFrame] = []
    held = 0
    for chunk in chunks:
        if chunk.empty:
            continue
        pending.append(chunk)
        held += len(chunk)
        if held >= min_rows:
            yield pending[0] if len(pending) == 1 else pd.concat(pending, ignore_index=True)
            pending, held = [], 0
    if pending:
        yield pending[0] if len(pending) == 1 else pd.concat(pending, ignore_index=True)


def _add(
    state: WindowState,
    rows: pd.DataFrame,
    times: pd.Series,
    versions: np.ndarray,
    version: int,
    references: Mapping[str, ColumnReference],
    truth: pd.Series | None,
) -> None:
    errors = _errors(rows)
    latency = pd.to_numeric(rows.get("latency_ms", pd.Series(np.nan, index=rows.index)))
    latency_ms = latency.to_numpy(np.float64, na_value=np.nan)
    for v in pd.unique(versions):
        mine = versions == v
        ops = state.operations.setdefault(int(v), Operations())
        ops.add(latency_ms[mine], int(errors[mine].sum()))
    own = versions == version
    if not own.any():
        return
    rows, times = rows[own], times[own]
    state.see(times)
    state.rows += len(rows)
    accumulate(state.columns, references, rows, where="logged")
    if truth is not None and "prediction_id" in rows.columns:
        ids = rows["prediction_id"].astype(str)
        known = ids.isin(truth.index).to_numpy()
        if known.any():
            matched = rows.loc[known, [c for c in ("prediction", "probability") if c in rows]]
            state.outcomes.append(matched.assign(truth=truth.loc[ids[known]].to_numpy()))


def _window_keys(times: pd.Series, window: Window, offset: int) -> np.ndarray:
    if window.by == "count":
        assert isinstance(window.size, int)
        return (offset + np.arange(len(times))) // window.size
    epoch = pd.Timestamp(0, tz="UTC")
    seconds = ((times - epoch) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    return seconds // window.seconds


def window_start(key: int, window: Window) -> datetime | None:
    """When a time window starts (None for count windows)."""
    if window.by == "count":
        return None
    return datetime.fromtimestamp(key * window.seconds, UTC)


def _versions(chunk: pd.DataFrame, version: int) -> np.ndarray:
    """The model version of each row (``model_version``, as the server logs it, or
    ``version``); rows without one belong to ``version``."""
    values = pd.Series(np.nan, index=chunk.index)
    for column in VERSION_COLUMNS:
        if column in chunk.columns:
            values = values.fillna(pd.to_numeric(chunk[column], errors="coerce"))
    return values.fillna(version).to_numpy(np.int64)


def _errors(rows: pd.DataFrame) -> np.ndarray:
    """Failed requests: a true ``error`` column, or no prediction at all."""
    failed = np.zeros(len(rows), bool)
    if "error" in rows.columns:
        error = rows["error"]
        failed |= error.notna().to_numpy() & (error.astype(str) != "").to_numpy()
        failed &= ~error.isin([False, 0, "False", "false"]).to_numpy()
    if "prediction" in rows.columns:
        failed |= rows["prediction"].isna().to_numpy()
    return failed
