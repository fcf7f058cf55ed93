"""What the cycle state machine reads of the stored state, as plain rows, and the protocol of a
reader: the PostgreSQL run reads the tables with SQL, the in-memory run the fake's tables, and
the machine checks the same invariants on either."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    id: str
    status: str
    amount: int
    outstanding: int
    currency: str
    importer_id: str
    cycle_id: str | None


@dataclass(frozen=True, slots=True)
class CycleRow:
    id: str
    number: int
    status: str
    superseded_by: str | None
    predecessor_id: str | None


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One obligation of a cycle's snapshot and what the cycle settles of it."""

    cycle_id: str
    invoice_id: str
    debtor_id: str
    creditor_id: str
    currency: str
    outstanding: int
    settled: int


@dataclass(frozen=True, slots=True)
class EntryRow:
    """A journal entry; ``has_record`` when it carries its cycle's record."""

    seq: int
    entity: str
    hash: str
    cycle_id: str | None
    kind: str
    has_record: bool


@dataclass(frozen=True, slots=True)
class PostingRow:
    seq: int
    entity: str
    account: str
    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class MoneyRow:
    """A pay-in (``carried`` when a successor took it over from its predecessor) or a refund."""

    cycle_id: str
    participant_id: str
    amount: int
    carried: bool = False


class Reader(Protocol):
    """The committed state, read directly (not through the repositories under test)."""

    def invoices(self) -> list[InvoiceRow]: ...
    def cycles(self) -> list[CycleRow]: ...
    def snapshots(self) -> list[SnapshotRow]: ...
    def journal(self) -> list[EntryRow]: ...
    def postings(self) -> list[PostingRow]: ...
    def head(self) -> list[tuple[int, str]]: ...
    def pay_ins(self) -> list[MoneyRow]: ...
    def refunds(self) -> list[MoneyRow]: ...
    def close(self) -> None: ...
