"""Settling a proposed cycle (DESIGN §5, §6): pay-ins, defaults, positions, statements and
the payment instructions each entity's bank acts on."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from clearing.domain import ledger
from clearing.domain.access import Principal, Role, Scope
from clearing.domain.bank import confirmations
from clearing.domain.cycles import (
    Cycle,
    CycleStatus,
    PayIn,
    Refund,
    carry_pay_ins,
    due_pay_in,
    require_cycle_status,
    successor_snapshot,
)
from clearing.domain.errors import ClearingError, Conflict, InvalidInput, NotFound
from clearing.domain.money import check_currency, format_amount, parse_amount
from clearing.domain.netting import Position, Settlement
from clearing.domain.parties import Participant
from clearing.domain.payments import (
    Debtor,
    Instruction,
    PaymentOrder,
    Purpose,
    Transfer,
    check_account,
    cycle_payment_reference,
    pay_in_reference,
)
from clearing.use_cases import lines
from clearing.use_cases.cycles import (
    approval_rule,
    locked_cycle,
    net_cycle,
    new_cycle_id,
    post,
    save_and_settle_when_paid,
    settle,
    superseded_chain,
    utc_now,
    visible_cycle,
)
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.validation import (
    MAX_CYCLE_NUMBER,
    check_cursor,
    check_limit,
    check_text,
)


def record_pay_in(
    uow: UnitOfWork,
    principal: Principal,
    cycle_id: str,
    participant_id: str,
    currency: str,
    amount: str,
    bank_reference: str,
    value_date: date | None = None,
) -> Cycle:
    """Record a domestic payment received from a participant of the operator's entity, on the
    bank's value date (today when not given); when the last one is in, pay-outs are released
    and the ledger posted, in this transaction."""
    principal.require(Role.OPERATOR)
    reference = check_text(bank_reference, "bank_reference")
    credited = check_value_date(value_date, utc_now().date())
    with uow:
        cycle = locked_cycle(uow, cycle_id)
        position = _own_position(uow, principal, cycle, participant_id)
        check_currency(currency)
        minor = parse_amount(amount, currency)
        changed, _ = take_pay_in(
            uow, principal, cycle, position, currency, minor, reference, credited
        )
        uow.commit()
    return changed


#: The statuses in which a cycle waits for its pay-ins.
AWAITING_PAY_INS = frozenset({CycleStatus.APPROVED, CycleStatus.SETTLING})


def check_pay_in(
    cycle: Cycle, position: Position, currency: str, minor: int, received: int
) -> None:
    """Refuse a pay-in the cycle cannot take from ``position``'s participant, who holds
    ``received`` minor units in it already: the cycle is not awaiting pay-ins, the currency is
    not the participant's, or it is more than is still due."""
    require_cycle_status(cycle, AWAITING_PAY_INS, "pay into")
    participant_id = position.participant_id
    if currency != position.currency:
        raise InvalidInput(
            f"{position.jurisdiction} settles in {position.currency}, not {currency}",
            field="currency",
        )
    still_due = due_pay_in(position) - received
    if still_due <= 0:
        raise Conflict(
            f"{participant_id} owes nothing more in cycle {cycle.id}", field="participant_id"
        )
    if minor > still_due:
        raise InvalidInput(
            f"exceeds the {format_amount(still_due, currency)} {currency} {participant_id} "
            f"still owes in cycle {cycle.id}",
            field="amount",
        )


def new_pay_in(
    principal: Principal,
    cycle: Cycle,
    position: Position,
    minor: int,
    bank_reference: str,
    value_date: date,
) -> PayIn:
    """A pay-in as it is recorded now (checked by :func:`check_pay_in`)."""
    return PayIn(
        f"pay_{secrets.token_hex(8)}",
        cycle.id,
        position.participant_id,
        position.jurisdiction,
        position.currency,
        minor,
        bank_reference,
        principal.id,
        value_date=value_date,
        recorded_at=utc_now(),
    )


