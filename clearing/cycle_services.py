"""Use cases of netting cycles, the ledger and the audit (DESIGN §5, §6).

Every transition is one transaction that first locks the cycle row, so two operators acting at
once get one success and one conflict, and a crash between transitions loses nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from clearing import ledger
from clearing.access import Principal, Role
from clearing.compliance import screen
from clearing.cycles import (
    Approval,
    Cycle,
    CycleStatus,
    CycleSummary,
    PayIn,
    Refund,
    carry_pay_ins,
    check_rates_cover,
    check_rates_for_entities,
    due_pay_in,
    require_cycle_status,
    successor_snapshot,
)
from clearing.errors import Conflict, InvalidInput, NotFound
from clearing.money import check_currency, format_amount, parse_amount
from clearing.netting import NettingResult, Position, Settlement, net
from clearing.obligations import Obligation, Policy
from clearing.payments import Instruction
from clearing.ports import UnitOfWork
from clearing.rates import RateSet
from clearing.services import check_limit, check_text


def _now() -> datetime:
    return datetime.now(UTC)


def _new_cycle_id() -> str:
    return f"cyc_{secrets.token_hex(8)}"


# --- opening, rates, cut-off ------------------------------------------------------------------


def open_cycle(uow: UnitOfWork, principal: Principal, policy: str = "fifo") -> Cycle:
    """Open a cycle; at most one cycle is between ``open`` and ``settled`` at a time."""
    principal.require(Role.OPERATOR)
    try:
        chosen = Policy(policy)
    except ValueError:
        raise InvalidInput(
            f"{policy!r} is not a policy; use fifo or pro_rata", field="policy"
        ) from None
    with uow:
        active = uow.cycles.active()
        if active is not None:
            raise Conflict(f"cycle {active.id} is {active.status.value}; settle or reject it first")
        cycle = Cycle(
            id=_new_cycle_id(),
            number=uow.cycles.next_number(),
            status=CycleStatus.OPEN,
            policy=chosen,
            opened_by=principal.id,
            opened_at=_now(),
        )
        uow.cycles.add(cycle)
        uow.commit()
    return cycle


def set_rates(
    uow: UnitOfWork, principal: Principal, cycle_id: str, document: dict[str, Any]
) -> Cycle:
    """Fix the cycle's rate set (source and ``as_of`` recorded); replaceable until cut-off."""
    principal.require(Role.OPERATOR)
    rates = RateSet.from_json(document)
    with uow:
        cycle = _locked(uow, cycle_id)
        require_cycle_status(cycle, {CycleStatus.OPEN}, "set the rates of")
        check_rates_for_entities(rates, {e.code: e.currency for e in uow.entities.list()})
        changed = replace(cycle, rates=rates)
        uow.cycles.save(changed)
        uow.commit()
    return changed


def close_cycle(uow: UnitOfWork, principal: Principal, cycle_id: str) -> Cycle:
    """Cut-off: re-screen, snapshot the eligible obligations, net with the frozen rates, and
    propose the result with its digest."""
    principal.require(Role.OPERATOR)
    with uow:
        cycle = _locked(uow, cycle_id)
        require_cycle_status(cycle, {CycleStatus.OPEN}, "close")
        if cycle.rates is None:
            raise Conflict(f"cycle {cycle.id} has no rates yet: PUT its rates first", field="rates")
        invoices = uow.cycles.eligible_invoices()
        rules = uow.rules.list()
        kept: list[Obligation] = []
        rejected = []
        for invoice in invoices:
            verdict = screen(invoice.hs_code, (invoice.exporter_id, invoice.importer_id), rules)
            if verdict.rejected_by is not None:
                rejected.append((invoice, verdict.rejected_by.name, verdict.reason))
            else:
                kept.append(replace(invoice.to_obligation(), priority=verdict.priority))
        entity_currencies = {e.code: e.currency for e in uow.entities.list()}
        check_rates_cover(cycle.rates, entity_currencies, {o.currency for o in kept})
        uow.cycles.reject_invoices(rejected, principal.id)
        result = net(kept, cycle.rates, cycle.policy)
        uow.cycles.store_result(cycle.id, result)
        uow.cycles.take_invoices(cycle.id, principal.id)
        proposed = replace(
            cycle,
            status=CycleStatus.PROPOSED,
            digest=result.digest,
            summary=CycleSummary.of(result),
            closed_at=_now(),
        )
        uow.cycles.save(proposed)
        if not proposed.required_approvals:
            proposed = _settle(uow, proposed, principal)
        uow.commit()
    return proposed


