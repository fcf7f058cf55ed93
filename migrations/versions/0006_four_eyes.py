"""Four eyes (DESIGN §7): an entity asks for one or two approvals per cycle; a cycle keeps who
proposed it and the approvals each entity asked for then; an entity's approvals are one per
operator, so the key of an approval takes in who gave it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _on_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.add_column(
        "entities",
        sa.Column("approvals_required", sa.Integer(), server_default="1", nullable=False),
    )
    # SQLite adds a constraint only by rebuilding the table, which the foreign keys that point
    # at entities forbid: there the domain's check (1 or 2) stands alone.
    if not _on_sqlite():
        op.create_check_constraint(
            op.f("ck_entities_approvals_one_or_two"), "entities", "approvals_required IN (1, 2)"
        )
    with op.batch_alter_table("cycles") as table:
        table.add_column(sa.Column("closed_by", sa.String(length=64), nullable=True))
        table.add_column(sa.Column("approvals_needed", sa.JSON(), nullable=True))
    with op.batch_alter_table("cycle_approvals") as table:
        table.drop_constraint(op.f("pk_cycle_approvals"), type_="primary")
        table.create_primary_key(op.f("pk_cycle_approvals"), ["cycle_id", "entity", "principal_id"])


def downgrade() -> None:
    twice = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM (SELECT cycle_id, entity FROM cycle_approvals "
            "GROUP BY cycle_id, entity HAVING count(*) > 1) AS doubled"
        )
    )
    if twice:
        raise RuntimeError(
            f"{twice} approvals were given by a second operator; a downgrade below 0006 "
            "would lose them"
        )
    with op.batch_alter_table("cycle_approvals") as table:
        table.drop_constraint(op.f("pk_cycle_approvals"), type_="primary")
        table.create_primary_key(op.f("pk_cycle_approvals"), ["cycle_id", "entity"])
    with op.batch_alter_table("cycles") as table:
        table.drop_column("approvals_needed")
        table.drop_column("closed_by")
    if not _on_sqlite():
        op.drop_constraint(op.f("ck_entities_approvals_one_or_two"), "entities", type_="check")
    op.drop_column("entities", "approvals_required")
