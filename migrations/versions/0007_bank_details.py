"""Bank details for payment files (DESIGN §5): an entity's own bank code and settlement account,
a participant's bank code beside its account, and every version of a participant's details
(the registration first) with who set it and when.

Participants registered before this revision get their current details as version 1, set by
``registration`` at their registration time.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("entities", sa.Column("bank_code", sa.String(length=12), nullable=True))
    op.add_column("entities", sa.Column("account", sa.String(length=34), nullable=True))
    op.add_column("participants", sa.Column("bank_code", sa.String(length=12), nullable=True))
    op.create_table(
        "participant_versions",
        sa.Column("participant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=True),
        sa.Column("bank_code", sa.String(length=12), nullable=True),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_participant_versions_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("participant_id", "version", name=op.f("pk_participant_versions")),
    )
    op.execute(
        "INSERT INTO participant_versions "
        "(participant_id, version, name, bank_account, bank_code, changed_by, changed_at) "
        "SELECT id, 1, name, bank_account, NULL, 'registration', created_at FROM participants"
    )


def downgrade() -> None:
    op.drop_table("participant_versions")
    op.drop_column("participants", "bank_code")
    op.drop_column("entities", "account")
    op.drop_column("entities", "bank_code")
