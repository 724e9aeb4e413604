"""File sources larger than memory streamed to one Parquet snapshot, with a seeded sample.

``stream_sources`` walks every file of the file sources in order (a glob in name order;
objects on object storage downloaded one at a time), streams each through
``data.stream.write_parquet`` (bounded batches, clean column names, one set of types per
file) to a temporary part, then appends the part's batches to one Parquet file, every
file required to have the columns of the first. Each batch appended is offered to a
``Reservoir``, so one pass gives the full snapshot and a uniform sample of it. The file
goes to the artifact store with ``put_file`` (hashed while copied, never read whole);
nothing is stored when a file fails.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml.compute.parts import CHUNK_ROWS, is_url, read_batches
from loopml.data.reservoir import Reservoir
from loopml.data.sources.files import _relative, file_options, hash_files, match_files
from loopml.data.sources.records import SourceRecord, combined_hash
from loopml.data.sources.remote import (
    RemoteMatch,
    downloaded,
    hash_remote,
    match_remote,
)
from loopml.data.stream import conform_batch, parquet_writer, write_parquet
from loopml.domain import ArtifactRef
from loopml.errors import DataError
from loopml.spec.sources import FileSource
from loopml.storage.artifacts.protocols import ArtifactStore

Progress = Callable[[str, float | None], None]
"""Called with a line per file and batch streamed, and the file's fraction when known."""


@dataclass(frozen=True, eq=False)
class StreamedSources:
    """The full snapshot in the artifact store and the sample taken on the way.

    ``rows`` counts the snapshot's rows, ``sample`` (a pyarrow Table, clean names, rows in
    source order) holds ``min(rows, sample_rows)`` of them; ``batches`` is how many
    bounded batches were appended.
    """

    ref: ArtifactRef
    rows: int
    column_map: dict[str, str]
    schema: Any = field(repr=False)  # pyarrow.Schema, clean names
    sample: Any = field(repr=False)
    sources: list[SourceRecord] = field(default_factory=list)
    source_hash: str = ""
    batches: int = 0


