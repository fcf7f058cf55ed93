"""Cycle steps: a cycle's cut-off (``take``) and settlement (``settle``) are recorded once per
cycle, and an invoice's state while a cycle holds it is derived from that row and the cycle's
snapshot, instead of rewriting every invoice (and adding an event per invoice) at each step.

Existing rows need nothing: without a recorded step, an invoice's row is its whole state, as
before; a cycle taken before this revision is settled through its rows as before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cycle_steps",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("cycle_id", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("after_event", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("step IN ('take', 'settle')", name=op.f("ck_cycle_steps_step_known")),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_cycle_steps_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle_steps")),
        sa.UniqueConstraint("cycle_id", "step", name=op.f("uq_cycle_steps_cycle_id_step")),
    )


def downgrade() -> None:
    # Recorded steps hold state that earlier revisions keep in the invoices' rows and events;
    # dropping them would silently change invoices, so only an unused table is dropped.
    steps = op.get_bind().scalar(sa.text("SELECT count(*) FROM cycle_steps"))
    if steps:
        raise RuntimeError(
            f"cycle_steps holds {steps} recorded steps that invoices derive their state from; "
            "a downgrade below 0004 would lose them"
        )
    op.drop_table("cycle_steps")
