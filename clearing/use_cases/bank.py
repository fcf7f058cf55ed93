"""Bank reconciliation (DESIGN §5): an operator imports its bank's statement; each credit whose
reference names a due pay-in is recorded as that pay-in, each credit that matches nothing waits
in suspense (journaled) until an operator assigns it to a pay-in or returns it, and each debit
that is a released pay-out or refund confirms it. A line already imported (the bank's entry
reference is the key) is counted as a duplicate and records nothing."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from clearing.domain import ledger
from clearing.domain.access import Principal, Role
from clearing.domain.bank import (
    BankEntry,
    BankStatement,
    Direction,
    Reconciliation,
    StatementLine,
)
from clearing.domain.cycles import Cycle, CycleStatus, PayIn, due_pay_in
from clearing.domain.errors import ClearingError, Conflict, InvalidInput, NotFound
from clearing.domain.netting import Position
from clearing.domain.payments import (
    Purpose,
    check_account,
    cycle_payment_of,
    cycle_payment_reference,
    reference_in,
    return_reference,
)
from clearing.use_cases.cycles import locked_cycle, post, utc_now
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.settlement import take_pay_in
from clearing.use_cases.validation import check_limit, check_text

#: How many returned credits a debit is compared with (returns are rare; all of them).
MAX_RETURNS = 100_000
#: Longest texts a line may carry (the bank_entries columns).
_LIMITS = {
    "entry_reference": 40,
    "end_to_end_id": 35,
    "counterparty_name": 140,
    "counterparty_account": 34,
    "remittance": 800,
}


@dataclass(frozen=True, slots=True)
class ImportedLine:
    """What became of one line of an imported statement: its stored entry, or, for a line
    imported before, the reference alone."""

    entry_reference: str
    entry: BankEntry | None

    @property
    def duplicate(self) -> bool:
        return self.entry is None


@dataclass(frozen=True, slots=True)
class ImportReport:
    """An import's answer (DESIGN §10): ``entries`` booked lines read, of which ``matched``
    reconciled with a cycle payment, ``unmatched`` did not (credits to suspense, debits
    unexplained) and ``duplicates`` were imported before; ``pending`` entries not yet booked."""

    lines: tuple[ImportedLine, ...]
    pending: int

    def count(self, *statuses: Reconciliation) -> int:
        return sum(1 for line in self.lines if line.entry and line.entry.status in statuses)

    @property
    def matched(self) -> int:
        return self.count(Reconciliation.MATCHED, Reconciliation.CONFIRMED)

    @property
    def unmatched(self) -> int:
        return self.count(Reconciliation.SUSPENSE, Reconciliation.UNMATCHED)

    @property
    def duplicates(self) -> int:
        return sum(1 for line in self.lines if line.duplicate)

    def to_json(self) -> dict[str, Any]:
        """The answer of ``POST /v1/bank-statements``, which ``clearing bank import`` prints."""
        return {
            "entries": len(self.lines),
            "matched": self.matched,
            "unmatched": self.unmatched,
            "duplicates": self.duplicates,
            "pending": self.pending,
            "lines": [
                {
                    "entry_reference": line.entry_reference,
                    "status": line.entry.status.value if line.entry else "duplicate",
                    "id": line.entry.id if line.entry else None,
                    "cycle_id": line.entry.cycle_id if line.entry else None,
                    "participant_id": line.entry.participant_id if line.entry else None,
                    "note": line.entry.note if line.entry else "imported before",
                }
                for line in self.lines
            ],
        }


def import_statement(
    uow: UnitOfWork, principal: Principal, statement: BankStatement
) -> ImportReport:
    """Import the operator's entity's bank statement in one transaction (a bad line refuses
    the whole statement, naming it, and records nothing)."""
    principal.require(Role.OPERATOR)
    entity = principal.scope.entity
    assert entity is not None, "an operator acts for an entity"
    for line in statement.lines:
        _check_line(line)
    with uow:
        own = uow.entities.get(entity)
        if own is None:
            raise NotFound(f"no entity {entity}", field="entity")
        for account in statement.accounts:
            if own.account is not None and check_account(account, "account") != own.account:
                raise InvalidInput(
                    f"the statement is for account {account}; {entity} settles through "
                    f"{own.account}",
                    field="account",
                )
        known = uow.bank.known(entity, (line.entry_reference for line in statement.lines))
        matcher = _Matcher(uow, entity)
        imported: list[ImportedLine] = []
        for line in statement.lines:
            if line.entry_reference in known:
                imported.append(ImportedLine(line.entry_reference, None))
                continue
            known.add(line.entry_reference)
            entry = _reconcile(uow, principal, entity, line, matcher)
            uow.bank.add([entry])
            imported.append(ImportedLine(line.entry_reference, entry))
        uow.commit()
    return ImportReport(tuple(imported), statement.pending)


def _check_line(line: StatementLine) -> None:
    for name, longest in _LIMITS.items():
        if len(getattr(line, name)) > longest:
            raise InvalidInput(
                f"line {line.entry_reference[:40]}: {name} is longer than {longest} characters",
                field=name,
            )


def _reconcile(
    uow: UnitOfWork, principal: Principal, entity: str, line: StatementLine, matcher: _Matcher
) -> BankEntry:
    """The stored entry of a line not imported before, with what it matched, recorded."""
    at = utc_now()
    entry = BankEntry(
        id=f"bnk_{secrets.token_hex(8)}",
        entity=entity,
        line=line,
        status=Reconciliation.SUSPENSE,
        imported_by=principal.id,
        imported_at=at,
    )
    if line.direction is Direction.DEBIT:
        return _confirm_debit(uow, entry, matcher)
    recorded = uow.cycles.pay_ins_by_reference(entity, line.entry_reference)
    if recorded:
        return _recorded_before(entry, recorded[0])
    try:
        cycle, position = matcher.payment(line, Purpose.PAY_IN)
        take_pay_in(
            uow,
            principal,
            cycle,
            position,
            line.currency,
            line.amount,
            line.entry_reference,
            line.value_date,
        )
    except ClearingError as unmatched:
        post(uow, [ledger.suspense_entry(entity, line, str(unmatched), principal.id, at)])
        return replace(entry, note=str(unmatched))
    return replace(
        entry,
        status=Reconciliation.MATCHED,
        cycle_id=cycle.id,
        participant_id=position.participant_id,
        purpose=Purpose.PAY_IN,
    )


def _recorded_before(entry: BankEntry, pay_in: PayIn) -> BankEntry:
    """A credit an operator recorded by hand under the bank's entry reference before the
    statement came: the same money, matched to that pay-in (recorded once). A different amount
    under the same reference is a break to investigate, and moves nothing."""
    line = entry.line
    if (pay_in.amount, pay_in.currency) != (line.amount, line.currency):
        return replace(
            entry,
            status=Reconciliation.UNMATCHED,
            note=f"pay-in {pay_in.id} was recorded under {line.entry_reference} for "
            f"{pay_in.amount} minor units of {pay_in.currency}, the bank credited {line.amount}",
        )
    return replace(
        entry,
        status=Reconciliation.MATCHED,
        cycle_id=pay_in.cycle_id,
        participant_id=pay_in.participant_id,
        purpose=Purpose.PAY_IN,
        note=f"recorded before as pay-in {pay_in.id}",
    )


def _confirm_debit(uow: UnitOfWork, entry: BankEntry, matcher: _Matcher) -> BankEntry:
    """A debit that is a pay-out of a settled cycle, a refund, or a suspense credit sent
    back, of the amount released."""
    line = entry.line
    returned = _returned_credit(uow, entry)
    if returned is not None:
        return returned
    try:
        cycle, position, purpose = matcher.transfer(line)
        expected = (
            position.net
            if purpose is Purpose.PAY_OUT
            else sum(
                r.amount
                for r in uow.cycles.refunds(cycle.id)
                if r.participant_id == position.participant_id
            )
        )
        if line.amount != expected or line.currency != position.currency:
            raise Conflict(
                f"{purpose.value} of {position.participant_id} in cycle {cycle.id} was "
                f"{expected} minor units of {position.currency}, not {line.amount} {line.currency}"
            )
        for earlier in uow.bank.matched([cycle.id]):
            if earlier.status is Reconciliation.CONFIRMED and (
                earlier.participant_id,
                earlier.purpose,
            ) == (position.participant_id, purpose):
                raise Conflict(
                    f"{purpose.value} of {position.participant_id} in cycle {cycle.id} was "
                    f"confirmed by {earlier.line.entry_reference} already"
                )
    except ClearingError as unmatched:
        return replace(entry, status=Reconciliation.UNMATCHED, note=str(unmatched))
    return replace(
        entry,
        status=Reconciliation.CONFIRMED,
        cycle_id=cycle.id,
        participant_id=position.participant_id,
        purpose=purpose,
    )


def _returned_credit(uow: UnitOfWork, entry: BankEntry) -> BankEntry | None:
    """The debit as the return of a suspense credit, when it quotes that return's reference
    (``None`` when it quotes none)."""
    line = entry.line
    quoted = {r for r in map(reference_in, line.references) if r}
    if not quoted:
        return None
    sent_back = [
        e
        for e in uow.bank.list(entry.entity, {Reconciliation.RETURNED}, None, MAX_RETURNS)
        if return_reference(e.id) in quoted
    ]
    if not sent_back:
        return None
    [credit] = sent_back
    note = f"return of {credit.line.entry_reference}"
    confirmed = uow.bank.list(entry.entity, {Reconciliation.CONFIRMED}, None, MAX_RETURNS)
    if any(e.purpose is Purpose.RETURN and e.note == note for e in confirmed):
        return replace(entry, status=Reconciliation.UNMATCHED, note=f"{note}: confirmed already")
    if (credit.line.amount, credit.line.currency) != (line.amount, line.currency):
        return replace(
            entry,
            status=Reconciliation.UNMATCHED,
            note=f"{note} was {credit.line.amount} minor units of {credit.line.currency}",
        )
    return replace(entry, status=Reconciliation.CONFIRMED, purpose=Purpose.RETURN, note=note)


class _Matcher:
    """Finds the cycle payment a line's reference names, working out each cycle's references
    once per import."""

    def __init__(self, uow: UnitOfWork, entity: str) -> None:
        self._uow = uow
        self._entity = entity
        self._references: dict[tuple[str, Purpose], dict[str, Position]] = {}

    def payment(self, line: StatementLine, purpose: Purpose) -> tuple[Cycle, Position]:
        reference = next(filter(None, map(reference_in, line.references)), None)
        if reference is None:
            raise NotFound("carries no RF payment reference")
        return self._named(reference, purpose)

    def transfer(self, line: StatementLine) -> tuple[Cycle, Position, Purpose]:
        """The pay-out or refund a debit's end-to-end id (or text) names."""
        for text in line.references:
            reference = reference_in(text)
            named = cycle_payment_of(reference) if reference else None
            if reference and named and named[1] is not Purpose.PAY_IN:
                return (*self._named(reference, named[1]), named[1])
        raise NotFound("names no pay-out or refund of a cycle")

    def _named(self, reference: str, purpose: Purpose) -> tuple[Cycle, Position]:
        named = cycle_payment_of(reference)
        if named is None or named[1] is not purpose:
            raise NotFound(f"{reference} is not the {purpose.value} reference of a cycle")
        number, _purpose = named
        found = self._uow.cycles.recent(number + 1, 1)
        if not found or found[0].number != number:
            raise NotFound(f"{reference} names cycle number {number}, which does not exist")
        cycle = found[0]
        position = self._positions(cycle, purpose).get(reference)
        if position is None:
            raise NotFound(f"{reference} is no {purpose.value} of {self._entity} in {cycle.id}")
        if purpose is Purpose.PAY_IN:
            return locked_cycle(self._uow, cycle.id), position
        if purpose is Purpose.PAY_OUT and cycle.status is not CycleStatus.SETTLED:
            raise Conflict(f"cycle {cycle.id} is {cycle.status.value}: it released no pay-outs")
        return cycle, position

    def _positions(self, cycle: Cycle, purpose: Purpose) -> dict[str, Position]:
        key = (cycle.id, purpose)
        if key not in self._references:
            payers = [
                p
                for p in self._uow.cycles.positions(cycle.id)
                if p.jurisdiction == self._entity and _pays(p, purpose, self._uow, cycle)
            ]
            self._references[key] = {
                cycle_payment_reference(cycle.number, cycle.id, p.participant_id, purpose): p
                for p in payers
            }
        return self._references[key]


