"""Idempotency records keep the first answer as an opaque JSON document: the HTTP status of a
success is the route's own, so it is no longer stored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as table:
        table.drop_column("status_code")
        table.alter_column("body", new_column_name="answer", existing_type=sa.JSON())


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as table:
        table.alter_column("answer", new_column_name="body", existing_type=sa.JSON())
        table.add_column(
            sa.Column("status_code", sa.Integer(), nullable=False, server_default="200")
        )
