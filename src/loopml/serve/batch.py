"""Batch scoring, file to file, in chunks so that files larger than memory fit.

CSV and Parquet are read ``chunk_rows`` rows at a time (pandas' chunked CSV reader, whose
types are inferred per chunk so that text deep in a numeric column is one refused row;
pyarrow's record batches for Parquet) and written as they are scored (a ParquetWriter or
CSV appends), so memory holds one chunk, never the file; other formats are read whole.
The output appears only once it is complete (written beside it, then renamed). The next
chunk is read and the last one written in threads while one is scored (pyarrow reads and
writes, and the tree kernel scores, without the GIL); an all-float Parquet file bound for
a Parquet output skips the pandas frame (``loopml.serve.columnar``), with the same output.

A model that compiles whole for the model server's array path (``loopml.serve.arrays``:
the cleaning, the feature transform and a tree, forest or linear estimator, with no
step left to scikit-learn) scores through it, its rows cut into one slice per core
scored in threads (the tree kernel releases the GIL); any other model through the
bundle's own ``predict``. Both give the same answers.

Every row is checked against the model's signature first (``loopml.model.checks``, as
the server and ``load_model`` check): a refused row keeps its place in the output with
no prediction, an imputed value is blanked for the model's imputation, and the report
names every problem by row, column, rule and value.
"""

from __future__ import annotations

import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from loopml.compute.executor import available_cores
from loopml.compute.parts import count_rows, read_batches
from loopml.domain import ColumnKind
from loopml.errors import DataError
from loopml.model.bundle import ModelBundle, Prediction
from loopml.model.checks import InputChecker, InputPolicy, InputReport, merged
from loopml.serve.columnar import ArrowPlan, arrow_plan, parquet_schema, score_batch

Progress = Callable[[int, int | None], None]
"""Called after each chunk with (rows scored so far, total rows when known)."""

OUTPUT_SUFFIXES = (".csv", ".parquet")
MIN_SLICE_ROWS = 20_000  # rows below this are scored in one thread
IN_FLIGHT = 2  # chunks scored at once
T = TypeVar("T")


@dataclass(frozen=True)
class BatchResult:
    """Rows read, and what the input check found (``report.refused_rows`` got no
    prediction)."""

    rows: int
    report: InputReport

    @property
    def scored(self) -> int:
        return self.rows - len(self.report.refused_rows)


def score_file(
    bundle: ModelBundle,
    source: Path,
    output: Path,
    *,
    chunk_rows: int = 100_000,
    progress: Progress | None = None,
    where: str = "",
) -> int:
    """``score_checked`` under the default policy; returns the number of rows."""
    result = score_checked(
        bundle, source, output, chunk_rows=chunk_rows, progress=progress, where=where
    )
    return result.rows


def score_checked(
    bundle: ModelBundle,
    source: Path,
    output: Path,
    *,
    policy: InputPolicy | None = None,
    chunk_rows: int = 100_000,
    progress: Progress | None = None,
    where: str = "",
    threads: int | None = None,
) -> BatchResult:
    """Check and score every row of ``source`` into ``output`` (see the module docstring).

    The output holds the input columns, ``prediction`` and (binary classification)
    ``probability``; both are empty for a refused row. ``threads`` (default: the
    available cores) score slices of a chunk at once on the array path.

    Raises:
        DataError: an output that is not .csv or .parquet, or a source lacking columns
            the model needs (named, with the columns the file has).
    """
    checker = InputChecker(bundle.signature, policy)
    predictor = Predictor(bundle, threads)
    suffix = output.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise DataError(f"{output}: write predictions to a .csv or .parquet file")
    total = count_rows(source) if _kind(source) == "parquet" and source.is_file() else None
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    writer = _Writer(tmp, suffix)
    plan = _arrow_plan(predictor, source, suffix)

    def score(chunk: Any, first_row: int) -> tuple[Any, InputReport]:
        if plan is not None:
            return score_batch(predictor, checker, plan, chunk, first_row=first_row)
        return score_chunk(
            predictor, checker, chunk, first_row=first_row, source=source, where=where
        )

    try:
        chunks = _read_ahead(_chunks(source, chunk_rows, arrow=plan is not None))
        width = IN_FLIGHT if predictor.compiled else 1  # a library's own predict: one at a time
        write = writer.write if plan is None else writer.write_table
        done, reports = _written(_in_order(score, chunks, width), write, progress, total)
        writer.close()
        os.replace(tmp, output)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return BatchResult(done, merged(reports))


