"""The repository of invoices and their status history; new invoices are COPYed in on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clearing.adapters.persistence.copying import copy_rows
from clearing.adapters.persistence.rows import in_scope, now, storable
from clearing.adapters.persistence.tables import (
    InvoiceEventRow,
    InvoiceRow,
)
from clearing.domain.errors import Conflict
from clearing.domain.invoices import (
    Dispute,
    Invoice,
    InvoiceEvent,
    InvoiceFilter,
    Rejection,
    Status,
)


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
        if not storable(invoice_id):
            return None
        query = select(InvoiceRow).where(InvoiceRow.id == invoice_id)
        if for_update:
            query = query.with_for_update()
        row = self.session.scalars(query).first()
        return invoice_of_row(row) if row else None

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
        if not storable(filters.cycle_id):
            return []
        query = select(InvoiceRow).order_by(InvoiceRow.sequence).limit(filters.limit)
        if filters.after_sequence is not None:
            query = query.where(InvoiceRow.sequence > filters.after_sequence)
        if filters.status is not None:
            query = query.where(InvoiceRow.status == filters.status)
        if filters.cycle_id is not None:
            query = query.where(InvoiceRow.cycle_id == filters.cycle_id)
        visible = in_scope(
            filters.scope,
            (InvoiceRow.exporter_id, InvoiceRow.exporter_entity),
            (InvoiceRow.importer_id, InvoiceRow.importer_entity),
        )
        if visible is not None:
            query = query.where(visible)
        return [invoice_of_row(row) for row in self.session.scalars(query)]


def _integrity_message(error: IntegrityError) -> str:
    text = str(error.orig)
    if "invoice_number" in text:
        return "an invoice with this number from this exporter exists already"
    return "the invoice conflicts with stored data"


#: The invoice's fields kept as they are, each in the column of the same name.
_PLAIN_FIELDS = tuple(
    f.name for f in fields(Invoice) if f.name not in ("status", "dispute", "rejection")
)


def _invoice_values(invoice: Invoice, stamp: datetime) -> dict[str, Any]:
    return {
        **{name: getattr(invoice, name) for name in _PLAIN_FIELDS},
        "status": invoice.status.value,
        "dispute_fields": invoice.dispute.fields if invoice.dispute else None,
        "dispute_reason": invoice.dispute.reason if invoice.dispute else None,
        "rejection_rule": invoice.rejection.rule if invoice.rejection else None,
        "rejection_reason": invoice.rejection.reason if invoice.rejection else None,
        "created_at": stamp,
        "updated_at": stamp,
    }


def _with_sequence(invoice: Invoice, sequence: int) -> Invoice:
    return replace(invoice, sequence=sequence)


def invoice_of_row(row: InvoiceRow) -> Invoice:
    """The domain invoice of a stored row (an ORM row, or a plain row with its columns)."""
    disputed = row.status == Status.DISPUTED.value
    return Invoice(
        **{name: getattr(row, name) for name in _PLAIN_FIELDS},
        status=Status(row.status),
        dispute=Dispute(row.dispute_fields or {}, row.dispute_reason or "") if disputed else None,
        rejection=Rejection(row.rejection_rule or "", row.rejection_reason or "")
        if row.rejection_rule
        else None,
    )
