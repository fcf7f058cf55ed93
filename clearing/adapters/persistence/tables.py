"""Database rows (SQLAlchemy 2). Rows are not domain objects: repositories translate.

Money columns are BIGINT counts of the minor unit of the currency named in the same row (or of
the entity's currency where the row has none); each column's comment states its unit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: A BIGINT primary key that SQLite also auto-increments (it only does so for INTEGER).
AutoId = BigInteger().with_variant(Integer(), "sqlite")

CURRENCY_CHECK = "length({column}) = 3 AND upper({column}) = {column}"


def _currency_check(column: str) -> CheckConstraint:
    return CheckConstraint(CURRENCY_CHECK.format(column=column), name=f"{column}_iso")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class EntityRow(Base):
    __tablename__ = "entities"
    __table_args__ = (
        _currency_check("currency"),
        CheckConstraint("length(code) BETWEEN 2 AND 8", name="code_length"),
        CheckConstraint("approvals_required IN (1, 2)", name="approvals_one_or_two"),
    )

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), comment="ISO 4217 settlement currency")
    name: Mapped[str] = mapped_column(String(200))
    #: Operators who approve each cycle for this entity: 1, or 2 (four eyes).
    approvals_required: Mapped[int] = mapped_column(Integer, server_default="1")
    #: The entity's bank (BIC, CNAPS or BIK) and its settlement account there.
    bank_code: Mapped[str | None] = mapped_column(String(12))
    account: Mapped[str | None] = mapped_column(String(34))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ParticipantRow(Base):
    __tablename__ = "participants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity: Mapped[str] = mapped_column(ForeignKey("entities.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(64))
    bank_account: Mapped[str | None] = mapped_column(String(64))
    #: The BIC, CNAPS or BIK code of the bank holding ``bank_account``.
    bank_code: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ParticipantVersionRow(Base):
    """Every version of a participant's changeable details, the registration first: kept,
    never rewritten, so who changed an account and when can always be told."""

    __tablename__ = "participant_versions"

    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    bank_account: Mapped[str | None] = mapped_column(String(64))
    bank_code: Mapped[str | None] = mapped_column(String(12))
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKeyRow(Base):
    """A principal and its key. Only the SHA-256 of the key is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN ('trader', 'operator', 'auditor', 'admin')", name="role_known"),
        CheckConstraint(
            "(role = 'trader') = (participant_id IS NOT NULL)", name="trader_has_participant"
        ),
        CheckConstraint(
            "role NOT IN ('trader', 'operator') OR entity IS NOT NULL", name="bound_to_entity"
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str | None] = mapped_column(ForeignKey("entities.code"))
    participant_id: Mapped[str | None] = mapped_column(ForeignKey("participants.id"))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InvoiceRow(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("exporter_id", "invoice_number"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("outstanding >= 0 AND outstanding <= amount", name="outstanding_bounds"),
        CheckConstraint("exporter_entity <> importer_entity", name="cross_border"),
        CheckConstraint("issue_date <= due_date", name="issued_before_due"),
        CheckConstraint(
            "status IN ('awaiting_confirmation', 'eligible', 'in_cycle', 'settled', 'disputed', "
            "'rejected', 'cancelled', 'released')",
            name="status_known",
        ),
        _currency_check("currency"),
        Index("ix_invoices_exporter_entity_status", "exporter_entity", "status"),
        Index("ix_invoices_importer_entity_status", "importer_entity", "status"),
    )

    #: Submission order; also the ``sequence`` of the netting snapshot.
    sequence: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    invoice_number: Mapped[str] = mapped_column(String(64))
    exporter_id: Mapped[str] = mapped_column(ForeignKey("participants.id"))
    exporter_entity: Mapped[str] = mapped_column(ForeignKey("entities.code"))
    importer_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    importer_entity: Mapped[str] = mapped_column(ForeignKey("entities.code"))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger, comment="minor units of currency")
    outstanding: Mapped[int] = mapped_column(BigInteger, comment="minor units of currency")
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    hs_code: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), index=True)
    priority: Mapped[int] = mapped_column(Integer, comment="compliance class; lower nets first")
    cycle_id: Mapped[str | None] = mapped_column(String(40), index=True)
    dispute_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    rejection_rule: Mapped[str | None] = mapped_column(String(64))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    #: Who submitted the invoice and the status it was submitted into: the first event of its
    #: history, read from the row (with ``created_at``, and the rejection's reason when it was
    #: rejected at once) instead of a row of ``invoice_events``. NULL on invoices submitted
    #: before revision 0005, whose first event is a row.
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    submitted_as: Mapped[str | None] = mapped_column(String(32))
    #: When the invoice first became eligible; NULL before (DESIGN §6a).
    first_eligible_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Cycles that carried the invoice, as the row was written: while the row is in the pool
    #: (``eligible`` or ``in_cycle``), every take recorded after ``carried_after_step`` whose
    #: cycle has settled carried it once more, derived, not written (``invoice_state``).
    cycles_carried: Mapped[int] = mapped_column(Integer, server_default="0")
    #: The latest ``take`` step (``cycle_steps.id``, 0 before any) when the row was written.
    carried_after_step: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InvoiceEventRow(Base):
    """The status history of an invoice: one row per transition, never changed."""

    __tablename__ = "invoice_events"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ComplianceRuleRow(Base):
    __tablename__ = "compliance_rules"
    __table_args__ = (
        UniqueConstraint("kind", "value"),
        CheckConstraint(
            "kind IN ('blocked_goods', 'priority_goods', 'blocked_party')", name="kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AgeingRuleRow(Base):
    """An ageing rule (DESIGN §6a): an invoice in the pool is stale once its figure of ``kind``
    reaches ``threshold`` (cycles carried, or days overdue)."""

    __tablename__ = "ageing_rules"
    __table_args__ = (
        UniqueConstraint("kind", "threshold"),
        CheckConstraint("kind IN ('cycles_carried', 'days_overdue')", name="kind_known"),
        CheckConstraint("threshold >= 1", name="threshold_positive"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[int] = mapped_column(Integer, comment="cycles, or days past the due date")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdempotencyRow(Base):
    """The first answer given to a POST with an ``Idempotency-Key``, per principal and key."""

    __tablename__ = "idempotency_keys"

    principal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), comment="SHA-256 of method, path, body")
    answer: Mapped[Any] = mapped_column(JSON)  # the first answer, opaque JSON
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- cycles -----------------------------------------------------------------------------------


class CycleRow(Base):
    __tablename__ = "cycles"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'proposed', 'approved', 'settling', 'settled', 'rejected', "
            "'superseded')",
            name="status_known",
        ),
        CheckConstraint("policy IN ('fifo', 'pro_rata', 'setoff')", name="policy_known"),
        CheckConstraint("active_slot IS NULL OR active_slot = 1", name="one_slot"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(16))
    policy: Mapped[str] = mapped_column(String(16))
    #: 1 while the cycle is between open and settled, else NULL: the unique constraint lets at
    #: most one cycle be active at a time.
    active_slot: Mapped[int | None] = mapped_column(Integer, unique=True)
    rates: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    digest: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    predecessor_id: Mapped[str | None] = mapped_column(String(40))
    superseded_by: Mapped[str | None] = mapped_column(String(40))
    defaulted: Mapped[list[Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Who proposed the cycle (closed it, or declared the default that re-netted it).
    closed_by: Mapped[str | None] = mapped_column(String(64))
    #: Approvals each entity asks for, as its rule stood at the proposal: ``{"CN": 2, ...}``.
    approvals_needed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CycleObligationRow(Base):
    """The snapshot a cycle took and what netting did to each obligation."""

    __tablename__ = "cycle_obligations"

    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    debtor_id: Mapped[str] = mapped_column(String(64), index=True)
    debtor_entity: Mapped[str] = mapped_column(String(8))
    creditor_id: Mapped[str] = mapped_column(String(64), index=True)
    creditor_entity: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    outstanding: Mapped[int] = mapped_column(BigInteger, comment="minor units of currency")
    due_date: Mapped[date] = mapped_column(Date)
    priority: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[int] = mapped_column(BigInteger, comment="base minor units")
    settled_value: Mapped[int] = mapped_column(BigInteger, comment="base minor units")
    settled: Mapped[int] = mapped_column(BigInteger, comment="minor units of currency")
    debtor_leg: Mapped[int] = mapped_column(BigInteger, comment="minor units, debtor entity")
    creditor_leg: Mapped[int] = mapped_column(BigInteger, comment="minor units, creditor entity")


class CycleStepRow(Base):
    """A step a cycle took with its whole snapshot at once: ``take`` (cut-off) or ``settle``.

    One row per cycle and step, instead of rewriting every invoice of the snapshot: an invoice's
    status, outstanding and cycle while a cycle holds it, and the history events of these two
    steps, are derived from this row and the snapshot (``invoice_state``).
    """

    __tablename__ = "cycle_steps"
    __table_args__ = (
        UniqueConstraint("cycle_id", "step"),
        CheckConstraint("step IN ('take', 'settle')", name="step_known"),
    )

    #: The order the steps were taken in: the latest ``take`` is the one that holds invoices.
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"))
    step: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The last ``invoice_events.id`` when the step was taken: its derived events come after it.
    after_event: Mapped[int] = mapped_column(BigInteger)


class CyclePositionRow(Base):
    __tablename__ = "cycle_positions"

    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    pay_in: Mapped[int] = mapped_column(BigInteger, comment="minor units of currency")
    pay_out: Mapped[int] = mapped_column(BigInteger, comment="minor units of currency")
    pay_in_value: Mapped[int] = mapped_column(BigInteger, comment="base minor units")
    pay_out_value: Mapped[int] = mapped_column(BigInteger, comment="base minor units")


class CycleApprovalRow(Base):
    """One operator's approval of a cycle for its entity: two per entity under four eyes."""

    __tablename__ = "cycle_approvals"

    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), primary_key=True)
    entity: Mapped[str] = mapped_column(String(8), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    principal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PayInRow(Base):
    __tablename__ = "pay_ins"
    __table_args__ = (
        UniqueConstraint("cycle_id", "entity", "bank_reference"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    participant_id: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger, comment="minor units of currency")
    bank_reference: Mapped[str] = mapped_column(String(140))
    recorded_by: Mapped[str] = mapped_column(String(64))
    carried_from: Mapped[str | None] = mapped_column(String(40))
    #: The day the bank credited the money; NULL for a pay-in carried into a successor.
    value_date: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RefundRow(Base):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    participant_id: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger, comment="minor units of currency")
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BankEntryRow(Base):
    """A line of an entity's bank statement as imported, and what it was matched to. The
    bank's entry reference (with the transaction's number in a batch booking, 0 for a whole
    booking) is unique per entity: a re-imported line is recognised."""

    __tablename__ = "bank_entries"
    __table_args__ = (
        UniqueConstraint("entity", "entry_reference", "batch_part"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("batch_part >= 0", name="batch_part_not_negative"),
        CheckConstraint("direction IN ('credit', 'debit')", name="direction_known"),
        CheckConstraint(
            "status IN ('matched', 'suspense', 'assigned', 'returned', 'confirmed', 'unmatched')",
            name="status_known",
        ),
        _currency_check("currency"),
        Index("ix_bank_entries_entity_status", "entity", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    entity: Mapped[str] = mapped_column(ForeignKey("entities.code"))
    entry_reference: Mapped[str] = mapped_column(String(35))
    #: The transaction's number within a batch booking; 0 for a whole booking.
    batch_part: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(6))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger, comment="minor units of currency")
    value_date: Mapped[date] = mapped_column(Date)
    booking_date: Mapped[date | None] = mapped_column(Date)
    remittance: Mapped[str] = mapped_column(String(800))
    end_to_end_id: Mapped[str] = mapped_column(String(35))
    counterparty_name: Mapped[str] = mapped_column(String(140))
    counterparty_account: Mapped[str] = mapped_column(String(34))
    status: Mapped[str] = mapped_column(String(12))
    cycle_id: Mapped[str | None] = mapped_column(ForeignKey("cycles.id"), index=True)
    participant_id: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(8))
    pay_in_id: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text)
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- liquidity lines (DESIGN §4b) ---------------------------------------------------------------

#: The unit of a line's money columns.
LINE_MINOR = "minor units of the line's currency"


class LineRow(Base):
    """A liquidity line funding the corridor ``source -> target``: its balance is what
    ``source``'s entity owes ``target``'s. A pending limit waits for the other entity."""

    __tablename__ = "lines"
    __table_args__ = (
        UniqueConstraint("source", "target", "currency"),
        CheckConstraint("source <> target", name="two_entities"),
        CheckConstraint("credit_limit >= 0 AND balance >= 0", name="not_negative"),
        CheckConstraint("status IN ('pending', 'active')", name="status_known"),
        CheckConstraint(
            "pending_limit IS NULL AND pending_entity IS NULL AND pending_by IS NULL "
            "AND pending_at IS NULL OR pending_limit >= 0 AND pending_entity IS NOT NULL "
            "AND pending_by IS NOT NULL AND pending_at IS NOT NULL",
            name="pending_limit_whole",
        ),
        _currency_check("currency"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(ForeignKey("entities.code"))
    target: Mapped[str] = mapped_column(ForeignKey("entities.code"))
    currency: Mapped[str] = mapped_column(String(3))
    credit_limit: Mapped[int] = mapped_column(BigInteger, comment=LINE_MINOR)
    balance: Mapped[int] = mapped_column(BigInteger, comment=LINE_MINOR)
    status: Mapped[str] = mapped_column(String(8))
    #: The entity whose operator proposed the line (the other one confirms it).
    proposer: Mapped[str] = mapped_column(String(8))
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pending_limit: Mapped[int | None] = mapped_column(BigInteger, comment=LINE_MINOR)
    pending_entity: Mapped[str | None] = mapped_column(String(8))
    pending_by: Mapped[str | None] = mapped_column(String(64))
    pending_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LineEventRow(Base):
    """A line's history: each proposal and confirmation of it or of a limit, never changed."""

    __tablename__ = "line_events"
    __table_args__ = (
        CheckConstraint(
            "action IN ('proposed', 'confirmed', 'limit_proposed', 'limit_confirmed')",
            name="action_known",
        ),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    line_id: Mapped[str] = mapped_column(ForeignKey("lines.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    credit_limit: Mapped[int] = mapped_column(BigInteger, comment=LINE_MINOR)
    entity: Mapped[str] = mapped_column(String(8))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LineMovementRow(Base):
    """What a settled cycle drew on a line or repaid, and the balance after it; ``id`` is the
    order the cycles settled in."""

    __tablename__ = "line_movements"
    __table_args__ = (
        UniqueConstraint("line_id", "cycle_id"),
        CheckConstraint("drawn >= 0 AND repaid >= 0 AND balance >= 0", name="not_negative"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    line_id: Mapped[str] = mapped_column(ForeignKey("lines.id"))
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"))
    drawn: Mapped[int] = mapped_column(BigInteger, comment=LINE_MINOR)
    repaid: Mapped[int] = mapped_column(BigInteger, comment=LINE_MINOR)
    balance: Mapped[int] = mapped_column(BigInteger, comment=LINE_MINOR)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CycleLineRow(Base):
    """A line's terms as a cycle nets with it, frozen at its cut-off (a re-netted successor
    keeps them), and what the netting does to it. ``source_flow`` and ``target_flow`` are the
    line's part of each end's pay-ins beyond its pay-outs, signed, in that entity's currency."""

    __tablename__ = "cycle_lines"

    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), primary_key=True)
    line_id: Mapped[str] = mapped_column(ForeignKey("lines.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    credit_limit: Mapped[int] = mapped_column(BigInteger, comment=LINE_MINOR)
    balance_before: Mapped[int] = mapped_column(BigInteger, comment=LINE_MINOR)
    drawn: Mapped[int] = mapped_column(BigInteger, comment=LINE_MINOR)
    repaid: Mapped[int] = mapped_column(BigInteger, comment=LINE_MINOR)
    balance_after: Mapped[int] = mapped_column(BigInteger, comment=LINE_MINOR)
    source_flow: Mapped[int] = mapped_column(BigInteger, comment="minor units, source's currency")
    target_flow: Mapped[int] = mapped_column(BigInteger, comment="minor units, target's currency")
    drawn_value: Mapped[int] = mapped_column(BigInteger, comment="base minor units")
    repaid_value: Mapped[int] = mapped_column(BigInteger, comment="base minor units")


# --- the ledger (append-only: triggers from migration 0002 refuse UPDATE, DELETE, TRUNCATE) ---


class JournalEntryRow(Base):
    __tablename__ = "journal_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entity: Mapped[str] = mapped_column(ForeignKey("entities.code"), index=True)
    cycle_id: Mapped[str | None] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # none_as_null: an entry without a cycle record stores SQL NULL, not JSON null.
    cycle_record: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    #: A money entry's participant, bank reference, value date, who recorded it and when; a
    #: discharge's superseded cycles (hashed with the entry).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JournalPostingRow(Base):
    __tablename__ = "journal_postings"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(ForeignKey("journal_entries.seq"), index=True)
    line: Mapped[int] = mapped_column(Integer, comment="order of the posting within its entry")
    entity: Mapped[str] = mapped_column(String(8))
    account: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger, comment="signed minor units; + is a debit")


Index("ix_journal_postings_entity_account", JournalPostingRow.entity, JournalPostingRow.account)


class LedgerHeadRow(Base):
    """The last entry of the chain; locked while a transaction appends, so seq stays gapless."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