def _written(
    scored: Iterator[tuple[Any, InputReport]],
    write: Callable[[Any], None],
    progress: Progress | None,
    total: int | None,
) -> tuple[int, list[InputReport]]:
    """Each of the ``scored`` chunks passed to ``write`` in a thread (one written while
    the next ones are scored), in order; the rows written and the chunks' reports."""
    reports: list[InputReport] = []
    done = 0
    with ThreadPoolExecutor(1, thread_name_prefix="loopml-write") as writes:
        pending: Future[None] | None = None
        for chunk, report in scored:
            reports.append(report)
            if pending is not None:
                pending.result()
            pending = writes.submit(write, chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        if pending is not None:
            pending.result()
    return done, reports


def score_chunk(
    predictor: Predictor,
    checker: InputChecker,
    chunk: pd.DataFrame,
    *,
    first_row: int = 0,
    source: Path | str = "",
    where: str = "",
) -> tuple[pd.DataFrame, InputReport]:
    """One chunk of ``source`` (its rows from ``first_row``) checked and scored: the
    scored rows (names cleaned, as ``score_checked`` writes them) and the problems
    found, their rows numbered in the file.

    Raises:
        DataError: the chunk lacks columns the model needs (named, with those it has).
    """
    from loopml.data.ingest import clean_column_names

    bundle = predictor.bundle
    frame, _ = clean_column_names(chunk)
    _check_columns(bundle, frame, source, where)
    checked, report = checker.check_frame(frame, bundle.cleaner)
    scored = _scored(predictor, frame, checked, report.refused_rows)
    return scored, report.shifted(first_row)


def write_problems(report: InputReport, path: Path) -> Path:
    """Write ``report``'s problems to ``path`` (.csv or .parquet): row (0-based, in the
    input file), column, rule, value (as text) and action; an empty table when clean."""
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise DataError(f"{path}: write the errors to a .csv or .parquet file")
    path.parent.mkdir(parents=True, exist_ok=True)
    table = report.to_frame()
    if suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    return path


class Predictor:
    """``bundle.predict`` for checked rows, through the array path when the whole model
    compiles (see the module docstring); ``compiled`` says which. Rows are cut into at
    most ``threads`` slices of at least ``min_slice_rows``."""

    def __init__(
        self, bundle: ModelBundle, threads: int | None = None, min_slice_rows: int = MIN_SLICE_ROWS
    ) -> None:
        from loopml.serve.arrays import compile_bundle
        from loopml.serve.estimators import warm_up

        self.bundle = bundle
        model = compile_bundle(bundle)
        self._model = None if model.whole_frame or model.fallbacks else model
        self._threads = max(1, threads or available_cores())
        self._min_slice_rows = max(1, min_slice_rows)
        self._kinds = {c.name: c.kind for c in bundle.signature.columns}
        if self._model is not None:
            warm_up(wait=True)  # the tree kernel, not NumPy, for every chunk

    @property
    def compiled(self) -> bool:
        return self._model is not None

    def predict(self, checked: pd.DataFrame) -> Prediction:
        """The prediction for ``checked`` (clean names, as ``InputChecker`` left them)."""
        if self._model is None:
            return self.bundle.predict(checked)
        columns = {name: _column(checked[name], kind) for name, kind in self._kinds.items()}
        return self.predict_columns(columns)

    def predict_columns(self, columns: dict[str, np.ndarray]) -> Prediction:
        """The prediction for checked ``columns`` as the array path takes them (every
        signature column: float64 numbers, else objects with NaN for missing), their rows
        scored in slices on threads; only when ``compiled``."""
        assert self._model is not None, "predict_columns needs a compiled model"
        rows = len(next(iter(columns.values())))
        slices = _slices(rows, self._threads, self._min_slice_rows)
        if len(slices) == 1:
            return self._model.predict_columns(columns)
        model = self._model
        with ThreadPoolExecutor(len(slices)) as pool:
            parts = list(
                pool.map(lambda s: model.predict_columns({k: v[s] for k, v in columns.items()}),
                         slices)
            )  # fmt: skip
        probabilities = [p.probabilities for p in parts]
        return Prediction(
            np.concatenate([p.predictions for p in parts]),
            None if probabilities[0] is None else np.concatenate(probabilities),  # type: ignore[arg-type]
        )


def _column(values: pd.Series, kind: ColumnKind) -> np.ndarray:
    """A checked column as the array path takes it: float64 numbers, else objects with
    NaN for missing."""
    if kind is ColumnKind.NUMERIC and values.dtype.kind in "fiub":
        return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan))
    array = values.to_numpy(dtype=object)
    missing = pd.isna(array)
    if missing.any():
        array[missing] = np.nan
    return np.asarray(array)


