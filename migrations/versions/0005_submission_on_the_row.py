"""An invoice's submission is kept on its row (who submitted it, and into which status) and
the first event of its history is read from there, instead of writing a row of
``invoice_events`` for every invoice submitted: a batch of a thousand invoices then writes a
thousand rows, not two thousand.

Invoices submitted before this revision keep their first event as a row (``submitted_by`` is
NULL on them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invoices") as table:
        table.add_column(sa.Column("submitted_by", sa.String(length=64), nullable=True))
        table.add_column(sa.Column("submitted_as", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # A first event read from a row would have to come back as a row ordered before every
    # later event of its invoice, which appending cannot do: only unused columns are dropped.
    submitted = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM invoices WHERE submitted_by IS NOT NULL")
    )
    if submitted:
        raise RuntimeError(
            f"{submitted} invoices keep their first event on their row; a downgrade below "
            "0005 would lose it"
        )
    with op.batch_alter_table("invoices") as table:
        table.drop_column("submitted_as")
        table.drop_column("submitted_by")
