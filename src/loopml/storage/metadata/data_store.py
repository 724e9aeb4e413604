"""Projects, the artifact index and data snapshots on SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from loopml.domain import ArtifactRef, Project, Snapshot
from loopml.errors import NotFoundError
from loopml.storage.metadata import tables as t
from loopml.storage.metadata.base import StoreBase
from loopml.storage.metadata.codec import (
    AnyRow,
    new_id,
    project_from_row,
    schema_to_json,
    snapshot_from_row,
    to_json,
    utcnow,
)


class ProjectStoreMixin(StoreBase):
    """Projects by name."""

    def ensure_project(self, name: str) -> Project:
        """Return the project called ``name``, creating it if needed (race-safe)."""
        values = {"project_id": new_id(), "name": name, "created_at": utcnow()}

        def ensure(conn: sa.Connection) -> Project:
            row = _project_row(conn, name)
            if row is None:
                self._insert_ignore(conn, t.projects, values, keys=("name",))
                row = _project_row(conn, name)
            assert row is not None
            return project_from_row(row)

        return self._db.write(ensure, retry_unique=True)

    def get_project(self, name: str) -> Project:
        """Return the project called ``name``; raises NotFoundError if there is none."""

        def get(conn: sa.Connection) -> Project:
            row = _project_row(conn, name)
            if row is None:
                raise NotFoundError(
                    f"No project named '{name}' in the metadata store {self._db.label}. "
                    "Run a loopml command in the project folder (or `loopml init`) to create it."
                )
            return project_from_row(row)

        return self._db.read(get)

    def list_projects(self) -> list[Project]:
        """Every project in the store, by name."""
        query = sa.select(t.projects).order_by(t.projects.c.name)
        return self._db.read(lambda conn: [project_from_row(r) for r in conn.execute(query)])


class ArtifactIndexMixin(StoreBase):
    """Which artifacts exist, their media types and the run that first wrote them."""

    def record_artifact(self, ref: ArtifactRef, *, media_type: str, run_id: str | None) -> None:
        """Remember an artifact (idempotent by digest: the first record wins)."""
        values = {
            "digest": ref.digest,
            "size": ref.size,
            "media_type": media_type,
            "run_id": run_id,
            "created_at": utcnow(),
        }
        self._db.write(
            lambda conn: self._insert_ignore(conn, t.artifacts, values, keys=("digest",))
        )

    def list_artifacts(self, run_id: str) -> list[tuple[ArtifactRef, str]]:
        """Artifacts first recorded by a run, with their media types, oldest first."""
        a = t.artifacts.c
        query = sa.select(a.digest, a.size, a.media_type).where(a.run_id == run_id)
        return self._db.read(
            lambda conn: [
                (ArtifactRef(digest=row.digest, size=row.size), row.media_type)
                for row in conn.execute(query.order_by(a.id))
            ]
        )


class DataStoreMixin(StoreBase):
    """Data snapshots, immutable and keyed by the sha256 of their Parquet artifact."""

    def add_snapshot(self, snapshot: Snapshot) -> Snapshot:
        """Record a snapshot; an existing ``snapshot_id`` returns the stored one unchanged.

        Raises NotFoundError for an unknown project.
        """
        values = _snapshot_values(snapshot)

        def add(conn: sa.Connection) -> Snapshot:
            if _snapshot_row(conn, snapshot.snapshot_id) is None:
                self._require_project(conn, snapshot.project_id)
                self._insert_ignore(conn, t.snapshots, values, keys=("snapshot_id",))
            row = _snapshot_row(conn, snapshot.snapshot_id)
            assert row is not None
            return snapshot_from_row(row)

        return self._db.write(add, retry_unique=True)

    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        """Return a snapshot by id; raises NotFoundError if there is none."""

        def get(conn: sa.Connection) -> Snapshot:
            row = _snapshot_row(conn, snapshot_id)
            if row is None:
                raise NotFoundError(
                    f"No data snapshot has id '{snapshot_id}' in the metadata store "
                    f"{self._db.label}. Run `loopml summary` to see the project's data."
                )
            return snapshot_from_row(row)

        return self._db.read(get)

    def list_snapshots(self, project_id: str) -> list[Snapshot]:
        """Snapshots of a project, newest first."""
        s = t.snapshots
        query = sa.select(s).where(s.c.project_id == project_id).order_by(s.c.id.desc())
        return self._db.read(lambda conn: [snapshot_from_row(r) for r in conn.execute(query)])


def _project_row(conn: sa.Connection, name: str) -> AnyRow | None:
    return conn.execute(sa.select(t.projects).where(t.projects.c.name == name)).first()


def _snapshot_row(conn: sa.Connection, snapshot_id: str) -> AnyRow | None:
    query = sa.select(t.snapshots).where(t.snapshots.c.snapshot_id == snapshot_id)
    return conn.execute(query).first()


def _snapshot_values(snapshot: Snapshot) -> dict[str, Any]:
    field = f"snapshot '{snapshot.snapshot_id[:12]}'"
    return {
        "snapshot_id": snapshot.snapshot_id,
        "project_id": snapshot.project_id,
        "source": snapshot.source,
        "source_hash": snapshot.source_hash,
        "row_count": snapshot.row_count,
        "schema": schema_to_json(snapshot.schema, f"schema of {field}"),
        "column_map": to_json(dict(snapshot.column_map), f"column map of {field}"),
        "details": to_json(dict(snapshot.details), f"details of {field}"),
        "code_version": snapshot.code_version,
        "created_at": snapshot.created_at,
    }
