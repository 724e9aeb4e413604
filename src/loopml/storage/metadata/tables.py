"""The metadata tables as SQLAlchemy Core tables (created only by the Alembic migrations).

Every table has an integer ``id`` that orders rows by insertion ("newest first" is
``id DESC``); public identifiers (``run_id``, ``project_id``, ...) are unique columns.
JSON values are stored as text encoded by ``codec`` so that both backends round-trip them
identically. Timestamps are UTC: naive on SQLite, ``timestamptz`` on PostgreSQL, always
returned UTC-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and returned UTC-aware (naive input is taken as UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = value
        if stamp.tzinfo is None:
            return stamp.replace(tzinfo=UTC)
        return stamp.astimezone(UTC)

    def result_processor(self, dialect: sa.Dialect, coltype: Any) -> Any:
        """On SQLite, parse the stored text straight to a UTC-aware datetime (one C call
        instead of SQLAlchemy's parse then ``process_result_value``); it matters when a
        search returns thousands of runs."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if isinstance(value, datetime):
                return self.process_result_value(value, dialect)
            return parse(value).replace(tzinfo=UTC)

        return process


metadata = sa.MetaData()

_ID = 32  # uuid4 hex
_DIGEST = 64  # sha256 hex
# 64-bit keys on PostgreSQL; SQLite only aliases the rowid for a column typed INTEGER.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", BigId, primary_key=True, autoincrement=True)


projects = sa.Table(
    "projects",
    metadata,
    _id(),
    sa.Column("project_id", sa.String(_ID), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    _id(),
    sa.Column("run_id", sa.String(_ID), nullable=False, unique=True),
    sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.project_id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("outputs", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("code_version", sa.String(200), nullable=False),
    sa.Column("parent_run_id", sa.String(_ID), sa.ForeignKey("runs.run_id"), nullable=True),
    sa.Column("cache_key", sa.String(200), nullable=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("host", sa.String(255), nullable=True),
    sa.Index("ix_runs_project_name_cache_key", "project_id", "name", "cache_key"),
    sa.Index("ix_runs_parent_run_id", "parent_run_id"),
    sa.Index("ix_runs_project_id_id", "project_id", "id"),  # a project's newest first (0006)
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column("run_id", sa.String(_ID), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

metrics = sa.Table(
    "metrics",
    metadata,
    _id(),
    sa.Column("run_id", sa.String(_ID), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("value", sa.Float, nullable=True),  # NULL is NaN (SQLite stores NaN as NULL)
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", UTCDateTime(), nullable=False),
    # A run's values of a key in step order: the latest value is one index seek (0003).
    sa.Index("ix_metrics_run_key_step", "run_id", "key", "step", "id"),
    sa.Index("ix_metrics_key_value", "key", "value"),
)

# Each run's latest value of each metric (highest step, the last logged on a tie), kept
# by log_metrics in the same transaction: a search filters and sorts on a metric by
# joining it, through the (key, value) index, instead of a lookup per run (0006).
latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", sa.String(_ID), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Float, nullable=True),  # NULL is NaN, as in metrics
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    _id(),
    sa.Column("digest", sa.String(_DIGEST), nullable=False, unique=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("media_type", sa.String(200), nullable=False),
    sa.Column("run_id", sa.String(_ID), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_artifacts_run_id", "run_id"),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    _id(),
    sa.Column("snapshot_id", sa.String(_DIGEST), nullable=False, unique=True),
    sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.project_id"), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("source_hash", sa.String(_DIGEST), nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("schema", sa.Text, nullable=False),
    sa.Column("column_map", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),
    sa.Column("code_version", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_snapshots_project_id", "project_id"),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    _id(),
    sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.project_id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(_ID), nullable=False),
    sa.Column("artifact_digest", sa.String(_DIGEST), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("lineage", sa.Text, nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("alias", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("name", "alias", name="uq_model_aliases_name_alias"),
    sa.ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        name="fk_model_aliases_version",
    ),
)

deployments = sa.Table(
    "deployments",
    metadata,
    _id(),
    sa.Column("deployment_id", sa.String(_ID), nullable=False, unique=True),
    sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.project_id"), nullable=False),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("config", sa.Text, nullable=False, server_default="{}"),
    sa.Index("ix_deployments_project_id", "project_id"),
)

prediction_batches = sa.Table(
    "prediction_batches",
    metadata,
    _id(),
    sa.Column("batch_id", sa.String(_ID), nullable=False, unique=True),
    sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.project_id"), nullable=False),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("artifact_digest", sa.String(_DIGEST), nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("first_at", UTCDateTime(), nullable=False),
    sa.Column("last_at", UTCDateTime(), nullable=False),
    sa.Index("ix_prediction_batches_model", "model_name", "version", "first_at"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    _id(),
    sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.project_id"), nullable=False),
    sa.Column("prediction_id", sa.String(64), nullable=False, unique=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Index("ix_feedback_project_received", "project_id", "received_at"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("event_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.project_id"), nullable=False),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Index("ix_events_project_kind", "project_id", "kind"),
)

users = sa.Table(
    "users",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    _id(),
    sa.Column("token_hash", sa.String(_DIGEST), nullable=False, unique=True),
    sa.Column("user_name", sa.String(200), sa.ForeignKey("users.name"), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    _id(),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("user_name", sa.String(200), nullable=False),
    sa.Column("action", sa.String(200), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("client", sa.String(200), nullable=False),
    sa.Column("outcome", sa.String(40), nullable=False),
)

server_secrets = sa.Table(
    "server_secrets",
    metadata,
    _id(),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("value", sa.String(128), nullable=False),
)
