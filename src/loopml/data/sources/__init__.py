"""Read the data sources declared in the spec and combine them into one frame.

Each source (files, a SQL query or table, an HTTP JSON API) gives a ``SourceData``: its
rows with their raw column names, and a record of where they came from with a sha256 of
the raw input. ``read_sources`` reads them all, then appends or joins them. Nothing is
written here: a failure raises ``DataError`` before any snapshot exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from loopml.data.sources.combine import combine
from loopml.data.sources.combine import combine as _combine_parts
from loopml.data.sources.env import interpolate
from loopml.data.sources.files import fingerprint_files, hash_files, match_files, read_files
from loopml.data.sources.http import read_http
from loopml.data.sources.records import IngestResult, SourceData, SourceRecord, combined_hash
from loopml.data.sources.sql import mask_url, read_sql
from loopml.errors import DataError
from loopml.spec.sources import AnySource, Combine, FileSource, HttpSource, SqlSource

Progress = Callable[[str], None]


def read_sources(
    sources: Sequence[AnySource],
    combine: Combine,
    project_dir: Path,
    env: Mapping[str, str],
    progress: Progress | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> IngestResult:
    """Read every source in order and combine them.

    Args:
        sources: the sources from the spec (names unique).
        combine: how several sources become one frame (ignored for a single source).
        project_dir: the project folder; file paths and SQLite files are relative to it.
        env: the environment for ``${VAR}`` references (the caller passes ``os.environ``).
        progress: called with one line per step (source read, page fetched, retry).
        storage_options: fsspec options for file sources on object storage (``s3://``).

    Returns:
        The combined frame (raw column names), a record per source, and the sha256 over
        the sources' hashes in order.

    Raises:
        DataError: no source is given, a source cannot be read, or the sources cannot be
            combined. See ``read_files``, ``read_sql``, ``read_http`` and ``combine``.
    """
    if not sources:
        raise DataError("no data sources; declare at least one under data.sources")
    parts = [
        read_one(source, project_dir, env, progress=progress, storage_options=storage_options)
        for source in sources
    ]
    frame = _combine_parts(parts, combine)
    if progress is not None and len(parts) > 1:
        progress(f"combined {len(parts)} sources ({combine.how}): {len(frame)} rows")
    return IngestResult(
        frame=frame,
        sources=[p.record() for p in parts],
        source_hash=combined_hash(p.source_hash for p in parts),
    )


def read_one(
    source: AnySource,
    project_dir: Path,
    env: Mapping[str, str],
    *,
    progress: Progress | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> SourceData:
    """Read one source of any type (see ``read_sources`` for the arguments)."""
    if progress is not None:
        progress(f"reading source '{source.name}' ({source.type})")
    if isinstance(source, FileSource):
        part = read_files(source, Path(project_dir), storage_options, progress, env)
    elif isinstance(source, SqlSource):
        part = read_sql(source, env, project_dir=Path(project_dir))
    elif isinstance(source, HttpSource):
        part = read_http(source, env, progress=progress)
    else:  # pragma: no cover - the spec's union admits no other type
        raise DataError(f"source '{source.name}': unknown type '{source.type}'")
    if progress is not None:
        progress(f"source '{source.name}': {part.rows} rows from {part.location}")
    return part


__all__ = [
    "IngestResult",
    "SourceData",
    "SourceRecord",
    "combine",
    "fingerprint_files",
    "hash_files",
    "interpolate",
    "mask_url",
    "match_files",
    "read_files",
    "read_http",
    "read_one",
    "read_sources",
    "read_sql",
]
