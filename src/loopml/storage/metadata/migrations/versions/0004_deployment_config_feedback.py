"""Deployments carry their routing (``config``: shadow/A-B/canary challenger, share,
sticky key) and ground truth sent to ``POST /feedback`` lands in ``feedback``, keyed by
the prediction id it labels.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from loopml.storage.metadata.tables import BigId, UTCDateTime

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deployments", sa.Column("config", sa.Text, nullable=False, server_default="{}"))
    op.create_table(
        "feedback",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "project_id", sa.String(32), sa.ForeignKey("projects.project_id"), nullable=False
        ),
        sa.Column("prediction_id", sa.String(64), nullable=False, unique=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_feedback_project_received", "feedback", ["project_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_project_received", table_name="feedback")
    op.drop_table("feedback")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("config")
