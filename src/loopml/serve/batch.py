"""Batch scoring, file to file, in chunks so that files larger than memory fit.

CSV and Parquet are read ``chunk_rows`` rows at a time (pandas' chunked CSV reader,
pyarrow's record batches) and written as they are scored; other formats are read whole.
The output appears only once it is complete (written beside it, then renamed).

Every row is checked against the model's signature first (``loopml.model.checks``, as
the server and ``load_model`` check): a refused row keeps its place in the output with
no prediction, an imputed value is blanked for the model's imputation, and the report
names every problem by row, column, rule and value.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import DataError
from loopml.model.bundle import ModelBundle
from loopml.model.checks import InputChecker, InputPolicy, InputReport, merged

Progress = Callable[[int, int | None], None]
"""Called after each chunk with (rows scored so far, total rows when known)."""

OUTPUT_SUFFIXES = (".csv", ".parquet")


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
) -> BatchResult:
    """Check and score every row of ``source`` into ``output`` (see the module docstring).

    The output holds the input columns, ``prediction`` and (binary classification)
    ``probability``; both are empty for a refused row.

    Raises:
        DataError: an output that is not .csv or .parquet, or a source lacking columns
            the model needs (named, with the columns the file has).
    """
    from loopml.data.ingest import clean_column_names

    checker = InputChecker(bundle.signature, policy)
    reports: list[InputReport] = []

    suffix = output.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise DataError(f"{output}: write predictions to a .csv or .parquet file")
    total = _row_count(source)
    done = 0
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    writer = _Writer(tmp, suffix)
    try:
        for chunk in _chunks(source, chunk_rows):
            frame, _ = clean_column_names(chunk)
            _check_columns(bundle, frame, source, where)
            checked, report = checker.check_frame(frame, bundle.cleaner)
            reports.append(report.shifted(done))
            writer.write(_scored(bundle, frame, checked, report.refused_rows))
            done += len(frame)
            if progress is not None:
                progress(done, total)
        writer.close()
        os.replace(tmp, output)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return BatchResult(done, merged(reports))


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


def _scored(
    bundle: ModelBundle, frame: pd.DataFrame, checked: pd.DataFrame, refused: list[int]
) -> pd.DataFrame:
    """``frame`` (the rows as read) with the predictions for ``checked`` (the same rows
    as the check left them), none for the ``refused`` positions."""
    out = frame.copy()
    keep = np.ones(len(frame), dtype=bool)
    keep[refused] = False
    if bundle.task == "classification" and len(bundle.classes or []) == 2:
        out["probability"] = np.nan
    out["prediction"] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if keep.any():
        prediction = bundle.predict(checked[keep])
        labels = np.asarray(prediction.predictions)
        if refused:
            out.loc[keep, "prediction"] = labels
        else:
            out["prediction"] = labels
        if prediction.probabilities is not None and prediction.probabilities.ndim == 1:
            out.loc[keep, "probability"] = prediction.probabilities
    bounds = _interval_columns(bundle, out, keep)
    extra = ["probability"] if "probability" in out else bounds
    return out[[*frame.columns, "prediction", *extra]]


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


def _check_columns(bundle: ModelBundle, frame: pd.DataFrame, source: Path, where: str) -> None:
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


def _row_count(source: Path) -> int | None:
    if _kind(source) == "parquet" and source.is_file():
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(source).metadata.num_rows)
    return None


def _chunks(source: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if not source.exists():
        raise DataError(f"{source}: no such file")
    kind = _kind(source)
    if kind == "csv":
        yield from pd.read_csv(source, chunksize=chunk_rows)
    elif kind == "parquet" and source.is_file():
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(source).iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
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
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.path, table.schema)
        self._parquet.write_table(table.cast(self._parquet.schema))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._parquet is not None:
            self._parquet.close()
        elif self.suffix == ".parquet":
            pd.DataFrame().to_parquet(self.path)  # no rows: still a readable file