def take_pay_in(
    uow: UnitOfWork,
    principal: Principal,
    cycle: Cycle,
    position: Position,
    currency: str,
    minor: int,
    bank_reference: str,
    value_date: date,
    *,
    from_suspense: bool = False,
) -> tuple[Cycle, PayIn]:
    """Record ``minor`` units received from ``position``'s participant for the (locked)
    cycle, in the caller's transaction (every check first: a refusal writes nothing); when the
    last pay-in is in, the cycle settles."""
    received = uow.cycles.received(cycle.id).get(position.participant_id, 0)
    check_pay_in(cycle, position, currency, minor, received)
    if uow.cycles.bank_reference_used(cycle.id, position.jurisdiction, bank_reference):
        raise Conflict(
            f"bank reference {bank_reference} was recorded already", field="bank_reference"
        )
    pay_in = new_pay_in(principal, cycle, position, minor, bank_reference, value_date)
    uow.cycles.add_pay_ins([pay_in])
    recorded_at = pay_in.recorded_at or utc_now()
    post(uow, [ledger.pay_in_entry(pay_in, recorded_at, from_suspense=from_suspense)])
    settling = replace(cycle, status=CycleStatus.SETTLING)
    return save_and_settle_when_paid(uow, settling, principal), pay_in


def check_value_date(value_date: date | None, today: date) -> date:
    """A received payment's value date: today when not given, never in the future (a day's
    grace for the banks' time zones), and not before 2000."""
    if value_date is None:
        return today
    if not date(2000, 1, 1) <= value_date <= today + timedelta(days=1):
        raise InvalidInput(
            "must be the day the bank credited the money: not in the future", field="value_date"
        )
    return value_date


def cycle_pay_ins(uow: UnitOfWork, principal: Principal, cycle_id: str) -> list[PayIn]:
    """The pay-ins recorded for a cycle, in the order they were recorded: an operator's of its
    entity, every one for an auditor (DESIGN §10)."""
    principal.require(Role.OPERATOR, Role.AUDITOR)
    cycle = visible_cycle(uow, principal, cycle_id)
    with uow:
        recorded = uow.cycles.pay_ins(cycle.id)
    return [p for p in recorded if principal.sees_participant(p.participant_id, p.entity)]


def declare_default(
    uow: UnitOfWork, principal: Principal, cycle_id: str, participant_id: str, reason: str
) -> Cycle:
    """A debtor failed to pay in: supersede the cycle by one re-netted without every obligation
    the defaulter is party to, with the same rates and policy, to be approved again."""
    principal.require(Role.OPERATOR)
    reason = check_text(reason, "reason")
    with uow:
        cycle = locked_cycle(uow, cycle_id)
        require_cycle_status(
            cycle,
            {CycleStatus.PROPOSED, CycleStatus.APPROVED, CycleStatus.SETTLING},
            "declare a default in",
        )
        position = _own_position(uow, principal, cycle, participant_id)
        if due_pay_in(position) == 0:
            raise Conflict(
                f"{participant_id} owes no pay-in in cycle {cycle.id}", field="participant_id"
            )
        if uow.cycles.received(cycle.id).get(participant_id, 0) >= due_pay_in(position):
            raise Conflict(
                f"{participant_id} has paid in full in cycle {cycle.id}; it cannot default",
                field="participant_id",
            )
        assert cycle.rates is not None
        snapshot = uow.cycles.snapshot(cycle.id)
        kept = successor_snapshot(snapshot, participant_id)
        kept_ids = {o.obligation_id for o in kept}
        dropped = [o.obligation_id for o in snapshot if o.obligation_id not in kept_ids]
        # The successor nets with the line terms frozen at the cut-off: no balance has moved.
        terms = uow.lines.cycle_terms(cycle.id)
        result, figures = net_cycle(kept, cycle.rates, cycle.policy, terms)
        successor = Cycle(
            id=new_cycle_id(),
            number=uow.cycles.next_number(),
            status=CycleStatus.PROPOSED,
            policy=cycle.policy,
            opened_by=principal.id,
            opened_at=utc_now(),
            rates=cycle.rates,
            digest=result.digest,
            summary=figures,
            predecessor_id=cycle.id,
            closed_at=utc_now(),
            closed_by=principal.id,
            approvals_needed=approval_rule(uow),
            defaulted=(*cycle.defaulted, participant_id),
            note=f"re-netted after {participant_id} defaulted: {reason}",
        )
        superseded = replace(
            cycle,
            status=CycleStatus.SUPERSEDED,
            superseded_by=successor.id,
            note=f"{participant_id} defaulted: {reason}",
        )
        uow.cycles.save(superseded)
        uow.cycles.add(successor)
        uow.cycles.store_result(successor.id, result)
        successor = replace(
            successor, lines=lines.store_cycle_lines(uow, successor.id, terms, result)
        )
        # The cut-off carried what the default drops (DESIGN §6a); its successor carries the
        # rest, once, when it settles.
        uow.cycles.return_invoices(
            cycle.id,
            principal.id,
            f"{participant_id} defaulted in cycle {cycle.id}",
            dropped,
            carried=True,
        )
        uow.cycles.move_invoices(cycle.id, successor.id)
        homes = {
            p.participant_id: (p.jurisdiction, p.currency) for p in uow.cycles.positions(cycle.id)
        }
        new_due = {p.participant_id: due_pay_in(p) for p in result.positions}
        carried, refunds = carry_pay_ins(
            uow.cycles.received(cycle.id),
            new_due,
            homes,
            participant_id,
            cycle.id,
            successor.id,
            principal.id,
        )
        uow.cycles.add_pay_ins(carried)
        uow.cycles.add_refunds(refunds)
        due_at = utc_now()
        post(uow, [ledger.refund_entry(r, principal.id, due_at) for r in refunds])
        if not successor.required_approvals:
            successor = settle(uow, successor, principal)
        uow.commit()
    return successor