# --- approval and rejection -------------------------------------------------------------------


def approve_cycle(uow: UnitOfWork, principal: Principal, cycle_id: str, digest: str) -> Cycle:
    """An operator approves for its own entity by naming the digest it reviewed."""
    principal.require(Role.OPERATOR)
    entity = principal.entity or ""
    with uow:
        cycle = _locked(uow, cycle_id)
        require_cycle_status(cycle, {CycleStatus.PROPOSED}, "approve")
        if digest != cycle.digest:
            raise Conflict(
                f"stale digest: cycle {cycle.id} proposes {cycle.digest}", field="digest"
            )
        if entity not in cycle.required_approvals:
            raise Conflict(
                f"{entity} has no legs in cycle {cycle.id}; nothing to approve", field="entity"
            )
        if entity not in cycle.missing_approvals:
            raise Conflict(f"{entity} approved cycle {cycle.id} already", field="entity")
        approval = Approval(entity, digest, principal.id, _now())
        uow.cycles.add_approval(cycle.id, approval)
        changed = replace(cycle, approvals=(*cycle.approvals, approval))
        if not changed.missing_approvals:
            changed = replace(changed, status=CycleStatus.APPROVED)
            uow.cycles.save(changed)
            if not _still_due(uow, changed):
                changed = _settle(uow, changed, principal)
        uow.commit()
    return changed


def reject_cycle(uow: UnitOfWork, principal: Principal, cycle_id: str, reason: str) -> Cycle:
    """Reject a proposal before any pay-in; its obligations return to the pool."""
    principal.require(Role.OPERATOR)
    reason = check_text(reason, "reason")
    with uow:
        cycle = _locked(uow, cycle_id)
        require_cycle_status(cycle, {CycleStatus.PROPOSED, CycleStatus.APPROVED}, "reject")
        if uow.cycles.pay_ins(cycle.id):
            raise Conflict(f"cycle {cycle.id} has pay-ins already; declare a default instead")
        uow.cycles.return_invoices(cycle.id, principal.id, f"cycle {cycle.id} rejected: {reason}")
        changed = replace(cycle, status=CycleStatus.REJECTED, note=reason)
        uow.cycles.save(changed)
        uow.commit()
    return changed


# --- pay-ins, settlement, defaults ------------------------------------------------------------


def record_pay_in(
    uow: UnitOfWork,
    principal: Principal,
    cycle_id: str,
    participant_id: str,
    currency: str,
    amount: str,
    bank_reference: str,
) -> Cycle:
    """Record a domestic payment received from a participant of the operator's entity; when
    the last one is in, pay-outs are released and the ledger posted, in this transaction."""
    principal.require(Role.OPERATOR)
    check_currency(currency)
    reference = check_text(bank_reference, "bank_reference")
    with uow:
        cycle = _locked(uow, cycle_id)
        require_cycle_status(cycle, {CycleStatus.APPROVED, CycleStatus.SETTLING}, "pay into")
        position = _position(uow, cycle, participant_id)
        if position is None or position.jurisdiction != principal.entity:
            raise NotFound(
                f"no position of participant {participant_id} in cycle {cycle.id}",
                field="participant_id",
            )
        if currency != position.currency:
            raise InvalidInput(
                f"{position.jurisdiction} settles in {position.currency}", field="currency"
            )
        minor = parse_amount(amount, currency)
        received = uow.cycles.received(cycle.id).get(participant_id, 0)
        still_due = due_pay_in(position) - received
        if still_due <= 0:
            raise Conflict(
                f"{participant_id} owes nothing more in cycle {cycle.id}", field="participant_id"
            )
        if minor > still_due:
            raise InvalidInput(
                f"exceeds the {format_amount(still_due, currency)} {currency} still due",
                field="amount",
            )
        if uow.cycles.bank_reference_used(cycle.id, position.jurisdiction, reference):
            raise Conflict(
                f"bank reference {reference} was recorded already", field="bank_reference"
            )
        uow.cycles.add_pay_ins(
            [
                PayIn(
                    f"pay_{secrets.token_hex(8)}",
                    cycle.id,
                    participant_id,
                    position.jurisdiction,
                    currency,
                    minor,
                    reference,
                    principal.id,
                )
            ]
        )
        changed = replace(cycle, status=CycleStatus.SETTLING)
        uow.cycles.save(changed)
        if not _still_due(uow, changed):
            changed = _settle(uow, changed, principal)
        uow.commit()
    return changed


