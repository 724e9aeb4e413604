"""Operations records on SQL: deployments, logged prediction batches and events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from loopml.domain import Deployment, Event, Feedback, PredictionBatch
from loopml.errors import NotFoundError
from loopml.storage.metadata import tables as t
from loopml.storage.metadata.base import StoreBase
from loopml.storage.metadata.codec import (
    batch_from_row,
    deployment_from_row,
    event_from_row,
    feedback_from_row,
    new_id,
    to_json,
    utcnow,
)

INITIAL_DEPLOYMENT_STATUS = "active"


class DeploymentStoreMixin(StoreBase):
    """Which model version serves where, in which mode, with which status."""

    def add_deployment(
        self,
        project_id: str,
        model_name: str,
        version: int,
        *,
        mode: str,
        url: str | None,
        config: Mapping[str, Any] | None = None,
    ) -> Deployment:
        """Record a deployment (status ``active``) with its routing ``config``;
        NotFoundError for an unknown project or model version."""
        deployment_id = new_id()
        values = {
            "deployment_id": deployment_id,
            "project_id": project_id,
            "model_name": model_name,
            "version": version,
            "mode": mode,
            "status": INITIAL_DEPLOYMENT_STATUS,
            "url": url,
            "created_at": utcnow(),
            "config": to_json(dict(config or {}), "deployment config"),
        }

        def add(conn: sa.Connection) -> Deployment:
            self._require_project(conn, project_id)
            _require_version(conn, model_name, version)
            conn.execute(sa.insert(t.deployments).values(**values))
            return _load_deployment(conn, deployment_id)

        return self._db.write(add)

    def set_deployment_status(self, deployment_id: str, status: str) -> Deployment:
        """Set a deployment's status and return it; NotFoundError for an unknown id."""

        def update(conn: sa.Connection) -> Deployment:
            conn.execute(
                sa.update(t.deployments)
                .where(t.deployments.c.deployment_id == deployment_id)
                .values(status=status)
            )
            return _load_deployment(conn, deployment_id)

        return self._db.write(update)

    def list_deployments(self, project_id: str) -> list[Deployment]:
        """Deployments of a project, newest first."""
        d = t.deployments
        query = sa.select(d).where(d.c.project_id == project_id).order_by(d.c.id.desc())
        return self._db.read(lambda conn: [deployment_from_row(r) for r in conn.execute(query)])


class MonitoringStoreMixin(StoreBase):
    """Logged prediction batches (the Parquet artifacts that monitoring reads)."""

    def add_prediction_batch(self, batch: PredictionBatch) -> None:
        """Record a batch (idempotent by ``batch_id``); NotFoundError for an unknown project."""
        values = {
            "batch_id": batch.batch_id,
            "project_id": batch.project_id,
            "model_name": batch.model_name,
            "version": batch.version,
            "artifact_digest": batch.artifact_digest,
            "row_count": batch.row_count,
            "first_at": batch.first_at,
            "last_at": batch.last_at,
        }

        def add(conn: sa.Connection) -> None:
            self._require_project(conn, batch.project_id)
            self._insert_ignore(conn, t.prediction_batches, values, keys=("batch_id",))

        self._db.write(add)

    def list_prediction_batches(
        self, model_name: str, version: int | None = None
    ) -> list[PredictionBatch]:
        """Batches of a model (or of one version), oldest first."""
        b = t.prediction_batches.c
        query = sa.select(t.prediction_batches).where(b.model_name == model_name)
        if version is not None:
            query = query.where(b.version == version)
        query = query.order_by(b.first_at, b.id)
        return self._db.read(lambda conn: [batch_from_row(r) for r in conn.execute(query)])


