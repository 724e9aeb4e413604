"""A source file larger than memory to a Parquet snapshot, streamed: never held whole.

``write_parquet`` reads a CSV or Parquet file in bounded batches (``loopml.compute.parts``:
pyarrow's streaming CSV reader, Parquet row groups), gives the columns their clean names
(``clean_column_names``) and appends each batch to a ParquetWriter on a temporary file
beside the output, renamed into place only once complete. The first batch fixes the
types; a later batch is cast to them, and one that cannot be (text in a column that
started as numbers) is a DataError naming the file, the column and the rows.
``snapshot_file`` does that into a temporary folder and puts the file in the artifact
store, which hashes it while copying: the snapshot's id is its sha256, as for the
in-memory ingest.

The lifecycle's ingest uses ``write_parquet`` per file with ``data.sample``
(``data/sources/streamed.py``): the full snapshot is streamed, and validation, cleaning
and training get a seeded sample of it; without it the ingest step combines sources in
memory as one table.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.compute.parts import CHUNK_ROWS, CSV_BLOCK_BYTES, read_batches, schema_of
from loopml.data.ingest import clean_column_names
from loopml.domain import ArtifactRef
from loopml.errors import DataError
from loopml.storage.artifacts.protocols import ArtifactStore

Progress = Callable[[int, int | None], None]
"""Called after each batch with (rows written so far, total rows when known)."""


@dataclass(frozen=True)
class StreamedSnapshot:
    """A snapshot written batch by batch: its artifact, rows, clean names and types."""

    ref: ArtifactRef
    rows: int
    column_map: dict[str, str]
    schema: Any = field(repr=False)  # pyarrow.Schema, clean names

    @property
    def snapshot_id(self) -> str:
        return self.ref.digest


def write_parquet(
    source: str | Path,
    output: str | Path,
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    block_bytes: int = CSV_BLOCK_BYTES,
) -> tuple[int, dict[str, str], Any]:
    """Stream ``source`` (CSV or Parquet) into the Parquet file ``output``; a CSV file is
    parsed ``block_bytes`` at a time, its types those of the first block.

    Returns:
        (rows, ``{source name: clean name}``, the pyarrow schema written).

    Raises:
        DataError: a missing, empty or unreadable source, one with a header but no rows,
            or a batch whose values do not fit the types of the first (file, column,
            rows). ``output`` is then left as it was.
    """
    from loopml.compute.parts import count_rows

    source, output = Path(source), Path(output)
    column_map = _clean_names(source)
    total = count_rows(source)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    writer: Any = None
    rows = 0
    try:
        for batch in read_batches(source, chunk_rows, block_bytes=block_bytes):
            renamed = batch.rename_columns(list(column_map.values()))
            if writer is None:
                writer = parquet_writer(tmp, renamed.schema)
            writer.write_batch(conform_batch(renamed, writer.schema, source, rows))
            rows += batch.num_rows
            if progress is not None:
                progress(rows, total)
        if writer is None or rows == 0:
            raise DataError(f"{source}: has a header but no rows; export the data again")
        writer.close()
        os.replace(tmp, output)
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return rows, column_map, writer.schema


def snapshot_file(
    source: str | Path,
    artifacts: ArtifactStore,
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> StreamedSnapshot:
    """``source`` streamed to a Parquet snapshot in ``artifacts`` (see the module
    docstring); raises what ``write_parquet`` raises, and stores nothing then."""
    with tempfile.TemporaryDirectory(prefix="loopml-snapshot-") as folder:
        path = Path(folder) / "snapshot.parquet"
        rows, column_map, schema = write_parquet(
            source, path, chunk_rows=chunk_rows, progress=progress
        )
        ref = artifacts.put_file(path)
    return StreamedSnapshot(ref, rows, column_map, schema)


def _clean_names(source: Path) -> dict[str, str]:
    names = list(schema_of(source).names)
    _, column_map = clean_column_names(pd.DataFrame(columns=names))
    return column_map


def parquet_writer(path: Path, schema: Any) -> Any:
    """A ParquetWriter on ``path`` for ``schema``, text and flags dictionary-encoded."""
    import pyarrow.parquet as pq

    text = [f.name for f in schema if str(f.type) in ("string", "large_string", "bool")]
    return pq.ParquetWriter(path, schema, use_dictionary=text)


def conform_batch(batch: Any, schema: Any, source: Path, first_row: int) -> Any:
    """``batch`` with the types of ``schema`` (a column read as null first takes any
    type's nulls); DataError naming the column and rows when a value does not fit."""
    import pyarrow as pa

    if batch.schema.equals(schema):
        return batch
    columns = []
    for name, column in zip(schema.names, batch.columns, strict=True):
        target = schema.field(name).type
        try:
            columns.append(column.cast(target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            last = first_row + batch.num_rows - 1
            raise DataError(
                f"{source}, column '{name}', rows {first_row} to {last}: values of type "
                f"{column.type} where the first rows held {target} ({exc}); fix the values "
                "or give the column one type"
            ) from exc
    return pa.RecordBatch.from_arrays(columns, schema=schema)