def declare_default(
    uow: UnitOfWork, principal: Principal, cycle_id: str, participant_id: str, reason: str
) -> Cycle:
    """A debtor failed to pay in: supersede the cycle by one re-netted without every obligation
    the defaulter is party to, with the same rates and policy, to be approved again."""
    principal.require(Role.OPERATOR)
    reason = check_text(reason, "reason")
    with uow:
        cycle = _locked(uow, cycle_id)
        require_cycle_status(
            cycle,
            {CycleStatus.PROPOSED, CycleStatus.APPROVED, CycleStatus.SETTLING},
            "declare a default in",
        )
        position = _position(uow, cycle, participant_id)
        if position is None or position.jurisdiction != principal.entity:
            raise NotFound(
                f"no position of participant {participant_id} in cycle {cycle.id}",
                field="participant_id",
            )
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
        result = net(kept, cycle.rates, cycle.policy)
        successor = Cycle(
            id=_new_cycle_id(),
            number=uow.cycles.next_number(),
            status=CycleStatus.PROPOSED,
            policy=cycle.policy,
            opened_by=principal.id,
            opened_at=_now(),
            rates=cycle.rates,
            digest=result.digest,
            summary=CycleSummary.of(result),
            predecessor_id=cycle.id,
            closed_at=_now(),
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
        uow.cycles.return_invoices(
            cycle.id, principal.id, f"{participant_id} defaulted in cycle {cycle.id}", dropped
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
        if not successor.required_approvals:
            successor = _settle(uow, successor, principal)
        uow.commit()
    return successor


def _still_due(uow: UnitOfWork, cycle: Cycle) -> bool:
    return uow.cycles.pay_ins_missing(cycle.id)


def _settle(uow: UnitOfWork, cycle: Cycle, principal: Principal) -> Cycle:
    """All pay-ins are in: re-net the snapshot to prove the digest, post the ledger, apply the
    result to the invoices and mark the cycle settled (in the caller's transaction)."""
    assert cycle.rates is not None
    result = net(uow.cycles.snapshot(cycle.id), cycle.rates, cycle.policy)
    if result.digest != cycle.digest:
        raise Conflict(f"cycle {cycle.id} no longer nets to its approved digest; not settling")
    entries = ledger.cycle_entries(result, cycle.id)
    if entries:
        after_seq, prev_hash = uow.ledger.head(for_update=True)
        uow.ledger.append(ledger.chain(entries, after_seq=after_seq, prev_hash=prev_hash))
    uow.cycles.settle_invoices(cycle.id, principal.id)
    settled = replace(cycle, status=CycleStatus.SETTLED, settled_at=_now())
    uow.cycles.save(settled)
    return settled


# --- reading ----------------------------------------------------------------------------------


def _locked(uow: UnitOfWork, cycle_id: str) -> Cycle:
    cycle = uow.cycles.get(cycle_id, for_update=True)
    if cycle is None:
        raise NotFound(f"no cycle {cycle_id}")
    return cycle


def _position(uow: UnitOfWork, cycle: Cycle, participant_id: str) -> Position | None:
    return uow.cycles.position(cycle.id, participant_id)


def get_cycle(uow: UnitOfWork, principal: Principal, cycle_id: str) -> Cycle:
    principal.require(Role.OPERATOR, Role.AUDITOR, Role.TRADER)
    with uow:
        cycle = uow.cycles.get(cycle_id)
        if cycle is None or (
            principal.role is Role.TRADER
            and _position(uow, cycle, principal.participant_id or "") is None
        ):
            raise NotFound(f"no cycle {cycle_id}")
    return cycle


def list_cycles(
    uow: UnitOfWork, principal: Principal, before: int | None, limit: int
) -> list[Cycle]:
    principal.require(Role.OPERATOR, Role.AUDITOR)
    with uow:
        return uow.cycles.recent(before, check_limit(limit))


@dataclass(frozen=True, slots=True)
class PositionView:
    """A participant's instruction for a cycle, with what has been received and refunded."""

    position: Position
    due: int
    received: int
    refunded: int


def cycle_positions(uow: UnitOfWork, principal: Principal, cycle_id: str) -> list[PositionView]:
    """Pay-in and pay-out instructions: all for auditors, the entity's for operators, its own
    for a trader."""
    cycle = get_cycle(uow, principal, cycle_id)
    with uow:
        positions = uow.cycles.positions(cycle.id)
        pay_ins: dict[str, int] = {}
        for pay_in in uow.cycles.pay_ins(cycle.id):
            pay_ins[pay_in.participant_id] = pay_ins.get(pay_in.participant_id, 0) + pay_in.amount
        refunds: dict[str, int] = {}
        for refund in uow.cycles.refunds(cycle.id):
            refunds[refund.participant_id] = refunds.get(refund.participant_id, 0) + refund.amount
    return [
        PositionView(
            p, due_pay_in(p), pay_ins.get(p.participant_id, 0), refunds.get(p.participant_id, 0)
        )
        for p in positions
        if _sees_position(principal, p)
    ]


def _sees_position(principal: Principal, position: Position) -> bool:
    if principal.role is Role.AUDITOR:
        return True
    if principal.role is Role.OPERATOR:
        return position.jurisdiction == principal.entity
    return position.participant_id == principal.participant_id


def cycle_settlements(
    uow: UnitOfWork, principal: Principal, cycle_id: str, after: str | None, limit: int
) -> list[Settlement]:
    """Legs per obligation, within the caller's visibility, paged by obligation id."""
    cycle = get_cycle(uow, principal, cycle_id)
    with uow:
        return uow.cycles.settlements(
            cycle.id,
            participant_id=principal.participant_id if principal.role is Role.TRADER else None,
            entity=principal.entity if principal.role is Role.OPERATOR else None,
            after=after,
            limit=check_limit(limit),
        )


def cycle_refunds(uow: UnitOfWork, principal: Principal, cycle_id: str) -> list[Refund]:
    cycle = get_cycle(uow, principal, cycle_id)
    with uow:
        refunds = uow.cycles.refunds(cycle.id)
    return [
        r
        for r in refunds
        if principal.role is Role.AUDITOR
        or (principal.role is Role.OPERATOR and r.entity == principal.entity)
        or r.participant_id == principal.participant_id
    ]


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
    cycle = get_cycle(uow, principal, cycle_id)
    views = [
        v
        for v in cycle_positions(uow, principal, cycle_id)
        if v.position.participant_id == participant_id
    ]
    with uow:
        participant = uow.participants.get(participant_id)
        if participant is None or not _sees_participant(
            principal, participant.id, participant.entity
        ):
            raise NotFound(f"no participant {participant_id}")
        settlements = uow.cycles.settlements(cycle.id, participant_id=participant_id)
        refunds = [r for r in uow.cycles.refunds(cycle.id) if r.participant_id == participant_id]
    return Statement(cycle, participant_id, views[0] if views else None, settlements, refunds)


def _sees_participant(principal: Principal, participant_id: str, entity: str) -> bool:
    if principal.role is Role.AUDITOR:
        return True
    if principal.role is Role.OPERATOR:
        return entity == principal.entity
    return participant_id == principal.participant_id


def payment_instructions(
    uow: UnitOfWork, principal: Principal, cycle_id: str, entity: str | None = None
) -> list[Instruction]:
    """Pay-ins expected, pay-outs to release and refunds to make, per entity."""
    principal.require(Role.OPERATOR, Role.AUDITOR)
    if principal.role is Role.OPERATOR:
        if entity not in (None, principal.entity):
            raise NotFound(f"no instructions of {entity} for the caller")
        entity = principal.entity
    views = cycle_positions(uow, principal, cycle_id)
    refunds = cycle_refunds(uow, principal, cycle_id)
    with uow:
        names = uow.participants.get_many(
            [v.position.participant_id for v in views] + [r.participant_id for r in refunds]
        )
    instructions: list[Instruction] = []
    for view in views:
        p = view.position
        if entity is not None and p.jurisdiction != entity:
            continue
        who = names.get(p.participant_id)
        direction = "pay_in" if p.net < 0 else "pay_out"
        if p.net == 0:
            continue
        instructions.append(
            Instruction(
                p.jurisdiction,
                p.participant_id,
                who.name if who else "",
                who.bank_account if who else None,
                direction,
                p.currency,
                abs(p.net),
                f"{cycle_id}/{p.participant_id}",
            )
        )
    for refund in refunds:
        if entity is not None and refund.entity != entity:
            continue
        who = names.get(refund.participant_id)
        instructions.append(
            Instruction(
                refund.entity,
                refund.participant_id,
                who.name if who else "",
                who.bank_account if who else None,
                "refund",
                refund.currency,
                refund.amount,
                f"{cycle_id}/{refund.participant_id}/refund",
            )
        )
    return instructions


# --- ledger and audit -------------------------------------------------------------------------


def ledger_entries(
    uow: UnitOfWork, principal: Principal, after: int, limit: int
) -> list[ledger.ChainedEntry]:
    """The journal paged by sequence: all entities for auditors, its own for an operator."""
    principal.require(Role.AUDITOR, Role.OPERATOR)
    if after < 0:
        raise InvalidInput("must not be negative", field="after")
    if not 1 <= limit <= 10_000:
        raise InvalidInput("must be between 1 and 10000", field="limit")
    entity = principal.entity if principal.role is Role.OPERATOR else None
    with uow:
        return uow.ledger.entries(after, limit, entity)


def ledger_balances(uow: UnitOfWork, principal: Principal) -> dict[tuple[str, str, str], int]:
    principal.require(Role.AUDITOR, Role.OPERATOR)
    entity = principal.entity if principal.role is Role.OPERATOR else None
    with uow:
        return uow.ledger.balances(entity)


def verify(uow: UnitOfWork, principal: Principal | None = None) -> ledger.VerificationReport:
    """The chain, balances equal to a replay, and every cycle re-netted to its stored digest."""
    if principal is not None:
        principal.require(Role.AUDITOR)
    with uow:
        documents = [entry.document() for entry in uow.ledger.iterate()]
        _seq, head = uow.ledger.head()
        stored = uow.ledger.balances()
        cycles = _all_cycles(uow)
        snapshots = {
            c.id: uow.cycles.snapshot(c.id) for c in cycles if c.status is CycleStatus.SETTLED
        }
    report = ledger.verify_journal(documents, expected_head=head, stored_balances=stored)
    problems = list(report.problems)
    for cycle in cycles:
        if cycle.status is not CycleStatus.SETTLED or cycle.rates is None:
            continue
        replayed = net(snapshots[cycle.id], cycle.rates, cycle.policy)
        if replayed.digest != cycle.digest:
            problems.append(
                ledger.Problem(
                    f"re-netting the snapshot gives {replayed.digest}, stored {cycle.digest}",
                    cycle_id=cycle.id,
                )
            )
    recorded = {
        str(d["cycle"]["cycle_id"]): d["cycle"].get("digest") for d in documents if d.get("cycle")
    }
    for cycle in cycles:
        if cycle.id in recorded and recorded[cycle.id] != cycle.digest:
            problems.append(
                ledger.Problem(
                    f"the journal records digest {recorded[cycle.id]}, the cycle {cycle.digest}",
                    cycle_id=cycle.id,
                )
            )
    return replace(
        report,
        problems=tuple(problems),
        cycles=sum(1 for c in cycles if c.status is CycleStatus.SETTLED),
    )


def _all_cycles(uow: UnitOfWork) -> list[Cycle]:
    cycles: list[Cycle] = []
    before: int | None = None
    while True:
        page = uow.cycles.recent(before, 500)
        cycles.extend(page)
        if len(page) < 500:
            return cycles
        before = page[-1].number


def result_of(uow: UnitOfWork, cycle: Cycle) -> NettingResult:
    """Re-run a cycle's netting from its stored snapshot."""
    assert cycle.rates is not None
    with uow:
        snapshot = uow.cycles.snapshot(cycle.id)
    return net(snapshot, cycle.rates, cycle.policy)
