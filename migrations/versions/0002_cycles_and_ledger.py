"""Cycles (snapshots, positions, approvals, pay-ins, refunds) and the append-only ledger:
the journal refuses UPDATE, DELETE and TRUNCATE, and on PostgreSQL every entry must balance per
currency when its transaction commits (a deferred constraint trigger).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:30:31.907343
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cycles",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("active_slot", sa.Integer(), nullable=True),
        sa.Column("rates", sa.JSON(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("predecessor_id", sa.String(length=40), nullable=True),
        sa.Column("superseded_by", sa.String(length=40), nullable=True),
        sa.Column("defaulted", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("policy IN ('fifo', 'pro_rata')", name=op.f("ck_cycles_policy_known")),
        sa.CheckConstraint(
            "status IN ('open', 'proposed', 'approved', 'settling', 'settled', 'rejected', "
            "'superseded')",
            name=op.f("ck_cycles_status_known"),
        ),
        sa.CheckConstraint(
            "active_slot IS NULL OR active_slot = 1", name=op.f("ck_cycles_one_slot")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycles")),
        sa.UniqueConstraint("active_slot", name=op.f("uq_cycles_active_slot")),
        sa.UniqueConstraint("number", name=op.f("uq_cycles_number")),
    )
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_head")),
    )
    op.create_table(
        "cycle_approvals",
        sa.Column("cycle_id", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_cycle_approvals_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("cycle_id", "entity", name=op.f("pk_cycle_approvals")),
    )
    op.create_table(
        "cycle_obligations",
        sa.Column("cycle_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("debtor_id", sa.String(length=64), nullable=False),
        sa.Column("debtor_entity", sa.String(length=8), nullable=False),
        sa.Column("creditor_id", sa.String(length=64), nullable=False),
        sa.Column("creditor_entity", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "outstanding", sa.BigInteger(), nullable=False, comment="minor units of currency"
        ),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False, comment="base minor units"),
        sa.Column("settled_value", sa.BigInteger(), nullable=False, comment="base minor units"),
        sa.Column("settled", sa.BigInteger(), nullable=False, comment="minor units of currency"),
        sa.Column(
            "debtor_leg", sa.BigInteger(), nullable=False, comment="minor units, debtor entity"
        ),
        sa.Column(
            "creditor_leg", sa.BigInteger(), nullable=False, comment="minor units, creditor entity"
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_cycle_obligations_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("cycle_id", "invoice_id", name=op.f("pk_cycle_obligations")),
    )
    with op.batch_alter_table("cycle_obligations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cycle_obligations_creditor_id"), ["creditor_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cycle_obligations_debtor_id"), ["debtor_id"], unique=False
        )

    op.create_table(
        "cycle_positions",
        sa.Column("cycle_id", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("pay_in", sa.BigInteger(), nullable=False, comment="minor units of currency"),
        sa.Column("pay_out", sa.BigInteger(), nullable=False, comment="minor units of currency"),
        sa.Column("pay_in_value", sa.BigInteger(), nullable=False, comment="base minor units"),
        sa.Column("pay_out_value", sa.BigInteger(), nullable=False, comment="base minor units"),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_cycle_positions_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("cycle_id", "participant_id", name=op.f("pk_cycle_positions")),
    )
    op.create_table(
        "journal_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("cycle_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("cycle_record", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity"], ["entities.code"], name=op.f("fk_journal_entries_entity_entities")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("hash", name=op.f("uq_journal_entries_hash")),
    )
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journal_entries_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_journal_entries_entity"), ["entity"], unique=False)

    op.create_table(
        "pay_ins",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("cycle_id", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False, comment="minor units of currency"),
        sa.Column("bank_reference", sa.String(length=140), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("carried_from", sa.String(length=40), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_pay_ins_amount_positive")),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_pay_ins_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_ins")),
        sa.UniqueConstraint(
            "cycle_id",
            "entity",
            "bank_reference",
            name=op.f("uq_pay_ins_cycle_id_entity_bank_reference"),
        ),
    )
    with op.batch_alter_table("pay_ins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pay_ins_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "refunds",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("cycle_id", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False, comment="minor units of currency"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_refunds_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "journal_postings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column(
            "line", sa.Integer(), nullable=False, comment="order of the posting within its entry"
        ),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "amount", sa.BigInteger(), nullable=False, comment="signed minor units; + is a debit"
        ),
        sa.ForeignKeyConstraint(
            ["seq"], ["journal_entries.seq"], name=op.f("fk_journal_postings_seq_journal_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_postings")),
    )
    with op.batch_alter_table("journal_postings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_journal_postings_entity_account", ["entity", "account"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_journal_postings_seq"), ["seq"], unique=False)

    op.bulk_insert(
        sa.table("ledger_head", sa.column("id"), sa.column("seq"), sa.column("hash")),
        [{"id": 1, "seq": 0, "hash": "0" * 64}],
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_guards()
    else:
        _sqlite_guards()


JOURNAL_TABLES = ("journal_entries", "journal_postings")


def _postgresql_guards() -> None:
    op.execute(
        """
        CREATE FUNCTION journal_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'integrity_constraint_violation';
        END $$
        """
    )
    for table in JOURNAL_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_refuse_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION journal_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_refuse_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION journal_refuse_change()"
        )
    op.execute(
        """
        CREATE FUNCTION journal_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            unbalanced record;
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM journal_postings WHERE seq = NEW.seq) THEN
                RAISE EXCEPTION 'journal entry % has no postings', NEW.seq
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            SELECT currency, SUM(amount) AS total INTO unbalanced FROM journal_postings
                WHERE seq = NEW.seq GROUP BY currency HAVING SUM(amount) <> 0 LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'journal entry % does not balance: % postings sum to %',
                    NEW.seq, unbalanced.currency, unbalanced.total
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER journal_entry_balanced AFTER INSERT ON journal_entries "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_balanced()"
    )


def _sqlite_guards() -> None:
    for table in JOURNAL_TABLES:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_refuse_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'the journal is append-only: {operation} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS journal_entry_balanced ON journal_entries")
        for table in JOURNAL_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_change ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS journal_entry_balanced()")
        op.execute("DROP FUNCTION IF EXISTS journal_refuse_change()")
    with op.batch_alter_table("journal_postings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_postings_seq"))
        batch_op.drop_index("ix_journal_postings_entity_account")

    op.drop_table("journal_postings")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_cycle_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("pay_ins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pay_ins_cycle_id"))

    op.drop_table("pay_ins")
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_entries_entity"))
        batch_op.drop_index(batch_op.f("ix_journal_entries_cycle_id"))

    op.drop_table("journal_entries")
    op.drop_table("cycle_positions")
    with op.batch_alter_table("cycle_obligations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cycle_obligations_debtor_id"))
        batch_op.drop_index(batch_op.f("ix_cycle_obligations_creditor_id"))

    op.drop_table("cycle_obligations")
    op.drop_table("cycle_approvals")
    op.drop_table("ledger_head")
    op.drop_table("cycles")
