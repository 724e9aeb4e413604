"""Fixtures of the metadata store tests: one store per backend, a project in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.domain import Project
from loopml.storage.metadata import MetadataStore, open_metadata_store

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'meta' / 'loopml.db'}"


@pytest.fixture
def store(store_url: str) -> Iterator[MetadataStore]:
    """An open metadata store on each backend."""
    opened = open_metadata_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def project(store: MetadataStore) -> Project:
    """A project in ``store``."""
    return store.ensure_project("churn-project")
