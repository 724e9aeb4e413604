"""Schema versions: creation at head, refusal of other revisions, upgrades."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from loopml.domain import Schema, Snapshot
from loopml.errors import SchemaOutdated, StorageError
from loopml.storage.metadata import SCHEMA_REVISION, open_metadata_store, upgrade_database
from loopml.storage.metadata import migrate as migrate_module
from loopml.storage.metadata.engine import create_engine
from loopml.storage.metadata.tables import metadata


def revision_of(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def execute(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def test_schema_revision_is_alembic_head() -> None:
    script = ScriptDirectory.from_config(migrate_module.alembic_config())
    assert script.get_heads() == [SCHEMA_REVISION]
    assert migrate_module.SCHEMA_REVISION == SCHEMA_REVISION


def test_empty_database_is_created_at_head(store_url: str) -> None:
    open_metadata_store(store_url).close()
    assert revision_of(store_url) == SCHEMA_REVISION
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []  # migrations == tables.py
    finally:
        engine.dispose()
    open_metadata_store(store_url).close()  # a second open finds it current
    assert upgrade_database(store_url) == SCHEMA_REVISION  # idempotent at head


def test_sqlite_parent_folder_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'loopml.db'}"
    open_metadata_store(url).close()
    assert (tmp_path / "a" / "b" / "loopml.db").is_file()


def test_older_revision_is_refused_until_upgraded(store_url: str) -> None:
    assert upgrade_database(store_url, "0001") == "0001"  # a database of loopml 0.1
    with pytest.raises(SchemaOutdated, match="revision '0001'.*`loopml db upgrade`"):
        open_metadata_store(store_url)
    assert upgrade_database(store_url) == SCHEMA_REVISION
    store = open_metadata_store(store_url)
    project = store.ensure_project("after-upgrade")
    snapshot = Snapshot(
        snapshot_id="a" * 64,
        project_id=project.project_id,
        source="x.csv",
        source_hash="b" * 64,
        row_count=1,
        schema=Schema(()),
        created_at=datetime.now(UTC),
        details={"sources": [{"name": "main", "query": None}]},
    )
    assert store.add_snapshot(snapshot).details == snapshot.details
    store.close()


def test_unknown_revision_is_refused(store_url: str) -> None:
    open_metadata_store(store_url).close()
    execute(store_url, "UPDATE alembic_version SET version_num = 'f00d'")
    with pytest.raises(SchemaOutdated, match="'f00d'.*`loopml db upgrade`"):
        open_metadata_store(store_url)
    with pytest.raises(StorageError, match="newer loopml"):
        upgrade_database(store_url)


def test_foreign_database_is_refused(store_url: str) -> None:
    execute(store_url, "CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    with pytest.raises(StorageError, match=r"holds tables \(customers\) but no loopml schema"):
        open_metadata_store(store_url)
    with pytest.raises(StorageError, match="no loopml schema"):
        upgrade_database(store_url)


def test_open_does_not_import_alembic_when_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'loopml.db'}"
    open_metadata_store(url).close()
    code = (
        "import sys; from loopml.storage.metadata import open_metadata_store; "
        f"open_metadata_store({url!r}).close(); print('alembic' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
