"""Batch scoring, file to file, in chunks so that files larger than memory fit.

CSV and Parquet are read ``chunk_rows`` rows at a time (pandas' chunked CSV reader,
pyarrow's record batches) and written as they are scored; other formats are read whole.
The output appears only once it is complete (written beside it, then renamed).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.errors import DataError
from loopml.model.bundle import ModelBundle

Progress = Callable[[int, int | None], None]
"""Called after each chunk with (rows scored so far, total rows when known)."""

OUTPUT_SUFFIXES = (".csv", ".parquet")


def score_file(
    bundle: ModelBundle,
    source: Path,
    output: Path,
    *,
    chunk_rows: int = 100_000,
    progress: Progress | None = None,
    where: str = "",
) -> int:
    """Score every row of ``source`` into ``output``; return the number of rows.

    The output holds the input columns, ``prediction`` and (binary classification)
    ``probability``.

    Raises:
        DataError: an output that is not .csv or .parquet, or a source lacking columns
            the model needs (named, with the columns the file has).
    """
    from loopml.data.ingest import clean_column_names

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
            writer.write(_scored(bundle, frame))
            done += len(frame)
            if progress is not None:
                progress(done, total)
        writer.close()
        os.replace(tmp, output)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return done


def _scored(bundle: ModelBundle, frame: pd.DataFrame) -> pd.DataFrame:
    prediction = bundle.predict(frame)
    out = frame.copy()
    out["prediction"] = prediction.predictions
    if prediction.probabilities is not None and prediction.probabilities.ndim == 1:
        out["probability"] = prediction.probabilities
    return out


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
