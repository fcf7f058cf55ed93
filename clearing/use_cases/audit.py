"""The ledger and its audit: the journal paged by sequence, balances, and full verification."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from clearing.domain import ledger
from clearing.domain.access import Principal, Role
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.errors import InvalidInput
from clearing.domain.netting import net
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.validation import MAX_JOURNAL_SEQ, check_cursor


def ledger_entries(
    uow: UnitOfWork, principal: Principal, after: int, limit: int
) -> list[dict[str, Any]]:
    """The journal paged by sequence, as exported documents: all entities for auditors, its
    own for an operator."""
    principal.require(Role.AUDITOR, Role.OPERATOR)
    check_cursor(after, "after", MAX_JOURNAL_SEQ)
    if not 1 <= limit <= 10_000:
        raise InvalidInput("must be between 1 and 10000", field="limit")
    with uow:
        return uow.ledger.documents(after, limit, principal.scope.entity)


def ledger_balances(uow: UnitOfWork, principal: Principal) -> dict[tuple[str, str, str], int]:
    principal.require(Role.AUDITOR, Role.OPERATOR)
    with uow:
        return uow.ledger.balances(principal.scope.entity)


def verify(uow: UnitOfWork, principal: Principal | None = None) -> ledger.VerificationReport:
    """The chain, balances equal to a replay, and every cycle re-netted to its stored digest."""
    if principal is not None:
        principal.require(Role.AUDITOR)
    with uow:
        documents = list(uow.ledger.iterate_documents())
        _seq, head = uow.ledger.head()
        stored = uow.ledger.balances()
        cycles = _all_cycles(uow)
        snapshots = {
            c.id: uow.cycles.snapshot_columns(c.id)
            for c in cycles
            if c.status is CycleStatus.SETTLED
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
