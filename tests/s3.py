"""A real S3-compatible server on loopback for the tests (moto's server mode, as s3fs's
own tests use), a fresh bucket per test and the AWS environment that points at it.

The fixtures are imported by the conftest of each folder whose tests need S3; the server
starts only when a test asks for ``s3``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# The throwaway server's credentials and region; no AWS config or profile is read.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "loopml-test",
    "AWS_SECRET_ACCESS_KEY": "loopml-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "LOOPML_STORAGE_OPTIONS")


@dataclass(frozen=True)
class S3:
    """One test's bucket on the loopback server; ``env`` points a subprocess at it."""

    endpoint_url: str
    bucket: str
    fs: Any  # an s3fs.S3FileSystem with explicit options, for looking behind a store's back

    @property
    def env(self) -> dict[str, str]:
        """The standard AWS variables for this server (as a team would set them)."""
        return {**AWS_ENV, "AWS_ENDPOINT_URL": self.endpoint_url}

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}"

    def put(self, key: str, data: bytes) -> str:
        """Write an object and return its ``s3://`` URL."""
        self.fs.pipe_file(f"{self.bucket}/{key}", data)
        return self.url(key)


@dataclass(frozen=True)
class Server:
    endpoint_url: str
    fs: Any  # one client with explicit options for every test: clients are slow to make


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Server]:
    """moto's S3 server on 127.0.0.1 (a free port) for the session."""
    import s3fs
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint_url = f"http://{host}:{port}"
    fs = s3fs.S3FileSystem(
        endpoint_url=endpoint_url,
        key=AWS_ENV["AWS_ACCESS_KEY_ID"],
        secret=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        skip_instance_cache=True,
    )
    yield Server(endpoint_url, fs)
    server.stop()


@pytest.fixture
def s3(s3_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    """A fresh bucket, the AWS variables set for this process, s3fs's caches cleared
    (cached clients and listings) before and after."""
    import s3fs

    for name in _UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in {**AWS_ENV, "AWS_ENDPOINT_URL": s3_server.endpoint_url}.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3_server.fs
    bucket = f"loopml-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    yield S3(s3_server.endpoint_url, bucket, fs)
    fs.rm(bucket, recursive=True)
    fs.invalidate_cache()
    s3fs.S3FileSystem.clear_instance_cache()
