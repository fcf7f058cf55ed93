"""Ageing (DESIGN §6a): every invoice records when it first became eligible and how many cycles
carried it (snapshotted it without settling it in full), and ageing rules, data like the
compliance rules, flag the invoices of the pool that waited too long as stale.

A cycle's cut-off and settlement are recorded once per cycle (revision 0004), so the count is
not rewritten into every invoice as a cycle settles: a row keeps the count as it was written
and the latest take step then (``carried_after_step``), and every take after that step whose
cycle has settled carried it once more.

Existing invoices are filled in from what is recorded: the first eligibility from their first
event into ``eligible`` (or their creation, for an invoice in the pool without one); the count
from the snapshots of the cycles that settled without settling them in full and of the
superseded cycles that dropped them; a row whose count includes every cycle that has ended is
written after the latest take, or before it while that take's cycle has yet to settle and holds
the invoice. The shipped default rules are seeded.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The statuses of a cycle that may still settle (DESIGN §6).
_ACTIVE = ("open", "proposed", "approved", "settling")


def upgrade() -> None:
    with op.batch_alter_table("invoices") as table:
        table.add_column(sa.Column("first_eligible_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(
            sa.Column("cycles_carried", sa.Integer(), server_default="0", nullable=False)
        )
        table.add_column(
            sa.Column("carried_after_step", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.create_table(
        "ageing_rules",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "threshold",
            sa.Integer(),
            nullable=False,
            comment="cycles, or days past the due date",
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('cycles_carried', 'days_overdue')", name=op.f("ck_ageing_rules_kind_known")
        ),
        sa.CheckConstraint("threshold >= 1", name=op.f("ck_ageing_rules_threshold_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ageing_rules")),
        sa.UniqueConstraint("kind", "threshold", name=op.f("uq_ageing_rules_kind_threshold")),
    )
    fill_in_first_eligibility()
    fill_in_cycles_carried()
    _seed_default_rules()


def fill_in_first_eligibility() -> None:
    execute = op.get_bind().execute
    execute(
        sa.text(
            "UPDATE invoices SET first_eligible_at = (SELECT min(e.at) FROM invoice_events e "
            "WHERE e.invoice_id = invoices.id AND e.to_status = 'eligible')"
        )
    )
    execute(
        sa.text(
            "UPDATE invoices SET first_eligible_at = created_at WHERE first_eligible_at IS NULL "
            "AND status IN ('eligible', 'in_cycle', 'settled')"
        )
    )


def fill_in_cycles_carried() -> None:
    bind = op.get_bind()
    # Carried: in the snapshot of a settled cycle that left some of it outstanding, or of a
    # superseded cycle whose successor does not hold it (the default dropped it).
    bind.execute(
        sa.text(
            "UPDATE invoices SET cycles_carried = carried.cycles FROM ("
            "SELECT co.invoice_id AS invoice_id, count(*) AS cycles "
            "FROM cycle_obligations co JOIN cycles c ON c.id = co.cycle_id "
            "WHERE (c.status = 'settled' AND co.settled < co.outstanding) "
            "OR (c.status = 'superseded' AND NOT EXISTS (SELECT 1 FROM cycle_obligations s "
            "WHERE s.cycle_id = c.superseded_by AND s.invoice_id = co.invoice_id)) "
            "GROUP BY co.invoice_id) AS carried WHERE carried.invoice_id = invoices.id"
        )
    )
    latest = bind.execute(
        sa.text(
            "SELECT s.id, s.cycle_id, c.status, (SELECT count(*) FROM cycle_steps d "
            "WHERE d.cycle_id = s.cycle_id AND d.step = 'settle') FROM cycle_steps s "
            "JOIN cycles c ON c.id = s.cycle_id WHERE s.step = 'take' ORDER BY s.id DESC LIMIT 1"
        )
    ).first()
    if latest is None:
        return
    take_id, cycle_id, status, settled = latest
    bind.execute(sa.text("UPDATE invoices SET carried_after_step = :step"), {"step": take_id})
    if status in _ACTIVE and not settled:
        # The take may still settle: what it holds was written before it.
        before = bind.scalar(
            sa.text(
                "SELECT coalesce(max(id), 0) FROM cycle_steps WHERE step = 'take' AND id < :step"
            ),
            {"step": take_id},
        )
        bind.execute(
            sa.text(
                "UPDATE invoices SET carried_after_step = :before WHERE id IN "
                "(SELECT invoice_id FROM cycle_obligations WHERE cycle_id = :cycle)"
            ),
            {"before": before, "cycle": cycle_id},
        )


def _seed_default_rules() -> None:
    """The shipped default; operators change it with ``clearing ageing``."""
    rules = sa.table(
        "ageing_rules",
        sa.column("kind", sa.String),
        sa.column("threshold", sa.Integer),
        sa.column("description", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    defaults = [
        {"kind": "cycles_carried", "threshold": 6, "description": "carried six cycles"},
        {"kind": "days_overdue", "threshold": 30, "description": "a month overdue"},
    ]
    op.bulk_insert(rules, [{**row, "created_at": now} for row in defaults])


def downgrade() -> None:
    op.drop_table("ageing_rules")
    with op.batch_alter_table("invoices") as table:
        table.drop_column("carried_after_step")
        table.drop_column("cycles_carried")
        table.drop_column("first_eligible_at")
