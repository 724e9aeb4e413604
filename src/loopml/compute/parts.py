"""Parts of a table file larger than memory: what an executor maps over, read in batches.

A Parquet file is cut at its row groups into ``Part`` s of about ``rows_per_part`` rows
(a CSV file is one part: it has no index to seek to); each part knows its first row in
the file, so results computed part by part (mergeable counts, scored part files) keep
their place. ``read_batches`` streams a part (or a whole file) as pyarrow record batches
of at most ``chunk_rows`` rows, so whoever reads holds one batch at a time, never the
file: Parquet through ``ParquetFile.iter_batches``, CSV through pyarrow's streaming
``open_csv`` (types inferred from its first block; a value that does not fit them later
is a ``DataError`` naming the file, the column and the value).

Parts and their readers are plain data and module-level functions, so they pickle to
worker processes or a cluster (``Executor.map``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopml.errors import DataError

CHUNK_ROWS = 250_000
ROWS_PER_PART = 2_000_000
CSV_BLOCK_BYTES = 16 * 2**20
KINDS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class Part:
    """Rows ``first_row`` to ``first_row + rows`` of ``path``: Parquet ``row_groups``, or
    (``row_groups`` None) the whole file; ``rows`` is None when unknown (CSV)."""

    path: str
    kind: str
    first_row: int = 0
    rows: int | None = None
    row_groups: tuple[int, ...] | None = None


def table_kind(path: Path) -> str:
    """``csv`` or ``parquet`` by the file's suffix; DataError for anything else."""
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"file {path}: read .csv or .parquet files, not '{path.suffix}'")
    return kind


def is_url(path: str) -> bool:
    """Whether ``path`` is an fsspec URL other than a local ``file://`` one."""
    scheme, found, _ = path.partition("://")
    return bool(found) and scheme.lower() not in ("file", "local")


def table_parts(path: str | Path, rows_per_part: int = ROWS_PER_PART) -> list[Part]:
    """``path`` cut into parts of whole row groups, each about ``rows_per_part`` rows (at
    least one row group; one part for a CSV file or an empty Parquet file).

    Raises:
        DataError: a missing file, another format, a Parquet file that cannot be read.
    """
    path = Path(path)
    kind = table_kind(path)
    if not path.is_file():
        raise DataError(f"file {path} does not exist")
    if kind == "csv":
        return [Part(str(path), kind)]
    return row_group_parts(str(path), _parquet(path).metadata, rows_per_part)


def row_group_parts(source: str, metadata: Any, rows_per_part: int) -> list[Part]:
    """The Parquet file ``source`` (whose footer is ``metadata``) cut into parts of whole
    row groups, each about ``rows_per_part`` rows (one part for an empty file)."""
    parts: list[Part] = []
    groups: list[int] = []
    first = rows = 0
    for group in range(metadata.num_row_groups):
        groups.append(group)
        rows += metadata.row_group(group).num_rows
        if rows >= rows_per_part:
            parts.append(Part(source, "parquet", first, rows, tuple(groups)))
            first, rows, groups = first + rows, 0, []
    if groups or not parts:
        parts.append(Part(source, "parquet", first, rows, tuple(groups)))
    return parts


def count_rows(path: str | Path) -> int | None:
    """The rows of a Parquet file from its footer; None for CSV (it would need a pass)."""
    path = Path(path)
    if table_kind(path) != "parquet" or not path.is_file():
        return None
    return int(_parquet(path).metadata.num_rows)


def read_batches(
    source: Part | str | Path,
    chunk_rows: int = CHUNK_ROWS,
    *,
    block_bytes: int = CSV_BLOCK_BYTES,
    storage_options: Mapping[str, Any] | None = None,
) -> Iterator[Any]:
    """The rows of a part (or a whole file) as pyarrow RecordBatches of at most
    ``chunk_rows`` rows; nothing for no rows. A CSV file is parsed ``block_bytes`` at a
    time (its types are those of the first block). A Parquet part whose path is a URL
    is read through fsspec with ``storage_options``.

    Raises:
        DataError: a missing or unreadable file (named), an empty CSV file, a CSV value
            that does not fit its column's type (file, column, value).
    """
    part = source if isinstance(source, Part) else Part(str(source), table_kind(Path(source)))
    if part.kind == "csv":
        path = Path(part.path)
        if not path.is_file():
            raise DataError(f"file {path} does not exist")
        yield from _rebatched(_csv_batches(path, block_bytes), chunk_rows)
        return
    groups = list(part.row_groups) if part.row_groups is not None else None
    if groups == []:
        return
    import pyarrow as pa

    with open_parquet(part.path, storage_options) as handle:
        try:
            yield from handle.iter_batches(batch_size=chunk_rows, row_groups=groups)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"file {part.path} cannot be read as Parquet: {exc}") from exc


