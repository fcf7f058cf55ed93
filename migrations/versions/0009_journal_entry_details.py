"""Money is journaled as it moves (DESIGN §5): each journal entry may carry its details — a
payment's participant, bank reference and value date, who recorded it and when; a refund's
reason; a discharge's superseded cycles — hashed with the entry.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 18:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Pay-ins were journaled at settlement before this revision, and from it on as they are
    # recorded: a cycle part-paid across the upgrade would have its earlier pay-ins in no entry.
    waiting = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM pay_ins JOIN cycles ON cycles.id = pay_ins.cycle_id "
            "WHERE cycles.status IN ('approved', 'settling')"
        )
    )
    if waiting:
        raise RuntimeError(
            f"{waiting} pay-ins are recorded for a cycle not yet settled: settle it (or declare "
            "the default and settle the successor) with the code before this upgrade first"
        )
    op.add_column("journal_entries", sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    detailed = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM journal_entries WHERE details IS NOT NULL")
    )
    if detailed:
        raise RuntimeError(
            f"{detailed} journal entries carry details their hashes cover; a downgrade below "
            "0009 would break the chain"
        )
    op.drop_column("journal_entries", "details")
