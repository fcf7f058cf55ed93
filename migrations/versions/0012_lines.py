"""Liquidity lines (DESIGN §4b): the lines between two entities with their history, the balance
each settled cycle moved, and per cycle the line terms frozen at its cut-off with what its
netting does to each line. A line's money columns are minor units of its currency.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: A BIGINT primary key that SQLite also auto-increments (it only does so for INTEGER).
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LINE_MINOR = "minor units of the line's currency"


def _money(name: str, comment: str = LINE_MINOR, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable, comment=comment)


def upgrade() -> None:
    op.create_table(
        "lines",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _money("credit_limit"),
        _money("balance"),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("proposer", sa.String(length=8), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        _money("pending_limit", nullable=True),
        sa.Column("pending_entity", sa.String(length=8), nullable=True),
        sa.Column("pending_by", sa.String(length=64), nullable=True),
        sa.Column("pending_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("source <> target", name=op.f("ck_lines_two_entities")),
        sa.CheckConstraint(
            "credit_limit >= 0 AND balance >= 0", name=op.f("ck_lines_not_negative")
        ),
        sa.CheckConstraint("status IN ('pending', 'active')", name=op.f("ck_lines_status_known")),
        sa.CheckConstraint(
            "pending_limit IS NULL AND pending_entity IS NULL AND pending_by IS NULL "
            "AND pending_at IS NULL OR pending_limit >= 0 AND pending_entity IS NOT NULL "
            "AND pending_by IS NOT NULL AND pending_at IS NOT NULL",
            name=op.f("ck_lines_pending_limit_whole"),
        ),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_lines_currency_iso"),
        ),
        sa.ForeignKeyConstraint(
            ["source"], ["entities.code"], name=op.f("fk_lines_source_entities")
        ),
        sa.ForeignKeyConstraint(
            ["target"], ["entities.code"], name=op.f("fk_lines_target_entities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lines")),
        sa.UniqueConstraint(
            "source", "target", "currency", name=op.f("uq_lines_source_target_currency")
        ),
    )
    op.create_table(
        "line_events",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("line_id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        _money("credit_limit"),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action IN ('proposed', 'confirmed', 'limit_proposed', 'limit_confirmed')",
            name=op.f("ck_line_events_action_known"),
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_line_events_line_id_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_events")),
    )
    op.create_index(op.f("ix_line_events_line_id"), "line_events", ["line_id"])
    op.create_table(
        "line_movements",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("line_id", sa.String(length=40), nullable=False),
        sa.Column("cycle_id", sa.String(length=40), nullable=False),
        _money("drawn"),
        _money("repaid"),
        _money("balance"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "drawn >= 0 AND repaid >= 0 AND balance >= 0",
            name=op.f("ck_line_movements_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_line_movements_line_id_lines")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_line_movements_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_movements")),
        sa.UniqueConstraint("line_id", "cycle_id", name=op.f("uq_line_movements_line_id_cycle_id")),
    )
    op.create_table(
        "cycle_lines",
        sa.Column("cycle_id", sa.String(length=40), nullable=False),
        sa.Column("line_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _money("credit_limit"),
        _money("balance_before"),
        _money("drawn"),
        _money("repaid"),
        _money("balance_after"),
        _money("source_flow", "minor units, source's currency"),
        _money("target_flow", "minor units, target's currency"),
        _money("drawn_value", "base minor units"),
        _money("repaid_value", "base minor units"),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_cycle_lines_cycle_id_cycles")
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_cycle_lines_line_id_lines")
        ),
        sa.PrimaryKeyConstraint("cycle_id", "line_id", name=op.f("pk_cycle_lines")),
    )


def downgrade() -> None:
    op.drop_table("cycle_lines")
    op.drop_table("line_movements")
    op.drop_index(op.f("ix_line_events_line_id"), table_name="line_events")
    op.drop_table("line_events")
    op.drop_table("lines")
