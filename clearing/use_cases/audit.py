"""The ledger and its audit: the journal paged by sequence, balances, and full verification."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from clearing.domain import ledger
from clearing.domain.access import Principal, Role
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.errors import InvalidInput, LedgerError
from clearing.domain.lines import Line, Movement
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
    terms = uow.lines.cycle_terms(cycle.id)
    result = net(uow.cycles.snapshot_columns(cycle.id), cycle.rates, cycle.policy, lines=terms)
    shown["disclosure"] = disclosure(result, cycle.id, entity)
    return shown


def ledger_balances(uow: UnitOfWork, principal: Principal) -> dict[tuple[str, str, str], int]:
    principal.require(Role.AUDITOR, Role.OPERATOR)
    with uow:
        return uow.ledger.balances(principal.scope.entity)


def verify(uow: UnitOfWork, principal: Principal | None = None) -> ledger.VerificationReport:
    """The chain, balances equal to a replay, every cycle re-netted (with the line terms it
    netted with) to its stored digest, and every line's balance the one the journal shows."""
    if principal is not None:
        principal.require(Role.AUDITOR)
    with uow:
        documents = list(uow.ledger.iterate_documents())
        _seq, head = uow.ledger.head()
        stored = uow.ledger.balances()
        cycles = _all_cycles(uow)
        snapshots = {
            c.id: (uow.cycles.snapshot_columns(c.id), uow.lines.cycle_terms(c.id))
            for c in cycles
            if c.status is CycleStatus.SETTLED
        }
        stored_lines = _all_lines(uow)
    report = ledger.verify_journal(documents, expected_head=head, stored_balances=stored)
    problems = list(report.problems)
    for cycle in cycles:
        if cycle.status is not CycleStatus.SETTLED or cycle.rates is None:
            continue
        snapshot, terms = snapshots[cycle.id]
        replayed = net(snapshot, cycle.rates, cycle.policy, lines=terms)
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
    problems += _line_problems(documents, stored_lines)
    return replace(
        report,
        problems=tuple(problems),
        cycles=sum(1 for c in cycles if c.status is CycleStatus.SETTLED),
    )


def _line_problems(
    documents: list[dict[str, Any]], stored: list[tuple[Line, list[Movement]]]
) -> list[ledger.Problem]:
    """Each line's stored balance against its last movement and the journal's ``line``
    entries (a line never moved stands at zero)."""
    entries = []
    for document in documents:
        if document.get("kind") == ledger.LINE_ENTRY:
            try:
                entries.append(ledger.entry_from_document(document).entry)
            except (InvalidInput, LedgerError):
                continue  # the chain's verification reports it
    journaled = ledger.journal_line_balances(entries)
    problems: list[ledger.Problem] = []
    for line, movements in stored:
        moved = movements[-1].balance if movements else 0
        booked = journaled.get(line.id, 0)
        if not line.balance == moved == booked:
            problems.append(
                ledger.Problem(
                    f"line {line.id} stands at {line.balance} minor units; its last movement "
                    f"left {moved}, the journal {booked}"
                )
            )
    return problems


def _all_lines(uow: UnitOfWork) -> list[tuple[Line, list[Movement]]]:
    found: list[tuple[Line, list[Movement]]] = []
    after: str | None = None
    while True:
        page = uow.lines.list(None, after, 500)
        found += [(line, uow.lines.movements(line.id)) for line in page]
        if len(page) < 500:
            return found
        after = page[-1].id


def _all_cycles(uow: UnitOfWork) -> list[Cycle]:
    cycles: list[Cycle] = []
    before: int | None = None
    while True:
        page = uow.cycles.recent(before, 500)
        cycles.extend(page)
        if len(page) < 500:
            return cycles
        before = page[-1].number
