"""Repositories: translate between database rows and the engine's immutable domain objects."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import delete, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clearing.access import Principal, Role
from clearing.compliance import Rule, RuleKind
from clearing.errors import Conflict
from clearing.obligations import Dispute, Invoice, Rejection, Status
from clearing.parties import Entity, Participant
from clearing.persistence.copying import copy_rows
from clearing.persistence.tables import (
    ApiKeyRow,
    ComplianceRuleRow,
    EntityRow,
    IdempotencyRow,
    InvoiceEventRow,
    InvoiceRow,
    ParticipantRow,
)
from clearing.ports import InvoiceEvent, InvoiceFilter, StoredAnswer


def now() -> datetime:
    return datetime.now(UTC)


def _storable(*values: str | None) -> bool:
    """Whether every value could be stored: PostgreSQL text cannot hold NUL, so a key with one
    matches nothing (and must not reach the driver, which would refuse it)."""
    return not any(value is not None and "\x00" in value for value in values)


class EntityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entity: Entity) -> None:
        if self.session.get(EntityRow, entity.code) is not None:
            raise Conflict(f"entity {entity.code} exists already", field="code")
        self.session.add(
            EntityRow(
                code=entity.code, currency=entity.currency, name=entity.name, created_at=now()
            )
        )
        self.session.flush()

    def get(self, code: str) -> Entity | None:
        if not _storable(code):
            return None
        row = self.session.get(EntityRow, code)
        return Entity(row.code, row.currency, row.name) if row else None

    def list(self) -> list[Entity]:
        rows = self.session.scalars(select(EntityRow).order_by(EntityRow.code))
        return [Entity(row.code, row.currency, row.name) for row in rows]


class ParticipantRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, participant: Participant) -> None:
        self.session.add(
            ParticipantRow(
                id=participant.id,
                entity=participant.entity,
                name=participant.name,
                tax_id=participant.tax_id,
                bank_account=participant.bank_account,
                created_at=now(),
            )
        )
        self.session.flush()

    def get(self, participant_id: str) -> Participant | None:
        if not _storable(participant_id):
            return None
        row = self.session.get(ParticipantRow, participant_id)
        return _participant(row) if row else None

    def get_many(self, ids: Iterable[str]) -> dict[str, Participant]:
        wanted = sorted(i for i in set(ids) if _storable(i))
        if not wanted:
            return {}
        rows = self.session.scalars(select(ParticipantRow).where(ParticipantRow.id.in_(wanted)))
        return {row.id: _participant(row) for row in rows}

    def list(self, entity: str | None, after: str | None, limit: int) -> list[Participant]:
        query = select(ParticipantRow).order_by(ParticipantRow.id).limit(limit)
        if entity is not None:
            query = query.where(ParticipantRow.entity == entity)
        if after is not None:
            query = query.where(ParticipantRow.id > after)
        return [_participant(row) for row in self.session.scalars(query)]


def _participant(row: ParticipantRow) -> Participant:
    return Participant(row.id, row.entity, row.name, row.tax_id, row.bank_account)


class ApiKeyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, principal: Principal, key_hash: str, key_prefix: str, label: str) -> None:
        self.session.add(
            ApiKeyRow(
                id=principal.id,
                key_hash=key_hash,
                key_prefix=key_prefix,
                role=principal.role.value,
                entity=principal.entity,
                participant_id=principal.participant_id,
                label=label,
                created_at=now(),
            )
        )
        self.session.flush()

    def by_hash(self, key_hash: str) -> Principal | None:
        row = self.session.scalars(
            select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash, ApiKeyRow.revoked_at.is_(None))
        ).first()
        if row is None:
            return None
        return Principal(row.id, Role(row.role), row.entity, row.participant_id)


class InvoiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_many(self, invoices: Sequence[Invoice], actor: str) -> list[Invoice]:
        """Insert new invoices (their ``sequence`` is assigned here) and their first event."""
        if not invoices:
            return []
        stamp = now()
        if self.session.get_bind().dialect.name == "postgresql":
            stored = self._copy_many(invoices, stamp)
        else:
            stored = self._insert_many(invoices, stamp)
        copy_rows(
            self.session,
            InvoiceEventRow.__table__,  # type: ignore[arg-type]
            ["invoice_id", "to_status", "actor", "reason", "at"],
            (
                (i.id, i.status.value, actor, i.rejection.reason if i.rejection else None, stamp)
                for i in invoices
            ),
        )
        return stored

    def _insert_many(self, invoices: Sequence[Invoice], stamp: datetime) -> list[Invoice]:
        rows = [_invoice_values(invoice, stamp) for invoice in invoices]
        for row in rows:
            del row["sequence"]
        try:
            returned = self.session.execute(
                insert(InvoiceRow).returning(InvoiceRow.id, InvoiceRow.sequence), rows
            )
            sequences: dict[str, int] = {row[0]: row[1] for row in returned}
        except IntegrityError as error:
            raise Conflict(_integrity_message(error), field="invoice_number") from error
        return [_with_sequence(invoice, sequences[invoice.id]) for invoice in invoices]

    def _copy_many(self, invoices: Sequence[Invoice], stamp: datetime) -> list[Invoice]:
        """PostgreSQL: take the sequence numbers first, then COPY the rows in."""
        sequences = list(
            self.session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('invoices', 'sequence')) "
                    "FROM generate_series(1, :count)"
                ),
                {"count": len(invoices)},
            )
        )
        stored = [_with_sequence(i, n) for i, n in zip(invoices, sequences, strict=True)]
        values = [_invoice_values(invoice, stamp) for invoice in stored]
        columns = list(values[0])
        try:
            copy_rows(
                self.session,
                InvoiceRow.__table__,  # type: ignore[arg-type]
                columns,
                (tuple(row[c] for c in columns) for row in values),
            )
        except psycopg.errors.UniqueViolation as error:
            raise Conflict(
                "an invoice with this number from this exporter exists already",
                field="invoice_number",
            ) from error
        return stored

    def get(self, invoice_id: str, *, for_update: bool = False) -> Invoice | None:
        if not _storable(invoice_id):
            return None
        query = select(InvoiceRow).where(InvoiceRow.id == invoice_id)
        if for_update:
            query = query.with_for_update()
        row = self.session.scalars(query).first()
        return _invoice(row) if row else None

    def existing_numbers(self, exporter_id: str, numbers: Iterable[str]) -> set[str]:
        wanted = sorted(set(numbers))
        if not wanted:
            return set()
        return set(
            self.session.scalars(
                select(InvoiceRow.invoice_number).where(
                    InvoiceRow.exporter_id == exporter_id, InvoiceRow.invoice_number.in_(wanted)
                )
            )
        )

    def save(self, invoice: Invoice, event: InvoiceEvent) -> None:
        """Store a transition: the invoice's new state and the event that records it."""
        stamp = now()
        values = _invoice_values(invoice, stamp)
        for key in ("sequence", "id", "created_at"):
            del values[key]
        self.session.execute(update(InvoiceRow).where(InvoiceRow.id == invoice.id).values(values))
        self.add_events([event], stamp)

    def add_events(self, events: Sequence[InvoiceEvent], stamp: datetime | None = None) -> None:
        if not events:
            return
        at = stamp or now()
        self.session.execute(
            insert(InvoiceEventRow),
            [
                {
                    "invoice_id": e.invoice_id,
                    "from_status": e.from_status,
                    "to_status": e.to_status,
                    "actor": e.actor,
                    "reason": e.reason,
                    "details": e.details,
                    "at": at,
                }
                for e in events
            ],
        )

    def history(self, invoice_id: str) -> list[InvoiceEvent]:
        rows = self.session.scalars(
            select(InvoiceEventRow)
            .where(InvoiceEventRow.invoice_id == invoice_id)
            .order_by(InvoiceEventRow.id)
        )
        return [
            InvoiceEvent(
                r.invoice_id,
                r.from_status,
                r.to_status,
                r.actor,
                r.reason,
                r.details,
                r.at.isoformat(),
            )
            for r in rows
        ]

    def list(self, filters: InvoiceFilter) -> list[Invoice]:
        if not _storable(filters.cycle_id):
            return []
        query = select(InvoiceRow).order_by(InvoiceRow.sequence).limit(filters.limit)
        if filters.after_sequence is not None:
            query = query.where(InvoiceRow.sequence > filters.after_sequence)
        if filters.status is not None:
            query = query.where(InvoiceRow.status == filters.status)
        if filters.cycle_id is not None:
            query = query.where(InvoiceRow.cycle_id == filters.cycle_id)
        if filters.entity is not None:
            query = query.where(
                or_(
                    InvoiceRow.exporter_entity == filters.entity,
                    InvoiceRow.importer_entity == filters.entity,
                )
            )
        if filters.participant_id is not None:
            query = query.where(
                or_(
                    InvoiceRow.exporter_id == filters.participant_id,
                    InvoiceRow.importer_id == filters.participant_id,
                )
            )
        return [_invoice(row) for row in self.session.scalars(query)]


