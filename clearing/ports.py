"""What the use cases need from storage, as protocols, so that they never import SQLAlchemy.

``clearing.persistence`` implements these; tests may implement them in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from clearing.access import Principal
from clearing.compliance import Rule
from clearing.obligations import Invoice
from clearing.parties import Entity, Participant


@dataclass(frozen=True, slots=True)
class InvoiceEvent:
    """One transition in an invoice's status history."""

    invoice_id: str
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None = None
    details: dict[str, Any] | None = None
    at: str | None = None


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    """Which invoices to list: visibility (entity or participant), filters and a page."""

    limit: int
    after_sequence: int | None = None
    status: str | None = None
    cycle_id: str | None = None
    entity: str | None = None
    participant_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The first answer to an idempotent request: status code and JSON body."""

    request_hash: str
    status_code: int
    body: Any


class Entities(Protocol):
    def add(self, entity: Entity) -> None: ...
    def get(self, code: str) -> Entity | None: ...
    def list(self) -> list[Entity]: ...


class Participants(Protocol):
    def add(self, participant: Participant) -> None: ...
    def get(self, participant_id: str) -> Participant | None: ...
    def get_many(self, ids: Iterable[str]) -> dict[str, Participant]: ...
    def list(self, entity: str | None, after: str | None, limit: int) -> list[Participant]: ...


class ApiKeys(Protocol):
    def add(self, principal: Principal, key_hash: str, key_prefix: str, label: str) -> None: ...
    def by_hash(self, key_hash: str) -> Principal | None: ...


class Invoices(Protocol):
    def add_many(self, invoices: Sequence[Invoice], actor: str) -> list[Invoice]: ...
    def get(self, invoice_id: str, *, for_update: bool = False) -> Invoice | None: ...
    def existing_numbers(self, exporter_id: str, numbers: Iterable[str]) -> set[str]: ...
    def save(self, invoice: Invoice, event: InvoiceEvent) -> None: ...
    def add_events(self, events: Sequence[InvoiceEvent]) -> None: ...
    def history(self, invoice_id: str) -> list[InvoiceEvent]: ...
    def list(self, filters: InvoiceFilter) -> list[Invoice]: ...


class Rules(Protocol):
    def list(self) -> list[Rule]: ...
    def add(self, rule: Rule) -> None: ...
    def remove(self, rule: Rule) -> bool: ...


class IdempotencyRecords(Protocol):
    def lock(self, principal_id: str, key: str) -> None: ...
    def get(self, principal_id: str, key: str) -> StoredAnswer | None: ...
    def add(self, principal_id: str, key: str, answer: StoredAnswer) -> None: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without :meth:`commit` rolls everything back."""

    @property
    def entities(self) -> Entities: ...
    @property
    def participants(self) -> Participants: ...
    @property
    def api_keys(self) -> ApiKeys: ...
    @property
    def invoices(self) -> Invoices: ...
    @property
    def rules(self) -> Rules: ...
    @property
    def idempotency(self) -> IdempotencyRecords: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
