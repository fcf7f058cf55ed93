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
