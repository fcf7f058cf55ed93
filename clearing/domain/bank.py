"""An entity's bank statement, line by line, and how each line reconciles (DESIGN §5).

A credit whose reference names a due pay-in is that pay-in; a credit that matches nothing waits
in suspense until an operator assigns it to a pay-in or returns it to its payer; a debit that
is a released pay-out or refund confirms it. The bank's entry reference identifies a line: the
same line imported twice is recorded once. Amounts are minor units of the line's currency.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from clearing.domain.payments import Purpose


class Direction(enum.StrEnum):
    """Money into the entity's account (``credit``) or out of it (``debit``)."""

    CREDIT = "credit"
    DEBIT = "debit"


class Reconciliation(enum.StrEnum):
    """Where a statement line stands."""

    MATCHED = "matched"  # a credit recorded as the pay-in its reference names
    SUSPENSE = "suspense"  # a credit that matched nothing, waiting for an operator
    #: A suspense credit an operator recorded as a pay-in, or matched to the pay-in recorded
    #: by hand that it is the bank's record of.
    ASSIGNED = "assigned"
    RETURNED = "returned"  # a suspense credit an operator sent back to its payer
    CONFIRMED = "confirmed"  # a debit that is a released pay-out or refund
    #: A debit that is none of the cycles' payments, or a credit already recorded by hand
    #: under its reference for another amount: a break to investigate; nothing moved.
    UNMATCHED = "unmatched"


#: The lines an operator still has to deal with, and the ones it has dealt with.
OPEN_SUSPENSE = frozenset({Reconciliation.SUSPENSE})
SUSPENSE_STATES = frozenset(
    {Reconciliation.SUSPENSE, Reconciliation.ASSIGNED, Reconciliation.RETURNED}
)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One booked entry of a bank statement, as the bank reports it."""

    #: The bank's own reference for the booking (camt ``AcctSvcrRef``, else ``NtryRef``).
    entry_reference: str
    direction: Direction
    currency: str
    amount: int  # minor units of currency, > 0
    value_date: date
    #: What the payer wrote: a structured creditor reference, or the unstructured text.
    remittance: str = ""
    #: For a debit, the end-to-end id of the transfer the entity ordered.
    end_to_end_id: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""
    booking_date: date | None = None
    #: Which transaction of a batch booking this line is (1, 2, …); 0 for a whole booking.
    transaction: int = 0

    @property
    def key(self) -> str:
        """The line's own reference: the booking's, and ``/<n>`` for a batch's transaction."""
        return (
            f"{self.entry_reference}/{self.transaction}"
            if self.transaction
            else self.entry_reference
        )

    @property
    def references(self) -> tuple[str, ...]:
        """The texts a reference may be found in, the most specific first."""
        return tuple(text for text in (self.end_to_end_id, self.remittance) if text)


@dataclass(frozen=True, slots=True)
class BankStatement:
    """The booked lines of a statement (camt.053), notification (camt.054) or CSV file."""

    #: The accounts the statement is for, as the bank names them (none: not stated).
    accounts: tuple[str, ...]
    lines: tuple[StatementLine, ...]
    #: Entries not yet booked (pending, information only): left for a later statement.
    pending: int = 0


@dataclass(frozen=True, slots=True)
class BankEntry:
    """A statement line as imported into an entity's books, and what it was matched to."""

    id: str
    entity: str
    line: StatementLine
    status: Reconciliation
    imported_by: str
    imported_at: datetime
    cycle_id: str | None = None
    participant_id: str | None = None
    #: What the line was for when it matched one of the cycles' payments (on a returned
    #: credit: ``return`` once the bank's debit confirmed the return).
    purpose: Purpose | None = None
    #: The pay-in a credit was recorded as, or is the bank's record of.
    pay_in_id: str | None = None
    #: Why it matched nothing, or why it was returned.
    note: str = ""
    resolved_by: str | None = None
    resolved_at: datetime | None = None


def confirmations(entries: Iterable[BankEntry]) -> dict[tuple[str, Purpose], str]:
    """``(participant, purpose) -> the bank's entry reference`` of each confirmed transfer."""
    return {
        (e.participant_id, e.purpose): e.line.entry_reference
        for e in entries
        if e.status is Reconciliation.CONFIRMED and e.participant_id and e.purpose
    }