def _integrity_message(error: IntegrityError) -> str:
    text = str(error.orig)
    if "invoice_number" in text:
        return "an invoice with this number from this exporter exists already"
    return "the invoice conflicts with stored data"


def _invoice_values(invoice: Invoice, stamp: datetime) -> dict[str, Any]:
    return {
        "sequence": invoice.sequence,
        "id": invoice.id,
        "invoice_number": invoice.invoice_number,
        "exporter_id": invoice.exporter_id,
        "exporter_entity": invoice.exporter_entity,
        "importer_id": invoice.importer_id,
        "importer_entity": invoice.importer_entity,
        "currency": invoice.currency,
        "amount": invoice.amount,
        "outstanding": invoice.outstanding,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "hs_code": invoice.hs_code,
        "description": invoice.description,
        "status": invoice.status.value,
        "priority": invoice.priority,
        "cycle_id": invoice.cycle_id,
        "dispute_fields": invoice.dispute.fields if invoice.dispute else None,
        "dispute_reason": invoice.dispute.reason if invoice.dispute else None,
        "rejection_rule": invoice.rejection.rule if invoice.rejection else None,
        "rejection_reason": invoice.rejection.reason if invoice.rejection else None,
        "created_at": stamp,
        "updated_at": stamp,
    }


def _with_sequence(invoice: Invoice, sequence: int) -> Invoice:
    return replace(invoice, sequence=sequence)


