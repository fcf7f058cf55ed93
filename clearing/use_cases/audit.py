"""The ledger and its audit: the journal paged by sequence, balances, and full verification."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from clearing.domain import ledger
from clearing.domain.access import Principal, Role
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.errors import InvalidInput
from clearing.domain.netting import net
from clearing.domain.netting.disclosure import disclosure
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.validation import MAX_JOURNAL_SEQ, check_cursor


def ledger_entries(
    uow: UnitOfWork, principal: Principal, after: int, limit: int
) -> list[dict[str, Any]]:
    """The journal paged by sequence, as exported documents: all entities, with each cycle's
    whole record to replay, for auditors; its own entity's entries for an operator, each
    cycle's ``discharge`` entry carrying what the entity may see of that cycle instead (DESIGN
    §7: with three or more entities, not the corridors between two others)."""
    principal.require(Role.AUDITOR, Role.OPERATOR)
    check_cursor(after, "after", MAX_JOURNAL_SEQ)
    if not 1 <= limit <= 10_000:
        raise InvalidInput("must be between 1 and 10000", field="limit")
    entity = principal.scope.entity
    with uow:
        documents = uow.ledger.documents(after, limit, entity)
        if entity is None:
            return documents
        return [_as_disclosed(uow, document, entity) for document in documents]


def _as_disclosed(uow: UnitOfWork, document: dict[str, Any], entity: str) -> dict[str, Any]:
    """An entry as an operator of ``entity`` gets it: without the whole cycle record (which
    the chain's ``hash`` still covers: the chain is checked on the auditor's export), and, on
    its discharge of a cycle, the entity's disclosure of that cycle."""
    shown = {key: value for key, value in document.items() if key != "cycle"}
    cycle_id = document.get("cycle_id")
    if document.get("kind") != "discharge" or not cycle_id:
        return shown
    cycle = uow.cycles.get(str(cycle_id))
    if cycle is None or cycle.rates is None:
        return shown
    result = net(uow.cycles.snapshot_columns(cycle.id), cycle.rates, cycle.policy)
    shown["disclosure"] = disclosure(result, cycle.id, entity)
    return shown


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
