"""Obligations as the netting core sees them: immutable snapshot rows of cross-border debts."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from clearing.domain.money import format_amount, parse_signed_amount

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
    """How the matched value is allocated to obligations (DESIGN §4 step 4, §4a): ``fifo`` and
    ``pro_rata`` within each corridor; ``setoff`` so that participants move the least money."""

    FIFO = "fifo"
    PRO_RATA = "pro_rata"
    SETOFF = "setoff"


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


def to_record(obligation: Obligation) -> list[str | int]:
    """The obligation as a row of :data:`RECORD_COLUMNS` (as a cycle's journal record holds it)."""
    values = _record_values(obligation)
    return [values[column] for column in RECORD_COLUMNS]


def _record_values(o: Obligation) -> dict[str, str | int]:
    return {
        "obligation_id": o.obligation_id,
        "debtor_id": o.debtor_id,
        "debtor_jurisdiction": o.debtor_jurisdiction,
        "creditor_id": o.creditor_id,
        "creditor_jurisdiction": o.creditor_jurisdiction,
        "currency": o.currency,
        "amount": format_amount(o.outstanding, o.currency),
        "due_date": o.due_date.isoformat(),
        "priority": o.priority,
        "sequence": o.sequence,
    }


def from_record(values: Mapping[str, Any]) -> Obligation:
    """The obligation of a record row given as ``{column: value}`` over :data:`RECORD_COLUMNS`."""
    currency = str(values["currency"])
    return Obligation(
        obligation_id=str(values["obligation_id"]),
        debtor_id=str(values["debtor_id"]),
        debtor_jurisdiction=str(values["debtor_jurisdiction"]),
        creditor_id=str(values["creditor_id"]),
        creditor_jurisdiction=str(values["creditor_jurisdiction"]),
        currency=currency,
        outstanding=parse_signed_amount(str(values["amount"]), currency),
        due_date=date.fromisoformat(str(values["due_date"])),
        priority=int(values["priority"]),
        sequence=int(values["sequence"]),
    )