def stream_sources(
    sources: Sequence[FileSource],
    project_dir: Path,
    artifacts: ArtifactStore,
    *,
    sample_rows: int,
    seed: int,
    batch_rows: int = CHUNK_ROWS,
    env: Mapping[str, str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> StreamedSources:
    """Stream ``sources`` (appended in order) to one Parquet snapshot in ``artifacts``.

    Args:
        sources: file sources of CSV or Parquet files, local or fsspec URLs.
        project_dir: the folder relative paths start from.
        artifacts: where the snapshot is put.
        sample_rows, seed: the size and seed of the uniform sample (see ``Reservoir``).
        batch_rows: rows read and written per batch.
        env, storage_options: as for ``read_files``.
        progress: see ``Progress``.

    Raises:
        DataError: no file matches, a file cannot be read or its values do not fit the
            types of its first rows (``write_parquet``), or its columns differ from the
            first file's. Nothing is stored then.
    """
    reservoir = Reservoir(sample_rows, seed)
    with tempfile.TemporaryDirectory(prefix="loopml-snapshot-") as folder:
        output = _Output(Path(folder), reservoir, batch_rows)
        try:
            records = [
                _stream_source(s, Path(project_dir), output, env, storage_options, progress)
                for s in sources
            ]
            output.close()
        except BaseException:
            output.abort()
            raise
        ref = artifacts.put_file(output.path)
    return StreamedSources(
        ref=ref,
        rows=output.rows,
        column_map=output.column_map,
        schema=output.schema,
        sample=reservoir.table(),
        sources=records,
        source_hash=combined_hash(r.source_hash for r in records),
        batches=output.batches,
    )


class _Output:
    """The snapshot file being appended to, the first file's columns its standard."""

    def __init__(self, folder: Path, reservoir: Reservoir, batch_rows: int) -> None:
        self.folder = folder
        self.path = folder / "snapshot.parquet"
        self.reservoir = reservoir
        self.batch_rows = batch_rows
        self.rows = self.batches = 0
        self.column_map: dict[str, str] = {}
        self.schema: Any = None
        self._first = ""
        self._writer: Any = None

    def add_file(
        self, local: Path, name: str, source: FileSource, progress: Progress | None
    ) -> int:
        """Stream ``local`` (shown as ``name``) to a part, then append the part; its rows."""
        part = self.folder / "part.parquet"

        def report(done: int, total: int | None) -> None:
            if progress is not None:
                fraction = done / total if total else None
                progress(f"source '{source.name}': {name}: {done:,} rows streamed", fraction)

        try:
            rows, column_map, schema = write_parquet(
                local, part, chunk_rows=self.batch_rows, progress=report
            )
        except DataError as exc:
            raise DataError(str(exc).replace(str(local), name)) from exc
        order = self._columns(schema.names, name, source)
        if self._writer is None:
            self.column_map, self.schema, self._first = column_map, schema, name
            self._writer = parquet_writer(self.path, schema)
        first_row = 0
        for batch in read_batches(part, self.batch_rows):
            batch = conform_batch(batch.select(order), self.schema, Path(name), first_row)
            self._writer.write_batch(batch)
            self.reservoir.add(batch)
            first_row += batch.num_rows
            self.batches += 1
        part.unlink()
        self.rows += rows
        return rows

    def _columns(self, names: list[str], name: str, source: FileSource) -> list[str]:
        """``names`` in the first file's order; DataError when they are other columns."""
        if self.schema is None:
            return names
        expected = list(self.schema.names)
        if sorted(names) == sorted(expected) and len(set(names)) == len(names):
            return expected
        missing = [c for c in expected if c not in names]
        extra = [c for c in names if c not in expected]
        parts = [f"lacks {missing}"] if missing else []
        parts += [f"has extra {extra}"] if extra else []
        raise DataError(
            f"source '{source.name}': {name} {' and '.join(parts) or 'repeats a column'} "
            f"compared with {self._first}; every file streamed to one snapshot must have "
            "the same columns. Fix that file or narrow the pattern."
        )

    def close(self) -> None:
        if self._writer is None:
            raise DataError("no rows were streamed; the sources name no data file")
        self._writer.close()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _stream_source(
    source: FileSource,
    project_dir: Path,
    output: _Output,
    env: Mapping[str, str] | None,
    storage_options: Mapping[str, Any] | None,
    progress: Progress | None,
) -> SourceRecord:
    """Every file of ``source`` appended to ``output``; the source's lineage record."""
    names, rows = [], 0
    if is_url(source.path):
        options = file_options(source, storage_options, env)
        match = match_remote(source, options)
        if not match.files:
            raise DataError(
                f"source '{source.name}': no object matches '{source.path}'. Check the "
                "path in data.sources of loopml.yaml, and that the bucket holds it."
            )
        source_hash = hash_remote(match, options)
        files = RemoteMatch([f for f in match.files if _is_data(f.relative)], match.folder)
        line = None if progress is None else (lambda text: progress(text, None))
        for url, local in downloaded(source, files, options, line):
            rows += output.add_file(local, url, source, progress)
            names.append(url)
    else:
        paths = match_files(source, project_dir)
        source_hash = hash_files(paths, project_dir)
        for path in _data_files(paths):
            name = _relative(path, project_dir)
            rows += output.add_file(path, name, source, progress)
            names.append(name)
    return SourceRecord(source.name, "file", ", ".join(names), None, source_hash, rows)


def _data_files(paths: list[Path]) -> Iterator[Path]:
    """The files of ``paths``, a folder (a Parquet dataset) giving its files in order."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        found = sorted(p for p in path.rglob("*") if p.is_file())
        yield from (p for p in found if _is_data(p.relative_to(path).as_posix()))


def _is_data(relative: str) -> bool:
    """Whether a file of a dataset folder holds rows (not ``_SUCCESS``, ``.crc`` ...)."""
    return not any(part.startswith(("_", ".")) for part in relative.split("/"))
