"""Bank reconciliation (DESIGN §5): an operator imports its bank's statement; each credit whose
reference names a due pay-in is recorded as that pay-in, each credit that matches nothing waits
in suspense (journaled; :mod:`clearing.use_cases.suspense` works it), and each debit that is a
released pay-out, refund or return confirms it. A booking imported before (the bank's entry
reference is the key) is counted as a duplicate and records nothing."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
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
    returned_entry_of,
)
from clearing.use_cases.cycles import locked_cycle, post, save_and_settle_when_paid, utc_now
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.settlement import check_pay_in, new_pay_in
from clearing.use_cases.validation import check_limit, has_unsafe_characters

#: Longest texts a line may carry (the bank_entries columns).
_LIMITS = {
    "entry_reference": 35,
    "end_to_end_id": 35,
    "counterparty_name": 140,
    "counterparty_account": 34,
    "remittance": 800,
}


@dataclass(frozen=True, slots=True)
class ImportedLine:
    """What became of one line of an imported statement: its stored entry, or, for a line
    imported before, its reference alone."""

    reference: str
    entry: BankEntry | None


@dataclass(frozen=True, slots=True)
class ImportReport:
    """An import's answer (DESIGN §10): ``entries`` booked lines read, of which ``matched``
    reconciled with a cycle payment or return, ``unmatched`` did not (credits to suspense,
    debits and breaks unexplained) and ``duplicates`` were imported before; ``pending`` entries
    not yet booked."""

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
        return sum(1 for line in self.lines if line.entry is None)

    def to_json(self) -> dict[str, Any]:
        """The answer of ``POST /v1/bank-statements``, which ``clearing bank import`` prints."""
        return {
            "entries": len(self.lines),
            "matched": self.matched,
            "unmatched": self.unmatched,
            "duplicates": self.duplicates,
            "pending": self.pending,
            "lines": [_line_json(line) for line in self.lines],
        }


def _line_json(line: ImportedLine) -> dict[str, Any]:
    entry = line.entry
    if entry is None:
        return {
            "entry_reference": line.reference,
            "status": "duplicate",
            "id": None,
            "cycle_id": None,
            "participant_id": None,
            "note": "imported before",
        }
    return {
        "entry_reference": line.reference,
        "status": entry.status.value,
        "id": entry.id,
        "cycle_id": entry.cycle_id,
        "participant_id": entry.participant_id,
        "note": entry.note,
    }


def import_statement(
    uow: UnitOfWork, principal: Principal, statement: BankStatement
) -> ImportReport:
    """Import the operator's entity's bank statement in one transaction (a bad line refuses
    the whole statement, naming it, and records nothing). Lines are matched in order against
    what each payer still owes; the pay-ins, the journal entries (in line order) and the lines
    are then written in bulk, and each cycle whose last pay-in came settles."""
    principal.require(Role.OPERATOR)
    entity = principal.scope.entity
    assert entity is not None, "an operator acts for an entity"
    for line in statement.lines:
        check_line(line)
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
        # A booking is one: whole on one statement, split into its transactions on another.
        earlier = uow.bank.known(entity, {line.entry_reference for line in statement.lines})
        matcher = _Matcher(uow, entity)
        matcher.lock(statement.lines)
        batch = _Batch(uow, principal, entity, statement.lines)
        seen: set[str] = set()
        imported: list[ImportedLine] = []
        for line in statement.lines:
            if line.entry_reference in earlier or line.key in seen:
                imported.append(ImportedLine(line.key, None))
                continue
            seen.add(line.key)
            imported.append(ImportedLine(line.key, _reconcile(uow, line, matcher, batch)))
        batch.write([line.entry for line in imported if line.entry is not None])
        uow.commit()
    return ImportReport(tuple(imported), statement.pending)


class _Batch:
    """What an import records, kept until the statement has been read through: what each
    payer still owes as the lines come, the pay-ins, and the journal entries in line order."""

    def __init__(
        self,
        uow: UnitOfWork,
        principal: Principal,
        entity: str,
        lines: Iterable[StatementLine],
    ) -> None:
        self.uow = uow
        self.principal = principal
        self.entity = entity
        self.at = utc_now()
        self._held: dict[str, dict[str, int]] = {}
        self._cycles: dict[str, Cycle] = {}
        self.pay_ins: list[PayIn] = []
        self.journal: list[ledger.JournalEntry] = []
        keys = [line.key for line in lines if line.direction is Direction.CREDIT]
        self.recorded_by_hand: dict[str, PayIn] = {}
        for pay_in in uow.cycles.pay_ins_by_reference(entity, keys):
            self.recorded_by_hand.setdefault(pay_in.bank_reference, pay_in)
        #: Transfers the bank confirmed, ``(cycle, participant, purpose)`` -> its line.
        self.confirmed: dict[tuple[str, str | None, Purpose | None], str] = {}
        self._confirmations_of: set[str] = set()

    def check(self, cycle: Cycle, position: Position, line: StatementLine) -> None:
        held = self._held_in(cycle.id).get(position.participant_id, 0)
        check_pay_in(cycle, position, line.currency, line.amount, held)

    def take(self, cycle: Cycle, position: Position, line: StatementLine) -> PayIn:
        pay_in = new_pay_in(self.principal, cycle, position, line.amount, line.key, line.value_date)
        held = self._held_in(cycle.id)
        held[position.participant_id] = held.get(position.participant_id, 0) + line.amount
        self._cycles[cycle.id] = cycle
        self.pay_ins.append(pay_in)
        self.journal.append(ledger.pay_in_entry(pay_in, pay_in.recorded_at or self.at))
        return pay_in

    def suspend(self, line: StatementLine, reason: str) -> None:
        self.journal.append(
            ledger.suspense_entry(self.entity, line, reason, self.principal.id, self.at)
        )

    def confirmed_by(self, cycle_id: str, participant_id: str, purpose: Purpose) -> str | None:
        """The line that confirmed this transfer before, if one did."""
        if cycle_id not in self._confirmations_of:
            self._confirmations_of.add(cycle_id)
            for e in self.uow.bank.matched([cycle_id]):
                if e.status is Reconciliation.CONFIRMED:
                    self.confirmed[(cycle_id, e.participant_id, e.purpose)] = e.line.key
        return self.confirmed.get((cycle_id, participant_id, purpose))

    def _held_in(self, cycle_id: str) -> dict[str, int]:
        if cycle_id not in self._held:
            self._held[cycle_id] = dict(self.uow.cycles.received(cycle_id))
        return self._held[cycle_id]

    def write(self, entries: list[BankEntry]) -> None:
        """The pay-ins, the journal and the lines; then each cycle paid into settles when its
        last pay-in is in (a settlement that fails ends the import)."""
        self.uow.cycles.add_pay_ins(self.pay_ins)
        post(self.uow, self.journal)
        self.uow.bank.add(entries)
        for cycle_id in sorted(self._cycles):
            settling = replace(self._cycles[cycle_id], status=CycleStatus.SETTLING)
            save_and_settle_when_paid(self.uow, settling, self.principal)


def check_line(line: StatementLine) -> None:
    """Refuse a line whose texts could not be stored or shown safely, naming the field."""
    for name, longest in _LIMITS.items():
        text = getattr(line, name)
        if len(text) > longest:
            raise InvalidInput(
                f"line {line.key[:40]!r}: {name} is longer than {longest} characters",
                field=name,
            )
        if has_unsafe_characters(text):
            raise InvalidInput(
                f"line {line.key[:40]!r}: {name} contains control or bidirectional "
                "formatting characters",
                field=name,
            )


def _reconcile(uow: UnitOfWork, line: StatementLine, matcher: _Matcher, batch: _Batch) -> BankEntry:
    """The entry of a line not imported before, with what it matched (recorded in ``batch``)."""
    entry = BankEntry(
        id=f"bnk_{secrets.token_hex(8)}",
        entity=batch.entity,
        line=line,
        status=Reconciliation.SUSPENSE,
        imported_by=batch.principal.id,
        imported_at=batch.at,
    )
    if line.direction is Direction.DEBIT:
        return _confirm_debit(uow, entry, matcher, batch)
    recorded = batch.recorded_by_hand.get(line.key)
    if recorded is not None:
        return _recorded_before(entry, recorded)
    try:
        cycle, position = matcher.payment(line, Purpose.PAY_IN)
        batch.check(cycle, position, line)
    except ClearingError as unmatched:
        batch.suspend(line, str(unmatched))
        return replace(entry, note=str(unmatched))
    pay_in = batch.take(cycle, position, line)
    return replace(
        entry,
        status=Reconciliation.MATCHED,
        cycle_id=cycle.id,
        participant_id=position.participant_id,
        purpose=Purpose.PAY_IN,
        pay_in_id=pay_in.id,
    )


def _recorded_before(entry: BankEntry, pay_in: PayIn) -> BankEntry:
    """A credit an operator recorded by hand under the bank's entry reference before the
    statement came: the same money, matched to that pay-in (recorded once). Another amount
    under the same reference is a break to investigate, and moves nothing."""
    line = entry.line
    if (pay_in.amount, pay_in.currency) != (line.amount, line.currency):
        return replace(
            entry,
            status=Reconciliation.UNMATCHED,
            note=f"pay-in {pay_in.id} was recorded by hand under {line.key} for "
            f"{pay_in.amount} minor units of {pay_in.currency}; the bank credited {line.amount}",
        )
    return replace(
        entry,
        status=Reconciliation.MATCHED,
        cycle_id=pay_in.cycle_id,
        participant_id=pay_in.participant_id,
        purpose=Purpose.PAY_IN,
        pay_in_id=pay_in.id,
        note=f"recorded by hand before as pay-in {pay_in.id}",
    )


def _confirm_debit(
    uow: UnitOfWork, entry: BankEntry, matcher: _Matcher, batch: _Batch
) -> BankEntry:
    """A debit that is a pay-out of a settled cycle, a refund, or a suspense credit sent
    back, of the amount released."""
    line = entry.line
    try:
        returned = _returned_credit(uow, entry)
        if returned is not None:
            return returned
        cycle, position, purpose = matcher.transfer(line)
        expected = (
            position.net
            if purpose is Purpose.PAY_OUT
            else matcher.refunded(cycle.id).get(position.participant_id, 0)
        )
        if line.amount != expected or line.currency != position.currency:
            raise Conflict(
                f"the {purpose.value} of {position.participant_id} in cycle {cycle.id} was "
                f"{expected} minor units of {position.currency}, not {line.amount} {line.currency}"
            )
        earlier = batch.confirmed_by(cycle.id, position.participant_id, purpose)
        if earlier is not None:
            raise Conflict(
                f"the {purpose.value} of {position.participant_id} in cycle {cycle.id} was "
                f"confirmed by {earlier} already"
            )
    except ClearingError as unmatched:
        return replace(entry, status=Reconciliation.UNMATCHED, note=str(unmatched))
    batch.confirmed[(cycle.id, position.participant_id, purpose)] = line.key
    return replace(
        entry,
        status=Reconciliation.CONFIRMED,
        cycle_id=cycle.id,
        participant_id=position.participant_id,
        purpose=purpose,
    )


def _returned_credit(uow: UnitOfWork, entry: BankEntry) -> BankEntry | None:
    """The debit as the return of a suspense credit, when it quotes that return's reference
    (``None`` when it quotes none); the returned credit is marked as confirmed."""
    line = entry.line
    for text in line.references:
        reference = reference_in(text)
        credit_id = returned_entry_of(reference) if reference else None
        credit = uow.bank.get(credit_id, for_update=True) if credit_id else None
        if credit is None or credit.entity != entry.entity:
            continue
        if credit.status is not Reconciliation.RETURNED:
            raise Conflict(f"{credit.line.key} was not returned: it is {credit.status.value}")
        if credit.purpose is Purpose.RETURN:
            raise Conflict(f"the return of {credit.line.key} was confirmed already")
        if (credit.line.amount, credit.line.currency) != (line.amount, line.currency):
            raise Conflict(
                f"the return of {credit.line.key} was {credit.line.amount} minor units of "
                f"{credit.line.currency}"
            )
        uow.bank.save(replace(credit, purpose=Purpose.RETURN))
        return replace(
            entry,
            status=Reconciliation.CONFIRMED,
            purpose=Purpose.RETURN,
            note=f"return of {credit.line.key} ({credit.id})",
        )
    return None


class _Matcher:
    """Finds the cycle payment a line's reference names, working out each cycle's references
    once per import; the cycles credits name are locked first, in id order, so that imports and
    pay-ins recorded meanwhile always lock in the same order."""

    def __init__(self, uow: UnitOfWork, entity: str) -> None:
        self._uow = uow
        self._entity = entity
        self._locked: dict[str, Cycle] = {}
        self._references: dict[tuple[str, Purpose], dict[str, Position]] = {}
        self._refunds: dict[str, dict[str, int]] = {}
        self._by_number: dict[int, Cycle | None] = {}

    def lock(self, lines: Iterable[StatementLine]) -> None:
        """Lock, before anything is written, the cycles the credits name and the returned
        credits the debits name, each kind in id order: recording a pay-in locks its cycle,
        and working the suspense list its entry, before the journal's head, as this does."""
        numbers = set()
        returned = set()
        for line in lines:
            reference = _quoted(line)
            named = cycle_payment_of(reference) if reference else None
            if line.direction is Direction.CREDIT and named and named[1] is Purpose.PAY_IN:
                numbers.add(named[0])
            if line.direction is Direction.DEBIT and reference:
                returned.add(returned_entry_of(reference))
        found = [self._numbered(number) for number in numbers]
        for cycle in sorted((c for c in found if c is not None), key=lambda c: c.id):
            self._locked[cycle.id] = locked_cycle(self._uow, cycle.id)
        for entry_id in sorted(filter(None, returned)):
            self._uow.bank.get(entry_id, for_update=True)

    def refunded(self, cycle_id: str) -> dict[str, int]:
        """What the cycle refunds to each participant, in minor units."""
        if cycle_id not in self._refunds:
            totals: dict[str, int] = {}
            for refund in self._uow.cycles.refunds(cycle_id):
                totals[refund.participant_id] = totals.get(refund.participant_id, 0) + refund.amount
            self._refunds[cycle_id] = totals
        return self._refunds[cycle_id]

    def payment(self, line: StatementLine, purpose: Purpose) -> tuple[Cycle, Position]:
        reference = _quoted(line)
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
        raise NotFound("names no pay-out, refund or return")

    def _numbered(self, number: int) -> Cycle | None:
        if number not in self._by_number:
            found = self._uow.cycles.recent(number + 1, 1)
            self._by_number[number] = found[0] if found and found[0].number == number else None
        return self._by_number[number]

    def _named(self, reference: str, purpose: Purpose) -> tuple[Cycle, Position]:
        named = cycle_payment_of(reference)
        if named is None or named[1] is not purpose:
            raise NotFound(f"{reference} is not the {purpose.value} reference of a cycle")
        number, _purpose = named
        cycle = self._numbered(number)
        if cycle is None:
            raise NotFound(f"{reference} names cycle number {number}, which does not exist")
        cycle = self._locked.get(cycle.id, cycle)
        position = self._positions(cycle, purpose).get(reference)
        if position is None:
            raise NotFound(f"{reference} is no {purpose.value} of {self._entity} in {cycle.id}")
        if purpose is Purpose.PAY_OUT and cycle.status is not CycleStatus.SETTLED:
            raise Conflict(f"cycle {cycle.id} is {cycle.status.value}: it released no pay-outs")
        return cycle, position

    def _positions(self, cycle: Cycle, purpose: Purpose) -> dict[str, Position]:
        key = (cycle.id, purpose)
        if key not in self._references:
            refunded = self.refunded(cycle.id)
            payers = [
                p
                for p in self._uow.cycles.positions(cycle.id)
                if p.jurisdiction == self._entity and _pays(p, purpose, refunded)
            ]
            self._references[key] = {
                cycle_payment_reference(cycle.number, cycle.id, p.participant_id, purpose): p
                for p in payers
            }
        return self._references[key]


def _quoted(line: StatementLine) -> str | None:
    """The first RF reference a line quotes."""
    return next(filter(None, map(reference_in, line.references)), None)


def _pays(position: Position, purpose: Purpose, refunded: Collection[str]) -> bool:
    """Whether a cycle has a payment of ``purpose`` with this participant."""
    if purpose is Purpose.PAY_IN:
        return due_pay_in(position) > 0
    if purpose is Purpose.PAY_OUT:
        return position.net > 0
    return position.participant_id in refunded


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
