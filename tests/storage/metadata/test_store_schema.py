"""A PostgreSQL store in its own schema (``?schema=``) beside other tables of the database."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from loopml.errors import StorageError
from loopml.storage.metadata import open_metadata_store, upgrade_database


@pytest.mark.postgres
def test_a_store_schema_is_created_and_holds_every_table(postgres_url: str) -> None:
    """``postgres_url``'s search path is a fresh schema holding a foreign table: a store
    there is refused; one in ``?schema=`` beside it opens and keeps its tables there."""
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("create table customers (id int)"))
    with pytest.raises(StorageError, match=r"holds tables \(customers\) but no loopml schema"):
        open_metadata_store(postgres_url).close()
    base = postgres_url.split("?")[0]
    schema = f"s_{uuid.uuid4().hex[:10]}"
    store = open_metadata_store(f"{base}?schema={schema}")
    try:
        project = store.ensure_project("p")
        assert store.ensure_project("p") == project
    finally:
        store.close()
    assert upgrade_database(f"{base}?schema={schema}")  # alembic finds its version table
    with engine.begin() as conn:
        tables = set(sa.inspect(conn).get_table_names(schema=schema))
        conn.execute(sa.text(f'drop schema "{schema}" cascade'))
    engine.dispose()
    assert {"alembic_version", "projects", "runs"} <= tables


def test_a_schema_name_must_be_plain() -> None:
    with pytest.raises(StorageError, match="a store schema is one plain name"):
        open_metadata_store("postgresql+psycopg://u@127.0.0.1:1/db?schema=a;drop")
