"""Prediction logging off the request path: buffer in memory, flush to a sink in batches.

The request path only appends what it already holds, under a lock: a big request's
arrays by reference, a small one's values copied into the open *block* (preallocated
column arrays, ``BLOCK_ROWS`` rows), so that the logger holds arrays rather than
thousands of requests' objects. A background thread compacts the buffered predictions,
every ``COMPACT_ROWS``, into a column batch (an Arrow table), and hands the batches to
the sink every ``flush_interval_s`` seconds, or sooner once ``max_rows`` predictions are
waiting. Both keep each pause of the serving thread short: freeing a thousand requests
at once is one cascade of deallocations that holds the GIL for milliseconds, and
requests kept for a second live long enough for the garbage collector's slow full
passes to see them.
A sink that raises keeps its rows: they are retried on the next flush, and the failure
is reported as a warning on the ``loopml.serve`` logger. ``close()`` stops the thread and
flushes what is left, so a graceful shutdown loses nothing that was answered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from loopml.domain import ColumnKind, Schema
from loopml.model.values import category_strings

PredictionSink = Callable[[Any], None]
"""Receives one DataFrame per flush (a ``pyarrow.Table`` when the sink has a true
``takes_arrow`` attribute: cheaper to build and to write); raising means "not written,
try again later"."""

log = logging.getLogger("loopml.serve")

COMPACT_ROWS = 256  # predictions buffered before they become a column batch
BLOCK_ROWS = 256  # rows of one block of small requests
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class _Entry:
    """One request's worth of predictions, held as the request left them (or a block's:
    then ``latency_ms`` and ``at``, in microseconds since the epoch, are per row)."""

    rows: Sequence[Mapping[str, Any]]
    ids: Sequence[str]
    predictions: Any
    probabilities: Any
    latency_ms: float | np.ndarray
    at: datetime | np.ndarray
    columns: Mapping[str, np.ndarray] | None = None


class _Block:
    """Small requests' predictions, written one after another into preallocated arrays."""

    def __init__(self, schema: Schema) -> None:
        self.size = 0
        self.columns = {
            c.name: np.empty(BLOCK_ROWS, np.float64 if c.kind is ColumnKind.NUMERIC else object)
            for c in schema.columns
        }
        self.ids: list[str] = []
        self.at = np.empty(BLOCK_ROWS, dtype=np.int64)
        self.latency_ms = np.empty(BLOCK_ROWS, dtype=np.float64)
        self.predictions = np.empty(BLOCK_ROWS, dtype=object)
        self.probabilities: np.ndarray | None = None

    def has_room(self, rows: int) -> bool:
        return self.size + rows <= BLOCK_ROWS

    def add(self, entry: _Entry) -> None:
        start = self.size
        stop = self.size = start + len(entry.ids)
        assert entry.columns is not None and isinstance(entry.at, datetime)
        for name, values in self.columns.items():
            values[start:stop] = entry.columns[name]
        self.ids.extend(entry.ids)
        self.at[start:stop] = (entry.at - _EPOCH) // _MICROSECOND
        self.latency_ms[start:stop] = entry.latency_ms
        self.predictions[start:stop] = entry.predictions
        if entry.probabilities is not None:
            if self.probabilities is None:
                self.probabilities = np.full(BLOCK_ROWS, np.nan)
            self.probabilities[start:stop] = entry.probabilities

    def entry(self) -> _Entry:
        """What was written, as one entry."""
        n = self.size
        probabilities = None if self.probabilities is None else self.probabilities[:n]
        columns = {name: values[:n] for name, values in self.columns.items()}
        predictions = self.predictions[:n]
        return _Entry((), self.ids, predictions, probabilities, self.latency_ms[:n],
                      self.at[:n], columns)  # fmt: skip


