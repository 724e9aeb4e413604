"""Schema versions: create an empty database, refuse an outdated one, upgrade on request.

Opening a store reads only the ``alembic_version`` table and compares it with
``SCHEMA_REVISION``; Alembic itself is imported only to create or upgrade a schema. The
first creation is guarded against concurrent processes by a file lock beside a SQLite
file, or a session-level advisory lock on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from loopml.errors import SchemaOutdated, StorageError
from loopml.storage.metadata import SCHEMA_REVISION
from loopml.storage.metadata.engine import WRITE_OPTION, create_engine, sqlite_path
from loopml.storage.metadata.transactions import driver_message

__all__ = ["SCHEMA_REVISION", "alembic_config", "ensure_schema", "upgrade_database"]
VERSION_TABLE = "alembic_version"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x6C6F6F706D6C  # "loopml"
_LOCK_TIMEOUT_S = 300


def ensure_schema(engine: Engine) -> None:
    """Make sure ``engine``'s database is at ``SCHEMA_REVISION``.

    An empty database is created at head. Raises SchemaOutdated for any other revision,
    StorageError for a database that holds tables but no loopml schema.
    """
    label = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            revision = _current_revision(conn)
        if revision == SCHEMA_REVISION:
            return
        if revision is None:
            with _schema_lock(engine) as conn:
                if _current_revision(conn) is None:
                    _check_empty(conn, label)
                    _upgrade(conn)
                revision = _current_revision(conn)
    except sa_exc.SQLAlchemyError as exc:
        raise StorageError(
            f"Cannot open the metadata store {label}: {driver_message(exc)}"
        ) from exc
    if revision != SCHEMA_REVISION:
        raise SchemaOutdated(
            f"The metadata store {label} has schema revision '{revision}' but this loopml "
            f"needs '{SCHEMA_REVISION}'. Run `loopml db upgrade` (back up the database first)."
        )


def upgrade_database(url: str, target: str = "head") -> str:
    """Upgrade the database at ``url`` to ``target`` (the newest schema) and return the
    revision it is then at.

    Raises StorageError if the database cannot be reached or upgraded.
    """
    engine = create_engine(url)
    label = engine.url.render_as_string(hide_password=True)
    from alembic.util import CommandError

    try:
        with _schema_lock(engine) as conn:
            if _current_revision(conn) is None:
                _check_empty(conn, label)
            _upgrade(conn, target)
            revision = _current_revision(conn)
    except CommandError as exc:
        raise StorageError(
            f"Cannot upgrade the metadata store {label}: {exc}. It was probably written by a "
            "newer loopml; upgrade loopml instead."
        ) from exc
    except sa_exc.SQLAlchemyError as exc:
        raise StorageError(
            f"Cannot upgrade the metadata store {label}: {driver_message(exc)}"
        ) from exc
    finally:
        engine.dispose()
    assert revision is not None
    return revision


def alembic_config(connection: sa.Connection | None = None):  # type: ignore[no-untyped-def]
    """An Alembic Config for loopml's migrations, bound to ``connection`` if given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(conn: sa.Connection, target: str = "head") -> None:
    from alembic import command

    with conn.begin():
        command.upgrade(alembic_config(conn), target)


def _current_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        _end_read(conn)
        return None
    revision = conn.execute(
        sa.select(sa.column("version_num")).select_from(sa.table(VERSION_TABLE))
    ).scalar()
    _end_read(conn)
    return revision


def _end_read(conn: sa.Connection) -> None:
    if conn.in_transaction():
        conn.rollback()


def _check_empty(conn: sa.Connection, label: str) -> None:
    tables = [name for name in sa.inspect(conn).get_table_names() if name != VERSION_TABLE]
    _end_read(conn)
    if tables:
        raise StorageError(
            f"The database {label} holds tables ({', '.join(sorted(tables)[:5])}) but no "
            "loopml schema. Point LOOPML_DB at an empty or loopml database, or keep the "
            "store in its own schema (store_schema in loopml.toml, or ?schema=loopml)."
        )


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[sa.Connection]:
    """A connection held while no other process creates or upgrades the schema."""
    path = sqlite_path(engine.url)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_lock(_PG_LOCK_KEY)))
            conn.commit()
            try:
                yield conn
            finally:
                if conn.in_transaction():
                    conn.rollback()
                conn.execute(sa.select(sa.func.pg_advisory_unlock(_PG_LOCK_KEY)))
                conn.commit()
    elif path is not None:
        from filelock import FileLock, Timeout

        lock = FileLock(f"{path}.lock", timeout=_LOCK_TIMEOUT_S)
        try:
            lock.acquire()
        except (Timeout, OSError) as exc:
            raise StorageError(
                f"Cannot lock {path}.lock to create the metadata schema: {exc}. Check that "
                "the folder is writable and that no other loopml process is stuck."
            ) from exc
        try:
            with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn:
                yield conn
        finally:
            lock.release()
    else:
        with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn:
            yield conn
