"""What every store mixin shares: the database, existence checks and portable upserts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from loopml.errors import NotFoundError
from loopml.storage.metadata import tables as t
from loopml.storage.metadata.transactions import Database


class StoreBase:
    """Holds the ``Database``; mixins add one aggregate's methods each."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which supports ON CONFLICT on SQLite and PostgreSQL."""
        if self._db.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _insert_ignore(
        self, conn: sa.Connection, table: sa.Table, values: dict[str, Any], keys: Sequence[str]
    ) -> bool:
        """Insert unless a row with the same ``keys`` exists; True if a row was inserted."""
        stmt = self._insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
        return conn.execute(stmt).rowcount == 1

    def _upsert(
        self,
        conn: sa.Connection,
        table: sa.Table,
        rows: Sequence[dict[str, Any]],
        keys: Sequence[str],
        update: Sequence[str],
    ) -> None:
        """Insert ``rows``, overwriting the ``update`` columns of rows that exist."""
        if not rows:
            return
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={col: stmt.excluded[col] for col in update}
        )
        conn.execute(stmt, list(rows))

    def _require_project(self, conn: sa.Connection, project_id: str) -> None:
        found = conn.execute(
            sa.select(t.projects.c.id).where(t.projects.c.project_id == project_id)
        ).first()
        if found is None:
            raise NotFoundError(
                f"No project has id '{project_id}' in the metadata store {self._db.label}. "
                "Open the project with `ensure_project(name)` to get its id."
            )

    def _require_run(self, conn: sa.Connection, run_id: str) -> None:
        found = conn.execute(sa.select(t.runs.c.id).where(t.runs.c.run_id == run_id)).first()
        if found is None:
            raise NotFoundError(
                f"No run has id '{run_id}' in the metadata store {self._db.label}. "
                "Run `loopml runs` to list runs."
            )