class PredictionLogger:
    """Buffers predictions and writes them to ``sink`` in batches from a background thread.

    Thread-safe: ``log`` may be called from any number of threads. The frames handed to
    ``sink`` hold one row per prediction with the columns ``prediction_id``,
    ``predicted_at`` (UTC), the constant ``labels`` (the server adds ``model_name``,
    ``model_version`` and ``shadow``), ``latency_ms``, every input feature,
    ``prediction`` and, when the model gives one, ``probability``. With ``schema``,
    features follow its order and dtypes (numeric as float64, boolean as nullable boolean,
    everything else as str, with categories written the way training stores them: ``1``
    and ``1.0`` are both ``"1"``) so that every flushed batch has the same column types.

    Args:
        sink: called with each batch; an exception keeps the batch for the next flush.
        flush_interval_s: longest time a prediction waits in memory (while the sink works).
        max_rows: flush as soon as this many predictions are waiting.
        schema: the model's input signature, for column order and dtypes.
        labels: columns with one value for every row, after ``predicted_at``.
    """

    def __init__(
        self,
        sink: PredictionSink,
        flush_interval_s: float = 1.0,
        max_rows: int = 1000,
        *,
        schema: Schema | None = None,
        labels: Mapping[str, Any] | None = None,
    ) -> None:
        if flush_interval_s <= 0:
            raise ValueError(f"flush_interval_s must be > 0, got {flush_interval_s}")
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows}")
        self.sink = sink
        self.flush_interval_s = flush_interval_s
        self.max_rows = max_rows
        self.schema = schema
        self.labels = dict(labels or {})
        self._lock = threading.Lock()  # guards _pending and _pending_rows
        self._flush_lock = threading.Lock()  # one compaction or flush at a time
        self._pending: list[_Entry] = []
        self._pending_rows = 0  # in _pending and in _block
        self._block: _Block | None = None  # the open block of small requests
        self._compact_at = min(COMPACT_ROWS, max_rows)
        self._batches: list[Any] = []  # compacted, not yet written (under _flush_lock)
        self._batched_rows = 0
        self._unsent: Any = None  # a batch the sink refused, to retry
        self._pandas_metadata: dict[tuple[tuple[str, str], ...], Any] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name="loopml-prediction-logger", daemon=True
        )
        self._thread.start()

    def log(
        self,
        rows: Sequence[Mapping[str, Any]],
        ids: Sequence[str],
        predictions: Any,
        probabilities: Any,
        latency_ms: float,
        at: datetime,
        *,
        columns: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Buffer one request: ``rows[i]`` was answered ``predictions[i]`` under ``ids[i]``.

        ``probabilities`` is one value per row or None; ``at`` is the UTC time of the
        request; ``columns`` the same rows as one array per schema column, when the
        caller has them (the batch is then built from arrays, much faster). The
        arguments are kept by reference: do not mutate them afterwards. After
        ``close()`` the rows are written at once, on the caller's thread.
        """
        as_columns = columns is not None and self.schema is not None
        if as_columns:
            rows = ()  # the batch is built from the columns: the rows' objects can go now
        entry = _Entry(rows, ids, predictions, probabilities, float(latency_ms), at, columns)
        small = as_columns and len(ids) <= BLOCK_ROWS // 4
        with self._lock:
            if small:
                self._write_into_block(entry)
            else:
                self._seal_block()  # the rows stay in the order they were logged
                self._pending.append(entry)
            self._pending_rows += len(ids)
            compact = self._pending_rows >= self._compact_at
            closed = self._closed
        if closed:
            self.flush()
        elif compact:
            self._wake.set()

    def _write_into_block(self, entry: _Entry) -> None:
        """Copy a small request into the open block (a new one when it is full)."""
        if self._block is not None and not self._block.has_room(len(entry.ids)):
            self._seal_block()
        if self._block is None:
            assert self.schema is not None
            self._block = _Block(self.schema)
        self._block.add(entry)

    def _seal_block(self) -> None:
        """The open block becomes a pending entry (under ``_lock``)."""
        if self._block is not None:
            self._pending.append(self._block.entry())
            self._block = None

    @property
    def pending_rows(self) -> int:
        """Predictions accepted but not yet written (buffered or refused by the sink)."""
        with self._lock:
            buffered = self._pending_rows
        unsent = self._unsent
        return buffered + self._batched_rows + (0 if unsent is None else len(unsent))

    def flush(self) -> int:
        """Write everything buffered now; return the number of rows the sink accepted.

        A sink error is logged as a warning and the rows are kept for the next flush.
        """
        with self._flush_lock:
            self._compact()
            return self._write()

    def _compact(self) -> None:
        """The buffered requests as one more batch; the requests themselves are let go."""
        with self._lock:
            self._seal_block()
            entries, self._pending = self._pending, []
            self._pending_rows = 0
        if entries:
            batch = self._to_batch(entries)
            self._batches.append(batch)
            self._batched_rows += len(batch)

    def _write(self) -> int:
        """Hand every compacted batch (and one the sink refused before) to the sink."""
        batches = ([] if self._unsent is None else [self._unsent]) + self._batches
        self._batches, self._batched_rows = [], 0
        if not batches:
            return 0
        batch = batches[0] if len(batches) == 1 else _concat(batches)
        try:
            self.sink(batch)
        except Exception as exc:  # noqa: BLE001 - any sink failure keeps the rows
            self._unsent = batch
            log.warning(
                "prediction sink failed (%s: %s); keeping %d rows to retry",
                type(exc).__name__,
                exc,
                len(batch),
            )
            return 0
        self._unsent = None
        return len(batch)

    def close(self) -> None:
        """Stop the background thread and flush what is left. Safe to call twice.

        If the sink still fails, the rows stay in memory (see ``pending_rows``) and an
        error is logged with their number.
        """
        with self._lock:
            self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        self.flush()
        left = self.pending_rows
        if left:
            log.error("%d logged predictions could not be written: the sink keeps failing", left)

    def _run(self) -> None:
        written = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(max(0.0, written + self.flush_interval_s - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                with self._flush_lock:
                    self._compact()
                    due = time.monotonic() >= written + self.flush_interval_s
                    if due or self._batched_rows >= self.max_rows:
                        self._write()
                        written = time.monotonic()
            except Exception:  # noqa: BLE001 - the thread must survive a bad batch
                log.exception("prediction logger failed to build a batch")
            if self._unsent is not None:
                # The sink is failing: wait a whole interval before trying again rather
                # than retrying on every request that fills the buffer.
                self._stop.wait(self.flush_interval_s)

    def _to_batch(self, entries: list[_Entry]) -> Any:
        """A DataFrame, or an Arrow table for a sink with ``takes_arrow`` set."""
        arrow = getattr(self.sink, "takes_arrow", False)
        if self.schema is not None and all(e.columns is not None for e in entries):
            table = self._table_of_columns(entries, self.schema)
            return table if arrow else table.to_pandas()
        frame = self._frame_of_rows(entries)
        if not arrow:
            return frame
        import pyarrow as pa

        return pa.Table.from_pandas(frame, preserve_index=False)

    def _frame_of_columns(self, entries: list[_Entry], schema: Schema) -> pd.DataFrame:
        """The frame ``_frame_of_rows`` gives, from the entries' column arrays."""
        return self._table_of_columns(entries, schema).to_pandas()

    def _table_of_columns(self, entries: list[_Entry], schema: Schema) -> Any:
        """The batch as one Arrow table built from NumPy arrays (no per-row Python objects,
        no pandas), so that the thread holds the GIL as briefly as it can; its pandas
        metadata gives the dtypes ``_frame_of_rows`` has."""
        import pyarrow as pa

        n = sum(len(e.ids) for e in entries)
        columns: dict[str, Any] = {
            "prediction_id": pa.array([i for e in entries for i in e.ids], pa.string()),
            "predicted_at": pa.array(
                np.concatenate([_micros(e) for e in entries]), pa.timestamp("us", tz="UTC")
            ),
            **{name: pa.repeat(pa.scalar(value), n) for name, value in self.labels.items()},
            "latency_ms": np.concatenate([_latencies(e) for e in entries]),
        }
        for col in schema.columns:
            values = np.concatenate([e.columns[col.name] for e in entries])  # type: ignore[index]
            columns[col.name] = _arrow_feature(values, col.kind)
        predictions = np.concatenate([np.asarray(e.predictions) for e in entries])
        columns["prediction"] = pa.array(
            predictions.tolist() if predictions.dtype == object else predictions
        )
        if any(e.probabilities is not None for e in entries):
            columns["probability"] = np.concatenate(
                [
                    np.full(len(e.ids), np.nan)
                    if e.probabilities is None
                    else np.asarray(e.probabilities, dtype=np.float64)
                    for e in entries
                ]
            )
        table = pa.table(
            {
                k: pa.array(v, from_pandas=True) if isinstance(v, np.ndarray) else v
                for k, v in columns.items()
            }
        )
        key = tuple((f.name, str(f.type)) for f in table.schema)
        if key not in self._pandas_metadata:
            self._pandas_metadata[key] = _pandas_metadata(table, schema)
        return table.replace_schema_metadata(self._pandas_metadata[key])

    def _frame_of_rows(self, entries: list[_Entry]) -> pd.DataFrame:
        rows: list[Mapping[str, Any]] = []
        ids: list[str] = []
        micros: list[np.ndarray] = []
        latency: list[np.ndarray] = []
        predictions: list[Any] = []
        probabilities: list[Any] = []
        has_probability = False
        for entry in entries:
            n = len(entry.ids)
            rows.extend(entry.rows if entry.rows or entry.columns is None else _rows(entry))
            ids.extend(entry.ids)
            micros.append(_micros(entry))
            latency.append(_latencies(entry))
            predictions.extend(_as_list(entry.predictions))
            if entry.probabilities is None:
                probabilities.extend([None] * n)
            else:
                has_probability = True
                probabilities.extend(_as_list(entry.probabilities))
        names = self.schema.names() if self.schema is not None else _names_of(rows)
        features = pd.DataFrame.from_records(rows, columns=names)
        if self.schema is not None:
            features = _with_schema_dtypes(features, self.schema)
        head = pd.DataFrame(
            {
                "prediction_id": pd.array(ids, dtype="str"),
                "predicted_at": pd.to_datetime(np.concatenate(micros), unit="us", utc=True),
                **{name: [value] * len(ids) for name, value in self.labels.items()},
                "latency_ms": np.concatenate(latency),
            }
        )
        tail: dict[str, Any] = {"prediction": predictions}
        if has_probability:
            tail["probability"] = np.asarray(
                [np.nan if p is None else p for p in probabilities], dtype=np.float64
            )
        return pd.concat([head, features, pd.DataFrame(tail)], axis=1)


def _micros(entry: _Entry) -> np.ndarray:
    """Each row's request time, in microseconds since the epoch."""
    if isinstance(entry.at, np.ndarray):  # a block's
        return entry.at
    return np.full(len(entry.ids), (entry.at - _EPOCH) // _MICROSECOND, dtype=np.int64)


def _rows(entry: _Entry) -> list[dict[str, Any]]:
    """An entry's rows rebuilt from its columns (kept as columns only)."""
    assert entry.columns is not None
    names = list(entry.columns)
    return [
        dict(zip(names, values, strict=True))
        for values in zip(*entry.columns.values(), strict=True)
    ]


def _latencies(entry: _Entry) -> np.ndarray:
    return np.broadcast_to(np.asarray(entry.latency_ms, dtype=np.float64), (len(entry.ids),))


def _as_list(values: Any) -> list[Any]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _names_of(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def _with_schema_dtypes(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    columns: dict[str, Any] = {}
    for col in schema.columns:
        values = frame[col.name]
        if col.kind is ColumnKind.NUMERIC:
            columns[col.name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif col.kind is ColumnKind.BOOLEAN:
            columns[col.name] = values.astype("boolean")
        elif col.kind.has_categories:
            columns[col.name] = _category_column(values)
        else:  # datetime and text: the strings as they came
            columns[col.name] = values.astype("str")
    return pd.DataFrame(columns, index=frame.index)


def _category_column(values: pd.Series) -> pd.Series:
    """``category_strings(values)`` as str; strings and missing values as they are."""
    array = values.to_numpy()
    plain = values.dtype == object and set(map(type, array)) <= {str, float}
    if plain and all(isinstance(v, str) or v != v for v in array):  # text or NaN
        return values.astype("str")
    return category_strings(values).astype("str")


def _arrow_feature(values: np.ndarray, kind: ColumnKind) -> Any:
    """One feature column as Arrow, typed as ``_with_schema_dtypes`` types it."""
    import pyarrow as pa

    if kind is ColumnKind.NUMERIC:
        return np.asarray(values, dtype=np.float64)
    if kind is ColumnKind.BOOLEAN:
        return pa.array(values, pa.bool_(), from_pandas=True)
    try:  # strings and missing values (NaN, None) as they are: null for missing
        return pa.array(values, pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # a number or a boolean among them
        pass
    if kind.has_categories:
        values = category_strings(pd.Series(values)).to_numpy(dtype=object)
    else:
        values = pd.Series(values).astype("str").to_numpy(dtype=object)
    return pa.array(values, pa.string(), from_pandas=True)


def _pandas_metadata(table: Any, schema: Schema) -> Any:
    """The pandas metadata of ``table``'s frame (booleans as nullable ``boolean``), so that
    ``to_pandas`` and ``pd.read_parquet`` of it give the row-built frame's dtypes."""
    import pyarrow as pa

    empty = table.slice(0, 0).to_pandas()
    for col in schema.columns:
        if col.kind is ColumnKind.BOOLEAN:
            empty[col.name] = empty[col.name].astype("boolean")
    return pa.Schema.from_pandas(empty, preserve_index=False).metadata


def _concat(batches: list[Any]) -> Any:
    """One batch of several (all frames, or all Arrow tables)."""
    if isinstance(batches[0], pd.DataFrame):
        return pd.concat(batches, ignore_index=True)
    import pyarrow as pa

    return pa.concat_tables(batches, promote_options="default")
