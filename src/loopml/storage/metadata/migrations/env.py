"""Alembic environment for loopml's metadata store.

loopml runs migrations programmatically (``loopml.storage.metadata.migrate``): the
connection arrives in ``config.attributes["connection"]``, usually inside a transaction
that the caller commits. For ad-hoc use, ``-x url=...`` or the ``sqlalchemy.url`` option
names a database instead. Logging configuration is left to the application.
"""

from __future__ import annotations

from alembic import context

from loopml.storage.metadata.engine import create_engine
from loopml.storage.metadata.tables import metadata

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("No database: pass a connection, -x url=... or sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
