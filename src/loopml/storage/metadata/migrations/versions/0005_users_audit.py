"""The team server's users (one role each, an argon2 password hash), their API tokens
(only a sha256 of each is kept), the audit log and the server's secrets (the key that
signs session cookies).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from loopml.storage.metadata.tables import BigId, UTCDateTime

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", BigId, primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "api_tokens",
        _id(),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_name", sa.String(200), sa.ForeignKey("users.name"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "audit_log",
        _id(),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
    )
    op.create_table(
        "server_secrets",
        _id(),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("value", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("server_secrets")
    op.drop_table("audit_log")
    op.drop_table("api_tokens")
    op.drop_table("users")