def _invoice(row: InvoiceRow) -> Invoice:
    return Invoice(
        id=row.id,
        invoice_number=row.invoice_number,
        exporter_id=row.exporter_id,
        exporter_entity=row.exporter_entity,
        importer_id=row.importer_id,
        importer_entity=row.importer_entity,
        currency=row.currency,
        amount=row.amount,
        outstanding=row.outstanding,
        issue_date=row.issue_date,
        due_date=row.due_date,
        hs_code=row.hs_code,
        description=row.description,
        status=Status(row.status),
        priority=row.priority,
        sequence=row.sequence,
        cycle_id=row.cycle_id,
        dispute=Dispute(row.dispute_fields or {}, row.dispute_reason or "")
        if row.status == Status.DISPUTED.value
        else None,
        rejection=Rejection(row.rejection_rule or "", row.rejection_reason or "")
        if row.rejection_rule
        else None,
    )


class RuleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self) -> list[Rule]:
        rows = self.session.scalars(
            select(ComplianceRuleRow).order_by(ComplianceRuleRow.kind, ComplianceRuleRow.value)
        )
        return [Rule(RuleKind(r.kind), r.value, r.description) for r in rows]

    def add(self, rule: Rule) -> None:
        exists = self.session.scalars(
            select(ComplianceRuleRow.id).where(
                ComplianceRuleRow.kind == rule.kind.value, ComplianceRuleRow.value == rule.value
            )
        ).first()
        if exists is not None:
            raise Conflict(f"rule {rule.name} exists already", field="value")
        self.session.add(
            ComplianceRuleRow(
                kind=rule.kind.value,
                value=rule.value,
                description=rule.description,
                created_at=now(),
            )
        )
        self.session.flush()

    def remove(self, rule: Rule) -> bool:
        result = self.session.execute(
            delete(ComplianceRuleRow).where(
                ComplianceRuleRow.kind == rule.kind.value, ComplianceRuleRow.value == rule.value
            )
        )
        return bool(getattr(result, "rowcount", 0))


class IdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock(self, principal_id: str, key: str) -> None:
        """Serialise requests with the same key until this transaction ends (PostgreSQL)."""
        if self.session.get_bind().dialect.name != "postgresql":
            return  # SQLite serialises writers itself
        digest = hashlib.sha256(f"{principal_id}\n{key}".encode()).digest()
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        self.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})

    def get(self, principal_id: str, key: str) -> StoredAnswer | None:
        row = self.session.get(IdempotencyRow, (principal_id, key))
        if row is None:
            return None
        return StoredAnswer(row.request_hash, row.status_code, row.body)

    def add(self, principal_id: str, key: str, answer: StoredAnswer) -> None:
        self.session.add(
            IdempotencyRow(
                principal_id=principal_id,
                key=key,
                request_hash=answer.request_hash,
                status_code=answer.status_code,
                body=answer.body,
                created_at=now(),
            )
        )
        self.session.flush()
