"""Invoices and their lifecycle (DESIGN §6), declared once as a table of allowed transitions.

Trader and operator actions check an invoice against :data:`LIFECYCLE` one at a time; the cycle
repository applies the cycle-time transitions (cut-off, return, settlement) to many invoices in
one set-based statement each, deriving its ``WHERE`` and ``SET`` from the same table.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from clearing.domain.access import Scope
from clearing.domain.errors import Conflict, InvalidInput
from clearing.domain.money import format_amount
from clearing.domain.netting.columns import ObligationColumns

if TYPE_CHECKING:
    from clearing.domain.ageing import StaleTest


class Status(enum.StrEnum):
    """An invoice's lifecycle (DESIGN §6)."""

    AWAITING_CONFIRMATION = "awaiting_confirmation"
    ELIGIBLE = "eligible"
    IN_CYCLE = "in_cycle"
    SETTLED = "settled"
    DISPUTED = "disputed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    RELEASED = "released"


#: An invoice's dates lie in this window: a year outside it is a typing error, not trade.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2099, 12, 31)
#: The longest payment term accepted between issue and due date (ten years of days).
LONGEST_TERM = timedelta(days=3653)


def check_dates(issue_date: date, due_date: date) -> None:
    """An invoice's issue and due dates: in the accepted window, due on or after issue and
    within the longest payment term."""
    for field, value in (("issue_date", issue_date), ("due_date", due_date)):
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            raise InvalidInput(f"must be between {EARLIEST_DATE} and {LATEST_DATE}", field=field)
    if due_date < issue_date:
        raise InvalidInput("is before issue_date", field="due_date")
    if due_date - issue_date > LONGEST_TERM:
        raise InvalidInput(
            f"is more than {LONGEST_TERM.days} days after issue_date", field="due_date"
        )


#: The pool: what a cycle may still settle, eligible or held by a cycle not yet settled. What
#: is in the pool is carried, ages, and can be stale (DESIGN §6a).
POOL = frozenset({Status.ELIGIBLE, Status.IN_CYCLE})

#: States from which the exporter may cancel and an operator may release: before any cycle.
OPEN_STATES = frozenset({Status.AWAITING_CONFIRMATION, Status.ELIGIBLE, Status.DISPUTED})


class Action(enum.StrEnum):
    """What moves an invoice: a party's or an operator's act, or a step of a cycle."""

    SUBMIT = "submit"
    CONFIRM = "confirm"
    DISPUTE = "dispute"
    CANCEL = "cancel"
    RELEASE = "release"
    SCREEN_OUT = "reject at cut-off"
    TAKE = "take into a cycle"
    RETURN = "return to the pool"
    SETTLE = "settle"


@dataclass(frozen=True, slots=True)
class Transition:
    """From which states an action may start, where it leads, and its other outcome if any."""

    sources: frozenset[Status]
    target: Status
    otherwise: Status | None = None

    def outcome(self, *, normal: bool = True) -> Status:
        """Where the action leads: ``target`` normally, else the other outcome."""
        if normal:
            return self.target
        if self.otherwise is None:
            raise ValueError(f"a transition to {self.target.value} has no other outcome")
        return self.otherwise

    @property
    def source(self) -> Status:
        """The one state the action starts from (cycle-time actions each have one)."""
        (only,) = self.sources
        return only

    @property
    def source_values(self) -> tuple[str, ...]:
        """The source states as stored, in a stable order (for SQL ``IN``)."""
        return tuple(sorted(status.value for status in self.sources))


#: Every allowed transition of an invoice. ``otherwise``: a confirmation that differs from the
#: invoice disputes it; an invoice that a settlement discharges only in part is eligible again.
LIFECYCLE: Mapping[Action, Transition] = MappingProxyType(
    {
        Action.SUBMIT: Transition(frozenset(), Status.AWAITING_CONFIRMATION, Status.REJECTED),
        Action.CONFIRM: Transition(
            frozenset({Status.AWAITING_CONFIRMATION, Status.DISPUTED}),
            Status.ELIGIBLE,
            Status.DISPUTED,
        ),
        Action.DISPUTE: Transition(
            frozenset({Status.AWAITING_CONFIRMATION, Status.ELIGIBLE}), Status.DISPUTED
        ),
        Action.CANCEL: Transition(OPEN_STATES, Status.CANCELLED),
        Action.RELEASE: Transition(OPEN_STATES, Status.RELEASED),
        Action.SCREEN_OUT: Transition(frozenset({Status.ELIGIBLE}), Status.REJECTED),
        Action.TAKE: Transition(frozenset({Status.ELIGIBLE}), Status.IN_CYCLE),
        Action.RETURN: Transition(frozenset({Status.IN_CYCLE}), Status.ELIGIBLE),
        Action.SETTLE: Transition(frozenset({Status.IN_CYCLE}), Status.SETTLED, Status.ELIGIBLE),
    }
)


