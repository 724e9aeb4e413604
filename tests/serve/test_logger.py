"""PredictionLogger: batches by time and by size, flushes on close, survives a bad sink."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.domain import ColumnKind, ColumnSchema, Schema
from loopml.serve.logger import BLOCK_ROWS, COMPACT_ROWS, PredictionLogger

SCHEMA = Schema(
    (
        ColumnSchema("x", ColumnKind.NUMERIC, "float64"),
        ColumnSchema("color", ColumnKind.CATEGORICAL, "str"),
        ColumnSchema("flag", ColumnKind.BOOLEAN, "bool"),
    )
)


class Sink:
    """Collects frames; fails while ``failing`` is set."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []
        self.failing = False
        self.calls = 0
        self.delivered = threading.Event()

    def __call__(self, frame: pd.DataFrame) -> None:
        self.calls += 1
        if self.failing:
            raise OSError("disk full")
        self.frames.append(frame)
        self.delivered.set()

    @property
    def ids(self) -> list[str]:
        return [i for frame in self.frames for i in frame["prediction_id"]]


def log_request(logger: PredictionLogger, n: int, start: int = 0) -> list[str]:
    rows = [{"color": "red", "x": float(i), "flag": i % 2 == 0} for i in range(start, start + n)]
    ids = [f"id{i}" for i in range(start, start + n)]
    logger.log(
        rows, ids, np.array(["a"] * n, dtype=object), np.full(n, 0.25), 1.5, datetime.now(UTC)
    )
    return ids


def log_columns(logger: PredictionLogger, n: int, start: int, with_columns: bool = True) -> None:
    """``n`` rows, ids ``id<start>``...; latency ``start`` ms, time ``start`` s after 2026."""
    x = np.arange(start, start + n, dtype=np.float64)
    colors = np.array([f"c{i % 3}" for i in range(start, start + n)], dtype=object)
    flags = np.array([i % 2 == 0 for i in range(start, start + n)], dtype=object)
    rows = [{"x": a, "color": c, "flag": f} for a, c, f in zip(x, colors, flags, strict=True)]
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=start)
    probabilities = None if start % 7 == 0 else x / 1000
    columns = {"x": x, "color": colors, "flag": flags} if with_columns else None
    ids = [f"id{i}" for i in range(start, start + n)]
    predictions = np.array([f"p{i}" for i in range(start, start + n)], dtype=object)
    logger.log(rows, ids, predictions, probabilities, float(start), at, columns=columns)


def test_small_requests_are_copied_into_blocks_and_keep_their_order() -> None:
    sink = Sink()
    logger = PredictionLogger(sink, flush_interval_s=60, max_rows=10**6, schema=SCHEMA)
    sizes = [1, 3, 1, 200, 2, 1] * 30 + [1] * (2 * BLOCK_ROWS)  # blocks fill and seal
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()
    for i, (start, n) in enumerate(zip(starts, sizes, strict=True)):
        log_columns(logger, n, start, with_columns=i % 50 != 7)  # a few without columns
    logger.close()
    frame = pd.concat(sink.frames, ignore_index=True)
    rows = sum(sizes)
    assert frame["prediction_id"].tolist() == [f"id{i}" for i in range(rows)]
    assert frame["x"].tolist() == list(range(rows))
    assert frame["color"].tolist() == [f"c{i % 3}" for i in range(rows)]
    assert frame["flag"].tolist() == [i % 2 == 0 for i in range(rows)]
    assert frame["prediction"].tolist() == [f"p{i}" for i in range(rows)]
    start_of = np.repeat(starts, sizes)  # each row's request
    assert frame["latency_ms"].tolist() == start_of.astype(float).tolist()
    offsets = (frame["predicted_at"] - pd.Timestamp("2026-01-01", tz="UTC")).dt.total_seconds()
    assert offsets.tolist() == start_of.astype(float).tolist()
    without = start_of % 7 == 0
    assert frame["probability"][without].isna().all()
    assert frame["probability"][~without].tolist() == (np.arange(rows)[~without] / 1000).tolist()


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_flushes_on_the_interval() -> None:
    sink = Sink()
    logger = PredictionLogger(sink, flush_interval_s=0.05, max_rows=1000, schema=SCHEMA)
    ids = log_request(logger, 3)
    assert sink.delivered.wait(5)
    assert sink.ids == ids
    frame = sink.frames[0]
    assert list(frame.columns) == [
        "prediction_id",
        "predicted_at",
        "latency_ms",
        "x",
        "color",
        "flag",
        "prediction",
        "probability",
    ]
    assert frame["x"].dtype == "float64"
    assert frame["flag"].tolist() == [True, False, True]
    assert frame["probability"].tolist() == [0.25] * 3
    assert frame["latency_ms"].tolist() == [1.5] * 3
    logger.close()


