"""Netting cycles (DESIGN §6): open, rates, cut-off, approval, rejection, settlement.

Every transition is one transaction that first locks the cycle row, so two operators acting at
once get one success and one conflict, and a crash between transitions loses nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from clearing.domain import ledger
from clearing.domain.access import Principal, Role
from clearing.domain.compliance import screener
from clearing.domain.cycles import (
    Approval,
    Cycle,
    CycleStatus,
    check_approver,
    check_rates_cover,
    check_rates_for_entities,
    require_cycle_status,
)
from clearing.domain.errors import Conflict, InvalidInput, LedgerError, NotFound
from clearing.domain.invoices import Invoice, snapshot_of
from clearing.domain.netting import Figures, NettingResult, ObligationColumns, net
from clearing.domain.netting.lines import LineTerms
from clearing.domain.netting.setoff import money_moved
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet
from clearing.use_cases import lines
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.validation import (
    MAX_CYCLE_NUMBER,
    check_cursor,
    check_limit,
    check_text,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_cycle_id() -> str:
    return f"cyc_{secrets.token_hex(8)}"


def open_cycle(uow: UnitOfWork, principal: Principal, policy: str = "fifo") -> Cycle:
    """Open a cycle; at most one cycle is between ``open`` and ``settled`` at a time."""
    principal.require(Role.OPERATOR)
    try:
        chosen = Policy(policy)
    except ValueError:
        raise InvalidInput(
            f"{policy!r} is not a policy; use one of {', '.join(p.value for p in Policy)}",
            field="policy",
        ) from None
    with uow:
        active = uow.cycles.active()
        if active is not None:
            raise Conflict(f"cycle {active.id} is {active.status.value}; settle or reject it first")
        cycle = Cycle(
            id=new_cycle_id(),
            number=uow.cycles.next_number(),
            status=CycleStatus.OPEN,
            policy=chosen,
            opened_by=principal.id,
            opened_at=utc_now(),
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
        cycle = locked_cycle(uow, cycle_id)
        require_cycle_status(cycle, {CycleStatus.OPEN}, "set the rates of")
        check_rates_for_entities(rates, {e.code: e.currency for e in uow.entities.list()})
        changed = replace(cycle, rates=rates)
        uow.cycles.save(changed)
        uow.commit()
    return changed


def close_cycle(uow: UnitOfWork, principal: Principal, cycle_id: str) -> Cycle:
    """Cut-off: re-screen, snapshot the eligible obligations, net with the frozen rates and the
    active liquidity lines as they stand (their terms are frozen with the cycle), and propose
    the result with its digest."""
    principal.require(Role.OPERATOR)
    with uow:
        cycle = locked_cycle(uow, cycle_id)
        require_cycle_status(cycle, {CycleStatus.OPEN}, "close")
        if cycle.rates is None:
            raise Conflict(f"cycle {cycle.id} has no rates yet: PUT its rates first", field="rates")
        invoices = uow.cycles.eligible_invoices()
        rules = uow.rules.list()
        screening = screener(rules)
        kept: list[Invoice] = []
        priorities: list[int] = []
        rejected = []
        for invoice in invoices:
            verdict = screening(invoice.hs_code, invoice.exporter_id, invoice.importer_id)
            if verdict.rejected_by is not None:
                rejected.append((invoice, verdict.rejected_by.name, verdict.reason))
            else:
                kept.append(invoice)
                priorities.append(verdict.priority)
        entity_currencies = {e.code: e.currency for e in uow.entities.list()}
        check_rates_cover(cycle.rates, entity_currencies, {i.currency for i in kept})
        uow.cycles.reject_invoices(rejected, principal.id)
        terms = lines.active_terms(uow)
        result, figures = net_cycle(snapshot_of(kept, priorities), cycle.rates, cycle.policy, terms)
        uow.cycles.store_result(cycle.id, result)
        line_movements = lines.store_cycle_lines(uow, cycle.id, terms, result)
        uow.cycles.take_invoices(cycle.id, principal.id)
        proposed = replace(
            cycle,
            status=CycleStatus.PROPOSED,
            digest=result.digest,
            summary=figures,
            closed_at=utc_now(),
            closed_by=principal.id,
            approvals_needed=approval_rule(uow),
            lines=line_movements,
        )
        uow.cycles.save(proposed)
        if not proposed.required_approvals:
            proposed = settle(uow, proposed, principal)
        uow.commit()
    return proposed


def net_cycle(
    snapshot: Sequence[Obligation] | ObligationColumns,
    rates: RateSet,
    policy: Policy,
    terms: Sequence[LineTerms],
) -> tuple[NettingResult, Figures]:
    """Net a cycle's snapshot; its figures carry the money its positions make participants
    move and, under ``setoff``, what ``fifo`` would make them move on the same snapshot (the
    saving the cycle reports)."""
    result = net(snapshot, rates, policy, lines=terms)
    fifo = (
        money_moved(net(snapshot, rates, Policy.FIFO, lines=terms))
        if policy is Policy.SETOFF
        else None
    )
    return result, replace(result.figures, money_moved=money_moved(result), money_moved_fifo=fifo)


def approve_cycle(uow: UnitOfWork, principal: Principal, cycle_id: str, digest: str) -> Cycle:
    """An operator approves for its own entity by naming the digest it reviewed."""
    principal.require(Role.OPERATOR)
    entity = principal.entity or ""
    with uow:
        cycle = locked_cycle(uow, cycle_id)
        require_cycle_status(cycle, {CycleStatus.PROPOSED}, "approve")
        if digest != cycle.digest:
            raise Conflict(
                f"stale digest: cycle {cycle.id} proposes {cycle.digest}", field="digest"
            )
        check_approver(cycle, entity, principal.id)
        approval = Approval(entity, digest, principal.id, utc_now())
        uow.cycles.add_approval(cycle.id, approval)
        changed = replace(cycle, approvals=(*cycle.approvals, approval))
        if not changed.missing_approvals:
            approved = replace(changed, status=CycleStatus.APPROVED)
            changed = save_and_settle_when_paid(uow, approved, principal)
        uow.commit()
    return changed


def reject_cycle(uow: UnitOfWork, principal: Principal, cycle_id: str, reason: str) -> Cycle:
    """Reject a proposal before any pay-in; its obligations return to the pool."""
    principal.require(Role.OPERATOR)
    reason = check_text(reason, "reason")
    with uow:
        cycle = locked_cycle(uow, cycle_id)
        require_cycle_status(cycle, {CycleStatus.PROPOSED, CycleStatus.APPROVED}, "reject")
        if uow.cycles.pay_ins(cycle.id):
            raise Conflict(f"cycle {cycle.id} has pay-ins already; declare a default instead")
        uow.cycles.return_invoices(cycle.id, principal.id, f"cycle {cycle.id} rejected: {reason}")
        changed = replace(cycle, status=CycleStatus.REJECTED, note=reason)
        uow.cycles.save(changed)
        uow.commit()
    return changed


def approval_rule(uow: UnitOfWork) -> tuple[tuple[str, int], ...]:
    """The approvals each entity asks for now, kept with a cycle as it is proposed."""
    return tuple((e.code, e.approvals_required) for e in uow.entities.list())


def save_and_settle_when_paid(uow: UnitOfWork, cycle: Cycle, principal: Principal) -> Cycle:
    """Store the cycle and, when every pay-in is in, settle it (in the caller's transaction)."""
    uow.cycles.save(cycle)
    if uow.cycles.pay_ins_missing(cycle.id):
        return cycle
    return settle(uow, cycle, principal)


def settle(uow: UnitOfWork, cycle: Cycle, principal: Principal) -> Cycle:
    """All pay-ins are in: re-net the snapshot with the line terms frozen at its cut-off to
    prove the digest, move the lines' balances, post the ledger, apply the result to the
    invoices and mark the cycle settled (in the caller's transaction)."""
    assert cycle.rates is not None
    terms = uow.lines.cycle_terms(cycle.id)
    result = net(uow.cycles.snapshot_columns(cycle.id), cycle.rates, cycle.policy, lines=terms)
    if result.digest != cycle.digest:
        raise Conflict(f"cycle {cycle.id} no longer nets to its approved digest; not settling")
    settled_at = utc_now()
    chain = superseded_chain(uow, cycle)
    lines.apply_cycle_movements(uow, cycle.id, result.lines)
    entries = ledger.cycle_entries(
        result,
        cycle.id,
        released_by=principal.id,
        released_at=settled_at,
        predecessors=chain[1:],
        cycle_number=cycle.number,
        line_terms=terms,
    )
    post(uow, entries)
    check_closed(uow, chain, ledger.booked_flows(entries))
    uow.cycles.settle_invoices(cycle.id, principal.id)
    settled = replace(cycle, status=CycleStatus.SETTLED, settled_at=settled_at)
    uow.cycles.save(settled)
    return settled


def post(uow: UnitOfWork, entries: Sequence[ledger.JournalEntry]) -> None:
    """Append entries to the journal after its head (locked until the transaction ends)."""
    if entries:
        after_seq, prev_hash = uow.ledger.head(for_update=True)
        uow.ledger.append(ledger.chain(entries, after_seq=after_seq, prev_hash=prev_hash))


def check_closed(
    uow: UnitOfWork, chain: Sequence[str], line_flows: Mapping[str, int] | None = None
) -> None:
    """DESIGN §5's invariants on the journal as it stands, after the cycle ``chain[0]`` posted:
    with the cycles it superseded, every participant's and line's balance is zero, the
    settlement account paid out what it received plus its ``line_flows``, the mirror accounts
    sum to minus those flows. Otherwise nothing settles."""
    problems = ledger.closure_problems(uow.ledger.cycle_movements(chain), chain[0], line_flows)
    if problems:
        raise LedgerError(
            f"cycle {chain[0]} would leave its books open ({problems[0].message}); not settling"
        )


def superseded_chain(uow: UnitOfWork, cycle: Cycle) -> list[str]:
    """The cycle, then the cycles it superseded one after another (their pay-ins and refunds
    close with it; their refunds are paid with its pay-outs)."""
    chain = [cycle.id]
    predecessor = cycle.predecessor_id
    while predecessor is not None:
        chain.append(predecessor)
        earlier = uow.cycles.get(predecessor)
        predecessor = earlier.predecessor_id if earlier else None
    return chain


def locked_cycle(uow: UnitOfWork, cycle_id: str) -> Cycle:
    cycle = uow.cycles.get(cycle_id, for_update=True)
    if cycle is None:
        raise NotFound(f"no cycle {cycle_id}")
    return lines.with_lines(uow, cycle)


def get_cycle(uow: UnitOfWork, principal: Principal, cycle_id: str) -> Cycle:
    """The whole cycle, corridor totals and metrics included: for operators and auditors only.
    A trader reads its own position, legs and statement instead (DESIGN §10)."""
    principal.require(Role.OPERATOR, Role.AUDITOR)
    return visible_cycle(uow, principal, cycle_id)


def visible_cycle(uow: UnitOfWork, principal: Principal, cycle_id: str) -> Cycle:
    """The cycle behind a caller's own figures: any cycle for operators and auditors, one it
    has a position in for a trader. Answers built on it show the trader only its own rows."""
    principal.require(Role.OPERATOR, Role.AUDITOR, Role.TRADER)
    with uow:
        cycle = uow.cycles.get(cycle_id)
        # A trader sees only the cycles it has a position in.
        own = principal.scope.participant_id
        if cycle is None or (own is not None and uow.cycles.position(cycle.id, own) is None):
            raise NotFound(f"no cycle {cycle_id}")
        return lines.with_lines(uow, cycle, principal)


def list_cycles(
    uow: UnitOfWork, principal: Principal, before: int | None, limit: int
) -> list[Cycle]:
    principal.require(Role.OPERATOR, Role.AUDITOR)
    with uow:
        found = uow.cycles.recent(
            check_cursor(before, "cursor", MAX_CYCLE_NUMBER), check_limit(limit)
        )
        return lines.cycles_with_lines(uow, found, principal)


def entity_currencies(uow: UnitOfWork, principal: Principal) -> dict[str, str]:
    """Each entity's settlement currency, by code: what a rate set's jurisdictions name."""
    principal.require(Role.OPERATOR, Role.AUDITOR)
    with uow:
        return {e.code: e.currency for e in sorted(uow.entities.list(), key=lambda e: e.code)}
