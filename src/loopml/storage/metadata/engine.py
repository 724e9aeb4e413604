"""SQLAlchemy engines for the metadata store: SQLite (WAL, BEGIN IMMEDIATE) or PostgreSQL.

SQLite is tuned for several processes writing at once: WAL journal, a long busy timeout,
``synchronous=NORMAL`` and foreign keys on. pysqlite's implicit BEGIN is disabled and the
engine emits its own: ``BEGIN IMMEDIATE`` for write transactions (connections carrying the
``loopml_write`` execution option), so that concurrent writers queue on the busy timeout
instead of failing to upgrade a read lock; plain ``BEGIN`` for reads.

A PostgreSQL URL may name the schema that holds the store (``?schema=loopml``): it is
created when missing and every connection's ``search_path`` is set to it, so that the
store's tables (and Alembic's version table) live there, beside other tables of the same
database (e.g. a SQL source's).

Pooled connections are tied to the process that opened them, so a store opened before
``fork()`` stays usable in the child (it opens its own connections).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool, StaticPool

from loopml.errors import StorageError

WRITE_OPTION = "loopml_write"
BUSY_TIMEOUT_MS = 60_000
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``; ``postgresql://`` and ``postgres://`` use the psycopg 3 driver."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for an in-memory database."""
    if not url.drivername.startswith("sqlite"):
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(url: str | URL) -> Engine:
    """Create an engine for ``url`` with loopml's connection settings.

    The parent folder of a SQLite database file is created if needed. Raises
    StorageError for a malformed URL, an unknown driver or a folder that cannot be made.
    """
    try:
        parsed = normalize_url(url)
        if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
            raise sa_exc.ArgumentError("loopml stores metadata in SQLite or PostgreSQL only")
        if parsed.drivername.startswith("sqlite"):
            engine = _create_sqlite_engine(parsed)
        else:
            engine = _create_postgres_engine(parsed)
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError, OSError) as exc:
        shown = url.render_as_string(hide_password=True) if isinstance(url, URL) else url
        if isinstance(url, str) and "@" in url:
            shown = url.split("://", 1)[0] + "://...@" + url.rsplit("@", 1)[1]
        raise StorageError(
            f"Cannot open the metadata store '{shown}': {exc}. Set LOOPML_DB (or "
            "'store' in loopml.toml) to a SQLAlchemy URL such as sqlite:///path/loopml.db or "
            "postgresql+psycopg://..."
        ) from exc
    if not isinstance(engine.pool, StaticPool):
        event.listen(engine, "connect", _remember_pid)
        event.listen(engine, "checkout", _refuse_foreign_pid)
    return engine


def store_schema(url: URL) -> str | None:
    """The schema a PostgreSQL URL's ``?schema=`` names, or None.

    Raises ArgumentError for a name that is not a plain identifier."""
    schema = url.query.get("schema")
    if schema is None:
        return None
    if isinstance(schema, tuple) or not SCHEMA_NAME.match(schema):
        raise sa_exc.ArgumentError(
            f"schema={schema!r}: a store schema is one plain name (letters, digits, _)"
        )
    return schema


def _create_postgres_engine(url: URL) -> Engine:
    schema = store_schema(url)
    if schema is None:
        return sa.create_engine(url)
    url = url.difference_update_query(["schema"])
    options = f"-csearch_path={schema}"
    engine = sa.create_engine(url, connect_args={"options": options})
    once = sa.create_engine(url, poolclass=NullPool)  # not pooled: no pid to remember
    try:
        with once.begin() as conn:
            known = sa.text("select 1 from pg_namespace where nspname = :schema")
            if conn.execute(known, {"schema": schema}).first() is None:
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except sa_exc.SQLAlchemyError as exc:
        engine.dispose()
        shown = url.render_as_string(hide_password=True)
        raise StorageError(
            f"Cannot create or use the schema '{schema}' of the metadata store {shown}: "
            f"{exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc}. Create it, or grant "
            "CREATE on the database to this user."
        ) from exc
    finally:
        once.dispose()
    return engine


def _create_sqlite_engine(url: URL) -> Engine:
    path = sqlite_path(url)
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    }
    if path is None:
        kwargs["poolclass"] = StaticPool
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, **kwargs)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _remember_pid(_dbapi_connection: Any, record: Any) -> None:
    record.info["pid"] = os.getpid()


def _refuse_foreign_pid(_dbapi_connection: Any, record: Any, proxy: Any) -> None:
    # A connection inherited through fork() belongs to the parent: never share it. The
    # pool drops it and opens a new one (SQLAlchemy's documented multiprocessing recipe).
    if record.info.get("pid") != os.getpid():
        record.dbapi_connection = proxy.dbapi_connection = None
        raise sa_exc.DisconnectionError("connection was opened by another process")


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from pysqlite: the "begin" hook emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_sqlite_begin(conn: sa.Connection) -> None:
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