def test_flushes_when_max_rows_is_reached() -> None:
    sink = Sink()
    logger = PredictionLogger(sink, flush_interval_s=60, max_rows=10, schema=SCHEMA)
    first = log_request(logger, 4)
    time.sleep(0.1)
    assert sink.frames == []  # below max_rows, long interval: still buffered
    assert logger.pending_rows == 4
    second = log_request(logger, 6, start=4)
    assert sink.delivered.wait(5)
    assert sink.ids == first + second
    logger.close()


def test_requests_are_compacted_long_before_the_flush() -> None:
    sink = Sink()
    logger = PredictionLogger(sink, flush_interval_s=60, max_rows=1000, schema=SCHEMA)
    ids = [i for start in range(0, 300, 3) for i in log_request(logger, 3, start=start)]
    wait_for(lambda: logger._pending_rows < COMPACT_ROWS)  # compacted into batches
    assert sink.frames == [] and logger.pending_rows == 300  # none written, none lost
    logger.close()
    assert sink.ids == ids


def test_close_flushes_the_rest_and_later_logs_are_written_at_once() -> None:
    sink = Sink()
    logger = PredictionLogger(sink, flush_interval_s=60, max_rows=1000)
    ids = log_request(logger, 5)
    logger.close()
    assert sink.ids == ids
    assert logger.pending_rows == 0
    late = log_request(logger, 1, start=5)
    assert sink.ids == ids + late
    logger.close()  # twice is fine


def test_without_schema_columns_follow_the_rows() -> None:
    sink = Sink()
    logger = PredictionLogger(sink, flush_interval_s=60)
    logger.log([{"b": 1, "a": "x"}], ["id0"], ["yes"], None, 2.0, datetime.now(UTC))
    logger.close()
    frame = sink.frames[0]
    assert list(frame.columns) == [
        "prediction_id",
        "predicted_at",
        "latency_ms",
        "b",
        "a",
        "prediction",
    ]


