"""Entities, participants, API keys, invoices with their history, compliance rules (seeded
with the shipped default) and idempotency records.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:25:11.229704
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "compliance_rules",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('blocked_goods', 'priority_goods', 'blocked_party')",
            name=op.f("ck_compliance_rules_kind_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_rules")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_compliance_rules_kind_value")),
    )
    op.create_table(
        "entities",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column(
            "currency", sa.String(length=3), nullable=False, comment="ISO 4217 settlement currency"
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(code) BETWEEN 2 AND 8", name=op.f("ck_entities_code_length")),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_entities_currency_iso"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_entities")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column(
            "request_hash",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of method, path, body",
        ),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("principal_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tax_id", sa.String(length=64), nullable=True),
        sa.Column("bank_account", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity"], ["entities.code"], name=op.f("fk_participants_entity_entities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
    )
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participants_entity"), ["entity"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=True),
        sa.Column("participant_id", sa.String(length=64), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(role = 'trader') = (participant_id IS NOT NULL)",
            name=op.f("ck_api_keys_trader_has_participant"),
        ),
        sa.CheckConstraint(
            "role IN ('trader', 'operator', 'auditor', 'admin')",
            name=op.f("ck_api_keys_role_known"),
        ),
        sa.CheckConstraint(
            "role NOT IN ('trader', 'operator') OR entity IS NOT NULL",
            name=op.f("ck_api_keys_bound_to_entity"),
        ),
        sa.ForeignKeyConstraint(
            ["entity"], ["entities.code"], name=op.f("fk_api_keys_entity_entities")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_api_keys_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "invoices",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("invoice_number", sa.String(length=64), nullable=False),
        sa.Column("exporter_id", sa.String(length=64), nullable=False),
        sa.Column("exporter_entity", sa.String(length=8), nullable=False),
        sa.Column("importer_id", sa.String(length=64), nullable=False),
        sa.Column("importer_entity", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False, comment="minor units of currency"),
        sa.Column(
            "outstanding", sa.BigInteger(), nullable=False, comment="minor units of currency"
        ),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("hs_code", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column(
            "priority", sa.Integer(), nullable=False, comment="compliance class; lower nets first"
        ),
        sa.Column("cycle_id", sa.String(length=40), nullable=True),
        sa.Column("dispute_fields", sa.JSON(), nullable=True),
        sa.Column("dispute_reason", sa.Text(), nullable=True),
        sa.Column("rejection_rule", sa.String(length=64), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('awaiting_confirmation', 'eligible', 'in_cycle', 'settled', 'disputed', "
            "'rejected', 'cancelled', 'released')",
            name=op.f("ck_invoices_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_invoices_amount_positive")),
        sa.CheckConstraint(
            "exporter_entity <> importer_entity", name=op.f("ck_invoices_cross_border")
        ),
        sa.CheckConstraint("issue_date <= due_date", name=op.f("ck_invoices_issued_before_due")),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_invoices_currency_iso"),
        ),
        sa.CheckConstraint(
            "outstanding >= 0 AND outstanding <= amount",
            name=op.f("ck_invoices_outstanding_bounds"),
        ),
        sa.ForeignKeyConstraint(
            ["exporter_entity"],
            ["entities.code"],
            name=op.f("fk_invoices_exporter_entity_entities"),
        ),
        sa.ForeignKeyConstraint(
            ["exporter_id"], ["participants.id"], name=op.f("fk_invoices_exporter_id_participants")
        ),
        sa.ForeignKeyConstraint(
            ["importer_entity"],
            ["entities.code"],
            name=op.f("fk_invoices_importer_entity_entities"),
        ),
        sa.ForeignKeyConstraint(
            ["importer_id"], ["participants.id"], name=op.f("fk_invoices_importer_id_participants")
        ),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_invoices")),
        sa.UniqueConstraint(
            "exporter_id", "invoice_number", name=op.f("uq_invoices_exporter_id_invoice_number")
        ),
        sa.UniqueConstraint("id", name=op.f("uq_invoices_id")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(
            "ix_invoices_exporter_entity_status", ["exporter_entity", "status"], unique=False
        )
        batch_op.create_index(
            "ix_invoices_importer_entity_status", ["importer_entity", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invoices_importer_id"), ["importer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_status"), ["status"], unique=False)

    op.create_table(
        "invoice_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_events_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_events")),
    )
    with op.batch_alter_table("invoice_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_events_invoice_id"), ["invoice_id"], unique=False
        )

    _seed_default_rules()


def _seed_default_rules() -> None:
    """The shipped default of DESIGN §8; operators change it with ``clearing rules``."""
    rules = sa.table(
        "compliance_rules",
        sa.column("kind", sa.String),
        sa.column("value", sa.String),
        sa.column("description", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = [{"kind": "blocked_goods", "value": "93", "description": "arms and ammunition"}]
    rows += [
        {"kind": "priority_goods", "value": f"{chapter:02d}", "description": "food"}
        for chapter in range(1, 25)
    ]
    rows.append({"kind": "priority_goods", "value": "30", "description": "pharmaceuticals"})
    rows.append({"kind": "priority_goods", "value": "9018", "description": "medical instruments"})
    op.bulk_insert(rules, [{**row, "created_at": now} for row in rows])


def downgrade() -> None:
    with op.batch_alter_table("invoice_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_events_invoice_id"))

    op.drop_table("invoice_events")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_status"))
        batch_op.drop_index(batch_op.f("ix_invoices_importer_id"))
        batch_op.drop_index("ix_invoices_importer_entity_status")
        batch_op.drop_index("ix_invoices_exporter_entity_status")
        batch_op.drop_index(batch_op.f("ix_invoices_cycle_id"))

    op.drop_table("invoices")
    op.drop_table("api_keys")
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participants_entity"))

    op.drop_table("participants")
    op.drop_table("idempotency_keys")
    op.drop_table("entities")
    op.drop_table("compliance_rules")
