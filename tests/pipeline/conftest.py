"""Fixtures of the pipeline tests: a real SQLite metadata store and a local artifact store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.storage.artifacts import LocalArtifactStore
from loopml.storage.metadata import MetadataStore, open_metadata_store


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/loopml.db"


@pytest.fixture
def store(db_url: str) -> Iterator[MetadataStore]:
    opened = open_metadata_store(db_url)
    yield opened
    opened.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def project_id(store: MetadataStore) -> str:
    return store.ensure_project("churn").project_id
