"""Bank statements in (DESIGN §5): every imported statement line, keyed per entity by the
bank's entry reference (and its transaction's number in a batch booking), with what it was
matched to; the credits that matched nothing are the suspense list.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_entries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("entry_reference", sa.String(length=35), nullable=False),
        sa.Column("batch_part", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=6), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False, comment="minor units of currency"),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=True),
        sa.Column("remittance", sa.String(length=800), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("counterparty_name", sa.String(length=140), nullable=False),
        sa.Column("counterparty_account", sa.String(length=34), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("cycle_id", sa.String(length=40), nullable=True),
        sa.Column("participant_id", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=8), nullable=True),
        sa.Column("pay_in_id", sa.String(length=80), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_bank_entries_amount_positive")),
        sa.CheckConstraint("batch_part >= 0", name=op.f("ck_bank_entries_batch_part_not_negative")),
        sa.CheckConstraint(
            "direction IN ('credit', 'debit')", name=op.f("ck_bank_entries_direction_known")
        ),
        sa.CheckConstraint(
            "status IN ('matched', 'suspense', 'assigned', 'returned', 'confirmed', 'unmatched')",
            name=op.f("ck_bank_entries_status_known"),
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_bank_entries_currency_iso"),
        ),
        sa.ForeignKeyConstraint(
            ["entity"], ["entities.code"], name=op.f("fk_bank_entries_entity_entities")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_bank_entries_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_entries")),
        sa.UniqueConstraint(
            "entity",
            "entry_reference",
            "batch_part",
            name=op.f("uq_bank_entries_entity_entry_reference_batch_part"),
        ),
    )
    op.create_index("ix_bank_entries_entity_status", "bank_entries", ["entity", "status"])
    op.create_index(op.f("ix_bank_entries_cycle_id"), "bank_entries", ["cycle_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_bank_entries_cycle_id"), table_name="bank_entries")
    op.drop_index("ix_bank_entries_entity_status", table_name="bank_entries")
    op.drop_table("bank_entries")
