"""Each run's latest value of each metric in a table of its own (``latest_metrics``, kept by
``log_metrics``), and runs indexed by ``(project_id, id)``: a search among 10,000 runs
sorts and filters on a metric through the ``(key, value)`` index and pages the newest
runs off an index, instead of a lookup per run and a sort of every row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    latest = op.create_table(
        "latest_metrics",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("step", sa.BigInteger, nullable=False),
    )
    assert latest is not None
    metrics = sa.table(
        "metrics",
        sa.column("id"),
        sa.column("run_id"),
        sa.column("key"),
        sa.column("value"),
        sa.column("step"),
    )
    rank = (
        sa.func.row_number()
        .over(
            partition_by=(metrics.c.run_id, metrics.c.key),
            order_by=(metrics.c.step.desc(), metrics.c.id.desc()),
        )
        .label("rank")
    )
    ranked = sa.select(
        metrics.c.run_id, metrics.c.key, metrics.c.value, metrics.c.step, rank
    ).subquery()
    newest = sa.select(ranked.c.run_id, ranked.c.key, ranked.c.value, ranked.c.step).where(
        ranked.c.rank == 1
    )
    op.execute(latest.insert().from_select(["run_id", "key", "value", "step"], newest))
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
    op.create_index("ix_runs_project_id_id", "runs", ["project_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_runs_project_id_id", table_name="runs")
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")
    op.drop_table("latest_metrics")
