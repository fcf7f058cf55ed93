"""Obligations as the netting core sees them: immutable snapshot rows of cross-border debts."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


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