def _pays(position: Position, purpose: Purpose, uow: UnitOfWork, cycle: Cycle) -> bool:
    """Whether a cycle has a payment of ``purpose`` with this participant."""
    if purpose is Purpose.PAY_IN:
        return due_pay_in(position) > 0
    if purpose is Purpose.PAY_OUT:
        return position.net > 0
    return any(r.participant_id == position.participant_id for r in uow.cycles.refunds(cycle.id))


# --- the suspense list ------------------------------------------------------------------------


def bank_entries(
    uow: UnitOfWork,
    principal: Principal,
    statuses: Collection[Reconciliation] | None,
    after: str | None,
    limit: int,
) -> list[BankEntry]:
    """Imported lines, by id: an operator's entity's, every entity's for an auditor."""
    principal.require(Role.OPERATOR, Role.AUDITOR)
    with uow:
        return uow.bank.list(principal.scope.entity, statuses, after, check_limit(limit))


def assign_suspense(
    uow: UnitOfWork, principal: Principal, entry_id: str, cycle_id: str, participant_id: str
) -> BankEntry:
    """Record a suspense credit as a participant's pay-in for a cycle awaiting it (the whole
    amount, no more than is still due); journaled as money moving from suspense."""
    principal.require(Role.OPERATOR)
    with uow:
        entry = _open_suspense(uow, principal, entry_id)
        cycle = locked_cycle(uow, cycle_id)
        position = uow.cycles.position(cycle.id, participant_id)
        if position is None or position.jurisdiction != entry.entity:
            raise NotFound(
                f"no position of participant {participant_id} in cycle {cycle.id}",
                field="participant_id",
            )
        line = entry.line
        take_pay_in(
            uow,
            principal,
            cycle,
            position,
            line.currency,
            line.amount,
            line.entry_reference,
            line.value_date,
            from_suspense=True,
        )
        assigned = _resolved(
            entry,
            principal,
            Reconciliation.ASSIGNED,
            cycle_id=cycle.id,
            participant_id=participant_id,
            purpose=Purpose.PAY_IN,
        )
        uow.bank.save(assigned)
        uow.commit()
    return assigned


