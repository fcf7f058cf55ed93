"""The repository of imported bank statement lines (and so of the suspense list)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clearing.adapters.persistence.rows import storable
from clearing.adapters.persistence.tables import BankEntryRow
from clearing.domain.bank import BankEntry, Direction, Reconciliation, StatementLine
from clearing.domain.errors import Conflict
from clearing.domain.payments import Purpose


class BankEntryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entries: Sequence[BankEntry]) -> None:
        if not entries:
            return
        try:
            self.session.execute(insert(BankEntryRow), [_row(entry) for entry in entries])
        except IntegrityError as error:
            # Another import of the same line committed first (the key is per entity).
            raise Conflict(
                "a line of this statement was imported meanwhile; import it again to see it "
                "counted as a duplicate"
            ) from error

    def known(self, entity: str, references: Iterable[str]) -> set[str]:
        wanted = [r for r in set(references) if storable(r)]
        if not wanted:
            return set()
        found = self.session.scalars(
            select(BankEntryRow.entry_reference).where(
                BankEntryRow.entity == entity, BankEntryRow.entry_reference.in_(wanted)
            )
        )
        return set(found)

    def get(self, entry_id: str, *, for_update: bool = False) -> BankEntry | None:
        if not storable(entry_id):
            return None
        query = select(BankEntryRow).where(BankEntryRow.id == entry_id)
        if for_update:
            query = query.with_for_update()
        row = self.session.scalars(query).first()
        return _entry(row) if row is not None else None

    def save(self, entry: BankEntry) -> None:
        row = self.session.get(BankEntryRow, entry.id)
        assert row is not None, f"bank entry {entry.id} is stored before it is saved"
        row.status = entry.status.value
        row.cycle_id = entry.cycle_id
        row.participant_id = entry.participant_id
        row.purpose = entry.purpose.value if entry.purpose else None
        row.pay_in_id = entry.pay_in_id
        row.note = entry.note
        row.resolved_by = entry.resolved_by
        row.resolved_at = entry.resolved_at
        self.session.flush()

    def matched(self, cycle_ids: Collection[str]) -> list[BankEntry]:
        if not cycle_ids:
            return []
        query = (
            select(BankEntryRow)
            .where(BankEntryRow.cycle_id.in_(list(cycle_ids)))
            .order_by(BankEntryRow.imported_at, BankEntryRow.id)
        )
        return [_entry(row) for row in self.session.scalars(query)]

    def list(
        self,
        entity: str | None,
        statuses: Collection[Reconciliation] | None,
        after: str | None,
        limit: int,
    ) -> list[BankEntry]:
        query = select(BankEntryRow).order_by(BankEntryRow.id).limit(limit)
        if entity is not None:
            query = query.where(BankEntryRow.entity == entity)
        if statuses is not None:
            query = query.where(BankEntryRow.status.in_([s.value for s in statuses]))
        if after is not None:
            query = query.where(BankEntryRow.id > after)
        return [_entry(row) for row in self.session.scalars(query)]


def _row(entry: BankEntry) -> dict[str, Any]:
    line = entry.line
    return {
        "id": entry.id,
        "entity": entry.entity,
        "entry_reference": line.entry_reference,
        "batch_part": line.transaction,
        "direction": line.direction.value,
        "currency": line.currency,
        "amount": line.amount,
        "value_date": line.value_date,
        "booking_date": line.booking_date,
        "remittance": line.remittance,
        "end_to_end_id": line.end_to_end_id,
        "counterparty_name": line.counterparty_name,
        "counterparty_account": line.counterparty_account,
        "status": entry.status.value,
        "cycle_id": entry.cycle_id,
        "participant_id": entry.participant_id,
        "purpose": entry.purpose.value if entry.purpose else None,
        "pay_in_id": entry.pay_in_id,
        "note": entry.note,
        "imported_by": entry.imported_by,
        "imported_at": entry.imported_at,
        "resolved_by": entry.resolved_by,
        "resolved_at": entry.resolved_at,
    }


def _entry(row: BankEntryRow) -> BankEntry:
    return BankEntry(
        id=row.id,
        entity=row.entity,
        line=StatementLine(
            entry_reference=row.entry_reference,
            direction=Direction(row.direction),
            currency=row.currency,
            amount=row.amount,
            value_date=row.value_date,
            remittance=row.remittance,
            end_to_end_id=row.end_to_end_id,
            counterparty_name=row.counterparty_name,
            counterparty_account=row.counterparty_account,
            booking_date=row.booking_date,
            transaction=row.batch_part,
        ),
        status=Reconciliation(row.status),
        imported_by=row.imported_by,
        imported_at=row.imported_at,
        cycle_id=row.cycle_id,
        participant_id=row.participant_id,
        purpose=Purpose(row.purpose) if row.purpose else None,
        pay_in_id=row.pay_in_id,
        note=row.note,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
    )
