"""One contract suite run on every artifact store: a local folder, and fsspec on memory://,
file:// and a real S3-compatible server on loopback (moto's, see tests/s3.py)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from tests.s3 import S3

from loopml.domain import ArtifactRef
from loopml.errors import IntegrityError, NotFoundError, StorageError
from loopml.storage.artifacts import (
    ArtifactStore,
    FsspecArtifactStore,
    LocalArtifactStore,
    open_artifact_store,
)


class Backend:
    """A store plus the raw access a test needs to look behind its back."""

    def __init__(self, store: ArtifactStore, uri: str, shared: bool = False) -> None:
        self.store = store
        self.fs, root = fsspec.core.url_to_fs(uri)
        self.root = root.rstrip("/")
        self.shared = shared  # an object store other hosts write to: no pid checks

    def key(self, digest: str) -> str:
        return f"{self.root}/sha256/{digest[:2]}/{digest[2:]}"

    def files(self, under: str) -> list[str]:
        base = f"{self.root}/{under}"
        if not self.fs.exists(base):
            return []
        return sorted(p for p in self.fs.find(base))


@pytest.fixture(params=["local", "memory", "fsspec-file", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "s3":  # the AWS variables point s3fs at the loopback server
        uri = request.getfixturevalue("s3").url("team/artifacts")
        store = open_artifact_store(uri)
        assert isinstance(store, FsspecArtifactStore)
        yield Backend(store, uri, shared=True)
    elif request.param == "local":
        uri = str(tmp_path / "artifacts")
        store = open_artifact_store(uri)
        assert isinstance(store, LocalArtifactStore)
        yield Backend(store, uri)
    elif request.param == "fsspec-file":  # a backend without atomic puts: temp key + move
        uri = f"file://{tmp_path}/artifacts"
        yield Backend(FsspecArtifactStore(uri), uri)
    else:
        uri = f"memory://loopml-test-{uuid.uuid4().hex}/artifacts"
        store = open_artifact_store(uri)
        assert isinstance(store, FsspecArtifactStore)
        yield Backend(store, uri)
        fs, root = fsspec.core.url_to_fs(uri)
        if fs.exists(root):
            fs.rm(root, recursive=True)


def test_round_trip(backend: Backend) -> None:
    data = b"hello artifacts\x00\xff"
    ref = backend.store.put_bytes(data)
    assert ref == ArtifactRef(hashlib.sha256(data).hexdigest(), len(data))
    assert backend.store.exists(ref.digest)
    assert backend.store.get_bytes(ref.digest) == data
    assert backend.store.get_bytes(f"sha256:{ref.digest.upper()}") == data
    assert backend.fs.isfile(backend.key(ref.digest))
    assert backend.files("tmp") == []


def test_empty_artifact(backend: Backend) -> None:
    ref = backend.store.put_bytes(b"")
    assert ref.size == 0
    assert backend.store.get_bytes(ref.digest) == b""


def test_same_bytes_are_stored_once(backend: Backend) -> None:
    first = backend.store.put_bytes(b"same")
    second = backend.store.put_bytes(b"same")
    assert first == second
    assert backend.files("sha256") == [backend.key(first.digest)]


def test_get_file_copies_verified_bytes(backend: Backend, tmp_path: Path) -> None:
    ref = backend.store.put_bytes(b"model bytes")
    dest = backend.store.get_file(ref.digest, tmp_path / "out" / "model.pkl")
    assert dest == tmp_path / "out" / "model.pkl"
    assert dest.read_bytes() == b"model bytes"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.pkl"]


def test_tampered_artifact_is_refused(backend: Backend, tmp_path: Path) -> None:
    ref = backend.store.put_bytes(b"trusted content")
    key = backend.key(ref.digest)
    raw = bytearray(backend.fs.cat_file(key))
    raw[0] ^= 0x01
    backend.fs.pipe_file(key, bytes(raw))

    with pytest.raises(IntegrityError, match="is corrupt") as info:
        backend.store.get_bytes(ref.digest)
    message = str(info.value)
    assert f"sha256:{ref.digest[:12]}" in message
    assert hashlib.sha256(bytes(raw)).hexdigest()[:12] in message
    assert "Refusing to load it" in message

    dest = tmp_path / "dest" / "model.pkl"
    with pytest.raises(IntegrityError):
        backend.store.get_file(ref.digest, dest)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_missing_digest(backend: Backend, tmp_path: Path) -> None:
    digest = hashlib.sha256(b"never stored").hexdigest()
    assert not backend.store.exists(digest)
    with pytest.raises(NotFoundError, match=digest[:12]):
        backend.store.get_bytes(digest)
    with pytest.raises(NotFoundError):
        backend.store.get_file(digest, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_malformed_digest_is_not_found(backend: Backend) -> None:
    assert not backend.store.exists("../../etc/passwd")
    with pytest.raises(NotFoundError, match="64 hexadecimal"):
        backend.store.get_bytes("../../etc/passwd")


def test_put_file_streams_a_multi_mib_file(backend: Backend, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    block = os.urandom(1 << 20)
    with source.open("wb") as fh:
        for i in range(3):
            fh.write(block)
            fh.write(bytes([i]) * 1000)  # not a multiple of the chunk size
    ref = backend.store.put_file(source)
    data = source.read_bytes()
    assert ref == ArtifactRef(hashlib.sha256(data).hexdigest(), len(data))
    assert backend.store.get_bytes(ref.digest) == data
    assert backend.store.put_file(source) == ref  # a duplicate is a no-op
    assert backend.files("sha256") == [backend.key(ref.digest)]
    assert backend.files("tmp") == []


def test_put_file_of_a_missing_file(backend: Backend, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        backend.store.put_file(tmp_path / "absent.csv")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_partial_files_of_dead_writers(backend: Backend) -> None:
    ref = backend.store.put_bytes(b"complete")
    stale = f"{backend.root}/tmp/{_dead_pid()}-{uuid.uuid4().hex}.part"
    live = f"{backend.root}/tmp/{os.getpid()}-{uuid.uuid4().hex}.part"
    backend.fs.pipe_file(stale, b"half writ")
    backend.fs.pipe_file(live, b"being written")

    if backend.shared:  # another host's pid means nothing here: only the age rule
        assert backend.store.sweep_partial() == 0
        assert backend.files("tmp") == sorted([live, stale])
        return
    assert backend.store.sweep_partial() == 1
    assert backend.files("tmp") == [live]
    assert backend.store.get_bytes(ref.digest) == b"complete"
    assert backend.store.sweep_partial() == 0


def test_sweep_of_an_empty_store(backend: Backend) -> None:
    assert backend.store.sweep_partial() == 0


def test_sweep_removes_old_files_of_live_writers(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    (tmp_path / "tmp").mkdir()
    old = tmp_path / "tmp" / f"{os.getpid()}-{uuid.uuid4().hex}.part"
    old.write_bytes(b"x")
    two_hours_ago = old.stat().st_mtime - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert store.sweep_partial() == 1
    assert not old.exists()


def test_open_artifact_store_by_uri(tmp_path: Path) -> None:
    local = open_artifact_store(f"file://{tmp_path}/a")
    assert isinstance(local, LocalArtifactStore)
    assert local.root == tmp_path / "a"
    assert isinstance(open_artifact_store(tmp_path / "b"), LocalArtifactStore)
    assert isinstance(open_artifact_store("memory://x/y"), FsspecArtifactStore)


class HalfRead:
    """A file opened for reading that ends half-way, as a body cut short does."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._left = int(handle.size) // 2

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data: bytes = self._handle.read(size) if size else b""
        self._left -= len(data)
        return data

    def __enter__(self) -> HalfRead:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def register_cutting_s3() -> None:
    """Register ``cuts3://``: s3fs whose next ``cuts`` reads return half the bytes, as a
    download cut short does; ``reads`` counts them."""
    import s3fs

    class Cutting(s3fs.S3FileSystem):
        protocol = ("cuts3",)
        cuts = 0
        reads = 0

        def _cut(self) -> bool:
            self.reads += 1
            if self.cuts:
                self.cuts -= 1
                return True
            return False

        async def _cat_file(self, path: str, *args: object, **kwargs: object) -> bytes:
            data: bytes = await super()._cat_file(path, *args, **kwargs)
            return data[: len(data) // 2] if self._cut() else data

        def _open(self, path: str, mode: str = "rb", **kwargs: object) -> object:
            handle = super()._open(path, mode, **kwargs)
            return HalfRead(handle) if "r" in mode and self._cut() else handle

    fsspec.register_implementation("cuts3", Cutting, clobber=True)


@pytest.fixture
def cutting(s3: S3) -> tuple[FsspecArtifactStore, Any]:
    """A store on the loopback server through the cutting filesystem, and that filesystem."""
    register_cutting_s3()
    store = FsspecArtifactStore(f"cuts3://{s3.bucket}/artifacts")
    fs, _ = fsspec.core.url_to_fs(f"cuts3://{s3.bucket}/artifacts")  # the cached instance
    return store, fs


def test_a_truncated_download_is_read_again(
    cutting: tuple[FsspecArtifactStore, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store, fs = cutting
    data = os.urandom(300_000)
    ref = store.put_bytes(data)

    fs.cuts, fs.reads = 1, 0
    with caplog.at_level("WARNING", logger="loopml.storage"):
        assert store.get_bytes(ref.digest) == data
    assert fs.reads == 2
    assert f"sha256:{ref.digest[:12]}" in caplog.text and "reading it again (2 of 3)" in caplog.text

    fs.cuts, fs.reads = 2, 0
    dest = store.get_file(ref.digest, tmp_path / "model.pkl")
    assert dest.read_bytes() == data
    assert fs.reads == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pkl"]


def test_a_download_cut_every_time_is_refused(
    cutting: tuple[FsspecArtifactStore, Any], tmp_path: Path
) -> None:
    store, fs = cutting
    data = os.urandom(100_000)
    ref = store.put_bytes(data)
    half = hashlib.sha256(data[: len(data) // 2]).hexdigest()

    fs.cuts, fs.reads = 99, 0
    with pytest.raises(IntegrityError, match=rf"sha256:{ref.digest[:12]}.*read 3 times") as info:
        store.get_bytes(ref.digest)
    assert f"sha256:{half[:12]}" in str(info.value)
    assert fs.reads == 3

    with pytest.raises(IntegrityError, match=ref.digest[:12]):
        store.get_file(ref.digest, tmp_path / "model.pkl")
    assert fs.reads == 6
    assert list(tmp_path.iterdir()) == []


def test_an_option_the_backend_refuses_is_a_storage_error(s3: S3) -> None:
    store = open_artifact_store(s3.url("artifacts"), {"retries": 1})  # not an s3fs option
    with pytest.raises(StorageError, match=r"retries.*Check storage_options"):
        store.put_bytes(b"x")
