"""A run's values of a metric in step order: ``(run_id, key, step, id)`` replaces ``(run_id,
key)``, so that the latest value of a key (``search_runs``, ``latest_metrics``) is one index
seek however many steps were logged.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_metrics_run_key_step", "metrics", ["run_id", "key", "step", "id"])
    op.drop_index("ix_metrics_run_id_key", table_name="metrics")


def downgrade() -> None:
    op.create_index("ix_metrics_run_id_key", "metrics", ["run_id", "key"])
    op.drop_index("ix_metrics_run_key_step", table_name="metrics")