def _own_position(
    uow: UnitOfWork, principal: Principal, cycle: Cycle, participant_id: str
) -> Position:
    """The position of a participant the operator acts for (one of its own entity's)."""
    position = uow.cycles.position(cycle.id, participant_id)
    if position is None or not principal.sees_participant(participant_id, position.jurisdiction):
        raise NotFound(
            f"no position of participant {participant_id} in cycle {cycle.id}",
            field="participant_id",
        )
    return position


@dataclass(frozen=True, slots=True)
class PositionView:
    """A participant's instruction for a cycle, with what has been received and refunded."""

    position: Position
    due: int
    received: int
    refunded: int
    #: The ISO 11649 reference the participant quotes when it pays in (None: nothing is due).
    payment_reference: str | None = None
    #: The bank's entry reference of the debit that confirmed the pay-out (None: not yet).
    pay_out_confirmed_by: str | None = None

    @property
    def outstanding(self) -> int:
        """What is still to be paid in: due, less what is held (received less refunded)."""
        return max(self.due - self.received + self.refunded, 0)


def cycle_positions(uow: UnitOfWork, principal: Principal, cycle_id: str) -> list[PositionView]:
    """Pay-in and pay-out instructions: all for auditors, the entity's for operators, its own
    for a trader."""
    cycle = visible_cycle(uow, principal, cycle_id)
    with uow:
        positions = uow.cycles.positions(cycle.id)
        pay_ins: dict[str, int] = {}
        for pay_in in uow.cycles.pay_ins(cycle.id):
            pay_ins[pay_in.participant_id] = pay_ins.get(pay_in.participant_id, 0) + pay_in.amount
        refunds: dict[str, int] = {}
        for refund in uow.cycles.refunds(cycle.id):
            refunds[refund.participant_id] = refunds.get(refund.participant_id, 0) + refund.amount
        confirmed = confirmations(uow.bank.matched([cycle.id]))
    return [
        PositionView(
            p,
            due_pay_in(p),
            pay_ins.get(p.participant_id, 0),
            refunds.get(p.participant_id, 0),
            pay_in_reference(cycle.number, cycle.id, p.participant_id) if due_pay_in(p) else None,
            confirmed.get((p.participant_id, Purpose.PAY_OUT)),
        )
        for p in positions
        if principal.sees_participant(p.participant_id, p.jurisdiction)
    ]


def participant_cycles(
    uow: UnitOfWork, principal: Principal, before: int | None, limit: int
) -> list[Cycle]:
    """The cycles a trader has a position in, and so a statement of, newest first (numbered
    below ``before`` when given)."""
    principal.require(Role.TRADER)
    own = principal.scope.participant_id
    assert own is not None, "a trader acts for a participant"
    before = check_cursor(before, "cursor", MAX_CYCLE_NUMBER)
    limit = check_limit(limit)
    found: list[Cycle] = []
    with uow:
        while len(found) < limit:
            batch = uow.cycles.recent(before, limit)
            found += [c for c in batch if uow.cycles.position(c.id, own) is not None]
            if len(batch) < limit:
                break
            before = batch[-1].number
    return found[:limit]


