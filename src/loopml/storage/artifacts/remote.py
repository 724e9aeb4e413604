"""A content-addressed artifact store on any fsspec filesystem (s3, gcs, azure, memory, ...).

Same layout as the local store, under the URI's path::

    sha256/<first 2 hex>/<other 62 hex>   complete artifacts, never modified
    tmp/<pid>-<uuid>.part                 streamed uploads whose digest is not known yet

Atomicity comes from the backend: an object store's single put is atomic, so ``put_bytes``
writes the final key in one call there; elsewhere, and for ``put_file`` (whose digest is
known only once every byte has been read), bytes go to a temporary key that is then moved
onto the final key. Readers verify the sha256 of every byte they hand out; a download
whose bytes do not hash to the digest (a connection cut short, a truncated body) is read
again, up to ``READ_ATTEMPTS`` times with a short backoff, before ``IntegrityError``.
Backend errors other than "not found" become ``StorageError`` with the original chained.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import fsspec

from loopml.domain import ArtifactRef
from loopml.errors import StorageError
from loopml.processes import process_alive
from loopml.storage.artifacts._common import (
    CHUNK_SIZE,
    STALE_AFTER_S,
    copy_hashing,
    corrupt,
    digest_key,
    normalize_digest,
    not_found,
    open_source,
    part_name,
    part_pid,
)

# Backends whose single put of a whole object is atomic: readers see all of it or nothing.
_ATOMIC_PUT = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "memory"})
# Backends that live on this host, so a pid in a temporary file's name can be checked.
_THIS_HOST = frozenset({"memory", "file", "local"})
READ_ATTEMPTS = 3  # reads of an artifact whose bytes do not match its digest, in all
RETRY_DELAY_S = 0.05  # before the second read; doubled before each later one
log = logging.getLogger("loopml.storage")


class FsspecArtifactStore:
    """Artifacts under an fsspec URI such as ``s3://bucket/prefix`` or ``memory://x``.

    ``storage_options`` are passed to the filesystem (credentials, endpoint, ...).
    """

    def __init__(self, uri: str, **storage_options: Any) -> None:
        self.uri = uri
        try:
            self._fs, root = fsspec.core.url_to_fs(uri, **storage_options)
        except (ImportError, ValueError) as exc:
            raise StorageError(
                f"Cannot open the artifact store {uri}: {exc}. Install the fsspec backend "
                "for this scheme (e.g. s3fs for s3://, gcsfs for gs://, adlfs for az://)."
            ) from exc
        self._root = root.rstrip("/")
        protocols = self._fs.protocol
        self._protocols = {protocols} if isinstance(protocols, str) else set(protocols)

    def __repr__(self) -> str:
        return f"FsspecArtifactStore({self.uri!r})"

    def _key(self, digest: str) -> str:
        return f"{self._root}/{digest_key(digest)}"

    @property
    def _tmp(self) -> str:
        return f"{self._root}/tmp"  # noqa: S108 - a key under the store's root, not /tmp

    # -- writes --------------------------------------------------------------------------

    def put_bytes(self, data: bytes) -> ArtifactRef:
        """Store ``data`` and return its reference; a no-op when it is already stored."""
        digest = hashlib.sha256(data).hexdigest()
        ref = ArtifactRef(digest, len(data))
        with self._backend("write", digest):
            if self._complete(digest, ref.size):
                return ref
            if self._protocols & _ATOMIC_PUT:
                self._fs.pipe_file(self._key(digest), data)
            else:
                with self._part() as part:
                    self._fs.pipe_file(part, data)
                    self._move(part, digest)
        return ref

    def put_file(self, path: str | Path) -> ArtifactRef:
        """Store a local file's bytes, hashing while uploading in 1 MiB chunks.

        Raises:
            NotFoundError: ``path`` does not exist.
        """
        src = open_source(path)
        with src, self._backend("write", str(path)), self._part() as part:
            with self._fs.open(part, "wb") as fh:
                digest, size = copy_hashing(src, fh)
            if not self._complete(digest, size):
                self._move(part, digest)
        return ArtifactRef(digest, size)

    # -- reads ---------------------------------------------------------------------------

    def get_bytes(self, digest: str) -> bytes:
        """Return the artifact's bytes after checking their sha256 (read again on a
        mismatch, see the module docstring).

        Raises:
            NotFoundError: no artifact has this digest.
            IntegrityError: the stored bytes do not hash to ``digest``, every read.
        """
        digest = normalize_digest(digest)
        key = self._key(digest)
        actual = ""
        for attempt in range(READ_ATTEMPTS):
            if attempt:
                self._before_retry(key, digest, actual, attempt)
            with self._backend("read", digest):
                data = self._fs.cat_file(key)
            actual = hashlib.sha256(data).hexdigest()
            if actual == digest:
                return bytes(data)
        raise corrupt(digest, actual, self._where(key), READ_ATTEMPTS)

    def get_file(self, digest: str, dest: str | Path) -> Path:
        """Download the verified artifact to the local path ``dest`` atomically (again on
        a mismatch, see the module docstring).

        Raises:
            NotFoundError: no artifact has this digest.
            IntegrityError: the stored bytes do not hash to ``digest``, every read;
                ``dest`` is untouched.
        """
        digest = normalize_digest(digest)
        key = self._key(digest)
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
        try:
            actual = ""
            for attempt in range(READ_ATTEMPTS):
                if attempt:
                    self._before_retry(key, digest, actual, attempt)
                actual = self._download(key, digest, part)
                if actual == digest:
                    os.replace(part, target)
                    return target
            raise corrupt(digest, actual, self._where(key), READ_ATTEMPTS)
        finally:
            part.unlink(missing_ok=True)

    def _download(self, key: str, digest: str, part: Path) -> str:
        """Copy ``key`` to the local file ``part`` (replacing it); the sha256 of its bytes."""
        hasher = hashlib.sha256()
        with self._backend("read", digest), self._fs.open(key, "rb") as src, part.open("wb") as fh:
            while chunk := src.read(CHUNK_SIZE):
                hasher.update(chunk)
                fh.write(chunk)
        return hasher.hexdigest()

    def _before_retry(self, key: str, digest: str, actual: str, attempt: int) -> None:
        """Say that a read did not match, wait (doubling each time), forget cached state."""
        log.warning(
            "artifact sha256:%s... at %s read as sha256:%s...; reading it again (%d of %d)",
            digest[:12],
            self._where(key),
            actual[:12],
            attempt + 1,
            READ_ATTEMPTS,
        )
        time.sleep(RETRY_DELAY_S * 2 ** (attempt - 1))
        self._fs.invalidate_cache(key)

    def exists(self, digest: str) -> bool:
        """Whether an artifact with ``digest`` is stored (its content is not checked)."""
        try:
            key = self._key(normalize_digest(digest))
        except LookupError:
            return False
        with self._backend("read", digest):
            return bool(self._fs.isfile(key))

    # -- maintenance ---------------------------------------------------------------------

    def sweep_partial(self) -> int:
        """Remove temporary keys left by dead writers, or older than an hour.

        The writer's pid is checked only on backends local to this host (memory, file);
        on shared object stores only the age rule applies.
        """
        with self._backend("sweep", self._tmp):
            try:
                entries = self._fs.ls(self._tmp, detail=True)
            except FileNotFoundError:
                return 0
            local = bool(self._protocols & _THIS_HOST)
            removed = 0
            for entry in entries:
                if entry.get("type") != "file":
                    continue
                name = str(entry["name"])
                pid = part_pid(name.rsplit("/", 1)[-1])
                dead = local and pid is not None and pid != os.getpid() and not process_alive(pid)
                age = _age_s(entry)
                if dead or (age is not None and age > STALE_AFTER_S):
                    with contextlib.suppress(FileNotFoundError):
                        self._fs.rm_file(name)
                        removed += 1
            return removed

    # -- internals -----------------------------------------------------------------------

    def _complete(self, digest: str, size: int) -> bool:
        try:
            return int(self._fs.size(self._key(digest))) == size
        except FileNotFoundError:
            return False

    def _where(self, key: str) -> str:
        return str(self._fs.unstrip_protocol(key))

    def _makedirs(self, path: str) -> None:
        """Create a folder where the backend has real ones (object stores have none)."""
        if not self._protocols & _ATOMIC_PUT:
            self._fs.makedirs(path, exist_ok=True)

    def _move(self, part: str, digest: str) -> None:
        final = self._key(digest)
        self._makedirs(final.rsplit("/", 1)[0])
        self._fs.mv(part, final)

    @contextlib.contextmanager
    def _part(self) -> Iterator[str]:
        """A new temporary key; removed on exit unless it was moved into place."""
        self._makedirs(self._tmp)
        part = f"{self._tmp}/{part_name()}"
        try:
            yield part
        finally:
            with contextlib.suppress(FileNotFoundError):
                if self._fs.exists(part):
                    self._fs.rm_file(part)

    @contextlib.contextmanager
    def _backend(self, action: str, what: str) -> Iterator[None]:
        """Convert backend errors: NotFoundError for a missing artifact, else StorageError."""
        try:
            yield
        except FileNotFoundError as exc:
            if action == "read":
                raise not_found(what, self.uri) from exc
            raise StorageError(
                f"The artifact store {self.uri} failed to {action} {_short(what)}: {exc}. "
                "Check that its bucket or folder exists."
            ) from exc
        except OSError as exc:
            raise StorageError(
                f"The artifact store {self.uri} failed to {action} {_short(what)}: {exc}"
            ) from exc
        except TypeError as exc:  # the backend's client refused an option it was given
            raise StorageError(
                f"The artifact store {self.uri} failed to {action} {_short(what)}: {exc}. "
                "Check storage_options (loopml.toml, loopml.yaml or LOOPML_STORAGE_OPTIONS): "
                "each must be an option of the fsspec backend."
            ) from exc


def _short(what: str) -> str:
    """A digest as ``sha256:<12 hex>``; anything else unchanged."""
    return f"sha256:{what[:12]}" if len(what) == 64 else what


def _age_s(entry: dict[str, Any]) -> float | None:
    """Seconds since a listed key was written, or None when the backend does not say."""
    for field in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = entry.get(field)
        if isinstance(value, int | float):
            return time.time() - float(value)
        if isinstance(value, datetime):
            return time.time() - value.timestamp()
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return time.time() - datetime.fromisoformat(value).timestamp()
    return None