def test_a_failing_sink_keeps_rows_until_it_recovers(caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink()
    sink.failing = True
    logger = PredictionLogger(sink, flush_interval_s=0.05, max_rows=1000, schema=SCHEMA)
    with caplog.at_level(logging.WARNING, logger="loopml.serve"):
        first = log_request(logger, 3)
        wait_for(lambda: sink.calls >= 1)
        second = log_request(logger, 2, start=3)
        wait_for(lambda: sink.calls >= 2)
    assert sink.frames == []
    assert logger.pending_rows == 5
    assert any("disk full" in r.getMessage() for r in caplog.records)
    sink.failing = False
    assert sink.delivered.wait(5)
    logger.close()
    assert sorted(sink.ids) == sorted(first + second)
    assert logger.pending_rows == 0


def test_close_reports_rows_it_could_not_write(caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink()
    sink.failing = True
    logger = PredictionLogger(sink, flush_interval_s=60)
    log_request(logger, 2)
    with caplog.at_level(logging.WARNING, logger="loopml.serve"):
        logger.close()
    assert logger.pending_rows == 2
    assert any(
        "2 logged predictions could not be written" in r.getMessage() for r in caplog.records
    )


def test_concurrent_logging_loses_nothing() -> None:
    sink = Sink()
    logger = PredictionLogger(sink, flush_interval_s=0.01, max_rows=50, schema=SCHEMA)
    threads = [threading.Thread(target=log_request, args=(logger, 10, 10 * k)) for k in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logger.close()
    assert sorted(sink.ids) == sorted(f"id{i}" for i in range(400))


@pytest.mark.parametrize(("interval", "rows"), [(0, 10), (1.0, 0)])
def test_rejects_bad_settings(interval: float, rows: int) -> None:
    with pytest.raises(ValueError):
        PredictionLogger(Sink(), flush_interval_s=interval, max_rows=rows)


def test_categories_are_written_as_training_stores_them() -> None:
    sink = Sink()
    logger = PredictionLogger(sink, flush_interval_s=60, schema=SCHEMA)
    rows = [{"x": 1, "color": 2.0, "flag": None}, {"x": None, "color": None, "flag": False}]
    logger.log(rows, ["a", "b"], ["p", "q"], None, 1.0, datetime.now(UTC))
    logger.close()
    frame = sink.frames[0]
    assert frame["color"].tolist()[0] == "2" and pd.isna(frame["color"].tolist()[1])
    assert frame["x"].isna().tolist() == [False, True]
    assert "probability" not in frame.columns


def test_batches_built_from_columns_equal_those_built_from_rows() -> None:
    """The server hands the logger column arrays; the Parquet batch must not change."""
    from datetime import timedelta

    from loopml.serve.logger import _Entry
    from loopml.serve.validate import Validator

    from .conftest import JOBS, make_classifier

    bundle = make_classifier()
    labels = {"model_name": "bank", "model_version": 2, "shadow": False}
    logger = PredictionLogger(lambda f: None, 60, 10**9, schema=bundle.signature, labels=labels)
    validator = Validator(bundle.signature)
    entries = []
    for k in range(3):
        rows = [
            {
                "age": 20.0 + i,
                "balance": None if i % 3 == 0 else 5,
                "job": JOBS[i % 3] if i % 4 else 7,
            }
            for i in range(5)
        ]
        columns = validator.columns_of(rows)
        result = bundle.predict(pd.DataFrame(columns))
        at = datetime.now(UTC) + timedelta(seconds=k)
        probabilities = None if k == 1 else result.probabilities
        ids = [f"id{k}{i}" for i in range(5)]
        entries.append(_Entry(rows, ids, result.predictions, probabilities, 1.5 + k, at, columns))
    from_columns = logger._frame_of_columns(entries, bundle.signature)
    pd.testing.assert_frame_equal(from_columns, logger._frame_of_rows(entries))
    assert from_columns["job"].tolist()[:5] == ["7", "blue-collar", "student", "admin", "7"]
    assert from_columns["probability"].isna().sum() == 5
    logger.close()


def test_columns_and_rows_agree_for_every_kind_of_column(tmp_path: Path) -> None:
    """Booleans, text and mixed categories with nulls: the Arrow-built batch keeps the
    dtypes and values the row-built one has."""
    from loopml.serve.logger import _Entry
    from loopml.serve.sink import folder_sink, load_folder_predictions
    from loopml.serve.validate import Validator

    schema = Schema(
        (
            *SCHEMA.columns,
            ColumnSchema("note", ColumnKind.TEXT, "str", nullable=True),
            ColumnSchema("size", ColumnKind.CATEGORICAL, "str", nullable=True),
        )
    )
    logger = PredictionLogger(lambda f: None, 60, 10**9, schema=schema, labels={"v": 3})
    rows = [
        {
            "x": float(i) if i % 4 else None,
            "color": ["red", 2, 3.0, None][i % 4],
            "flag": [True, False, None][i % 3],
            "note": None if i % 5 == 0 else f"note {i}",
            "size": "big" if i % 2 else None,
        }
        for i in range(12)
    ]
    columns = Validator(schema).columns_of(rows)
    ids = [f"id{i}" for i in range(12)]
    at = datetime.now(UTC)
    labels = np.array([True, False] * 6)
    entry = _Entry(rows, ids, labels, np.linspace(0, 1, 12), 2.0, at, columns)
    from_columns = logger._frame_of_columns([entry], schema)
    from_rows = logger._frame_of_rows([entry])
    pd.testing.assert_frame_equal(from_columns, from_rows)
    assert from_columns["color"].tolist()[1:3] == ["2", "3"]
    assert from_columns["flag"].isna().sum() == 4 and str(from_columns["flag"].dtype) == "boolean"
    logger.close()
    # the Arrow batch an Arrow sink writes reads back as the frame written by pandas
    folder = tmp_path / "log"
    sink = folder_sink(folder, "m")
    sink(logger._table_of_columns([entry], schema))
    sink(from_rows)
    first, second = (pd.read_parquet(f) for f in sorted(folder.glob("*.parquet")))
    pd.testing.assert_frame_equal(first, second)
    assert len(load_folder_predictions(folder)) == 24


def test_log_files_keep_time_statistics_for_readers_that_filter_by_time(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from loopml.serve.sink import folder_sink, load_folder_predictions

    logger = PredictionLogger(folder_sink(tmp_path, "m-1"), flush_interval_s=60, schema=SCHEMA)
    for start in range(0, 300, 3):
        log_columns(logger, 3, start)
    logger.close()
    (path,) = tmp_path.glob("*.parquet")
    column = pq.ParquetFile(path).schema_arrow.get_field_index("predicted_at")
    stats = pq.ParquetFile(path).metadata.row_group(0).column(column).statistics
    assert stats is not None and stats.has_min_max
    assert stats.min == pd.Timestamp("2026-01-01", tz="UTC")
    assert stats.max == pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(seconds=297)
    frame = load_folder_predictions(tmp_path)
    assert frame["prediction_id"].tolist() == [f"id{i}" for i in range(300)]
    assert frame["color"].tolist() == [f"c{i % 3}" for i in range(300)]
