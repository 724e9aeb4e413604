"""Encoding of JSON columns and conversion of table rows into domain objects.

JSON is written as text with Python's ``json`` (NaN and infinities allowed) so that both
backends store and return exactly the same values. NumPy scalars and arrays, paths, sets,
tuples, enums and datetimes are converted to plain JSON values; anything else is refused
with a StorageError naming the field.
"""

from __future__ import annotations

import enum
import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import PurePath
from typing import Any, TypeAlias

from sqlalchemy.engine import Row

from loopml.domain import (
    Deployment,
    Event,
    Feedback,
    Metric,
    ModelVersion,
    PredictionBatch,
    Project,
    Run,
    RunStatus,
    Schema,
    Snapshot,
)
from loopml.domain.users import AuditEntry, User
from loopml.errors import StorageError

AnyRow: TypeAlias = Row[*tuple[Any, ...]]


def utcnow() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


def new_id() -> str:
    """A new random identifier: 32 lowercase hex characters."""
    return uuid.uuid4().hex


def to_json(value: Any, field: str) -> str:
    """Encode ``value`` as JSON text; ``field`` names it in the error when it cannot be."""
    try:
        return json.dumps(value, default=_plain, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise StorageError(
            f"The {field} cannot be stored: {exc}. Use strings, numbers, booleans, None, "
            "lists and dicts."
        ) from exc


def from_json(text: str | None) -> Any:
    """Decode JSON text written by ``to_json`` (None reads as an empty dict)."""
    return {} if text is None else json.loads(text)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON serializable")


def schema_to_json(schema: Schema, field: str) -> str:
    """Encode a Schema as a JSON list of column dicts (``Schema.to_dict``'s columns)."""
    return to_json(schema.to_dict()["columns"], field)


def schema_from_json(text: str) -> Schema:
    """Rebuild the Schema encoded by ``schema_to_json``."""
    return Schema.from_dict({"columns": json.loads(text)})


def metric_value(value: float) -> float | None:
    """A metric value as stored: NaN becomes NULL (SQLite cannot store NaN)."""
    value = float(value)
    return None if math.isnan(value) else value


def project_from_row(row: AnyRow) -> Project:
    return Project(project_id=row.project_id, name=row.name, created_at=row.created_at)


def run_from_row(row: AnyRow, tags: Mapping[str, str]) -> Run:
    return Run(
        run_id=row.run_id,
        project_id=row.project_id,
        name=row.name,
        status=RunStatus(row.status),
        started_at=row.started_at,
        ended_at=row.ended_at,
        params=from_json(row.params),
        tags=dict(tags),
        outputs=from_json(row.outputs),
        error=row.error,
        code_version=row.code_version,
        parent_run_id=row.parent_run_id,
        cache_key=row.cache_key,
        pid=row.pid,
        host=row.host,
    )


def metric_from_row(row: AnyRow) -> Metric:
    value = math.nan if row.value is None else row.value
    return Metric(key=row.key, value=value, step=row.step, timestamp=row.timestamp)


def snapshot_from_row(row: AnyRow) -> Snapshot:
    return Snapshot(
        snapshot_id=row.snapshot_id,
        project_id=row.project_id,
        source=row.source,
        source_hash=row.source_hash,
        row_count=row.row_count,
        schema=schema_from_json(row.schema),
        created_at=row.created_at,
        column_map=from_json(row.column_map),
        code_version=row.code_version,
        details=from_json(row.details),
    )


def model_version_from_row(row: AnyRow, aliases: tuple[str, ...]) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        version=row.version,
        run_id=row.run_id,
        artifact_digest=row.artifact_digest,
        created_at=row.created_at,
        signature=schema_from_json(row.signature),
        metrics=from_json(row.metrics),
        lineage=from_json(row.lineage),
        aliases=aliases,
    )


def deployment_from_row(row: AnyRow) -> Deployment:
    return Deployment(
        deployment_id=row.deployment_id,
        project_id=row.project_id,
        model_name=row.model_name,
        version=row.version,
        mode=row.mode,
        status=row.status,
        created_at=row.created_at,
        url=row.url,
        config=from_json(row.config),
    )


def feedback_from_row(row: AnyRow) -> Feedback:
    return Feedback(row.prediction_id, from_json(row.value), row.received_at)


def batch_from_row(row: AnyRow) -> PredictionBatch:
    return PredictionBatch(
        batch_id=row.batch_id,
        project_id=row.project_id,
        model_name=row.model_name,
        version=row.version,
        artifact_digest=row.artifact_digest,
        row_count=row.row_count,
        first_at=row.first_at,
        last_at=row.last_at,
    )


def event_from_row(row: AnyRow) -> Event:
    return Event(
        event_id=row.event_id,
        project_id=row.project_id,
        kind=row.kind,
        created_at=row.created_at,
        payload=from_json(row.payload),
    )


def user_from_row(row: AnyRow) -> User:
    return User(name=row.name, role=row.role, created_at=row.created_at)


def audit_from_row(row: AnyRow) -> AuditEntry:
    return AuditEntry(
        entry_id=row.id,
        at=row.at,
        user=row.user_name,
        action=row.action,
        target=row.target,
        client=row.client,
        outcome=row.outcome,
    )