def return_suspense(uow: UnitOfWork, principal: Principal, entry_id: str, reason: str) -> BankEntry:
    """Send a suspense credit back to its payer, with a reason; journaled."""
    principal.require(Role.OPERATOR)
    reason = check_text(reason, "reason")
    with uow:
        entry = _open_suspense(uow, principal, entry_id)
        returned = _resolved(entry, principal, Reconciliation.RETURNED, note=reason)
        post(
            uow,
            [
                ledger.suspense_return_entry(
                    entry.entity,
                    entry.line,
                    reason,
                    principal.id,
                    returned.resolved_at or utc_now(),
                )
            ],
        )
        uow.bank.save(returned)
        uow.commit()
    return returned


def _open_suspense(uow: UnitOfWork, principal: Principal, entry_id: str) -> BankEntry:
    entry = uow.bank.get(entry_id, for_update=True)
    if entry is None or entry.entity != principal.scope.entity:
        raise NotFound(f"no bank entry {entry_id}")
    if entry.status is not Reconciliation.SUSPENSE:
        raise Conflict(
            f"bank entry {entry_id} is {entry.status.value}, not in suspense", field="status"
        )
    return entry


def _resolved(
    entry: BankEntry,
    principal: Principal,
    status: Reconciliation,
    *,
    cycle_id: str | None = None,
    participant_id: str | None = None,
    purpose: Purpose | None = None,
    note: str | None = None,
) -> BankEntry:
    at: datetime = utc_now()
    return replace(
        entry,
        status=status,
        cycle_id=cycle_id,
        participant_id=participant_id,
        purpose=purpose,
        note=entry.note if note is None else note,
        resolved_by=principal.id,
        resolved_at=at,
    )