@dataclass(frozen=True, slots=True)
class Dispute:
    """Why an invoice is disputed: differing fields (``{field: {"exporter", "importer"}}``)."""

    fields: dict[str, dict[str, str]]
    reason: str


@dataclass(frozen=True, slots=True)
class Rejection:
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class Invoice:
    """A cross-border invoice as both entities see it. Amounts are minor units of ``currency``."""

    id: str
    invoice_number: str
    exporter_id: str
    exporter_entity: str
    importer_id: str
    importer_entity: str
    currency: str
    amount: int
    outstanding: int
    issue_date: date
    due_date: date
    hs_code: str
    description: str
    status: Status
    priority: int
    sequence: int
    cycle_id: str | None = None
    dispute: Dispute | None = None
    rejection: Rejection | None = None
    #: When the invoice first became eligible (importer confirmed, compliance passed); its age
    #: runs from here. ``None`` before.
    first_eligible_at: datetime | None = None
    #: How many cycles have snapshotted it without settling it in full (DESIGN §6a): counted
    #: when such a cycle settles, and when a default drops it from a cycle; a superseded cycle
    #: and its re-netted successor count once between them, a rejected proposal not at all.
    cycles_carried: int = 0
    #: Flagged by the ageing rules as of the read (:mod:`clearing.domain.ageing`); never
    #: stored: ``False`` as a repository gives it back.
    stale: bool = False


def snapshot_of(
    invoices: Sequence[Invoice], priorities: Sequence[int] | None = None
) -> ObligationColumns:
    """The netting snapshot of ``invoices``, as columns: the importer owes the exporter what is
    outstanding. ``priorities`` replaces the invoices' own (a cut-off screens them again)."""
    return ObligationColumns.from_lists(
        {
            "obligation_id": [i.id for i in invoices],
            "debtor_id": [i.importer_id for i in invoices],
            "debtor_jurisdiction": [i.importer_entity for i in invoices],
            "creditor_id": [i.exporter_id for i in invoices],
            "creditor_jurisdiction": [i.exporter_entity for i in invoices],
            "currency": [i.currency for i in invoices],
            "outstanding": [i.outstanding for i in invoices],
            "due_date": [i.due_date for i in invoices],
            "priority": list(priorities)
            if priorities is not None
            else [i.priority for i in invoices],
            "sequence": [i.sequence for i in invoices],
        }
    )


def require_transition(invoice: Invoice, action: Action) -> Transition:
    """The transition of ``action``; :class:`Conflict` unless the invoice may start it."""
    transition = LIFECYCLE[action]
    if invoice.status not in transition.sources:
        raise Conflict(
            f"cannot {action.value} an invoice that is {invoice.status.value}", field="status"
        )
    return transition


def confirmation_differences(
    invoice: Invoice, currency: str, amount: int, amount_text: str
) -> dict[str, dict[str, str]]:
    """The fields where the importer's echo differs from the exporter's data, with both values."""
    differences: dict[str, dict[str, str]] = {}
    if currency != invoice.currency:
        differences["currency"] = {"exporter": invoice.currency, "importer": currency}
    if currency != invoice.currency or amount != invoice.amount:
        differences["amount"] = {
            "exporter": format_amount(invoice.amount, invoice.currency),
            "importer": amount_text,
        }
    if "currency" in differences and amount_text == differences["amount"]["exporter"]:
        del differences["amount"]
    return differences


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
    """Which invoices to list: those in the caller's scope, the filters, and a page."""

    limit: int
    scope: Scope
    after_sequence: int | None = None
    status: str | None = None
    cycle_id: str | None = None
    #: Only the stale invoices (``True``) or only the others (``False``), by ``stale_test``.
    stale: bool | None = None
    stale_test: StaleTest | None = None


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    """An invoice as submitted; amounts are still decimal strings in major units."""

    invoice_number: str
    importer_id: str
    currency: str
    amount: str
    issue_date: date
    due_date: date
    hs_code: str
    description: str = ""
    exporter_id: str | None = None