class FeedbackStoreMixin(StoreBase):
    """Ground truth for logged predictions, joined to the prediction log by id."""

    def add_feedback(self, project_id: str, items: Iterable[tuple[str, Any]]) -> int:
        """Record ``(prediction_id, value)`` pairs; a second value for an id replaces the
        first. Returns how many were written; NotFoundError for an unknown project."""
        now = utcnow()
        rows = [
            {
                "project_id": project_id,
                "prediction_id": pid,
                "value": to_json(value, f"feedback for {pid}"),
                "received_at": now,
            }
            for pid, value in items
        ]

        def add(conn: sa.Connection) -> int:
            self._require_project(conn, project_id)
            if not rows:
                return 0
            f = t.feedback.c
            ids = [r["prediction_id"] for r in rows]
            conn.execute(sa.delete(t.feedback).where(f.prediction_id.in_(ids)))
            conn.execute(sa.insert(t.feedback), rows)
            return len(rows)

        return self._db.write(add)

    def list_feedback(self, project_id: str, since: datetime | None = None) -> list[Feedback]:
        """Feedback of a project (received at or after ``since``), oldest first."""
        f = t.feedback.c
        query = sa.select(t.feedback).where(f.project_id == project_id)
        if since is not None:
            query = query.where(f.received_at >= since)
        query = query.order_by(f.id)
        return self._db.read(lambda conn: [feedback_from_row(r) for r in conn.execute(query)])


class EventStoreMixin(StoreBase):
    """The audit trail: gate verdicts, promotions, alerts, deployments."""

    def add_event(self, project_id: str, kind: str, payload: Mapping[str, Any]) -> Event:
        """Append an event and return it; NotFoundError for an unknown project."""
        values = {
            "project_id": project_id,
            "kind": kind,
            "created_at": utcnow(),
            "payload": to_json(dict(payload), f"payload of event '{kind}'"),
        }

        def add(conn: sa.Connection) -> Event:
            self._require_project(conn, project_id)
            result = conn.execute(sa.insert(t.events).values(**values))
            event_id = result.inserted_primary_key[0]  # type: ignore[index]
            row = conn.execute(sa.select(t.events).where(t.events.c.event_id == event_id)).one()
            return event_from_row(row)

        return self._db.write(add)

    def list_events(
        self,
        project_id: str,
        kind: str | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[Event]:
        """Events of a project (or of one kind), oldest first (or newest), a page of
        ``limit`` after ``offset`` when given."""
        e = t.events.c
        query = sa.select(t.events).where(*_events_of(project_id, kind))
        query = query.order_by(e.event_id.desc() if newest_first else e.event_id)
        query = query.offset(offset) if limit is None else query.limit(limit).offset(offset)
        return self._db.read(lambda conn: [event_from_row(r) for r in conn.execute(query)])

    def count_events(self, project_id: str, kind: str | None = None) -> int:
        """How many events ``list_events`` pages through."""
        counted = sa.select(sa.func.count()).select_from(t.events)
        query = counted.where(*_events_of(project_id, kind))
        return self._db.read(lambda conn: int(conn.execute(query).scalar_one()))


def _events_of(project_id: str, kind: str | None) -> list[sa.ColumnElement[bool]]:
    e = t.events.c
    return [e.project_id == project_id] + ([] if kind is None else [e.kind == kind])


def _require_version(conn: sa.Connection, name: str, version: int) -> None:
    mv = t.model_versions.c
    found = conn.execute(sa.select(mv.id).where(mv.name == name, mv.version == version)).first()
    if found is None:
        latest = conn.execute(sa.select(sa.func.max(mv.version)).where(mv.name == name)).scalar()
        where = "no versions" if latest is None else f"latest is {latest}"
        raise NotFoundError(
            f"Model '{name}' has no version {version} ({where}); only registered versions "
            f"can be deployed. Run `loopml models {name}`."
        )


def _load_deployment(conn: sa.Connection, deployment_id: str) -> Deployment:
    d = t.deployments
    row = conn.execute(sa.select(d).where(d.c.deployment_id == deployment_id)).first()
    if row is None:
        raise NotFoundError(
            f"No deployment has id '{deployment_id}'. Run `loopml summary` to see the deployments."
        )
    return deployment_from_row(row)
