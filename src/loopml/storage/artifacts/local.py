"""A content-addressed artifact store in a local (or mounted) folder.

Layout under ``root``::

    sha256/<first 2 hex>/<other 62 hex>   complete artifacts, never modified
    tmp/<pid>-<uuid>.part                 files being written; renamed into place when done

A write goes to ``tmp/``, is flushed and fsynced, then ``os.replace``-d onto its final path,
so an artifact is visible only once complete. ``tmp/`` is on the same filesystem as
``sha256/``, which makes the rename atomic. Readers verify the sha256 of every byte they
hand out. Safe for concurrent use by several threads and processes: two writers of the
same bytes race harmlessly, as both rename identical content onto the same path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

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


class LocalArtifactStore:
    """Artifacts in the folder ``root`` (created on first write)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().absolute()
        self.uri = str(self.root)

    def __repr__(self) -> str:
        return f"LocalArtifactStore({self.uri!r})"

    # -- paths ---------------------------------------------------------------------------

    def path(self, digest: str) -> Path:
        """The final path of ``digest`` (which may not exist)."""
        return self.root / digest_key(normalize_digest(digest))

    @property
    def _tmp(self) -> Path:
        return self.root / "tmp"

    # -- writes --------------------------------------------------------------------------

    def put_bytes(self, data: bytes) -> ArtifactRef:
        """Store ``data`` and return its reference; a no-op when it is already stored."""
        digest = hashlib.sha256(data).hexdigest()
        ref = ArtifactRef(digest, len(data))
        if self._complete(digest, ref.size):
            return ref
        with self._part() as part:
            with part.open("wb") as fh:
                fh.write(data)
                _sync(fh)
            self._publish(part, digest)
        return ref

    def put_file(self, path: str | Path) -> ArtifactRef:
        """Store a file's bytes, hashing while copying in 1 MiB chunks.

        Raises:
            NotFoundError: ``path`` does not exist (as ``FileNotFoundError`` is a built-in,
                it is converted so that callers see one error tree).
        """
        with open_source(path) as src, self._part() as part:
            with part.open("wb") as fh:
                digest, size = copy_hashing(src, fh)
                _sync(fh)
            if not self._complete(digest, size):
                self._publish(part, digest)
        return ArtifactRef(digest, size)

    # -- reads ---------------------------------------------------------------------------

    def get_bytes(self, digest: str) -> bytes:
        """Return the artifact's bytes after checking their sha256.

        Raises:
            NotFoundError: no artifact has this digest.
            IntegrityError: the stored bytes do not hash to ``digest``.
        """
        digest = normalize_digest(digest)
        final = self.root / digest_key(digest)
        try:
            data = final.read_bytes()
        except FileNotFoundError as exc:
            raise not_found(digest, self.uri) from exc
        except OSError as exc:
            raise StorageError(f"Cannot read artifact {final}: {exc}") from exc
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise corrupt(digest, actual, str(final))
        return data

    def get_file(self, digest: str, dest: str | Path) -> Path:
        """Copy the verified artifact to ``dest`` atomically and return ``dest``.

        The copy is written beside ``dest`` and renamed onto it only once its hash has been
        checked, so a corrupt artifact leaves no file at ``dest``.

        Raises:
            NotFoundError: no artifact has this digest.
            IntegrityError: the stored bytes do not hash to ``digest``.
        """
        digest = normalize_digest(digest)
        final = self.root / digest_key(digest)
        target = Path(dest)
        try:
            src = final.open("rb")
        except FileNotFoundError as exc:
            raise not_found(digest, self.uri) from exc
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
        try:
            with src, part.open("wb") as fh:
                hasher = hashlib.sha256()
                while chunk := src.read(CHUNK_SIZE):
                    hasher.update(chunk)
                    fh.write(chunk)
                actual = hasher.hexdigest()
                if actual != digest:
                    raise corrupt(digest, actual, str(final))
                _sync(fh)
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
        return target

    def exists(self, digest: str) -> bool:
        """Whether an artifact with ``digest`` is stored (its content is not checked)."""
        try:
            return self.path(digest).is_file()
        except LookupError:  # not a digest at all
            return False

    # -- maintenance ---------------------------------------------------------------------

    def sweep_partial(self) -> int:
        """Remove temporary files of dead writers, or untouched for an hour.

        A writer is dead when no process with the pid in the file's name runs on this host.
        A folder shared by several hosts should be swept from one host only, as the pid of
        another host's writer means nothing here.
        """
        try:
            entries = list(os.scandir(self._tmp))
        except FileNotFoundError:
            return 0
        removed = 0
        now = time.time()
        for entry in entries:
            pid = part_pid(entry.name)
            try:
                age = now - entry.stat().st_mtime
            except FileNotFoundError:  # its writer just renamed it into place
                continue
            if (pid is not None and pid != os.getpid() and not process_alive(pid)) or (
                age > STALE_AFTER_S
            ):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
        return removed

    # -- internals -----------------------------------------------------------------------

    def _complete(self, digest: str, size: int) -> bool:
        """Whether ``digest`` is stored with the expected size (a cheap duplicate check)."""
        try:
            return (self.root / digest_key(digest)).stat().st_size == size
        except FileNotFoundError:
            return False

    @contextlib.contextmanager
    def _part(self) -> Iterator[Path]:
        """A new temporary file path; the file is removed on exit unless it was published."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        part = self._tmp / part_name()
        try:
            yield part
        finally:
            part.unlink(missing_ok=True)

    def _publish(self, part: Path, digest: str) -> None:
        final = self.root / digest_key(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, final)
        _sync_dir(final.parent)


def _sync(fh: BinaryIO) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _sync_dir(path: Path) -> None:
    """Persist a rename (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
