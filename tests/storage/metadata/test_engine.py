"""SQLite connection settings, BEGIN IMMEDIATE for writes, retries and error conversion."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from loopml.errors import ConflictError, StorageError
from loopml.storage.metadata import open_metadata_store
from loopml.storage.metadata.engine import create_engine, normalize_url
from loopml.storage.metadata.transactions import Database


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = Database(create_engine(f"sqlite:///{tmp_path / 'x' / 'test.db'}"))
    yield database
    database.dispose()


def test_sqlite_pragmas(db: Database) -> None:
    def pragmas(conn: sa.Connection) -> tuple[Any, ...]:
        names = ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        return tuple(conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names)

    assert db.read(pragmas) == ("wal", 1, 60000, 1)


def test_writes_begin_immediate_reads_begin(db: Database) -> None:
    seen: list[str] = []
    event.listen(
        db.engine, "before_cursor_execute", lambda conn, cur, stmt, *args: seen.append(stmt)
    )
    db.write(lambda conn: conn.exec_driver_sql("CREATE TABLE t (x INTEGER)"))
    db.read(lambda conn: conn.exec_driver_sql("SELECT count(*) FROM t").scalar())
    assert [s for s in seen if s.startswith("BEGIN")] == ["BEGIN IMMEDIATE", "BEGIN"]


def locked() -> sa_exc.OperationalError:
    return sa_exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))


def test_write_retries_transient_errors(db: Database) -> None:
    calls: list[int] = []

    def flaky(conn: sa.Connection) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise locked()
        return "done"

    assert db.write(flaky) == "done"
    assert len(calls) == 3


def test_errors_are_converted_and_chained(db: Database) -> None:
    def broken(conn: sa.Connection) -> None:
        conn.exec_driver_sql("SELECT * FROM missing_table")

    with pytest.raises(StorageError, match="no such table: missing_table") as info:
        db.write(broken)
    assert isinstance(info.value.__cause__, sa_exc.OperationalError)
    with pytest.raises(StorageError):
        db.read(broken)

    db.write(lambda conn: conn.exec_driver_sql("CREATE TABLE u (x INTEGER UNIQUE)"))
    db.write(lambda conn: conn.exec_driver_sql("INSERT INTO u VALUES (1)"))
    with pytest.raises(ConflictError, match="UNIQUE constraint failed"):
        db.write(lambda conn: conn.exec_driver_sql("INSERT INTO u VALUES (1)"))


def test_url_normalization_and_bad_urls(tmp_path: Path) -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(StorageError, match="SQLite or PostgreSQL only"):
        create_engine("mysql://u:secret@h/db")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError, match="Cannot open the metadata store"):
        create_engine(f"sqlite:///{blocker / 'sub' / 'loopml.db'}")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_store_opened_before_fork_works_in_child(tmp_path: Path) -> None:
    store = open_metadata_store(f"sqlite:///{tmp_path / 'loopml.db'}")
    project = store.ensure_project("parent")  # the pool now holds a connection
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            child = store.ensure_project("child")
            code = 0 if store.get_project("parent") == project and child.name == "child" else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.get_project("child").name == "child"
    store.close()
