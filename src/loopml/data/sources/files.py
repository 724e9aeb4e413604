"""Read a file source: one file or a glob of files, appended in name order; on object
storage (``s3://...``) through fsspec (see ``remote.py``)."""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.compute.parts import is_url
from loopml.data.ingest import file_sha256, read_source
from loopml.data.sources.env import interpolate
from loopml.data.sources.records import SourceData
from loopml.data.sources.remote import hash_remote, match_remote, read_remote
from loopml.errors import DataError
from loopml.spec.sources import FileSource

_GLOB_CHARS = frozenset("*?[")


def read_files(
    source: FileSource,
    project_dir: Path,
    storage_options: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    env: Mapping[str, str] | None = None,
) -> SourceData:
    """Read every file that ``source.path`` names and append them in sorted order.

    Args:
        source: the file source; a relative ``path`` is taken from ``project_dir``; a URL
            (``s3://bucket/calls-*.parquet``) is read through fsspec.
        project_dir: the project folder.
        storage_options: fsspec options for a URL (endpoint, credentials, ...); the
            source's own ``storage_options`` replace them.
        progress: called with a line per object downloaded.
        env: the environment for ``${VAR}`` in the source's own storage options.

    Returns:
        The appended rows (columns in the first file's order), the files as ``location``
        (relative paths, or URLs) and the hash of ``fingerprint_files``.

    Raises:
        DataError: no file matches, a file cannot be read (see ``read_source``), or a
            file's columns differ from the first file's.
    """
    project_dir = Path(project_dir)
    options = file_options(source, storage_options, env)
    if is_url(source.path):
        match = match_remote(source, options)
        _require(bool(match.files), source, "no object matches")
        named = read_remote(source, match, options, progress)
        source_hash = hash_remote(match, options)
    else:
        paths = match_files(source, project_dir)
        named = [(_relative(p, project_dir), read_source(p, source.format)) for p in paths]
        source_hash = hash_files(paths, project_dir)
    frames = [named[0][1]]
    frames += [_aligned(frame, frames[0], name, named[0][0], source) for name, frame in named[1:]]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return SourceData(
        name=source.name,
        type="file",
        location=", ".join(name for name, _ in named),
        query=None,
        source_hash=source_hash,
        rows=len(frame),
        frame=frame,
    )


def fingerprint_files(
    source: FileSource,
    project_dir: Path,
    storage_options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """The hash ``read_files`` gives ``source``, without reading it: sha256 over the
    (relative path, file sha256) pairs of local files, or over the (URL, ETag, size) of
    objects from their listing (see ``remote.py``). DataError when nothing matches."""
    if not is_url(source.path):
        return hash_files(match_files(source, Path(project_dir)), Path(project_dir))
    options = file_options(source, storage_options, env)
    match = match_remote(source, options)
    _require(bool(match.files), source, "no object matches")
    return hash_remote(match, options)


def file_options(
    source: FileSource,
    storage_options: Mapping[str, Any] | None,
    env: Mapping[str, str] | None = None,
) -> Mapping[str, Any]:
    """The fsspec options for ``source``: its own (``${VAR}`` read from ``env``), else
    ``storage_options``. DataError names a variable that is not set."""
    if source.storage_options is None:
        return storage_options or {}
    where = f"source '{source.name}' storage_options"
    return _interpolated(source.storage_options, env or {}, where)


def _interpolated(value: Any, env: Mapping[str, str], where: str) -> Any:
    if isinstance(value, str):
        return interpolate(value, env, where)
    if isinstance(value, Mapping):
        return {k: _interpolated(v, env, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolated(v, env, where) for v in value]
    return value


def _require(found: bool, source: FileSource, what: str) -> None:
    if not found:
        raise DataError(
            f"source '{source.name}': {what} '{source.path}'. Check the path in "
            "data.sources of loopml.yaml, and that the bucket holds it."
        )


def match_files(source: FileSource, project_dir: Path) -> list[Path]:
    """The files ``source.path`` names, sorted by path; DataError when there are none.

    A path without glob characters is returned as is when it exists (a folder of Parquet
    files included); a glob matches files only (``**`` reaches into sub-folders).
    """
    pattern = Path(source.path).expanduser()
    full = pattern if pattern.is_absolute() else Path(project_dir) / pattern
    if _GLOB_CHARS.isdisjoint(source.path):
        paths = [full] if full.exists() else []
    else:
        found = glob.glob(str(full), recursive=True)
        paths = sorted((Path(p) for p in found if Path(p).is_file()), key=lambda p: p.as_posix())
    if not paths:
        raise DataError(
            f"source '{source.name}': no file matches '{source.path}' (looked in "
            f"{Path(project_dir).resolve()}). Check the path in data.sources of loopml.yaml."
        )
    return paths


def hash_files(paths: list[Path], project_dir: Path) -> str:
    """sha256 over the sorted (path relative to ``project_dir``, file sha256) pairs.

    A folder (a Parquet dataset) contributes every file under it. The hash changes when a
    file's content changes, or a file is added, removed or renamed; it needs no parsing.
    """
    pairs = sorted(_file_digests(paths, Path(project_dir)))
    digest = hashlib.sha256()
    for relative, sha in pairs:
        digest.update(f"{relative}\0{sha}\n".encode())
    return digest.hexdigest()


def _file_digests(paths: list[Path], project_dir: Path) -> Iterator[tuple[str, str]]:
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            yield _relative(file, project_dir), file_sha256(file)


def _aligned(
    frame: pd.DataFrame, first: pd.DataFrame, name: str, first_name: str, source: FileSource
) -> pd.DataFrame:
    """``frame`` with the first file's column order; DataError if the columns differ."""
    columns, expected = list(frame.columns), list(first.columns)
    if columns == expected:
        return frame
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    if missing or extra or len(set(columns)) != len(columns):
        parts = []
        if missing:
            parts.append(f"lacks {_names(missing)}")
        if extra:
            parts.append(f"has extra {_names(extra)}")
        if not parts:
            parts.append("repeats a column name")
        raise DataError(
            f"source '{source.name}': {name} {' and '.join(parts)} "
            f"compared with {first_name}; every file matched by "
            f"'{source.path}' must have the same columns. Fix that file or narrow the pattern."
        )
    return frame[expected]


def _names(columns: Sequence[object]) -> str:
    shown = ", ".join(repr(str(c)) for c in columns[:10])
    more = f" and {len(columns) - 10} more" if len(columns) > 10 else ""
    return f"{shown}{more}"


def _relative(path: Path, project_dir: Path) -> str:
    """``path`` relative to ``project_dir`` in POSIX form, or absolute when outside it."""
    try:
        return path.resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()
