"""The initial metadata schema: every table and index of loopml 0.1.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Written by hand; ``tables.py`` must describe the same schema (a test compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 32
DIGEST = 64
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _id() -> sa.Column[Any]:
    return sa.Column("id", BIG_ID, primary_key=True, autoincrement=True)


def _project_fk() -> sa.Column[Any]:
    return sa.Column(
        "project_id", sa.String(ID), sa.ForeignKey("projects.project_id"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "projects",
        _id(),
        sa.Column("project_id", sa.String(ID), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "runs",
        _id(),
        sa.Column("run_id", sa.String(ID), nullable=False, unique=True),
        _project_fk(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("outputs", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("code_version", sa.String(200), nullable=False),
        sa.Column("parent_run_id", sa.String(ID), sa.ForeignKey("runs.run_id"), nullable=True),
        sa.Column("cache_key", sa.String(200), nullable=True),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
    )
    op.create_index("ix_runs_project_name_cache_key", "runs", ["project_id", "name", "cache_key"])
    op.create_index("ix_runs_parent_run_id", "runs", ["parent_run_id"])
    op.create_table(
        "run_tags",
        sa.Column("run_id", sa.String(ID), sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "metrics",
        _id(),
        sa.Column("run_id", sa.String(ID), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", TS, nullable=False),
    )
    op.create_index("ix_metrics_run_id_key", "metrics", ["run_id", "key"])
    op.create_index("ix_metrics_key_value", "metrics", ["key", "value"])
    op.create_table(
        "artifacts",
        _id(),
        sa.Column("digest", sa.String(DIGEST), nullable=False, unique=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(ID), nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_artifacts_run_id", "artifacts", ["run_id"])
    op.create_table(
        "snapshots",
        _id(),
        sa.Column("snapshot_id", sa.String(DIGEST), nullable=False, unique=True),
        _project_fk(),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_hash", sa.String(DIGEST), nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("schema", sa.Text, nullable=False),
        sa.Column("column_map", sa.Text, nullable=False),
        sa.Column("code_version", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_snapshots_project_id", "snapshots", ["project_id"])
    op.create_table(
        "model_versions",
        _id(),
        _project_fk(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(ID), nullable=False),
        sa.Column("artifact_digest", sa.String(DIGEST), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("lineage", sa.Text, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
    )
    op.create_table(
        "model_aliases",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("alias", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("name", "alias", name="uq_model_aliases_name_alias"),
        sa.ForeignKeyConstraint(
            ["name", "version"],
            ["model_versions.name", "model_versions.version"],
            name="fk_model_aliases_version",
        ),
    )
    op.create_table(
        "deployments",
        _id(),
        sa.Column("deployment_id", sa.String(ID), nullable=False, unique=True),
        _project_fk(),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_deployments_project_id", "deployments", ["project_id"])
    op.create_table(
        "prediction_batches",
        _id(),
        sa.Column("batch_id", sa.String(ID), nullable=False, unique=True),
        _project_fk(),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("artifact_digest", sa.String(DIGEST), nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("first_at", TS, nullable=False),
        sa.Column("last_at", TS, nullable=False),
    )
    op.create_index(
        "ix_prediction_batches_model", "prediction_batches", ["model_name", "version", "first_at"]
    )
    op.create_table(
        "events",
        sa.Column("event_id", BIG_ID, primary_key=True, autoincrement=True),
        _project_fk(),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_index("ix_events_project_kind", "events", ["project_id", "kind"])


def downgrade() -> None:
    for table in (
        "events",
        "prediction_batches",
        "deployments",
        "model_aliases",
        "model_versions",
        "snapshots",
        "artifacts",
        "metrics",
        "run_tags",
        "runs",
        "projects",
    ):
        op.drop_table(table)