def _slices(rows: int, threads: int, min_rows: int) -> list[slice]:
    """``rows`` cut into at most ``threads`` slices of at least ``min_rows``."""
    count = max(1, min(threads, rows // min_rows))
    bounds = np.linspace(0, rows, count + 1).astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _scored(
    predictor: Predictor, frame: pd.DataFrame, checked: pd.DataFrame, refused: list[int]
) -> pd.DataFrame:
    """``frame`` (the rows as read) with the predictions for ``checked`` (the same rows
    as the check left them), none for the ``refused`` positions."""
    keep = kept_rows(len(frame), refused)
    rows = checked[keep] if refused else checked
    extra = prediction_columns(predictor.bundle, frame.index, keep, lambda: predictor.predict(rows))
    out = frame.copy(deep=False)  # new columns only: the rows as read are not changed
    for name in extra.columns:
        out[name] = extra[name]
    return out[[*frame.columns, *extra.columns]]


def kept_rows(rows: int, refused: list[int]) -> np.ndarray:
    """A mask of the ``rows`` positions that are scored (not ``refused``)."""
    keep = np.ones(rows, dtype=bool)
    keep[refused] = False
    return keep


def prediction_columns(
    bundle: ModelBundle, index: pd.Index, keep: np.ndarray, predict: Callable[[], Prediction]
) -> pd.DataFrame:
    """The columns a scored chunk adds, on ``index``: ``prediction`` and (binary
    classification) ``probability`` or (a conformal interval) its bounds, empty where
    ``keep`` is False; ``predict()`` gives the prediction of the kept rows."""
    out = pd.DataFrame(index=index)
    if bundle.task == "classification" and len(bundle.classes or []) == 2:
        out["probability"] = np.nan
    every = keep.size > 0 and bool(keep.all())
    if not every:  # (every row scored: the labels alone make the column)
        out["prediction"] = pd.Series([None] * len(index), index=index, dtype=object)
    if keep.any():
        prediction = predict()
        labels = np.asarray(prediction.predictions)
        if every:
            out["prediction"] = labels
        else:
            out.loc[keep, "prediction"] = labels
        if prediction.probabilities is not None and prediction.probabilities.ndim == 1:
            out.loc[keep, "probability"] = prediction.probabilities
    bounds = _interval_columns(bundle, out, keep)
    extra = ["probability"] if "probability" in out else bounds
    return out[["prediction", *extra]]


def _interval_columns(bundle: ModelBundle, out: pd.DataFrame, keep: np.ndarray) -> list[str]:
    """A regressor with a conformal interval (``info["interval"]``): its bounds as
    ``prediction_low`` and ``prediction_high`` beside ``prediction`` (empty for a refused
    row); the names of the columns added."""
    if bundle.task != "regression" or not bundle.info.get("interval"):
        return []
    out["prediction_low"] = out["prediction_high"] = np.nan
    if keep.any():
        predictions = out.loc[keep, "prediction"].to_numpy(dtype=float)
        low, high = bundle.predict_interval(predictions) or (predictions, predictions)
        out.loc[keep, "prediction_low"], out.loc[keep, "prediction_high"] = low, high
    return ["prediction_low", "prediction_high"]


def _check_columns(
    bundle: ModelBundle, frame: pd.DataFrame, source: Path | str, where: str
) -> None:
    missing = [c for c in bundle.feature_names if c not in frame.columns]
    if missing:
        model = f" that {where}" if where else " the model"
        raise DataError(
            f"{source}: columns {missing}{model} needs are missing; "
            f"the file has {list(frame.columns)}"
        )


def _kind(source: Path) -> str:
    name = source.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith(".parquet") or source.is_dir():
        return "parquet"
    return "other"


def _arrow_plan(predictor: Predictor, source: Path, suffix: str) -> ArrowPlan | None:
    """The plan to score ``source`` straight from Arrow (``loopml.serve.columnar``):
    a Parquet file to a Parquet output whose columns and model allow it; else None."""
    if suffix != ".parquet" or _kind(source) != "parquet" or not source.is_file():
        return None
    schema = parquet_schema(source)
    return None if schema is None else schema_plan(predictor, schema)


def schema_plan(predictor: Predictor, schema: Any) -> ArrowPlan | None:
    """``columnar.arrow_plan`` for batches of the pyarrow ``schema`` (their columns
    under clean names, as ``score_chunk`` names them); None: score them the pandas way."""
    from loopml.data.ingest import clean_column_names

    clean, _ = clean_column_names(pd.DataFrame(columns=schema.names))
    return arrow_plan(predictor, schema, [str(name) for name in clean.columns])


def _in_order(
    score: Callable[[Any, int], tuple[Any, InputReport]], chunks: Iterator[Any], width: int
) -> Iterator[tuple[Any, InputReport]]:
    """``score(chunk, first_row)`` of each of ``chunks``, in order, up to ``width`` chunks
    scored at once in threads (the GIL-bound work of one beside the kernel of another)."""
    with ThreadPoolExecutor(width, thread_name_prefix="loopml-score") as pool:
        waiting: deque[Future[tuple[Any, InputReport]]] = deque()
        first_row = 0
        for chunk in chunks:
            waiting.append(pool.submit(score, chunk, first_row))
            first_row += len(chunk)
            if len(waiting) >= width:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()


def _read_ahead(chunks: Iterator[T]) -> Iterator[T]:
    """``chunks``, the next one read in a thread while this one is scored (pyarrow's
    reader releases the GIL): one chunk ahead, so memory holds two."""
    end: Any = object()
    with ThreadPoolExecutor(1, thread_name_prefix="loopml-read") as pool:
        ahead = pool.submit(next, chunks, end)
        while True:
            chunk = ahead.result()
            if chunk is end:
                return
            ahead = pool.submit(next, chunks, end)
            yield chunk


def _chunks(source: Path, chunk_rows: int, *, arrow: bool = False) -> Iterator[Any]:
    """``source`` in chunks: pandas frames, or (``arrow``, a Parquet file) record batches."""
    if not source.exists():
        raise DataError(f"{source}: no such file")
    kind = _kind(source)
    if kind == "csv":
        yield from pd.read_csv(source, chunksize=chunk_rows)
    elif kind == "parquet" and source.is_file():
        for batch in read_batches(source, chunk_rows):
            yield batch if arrow else batch.to_pandas()
    else:
        from loopml.data.ingest import read_source

        yield read_source(source)


class _Writer:
    """Appends scored chunks to a CSV or Parquet file."""

    def __init__(self, path: Path, suffix: str) -> None:
        self.path = path
        self.suffix = suffix
        self._parquet: Any = None
        self._header = True
        self._closed = False

    def write(self, frame: pd.DataFrame) -> None:
        if self.suffix == ".csv":
            frame.to_csv(
                self.path, mode="w" if self._header else "a", header=self._header, index=False
            )
            self._header = False
            return
        import pyarrow as pa

        self.write_table(pa.Table.from_pandas(frame, preserve_index=False))

    def write_table(self, table: Any) -> None:
        """Append a pyarrow Table to a Parquet output (cast to the first one's schema)."""
        import pyarrow.parquet as pq

        if self._parquet is None:
            self._parquet = pq.ParquetWriter(
                self.path, table.schema, use_dictionary=_dictionary_columns(table.schema)
            )
        self._parquet.write_table(table.cast(self._parquet.schema))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._parquet is not None:
            self._parquet.close()
        elif self.suffix == ".parquet":
            pd.DataFrame().to_parquet(self.path)  # no rows: still a readable file


def _dictionary_columns(schema: Any) -> list[str]:
    """The text and boolean columns: dictionary-encoded (a few distinct values); numbers
    are not (a dictionary of distinct floats costs several times the rest of the write)."""
    import pyarrow as pa

    return [
        field.name
        for field in schema
        if pa.types.is_string(field.type)
        or pa.types.is_large_string(field.type)
        or pa.types.is_dictionary(field.type)
        or pa.types.is_boolean(field.type)
    ]
