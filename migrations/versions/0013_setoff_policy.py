"""The set-off policy (DESIGN §4a): a cycle's policy may be ``setoff`` besides ``fifo`` and
``pro_rata``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cycles") as batch:
        batch.drop_constraint(op.f("ck_cycles_policy_known"), type_="check")
        batch.create_check_constraint(
            op.f("ck_cycles_policy_known"), "policy IN ('fifo', 'pro_rata', 'setoff')"
        )


def downgrade() -> None:
    netted = op.get_bind().scalar(sa.text("SELECT count(*) FROM cycles WHERE policy = 'setoff'"))
    if netted:
        raise RuntimeError(
            f"{netted} cycles were netted with the setoff policy; the earlier schema cannot "
            "hold them, so the downgrade stops here"
        )
    with op.batch_alter_table("cycles") as batch:
        batch.drop_constraint(op.f("ck_cycles_policy_known"), type_="check")
        batch.create_check_constraint(
            op.f("ck_cycles_policy_known"), "policy IN ('fifo', 'pro_rata')"
        )
