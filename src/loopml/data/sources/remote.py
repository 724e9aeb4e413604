"""File sources on object storage (``s3://``, ``gs://``, ...): matched, fingerprinted and
downloaded through fsspec, then read by the same readers as local files.

A path with a scheme other than ``file://`` is remote. It names one object, a glob of
objects (``s3://bucket/calls-*.parquet``; ``**`` reaches into sub-prefixes) or a prefix
holding a Parquet dataset. The fingerprint of an object is its ETag (or the backend's
checksum) and size, read from the listing without downloading it; a backend that gives
neither is hashed by its bytes. Objects are downloaded to a temporary folder that is
removed once they are read; a download shorter than the listed size is fetched again,
then refused.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from loopml.data.ingest import read_source
from loopml.errors import DataError
from loopml.spec.sources import FileSource

DOWNLOAD_ATTEMPTS = 3
RETRY_DELAY_S = 0.1  # before the second download of an object; doubled each time
_GLOB_CHARS = frozenset("*?[")
# Listing fields that change whenever an object's bytes do, best first.
_TAG_FIELDS = ("ETag", "etag", "md5Hash", "crc32c", "content_md5")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RemoteFile:
    """One object: its full URL, listed size and content tag (``""`` if none is listed).

    ``relative`` is its key under the folder it was found in (a Parquet dataset), else
    its name.
    """

    url: str
    size: int
    tag: str
    relative: str


@dataclass(frozen=True)
class RemoteMatch:
    """What a remote path names: objects to append in order, or one dataset folder."""

    files: list[RemoteFile]
    folder: str | None = None  # the URL of a Parquet dataset read whole


def match_remote(source: FileSource, storage_options: Mapping[str, Any]) -> RemoteMatch:
    """The objects ``source.path`` names, sorted by URL (none when nothing matches);
    listing caches are refreshed first, so a changed bucket is seen.

    Raises:
        DataError: the backend fails (no access, no connection, an option it refuses);
            the message names the source and its path.
    """
    with _backend(source):
        fs, path = _filesystem(source.path, storage_options)
        fs.invalidate_cache()
        if not _GLOB_CHARS.isdisjoint(path):
            found = fs.glob(path, detail=True)
            entries = [(n, e) for n, e in found.items() if e.get("type") == "file"]
            return RemoteMatch(_files(fs, entries, None))
        if fs.isdir(path):
            entries = list(fs.find(path, detail=True).items())
            return RemoteMatch(_files(fs, entries, path), folder=_url(fs, path))
        if not fs.exists(path):
            return RemoteMatch([])
        return RemoteMatch(_files(fs, [(path, fs.info(path))], None))


def hash_remote(match: RemoteMatch, storage_options: Mapping[str, Any]) -> str:
    """sha256 over the sorted (URL, tag, size) of every object; an object without a tag
    is hashed by its bytes (read once, streamed)."""
    digest = hashlib.sha256()
    for file in sorted(match.files, key=lambda f: f.url):
        tag = file.tag or f"sha256:{_content_sha256(file.url, storage_options)}"
        digest.update(f"{file.url}\0{tag}\0{file.size}\n".encode())
    return digest.hexdigest()


def read_remote(
    source: FileSource,
    match: RemoteMatch,
    storage_options: Mapping[str, Any],
    progress: Progress | None = None,
) -> list[tuple[str, pd.DataFrame]]:
    """Download what ``match`` names and read it: (URL, frame) per file, or one for a
    dataset folder. The downloads are removed before this returns.

    Raises:
        DataError: a download fails or stays short of the listed size, or a file
            cannot be read (``read_source``'s errors, naming the URL).
    """
    with tempfile.TemporaryDirectory(prefix="loopml-source-") as folder:
        local = Path(folder)
        for index, file in enumerate(match.files):
            if progress is not None:
                progress(f"downloading {file.url} ({_size(file.size)})")
            _download(source, file, _local(local, match, index), storage_options)
        if match.folder:
            return [(match.folder, _read(local, source.format or "parquet", match.folder))]
        return [
            (file.url, _read(_local(local, match, index), source.format, file.url))
            for index, file in enumerate(match.files)
        ]


def read_remote_file(url: str, storage_options: Mapping[str, Any]) -> pd.DataFrame:
    """Read the object, the glob of objects (appended) or the Parquet dataset folder at
    ``url``, its format from the suffix, as ``loopml init`` does.

    Raises:
        DataError: nothing is at ``url``, or it cannot be downloaded or read.
    """
    source = FileSource(path=url)
    match = match_remote(source, storage_options)
    if not match.files:
        raise DataError(f"{url}: no such object. {_check(url)}")
    frames = read_remote(source, match, storage_options)
    if len(frames) == 1:
        return frames[0][1]
    return pd.concat([frame for _, frame in frames], ignore_index=True)


def downloaded(
    source: FileSource,
    match: RemoteMatch,
    storage_options: Mapping[str, Any],
    progress: Progress | None = None,
) -> Iterator[tuple[str, Path]]:
    """Each object of ``match`` downloaded in turn to a temporary folder, as (URL, local
    copy); a copy is removed when the next is asked for, the folder when the walk ends,
    so one object at a time is on disk. Raises what ``read_remote`` raises for a download.
    """
    with tempfile.TemporaryDirectory(prefix="loopml-source-") as folder:
        for index, file in enumerate(match.files):
            if progress is not None:
                progress(f"downloading {file.url} ({_size(file.size)})")
            target = Path(folder) / f"{index:05d}" / PurePosixPath(file.url).name
            _download(source, file, target, storage_options)
            yield file.url, target
            target.unlink(missing_ok=True)


# -- internals ---------------------------------------------------------------------------


def _filesystem(url: str, storage_options: Mapping[str, Any]) -> tuple[Any, str]:
    import fsspec

    try:
        return fsspec.core.url_to_fs(url, **storage_options)
    except ImportError as exc:
        raise DataError(
            f"{url}: reading this scheme needs its fsspec backend ({exc}); install it "
            "(s3fs for s3://, gcsfs for gs://, adlfs for az://)"
        ) from exc


def _files(
    fs: Any, entries: list[tuple[str, dict[str, Any]]], folder: str | None
) -> list[RemoteFile]:
    files = []
    for name, entry in sorted(entries, key=lambda item: item[0]):
        if entry.get("type", "file") != "file":
            continue
        relative = name[len(folder) :].lstrip("/") if folder else PurePosixPath(name).name
        tag = next((str(entry[f]) for f in _TAG_FIELDS if entry.get(f)), "")
        files.append(RemoteFile(_url(fs, name), int(entry.get("size") or 0), tag, relative))
    return files


def _url(fs: Any, path: str) -> str:
    return str(fs.unstrip_protocol(path))


def _local(folder: Path, match: RemoteMatch, index: int) -> Path:
    """Where the ``index``-th object is downloaded: its place in a dataset folder, else
    its own name in a numbered folder (two prefixes may hold the same name)."""
    file = match.files[index]
    if match.folder:
        return folder / file.relative
    return folder / f"{index:05d}" / PurePosixPath(file.url).name


def _download(
    source: FileSource, file: RemoteFile, target: Path, storage_options: Mapping[str, Any]
) -> None:
    """Copy one object to ``target``; again when it comes short of the listed size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    got = 0
    for attempt in range(DOWNLOAD_ATTEMPTS):
        if attempt:
            time.sleep(RETRY_DELAY_S * 2 ** (attempt - 1))
        with _backend(source):
            fs, path = _filesystem(file.url, storage_options)
            fs.get_file(path, str(target))
        got = target.stat().st_size
        if got == file.size:
            return
    raise DataError(
        f"source '{source.name}': the download of {file.url} stopped at {got} of "
        f"{file.size} bytes, {DOWNLOAD_ATTEMPTS} times. Check the connection to the store "
        "and run again."
    )


def _read(path: Path, fmt: str | None, url: str) -> pd.DataFrame:
    """``read_source`` of a downloaded file, its errors naming ``url``, not the copy."""
    try:
        return read_source(path, fmt)
    except DataError as exc:
        raise DataError(str(exc).replace(str(path), url)) from exc


def _content_sha256(url: str, storage_options: Mapping[str, Any]) -> str:
    fs, path = _filesystem(url, storage_options)
    digest = hashlib.sha256()
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _backend(source: FileSource) -> Iterator[None]:
    """Backend failures (no bucket, denied, unreachable) as DataError naming the source."""
    try:
        yield
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - each backend raises its own error types
        raise DataError(
            f"source '{source.name}': cannot read {source.path} ({type(exc).__name__}: "
            f"{exc}). {_check(source.path)}"
        ) from exc


def _check(url: str) -> str:
    scheme = url.partition("://")[0]
    aws = scheme in ("s3", "s3a")
    variables = " and the AWS variables (AWS_ENDPOINT_URL, keys, region)" if aws else ""
    return f"Check the path, the bucket, storage_options{variables}."


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size} bytes"
