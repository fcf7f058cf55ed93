"""The fake's tables and what its repositories share: the committed state, the working copy a
transaction reads and writes, and the constraints the database would enforce."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

from clearing.domain.access import Principal
from clearing.domain.ageing import AgeingRule
from clearing.domain.bank import BankEntry
from clearing.domain.compliance import Rule
from clearing.domain.cycles import Approval, Cycle, PayIn, Refund
from clearing.domain.idempotency import StoredAnswer
from clearing.domain.invoices import Invoice, InvoiceEvent
from clearing.domain.ledger import GENESIS_HASH
from clearing.domain.lines import Line, LineEvent, Movement
from clearing.domain.netting import Position, Settlement
from clearing.domain.netting.lines import LineMovement, LineTerms
from clearing.domain.parties import Entity, Participant, ParticipantVersion


class IntegrityViolation(Exception):
    """A row the database would refuse by a constraint the SQL repositories do not translate
    into a domain error (there it reaches the caller as the driver's error)."""


def refuse_unless(condition: bool, constraint: str) -> None:
    if not condition:
        raise IntegrityViolation(f"the database would refuse this row: {constraint}")


def as_json(value: Any) -> Any:
    """``value`` as a JSON column gives it back."""
    return json.loads(json.dumps(value))


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    principal: Principal
    key_hash: str
    key_prefix: str
    label: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class JournalRow:
    seq: int
    entity: str
    cycle_id: str | None
    kind: str
    cycle_record: dict[str, Any] | None
    prev_hash: str
    hash: str
    postings: tuple[tuple[str, str, int], ...]
    details: dict[str, Any] | None = None


@dataclass
class Tables:
    """The stored state. Every value is immutable, so a shallow copy of each container is a
    snapshot of the whole."""

    entities: dict[str, Entity] = field(default_factory=dict)
    participants: dict[str, Participant] = field(default_factory=dict)
    participant_versions: dict[tuple[str, int], ParticipantVersion] = field(default_factory=dict)
    api_keys: dict[str, ApiKeyRow] = field(default_factory=dict)  # by key hash
    invoices: dict[str, Invoice] = field(default_factory=dict)
    invoice_events: list[InvoiceEvent] = field(default_factory=list)
    rules: dict[tuple[str, str], Rule] = field(default_factory=dict)
    ageing_rules: dict[tuple[str, int], AgeingRule] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], StoredAnswer] = field(default_factory=dict)
    cycles: dict[str, Cycle] = field(default_factory=dict)  # without their approvals
    approvals: dict[tuple[str, str, str], Approval] = field(default_factory=dict)
    snapshots: dict[tuple[str, str], Settlement] = field(default_factory=dict)
    #: The steps each cycle took with its whole snapshot: (cycle, "take" or "settle").
    steps: set[tuple[str, str]] = field(default_factory=set)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    pay_ins: dict[str, tuple[int, PayIn]] = field(default_factory=dict)  # (when recorded, pay-in)
    refunds: list[Refund] = field(default_factory=list)
    journal: dict[int, JournalRow] = field(default_factory=dict)
    bank_entries: dict[str, BankEntry] = field(default_factory=dict)
    lines: dict[str, Line] = field(default_factory=dict)
    line_events: list[LineEvent] = field(default_factory=list)
    line_movements: list[Movement] = field(default_factory=list)
    #: Per cycle, the line terms it nets with and what its netting did to each, by line id.
    cycle_lines: dict[str, tuple[tuple[LineTerms, LineMovement], ...]] = field(default_factory=dict)
    head: tuple[int, str] = (0, GENESIS_HASH)

    def copy(self) -> Tables:
        return Tables(**{f.name: copy.copy(getattr(self, f.name)) for f in fields(self)})


@dataclass
class Store:
    """What every unit of work of one factory shares: the committed tables, and counters that
    no rollback takes back (as database sequences)."""

    committed: Tables = field(default_factory=Tables)
    commits: int = 0
    invoice_sequence: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    ticks: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class Transaction(Protocol):
    """What a repository needs of its unit of work."""

    store: Store

    def tables(self, *, writing: bool) -> Tables: ...


class Repository:
    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    @property
    def _read(self) -> Tables:
        return self._uow.tables(writing=False)

    @property
    def _write(self) -> Tables:
        return self._uow.tables(writing=True)