def cycle_settlements(
    uow: UnitOfWork, principal: Principal, cycle_id: str, after: str | None, limit: int
) -> list[Settlement]:
    """Legs per obligation, within the caller's visibility, paged by obligation id."""
    cycle = visible_cycle(uow, principal, cycle_id)
    with uow:
        return uow.cycles.settlements(
            cycle.id, principal.scope, after=after, limit=check_limit(limit)
        )


def cycle_refunds(uow: UnitOfWork, principal: Principal, cycle_id: str) -> list[Refund]:
    cycle = visible_cycle(uow, principal, cycle_id)
    with uow:
        refunds = uow.cycles.refunds(cycle.id)
    return [r for r in refunds if principal.sees_participant(r.participant_id, r.entity)]


@dataclass(frozen=True, slots=True)
class Statement:
    """What a cycle did for one participant."""

    cycle: Cycle
    participant_id: str
    view: PositionView | None
    settlements: list[Settlement]
    refunds: list[Refund]


def participant_statement(
    uow: UnitOfWork, principal: Principal, cycle_id: str, participant_id: str
) -> Statement:
    cycle = visible_cycle(uow, principal, cycle_id)
    views = [
        v
        for v in cycle_positions(uow, principal, cycle_id)
        if v.position.participant_id == participant_id
    ]
    with uow:
        participant = uow.participants.get(participant_id)
        if participant is None or not principal.sees_participant(
            participant.id, participant.entity
        ):
            raise NotFound(f"no participant {participant_id}")
        settlements = uow.cycles.settlements(cycle.id, Scope(participant_id=participant_id))
        refunds = [r for r in uow.cycles.refunds(cycle.id) if r.participant_id == participant_id]
    return Statement(cycle, participant_id, views[0] if views else None, settlements, refunds)


def payment_instructions(
    uow: UnitOfWork, principal: Principal, cycle_id: str, entity: str | None = None
) -> list[Instruction]:
    """Pay-ins expected with the reference each payer quotes, and once the cycle has settled,
    the pay-outs it releases; the refunds it owes; per entity (DESIGN §5: no pay-out before
    the money is there)."""
    principal.require(Role.OPERATOR, Role.AUDITOR)
    own = principal.scope.entity
    if own is not None:
        if entity not in (None, own):
            raise NotFound(f"no instructions of {entity} for the caller")
        entity = own
    cycle = visible_cycle(uow, principal, cycle_id)
    released = cycle.status is CycleStatus.SETTLED
    views = cycle_positions(uow, principal, cycle_id)
    refunds = cycle_refunds(uow, principal, cycle_id)
    with uow:
        names = uow.participants.get_many(
            [v.position.participant_id for v in views] + [r.participant_id for r in refunds]
        )

    def instruction(
        home: str, participant_id: str, direction: str, currency: str, amount: int, reference: str
    ) -> Instruction:
        who = names.get(participant_id)
        return Instruction(
            home,
            participant_id,
            who.name if who else "",
            who.bank_account if who else None,
            direction,
            currency,
            amount,
            reference,
        )

    instructions = [
        instruction(
            view.position.jurisdiction,
            view.position.participant_id,
            "pay_in" if view.position.net < 0 else "pay_out",
            view.position.currency,
            abs(view.position.net),
            view.payment_reference
            or cycle_payment_reference(
                cycle.number, cycle.id, view.position.participant_id, Purpose.PAY_OUT
            ),
        )
        for view in views
        if (view.position.net < 0 or (view.position.net > 0 and released))
        and entity in (None, view.position.jurisdiction)
    ]
    instructions += [
        instruction(
            r.entity,
            r.participant_id,
            "refund",
            r.currency,
            r.amount,
            cycle_payment_reference(cycle.number, cycle.id, r.participant_id, Purpose.REFUND),
        )
        for r in refunds
        if entity in (None, r.entity)
    ]
    return instructions


