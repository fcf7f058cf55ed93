"""Obligations as the netting core sees them: immutable snapshot rows of cross-border debts."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from clearing.errors import Conflict
from clearing.money import format_amount

#: The columns of an obligation record, as in OBLIGATIONS.csv and in a cycle's journal record
#: (``amount`` is a decimal string in major units there).
RECORD_COLUMNS = (
    "obligation_id",
    "debtor_id",
    "debtor_jurisdiction",
    "creditor_id",
    "creditor_jurisdiction",
    "currency",
    "amount",
    "due_date",
    "priority",
    "sequence",
)


class Policy(enum.StrEnum):
    """How a corridor's matched value is allocated to its obligations (DESIGN §4 step 4)."""

    FIFO = "fifo"
    PRO_RATA = "pro_rata"


@dataclass(frozen=True, slots=True)
class Obligation:
    """One debt: ``debtor`` (an importer) owes ``creditor`` (an exporter abroad) ``outstanding``.

    ``outstanding`` is in minor units of ``currency``, the invoice currency. ``priority`` is the
    compliance priority class (lower nets first under ``fifo``); ``sequence`` is the order of
    submission.
    """

    obligation_id: str
    debtor_id: str
    debtor_jurisdiction: str
    creditor_id: str
    creditor_jurisdiction: str
    currency: str
    outstanding: int
    due_date: date
    priority: int = 0
    sequence: int = 0


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


#: States from which the exporter may cancel and an operator may release: before any cycle.
OPEN_STATES = frozenset({Status.AWAITING_CONFIRMATION, Status.ELIGIBLE, Status.DISPUTED})


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

    def to_obligation(self) -> Obligation:
        """The netting snapshot row of this invoice: the importer owes the exporter."""
        return Obligation(
            obligation_id=self.id,
            debtor_id=self.importer_id,
            debtor_jurisdiction=self.importer_entity,
            creditor_id=self.exporter_id,
            creditor_jurisdiction=self.exporter_entity,
            currency=self.currency,
            outstanding=self.outstanding,
            due_date=self.due_date,
            priority=self.priority,
            sequence=self.sequence,
        )


def require_status(invoice: Invoice, allowed: frozenset[Status] | set[Status], action: str) -> None:
    """Raise :class:`Conflict` unless the invoice is in one of the ``allowed`` states."""
    if invoice.status not in allowed:
        raise Conflict(f"cannot {action} an invoice that is {invoice.status.value}", field="status")


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
