"""A pay-in keeps the day the bank credited it (its value date), as its bank statement shows it.

Pay-ins recorded before this revision take the day they were recorded; carried pay-ins have
none of their own.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("pay_ins", sa.Column("value_date", sa.Date(), nullable=True))
    # The UTC day: SQLite's CAST would keep only the year, PostgreSQL's would follow the
    # session's time zone.
    day = (
        "date(recorded_at)"
        if op.get_bind().dialect.name == "sqlite"
        else "CAST(recorded_at AT TIME ZONE 'UTC' AS DATE)"
    )
    op.execute(f"UPDATE pay_ins SET value_date = {day} WHERE carried_from IS NULL")


def downgrade() -> None:
    op.drop_column("pay_ins", "value_date")