def payment_order(
    uow: UnitOfWork, principal: Principal, cycle_id: str, entity: str
) -> PaymentOrder:
    """The credit transfers the entity's bank makes for a settled cycle: its pay-outs, and the
    refunds due of the cycles it superseded (DESIGN §5: only money that is there). Paid from
    the entity's settlement account at its bank to each participant's registered account, on
    the cycle's settlement date. A re-netted successor that was rejected pays the refunds its
    predecessors owe, on the day asked."""
    principal.require(Role.OPERATOR, Role.AUDITOR)
    if principal.scope.entity not in (None, entity):
        raise NotFound(f"no payments of {entity} for the caller", field="entity")
    cycle = visible_cycle(uow, principal, cycle_id)
    if cycle.status is CycleStatus.SUPERSEDED:
        raise Conflict(
            f"cycle {cycle.id} was superseded by {cycle.superseded_by}: it releases no pay-outs, "
            f"and its refunds are paid with the file of {cycle.superseded_by}",
            field="status",
        )
    # A rejected successor pays out nothing, but the refunds its predecessors owe are due all
    # the same: they are paid with its file, today.
    rejected_successor = cycle.status is CycleStatus.REJECTED and cycle.predecessor_id
    if not rejected_successor and (
        cycle.status is not CycleStatus.SETTLED or cycle.settled_at is None
    ):
        raise Conflict(
            f"cycle {cycle.id} is {cycle.status.value}: only a settled cycle has pay-outs to "
            "release",
            field="status",
        )
    execution_date = cycle.settled_at.date() if cycle.settled_at else utc_now().date()
    with uow:
        payer = uow.entities.get(entity)
        if payer is None:
            raise NotFound(f"no entity {entity}", field="entity")
        owed = [
            (p.participant_id, p.currency, p.net, Purpose.PAY_OUT, cycle)
            for p in uow.cycles.positions(cycle.id)
            if p.jurisdiction == entity and p.net > 0 and not rejected_successor
        ]
        for chained_id in superseded_chain(uow, cycle):
            chained = uow.cycles.get(chained_id)
            assert chained is not None, "a superseded cycle is stored"
            owed += [
                (participant_id, currency, amount, Purpose.REFUND, chained)
                for (participant_id, currency), amount in _refunded(
                    uow.cycles.refunds(chained_id), entity
                ).items()
            ]
        payees = uow.participants.get_many(participant for participant, *_ in owed)
    debtor = Debtor(entity, payer.name, payer.account or "", payer.bank_code or "")
    if not owed:
        return PaymentOrder(cycle.id, debtor, (), execution_date)
    if not (payer.bank_code and payer.account):
        raise Conflict(
            f"entity {entity} has no bank code and settlement account to pay from: "
            f"set them with `clearing entities set {entity} --bank-code … --account …`",
            field="entity",
        )
    accounts = {p: _usable_account(payees.get(p)) for p, *_ in owed}
    unpayable = sorted(p for p, account in accounts.items() if account is None)
    if unpayable:
        raise Conflict(
            "no registered bank account and bank code for "
            + ", ".join(unpayable)
            + ": set them with PATCH /v1/participants/{id} before writing the file",
            field="bank_account",
        )
    transfers = tuple(
        Transfer(
            participant_id,
            payees[participant_id].name,
            accounts[participant_id] or "",
            payees[participant_id].bank_code or "",
            currency,
            amount,
            cycle_payment_reference(paid.number, paid.id, participant_id, purpose),
            purpose.value,
        )
        for participant_id, currency, amount, purpose, paid in owed
    )
    return PaymentOrder(cycle.id, debtor, transfers, execution_date)


def _refunded(refunds: Iterable[Refund], entity: str) -> dict[tuple[str, str], int]:
    """What a cycle refunds to each of ``entity``'s participants, ``(participant, currency)``
    to minor units: one transfer each."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for refund in refunds:
        if refund.entity == entity:
            totals[(refund.participant_id, refund.currency)] += refund.amount
    return dict(totals)


def _usable_account(participant: Participant | None) -> str | None:
    """The participant's account as a payment file carries it (no blanks, at most 34
    characters), or ``None`` when it has no account and bank a transfer can name."""
    if participant is None or not participant.bank_code:
        return None
    try:
        return check_account(participant.bank_account)
    except ClearingError:
        return None