@contextmanager
def open_parquet(
    source: str | Path, storage_options: Mapping[str, Any] | None = None
) -> Iterator[Any]:
    """A ``pyarrow.parquet.ParquetFile`` over a local path, or over a URL opened through
    fsspec with ``storage_options`` (closed after).

    Raises:
        DataError: the file is missing, cannot be opened or is not Parquet.
    """
    if not is_url(str(source)):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"file {path} does not exist")
        yield _parquet(path)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    fs, key = filesystem(str(source), storage_options or {})
    try:
        handle = fs.open(key, "rb")
    except FileNotFoundError as exc:
        raise DataError(f"file {source} does not exist") from exc
    except OSError as exc:
        raise DataError(f"file {source} cannot be opened: {exc}") from exc
    with handle:
        try:
            table = pq.ParquetFile(handle, pre_buffer=False)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"file {source} cannot be read as Parquet: {exc}") from exc
        yield table


def filesystem(url: str, storage_options: Mapping[str, Any]) -> tuple[Any, str]:
    """fsspec's filesystem and path for ``url`` (``storage_options`` only for a URL).

    Raises:
        DataError: the scheme's backend is missing or refuses an option.
    """
    from fsspec.core import url_to_fs

    try:
        return url_to_fs(url, **(storage_options if is_url(url) else {}))  # type: ignore[no-any-return]
    except (ImportError, ValueError, TypeError) as exc:
        raise DataError(f"{url}: cannot open it through fsspec ({exc})") from exc


def schema_of(path: str | Path) -> Any:
    """The pyarrow schema of a Parquet file, or of a CSV file's first block."""
    path = Path(path)
    kind = table_kind(path)
    if not path.is_file():
        raise DataError(f"file {path} does not exist")
    if kind == "parquet":
        return _parquet(path).schema_arrow
    return _open_csv(path).schema


def _parquet(path: Path) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:  # pre_buffer would keep every row group read so far: memory grows with the file
        return pq.ParquetFile(path, pre_buffer=False)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"file {path} cannot be read as Parquet: {exc}") from exc


def _open_csv(path: Path, block_bytes: int = CSV_BLOCK_BYTES) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pv

    try:
        return pv.open_csv(path, read_options=pv.ReadOptions(block_size=block_bytes))
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise DataError(f"file {path} is empty: not even a header row") from exc
        raise _csv_error(path, exc, None) from exc


def _csv_batches(path: Path, block_bytes: int) -> Iterator[Any]:
    import pyarrow as pa

    reader = _open_csv(path, block_bytes)
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise _csv_error(path, exc, reader.schema) from exc
        yield batch


_CSV_COLUMN = re.compile(r"column #(\d+)")


def _csv_error(path: Path, exc: Exception, schema: Any) -> DataError:
    """pyarrow's CSV error as a DataError naming the file and (by name) the column."""
    message = str(exc)
    found = _CSV_COLUMN.search(message)
    if found and schema is not None and int(found.group(1)) < len(schema):
        field = schema.field(int(found.group(1)))
        return DataError(
            f"file {path}, column '{field.name}': a value does not fit the column's type "
            f"{field.type} (inferred from the first rows): {message}; fix the value or "
            "convert the file to Parquet with explicit types"
        )
    return DataError(f"file {path} cannot be read as CSV: {message}")


def _rebatched(batches: Iterator[Any], chunk_rows: int) -> Iterator[Any]:
    """``batches`` re-cut into batches of ``chunk_rows`` rows (the last may be shorter)."""
    import pyarrow as pa

    pending: list[Any] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield from table.slice(0, chunk_rows).combine_chunks().to_batches()
            rest = table.slice(chunk_rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield from pa.Table.from_batches(pending).combine_chunks().to_batches()
