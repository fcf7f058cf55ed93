"""The suspense list (DESIGN §5): bank credits that matched no due pay-in, each journaled as
it arrived, until an operator assigns it to a participant's due pay-in, matches it to a pay-in
recorded by hand under another reference, or returns it to its payer; each step journaled."""

from __future__ import annotations

from dataclasses import replace

from clearing.domain import ledger
from clearing.domain.access import Principal, Role
from clearing.domain.bank import BankEntry, Reconciliation
from clearing.domain.errors import Conflict, InvalidInput, NotFound
from clearing.domain.payments import Purpose
from clearing.use_cases.cycles import locked_cycle, post, utc_now
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.settlement import take_pay_in
from clearing.use_cases.validation import check_text


def assign_suspense(
    uow: UnitOfWork, principal: Principal, entry_id: str, cycle_id: str, participant_id: str
) -> BankEntry:
    """Record a suspense credit as a participant's pay-in for a cycle awaiting it (the whole
    amount, no more than is still due); journaled as money moving from suspense."""
    principal.require(Role.OPERATOR)
    with uow:
        cycle = locked_cycle(uow, cycle_id)
        entry = _open_suspense(uow, principal, entry_id)
        position = uow.cycles.position(cycle.id, participant_id)
        if position is None or position.jurisdiction != entry.entity:
            raise NotFound(
                f"no position of participant {participant_id} in cycle {cycle.id}",
                field="participant_id",
            )
        line = entry.line
        _, pay_in = take_pay_in(
            uow,
            principal,
            cycle,
            position,
            line.currency,
            line.amount,
            line.key,
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
            pay_in_id=pay_in.id,
        )
        uow.bank.save(assigned)
        uow.commit()
    return assigned


def match_suspense(
    uow: UnitOfWork, principal: Principal, entry_id: str, pay_in_id: str
) -> BankEntry:
    """Settle a suspense credit as the bank's record of a pay-in an operator recorded by hand
    (under another reference): the same money, so it leaves suspense and is counted once
    (journaled). The amounts must agree, and a pay-in has one bank record."""
    principal.require(Role.OPERATOR)
    with uow:
        pay_in = next(
            (
                p
                for p in uow.cycles.pay_ins_by_id([pay_in_id])
                if principal.sees_participant(p.participant_id, p.entity) and p.carried_from is None
            ),
            None,
        )
        if pay_in is None:
            raise NotFound(f"no pay-in {pay_in_id} recorded by hand", field="pay_in_id")
        # The pay-in's cycle first, as every pay-in does: two matches of one pay-in queue here.
        locked_cycle(uow, pay_in.cycle_id)
        entry = _open_suspense(uow, principal, entry_id)
        line = entry.line
        if (pay_in.amount, pay_in.currency) != (line.amount, line.currency):
            raise InvalidInput(
                f"pay-in {pay_in.id} is {pay_in.amount} minor units of {pay_in.currency}; the "
                f"bank credited {line.amount} {line.currency}",
                field="pay_in_id",
            )
        recorded = [e for e in uow.bank.matched([pay_in.cycle_id]) if e.pay_in_id == pay_in.id]
        if recorded:
            raise Conflict(
                f"pay-in {pay_in.id} is the bank's {recorded[0].line.key} already",
                field="pay_in_id",
            )
        matched = _resolved(
            entry,
            principal,
            Reconciliation.ASSIGNED,
            cycle_id=pay_in.cycle_id,
            participant_id=pay_in.participant_id,
            purpose=Purpose.PAY_IN,
            pay_in_id=pay_in.id,
            note=f"the bank's record of pay-in {pay_in.id}, recorded by hand",
        )
        post(
            uow,
            [
                ledger.suspense_release_entry(
                    entry.entity,
                    line,
                    matched.note,
                    principal.id,
                    matched.resolved_at or utc_now(),
                    kind="suspense_matched",
                )
            ],
        )
        uow.bank.save(matched)
        uow.commit()
    return matched


def return_suspense(uow: UnitOfWork, principal: Principal, entry_id: str, reason: str) -> BankEntry:
    """Send a suspense credit back to its payer, with a reason; journaled. The return transfer
    quotes :func:`~clearing.domain.payments.return_reference`."""
    principal.require(Role.OPERATOR)
    reason = check_text(reason, "reason")
    with uow:
        entry = _open_suspense(uow, principal, entry_id)
        returned = _resolved(entry, principal, Reconciliation.RETURNED, note=reason)
        post(
            uow,
            [
                ledger.suspense_release_entry(
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
    if entry is None or not principal.sees_entity_books(entry.entity):
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
    pay_in_id: str | None = None,
    note: str | None = None,
) -> BankEntry:
    return replace(
        entry,
        status=status,
        cycle_id=cycle_id,
        participant_id=participant_id,
        purpose=purpose,
        pay_in_id=pay_in_id,
        note=entry.note if note is None else note,
        resolved_by=principal.id,
        resolved_at=utc_now(),
    )
