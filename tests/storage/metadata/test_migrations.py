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
from loopml.storage.metadata.protocols import Condition
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


def test_upgrade_fills_the_latest_metrics_of_existing_runs(store_url: str) -> None:
    assert upgrade_database(store_url, "0005") == "0005"
    execute(
        store_url,
        "INSERT INTO projects (project_id, name, created_at) "
        "VALUES ('p1', 'old', '2026-01-01 00:00:00')",
    )
    execute(
        store_url,
        "INSERT INTO runs (run_id, project_id, name, status, started_at, params, outputs, "
        "code_version) VALUES ('r1', 'p1', 't', 'succeeded', '2026-01-01 00:00:00', '{}', "
        "'{}', '')",
    )
    for value, step in [(0.9, 1), (0.5, 3), (0.4, 3), (0.8, 2)]:  # the last at step 3 wins
        execute(
            store_url,
            "INSERT INTO metrics (run_id, key, value, step, timestamp) "  # noqa: S608
            f"VALUES ('r1', 'auc', {value}, {step}, '2026-01-01 00:00:00')",
        )
    assert upgrade_database(store_url) == SCHEMA_REVISION
    store = open_metadata_store(store_url)
    try:
        assert store.latest_metrics(["r1"]) == {"r1": {"auc": 0.4}}
        project = store.ensure_project("old")
        found = store.search_runs(project.project_id, where=[Condition("auc", "<", 0.45)])
        assert [r.run_id for r in found] == ["r1"]
    finally:
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
