"""The ledger and its audit: the journal paged by sequence (forwards, and the page before an
entry), its head, balances, full verification for auditors, and an operator's verification of
its own entity's book."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from clearing.domain import ledger
from clearing.domain.access import Principal, Role
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.errors import InvalidInput, LedgerError
from clearing.domain.ledger.line_postings import recorded_movement
from clearing.domain.lines import Line, Movement
from clearing.domain.netting import net
from clearing.domain.netting.disclosure import disclosed_digest, disclosure
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


def head(uow: UnitOfWork, principal: Principal) -> tuple[int, str]:
    """The journal's last ``seq`` and ``hash``, from the head alone (no entry is read): a
    verification done at this head still holds while it stands (the journal only grows)."""
    principal.require(Role.AUDITOR, Role.OPERATOR)
    with uow:
        return uow.ledger.head()


def page_before(uow: UnitOfWork, principal: Principal, before: int, limit: int) -> int | None:
    """The ``after`` of the page of :func:`ledger_entries` (``limit`` entries the caller sees)
    that ends just before entry ``before``, or ``None`` when the caller sees none before it.
    With ``before`` past the head, the newest page."""
    principal.require(Role.AUDITOR, Role.OPERATOR)
    check_cursor(before, "before", MAX_JOURNAL_SEQ)
    if not 1 <= limit <= 10_000:
        raise InvalidInput("must be between 1 and 10000", field="limit")
    entity = principal.scope.entity
    if before <= 1:
        return None
    if entity is None:  # every entry: the sequence is gapless
        return max(0, before - 1 - limit)
    window = limit
    with uow:
        while True:
            start = max(0, before - 1 - window)
            # At most ``window`` entries lie between ``start`` and ``before``: all are read.
            seqs = [
                int(d["seq"])
                for d in uow.ledger.documents(start, window, entity)
                if int(d["seq"]) < before
            ]
            if len(seqs) >= limit:
                return seqs[-limit] - 1
            if start == 0:
                return 0 if seqs else None
            window *= 4


def settlement_times(
    uow: UnitOfWork, principal: Principal, cycle_ids: Collection[str]
) -> dict[str, datetime]:
    """When each of these cycles settled: the time of its ``discharge`` and ``line`` entries,
    which carry none of their own. A cycle not settled (or unknown) is absent."""
    principal.require(Role.AUDITOR, Role.OPERATOR)
    with uow:
        cycles = (uow.cycles.get(cycle_id) for cycle_id in sorted(set(cycle_ids)))
        return {c.id: c.settled_at for c in cycles if c is not None and c.settled_at is not None}


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
    problems += _recorded_digest_problems(documents, {c.id: c for c in cycles})
    problems += _line_problems(documents, stored_lines)
    return replace(
        report,
        problems=tuple(problems),
        cycles=sum(1 for c in cycles if c.status is CycleStatus.SETTLED),
    )


def verify_book(uow: UnitOfWork, principal: Principal) -> ledger.VerificationReport:
    """What an operator may verify of the journal: its own entity's book (DESIGN §5, §7).

    Every entry of the book hashes to its stored hash; the stored balances are the sums of its
    postings; every cycle it discharged closes in it (participants and lines back at zero, the
    settlement account paying out what came in but for the line flows); each of those cycles,
    re-netted and disclosed to the entity as its export shows it, recomputes to the digest the
    journal records and the cycle was approved with; and each of the entity's lines stands at
    its last movement, which every ``line`` entry of the book agrees with. The links of the
    chain run through every entity's entries: :func:`verify` (an auditor's) checks those.
    ``head_hash`` is the journal's head."""
    principal.require(Role.OPERATOR)
    entity = principal.scope.entity
    assert entity is not None
    with uow:
        _seq, head_hash = uow.ledger.head()
        documents = uow.ledger.documents(0, None, entity)
        stored = uow.ledger.balances(entity)
        discharged = sorted(
            {
                str(d["cycle_id"])
                for d in documents
                if d.get("kind") == "discharge" and d.get("cycle_id")
            }
        )
        approved = {cycle_id: uow.cycles.get(cycle_id) for cycle_id in discharged}
        disclosed = {
            str(d["cycle_id"]): _as_disclosed(uow, d, entity).get("disclosure")
            for d in documents
            if d.get("kind") == "discharge" and d.get("cycle_id")
        }
        lines = _all_lines(uow, entity)
    entries: list[ledger.ChainedEntry] = []
    problems: list[ledger.Problem] = []
    for document in documents:
        chained, found = ledger.entry_problems(document)
        problems += found
        entries += [chained] if chained is not None else []
    problems += ledger.cycle_closure_problems(entries)
    derived = ledger.balances(chained.entry for chained in entries)
    problems += ledger.stored_balance_problems(derived, stored)
    for cycle_id in discharged:
        problems += _disclosure_problems(cycle_id, approved[cycle_id], disclosed.get(cycle_id))
    problems += _recorded_digest_problems(documents, approved)
    problems += _book_line_problems(entries, lines)
    return ledger.VerificationReport(
        entries=len(documents),
        cycles=len(discharged),
        head_hash=head_hash,
        balances=derived,
        problems=tuple(problems),
    )


def _disclosure_problems(
    cycle_id: str, cycle: Cycle | None, shown: dict[str, Any] | None
) -> list[ledger.Problem]:
    """The cycle's disclosure to the entity recomputes to the digest it was approved with."""
    if cycle is None:
        return [
            ledger.Problem("the book discharges a cycle that does not exist", cycle_id=cycle_id)
        ]
    if shown is None:
        return [ledger.Problem("the cycle has no rates to re-net with", cycle_id=cycle_id)]
    recomputed = disclosed_digest(shown)
    if recomputed != cycle.digest:
        return [
            ledger.Problem(
                f"the entity's disclosure recomputes to {recomputed}, approved {cycle.digest}",
                cycle_id=cycle_id,
            )
        ]
    return []


def _recorded_digest_problems(
    documents: list[dict[str, Any]], cycles: Mapping[str, Cycle | None]
) -> list[ledger.Problem]:
    """Each cycle record in the journal names the digest its cycle was approved with."""
    problems: list[ledger.Problem] = []
    for document in documents:
        record = document.get("cycle")
        if not isinstance(record, dict):
            continue
        cycle = cycles.get(str(record.get("cycle_id")))
        if cycle is not None and record.get("digest") != cycle.digest:
            problems.append(
                ledger.Problem(
                    f"the journal records digest {record.get('digest')}, the cycle {cycle.digest}",
                    cycle_id=cycle.id,
                )
            )
    return problems


def _book_line_problems(
    entries: list[ledger.ChainedEntry], stored: list[tuple[Line, list[Movement]]]
) -> list[ledger.Problem]:
    """Each line at its last movement; each ``line`` entry of the book at the balance its
    cycle's movement left (a line the book's currency saw no flow of has no entry that cycle)."""
    problems: list[ledger.Problem] = []
    left: dict[tuple[str, str], int] = {}
    for line, movements in stored:
        moved = movements[-1].balance if movements else 0
        if line.balance != moved:
            problems.append(
                ledger.Problem(
                    f"line {line.id} stands at {line.balance} minor units; its last movement "
                    f"left {moved}"
                )
            )
        left.update(((m.line_id, m.cycle_id), m.balance) for m in movements)
    for chained in entries:
        entry = chained.entry
        if entry.kind != ledger.LINE_ENTRY or entry.details is None or entry.cycle_id is None:
            continue
        try:
            booked = recorded_movement(entry.details)
        except (KeyError, InvalidInput):
            problems.append(ledger.Problem("line entry cannot be read", seq=chained.seq))
            continue
        expected = left.get((booked.line_id, entry.cycle_id))
        if expected != booked.balance:
            problems.append(
                ledger.Problem(
                    f"line {booked.line_id} is booked at {booked.balance} minor units; the "
                    f"line's movement in this cycle left {expected}",
                    seq=chained.seq,
                )
            )
    return problems


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


def _all_lines(uow: UnitOfWork, entity: str | None = None) -> list[tuple[Line, list[Movement]]]:
    """Every line (``entity``'s alone, with it) with what each settled cycle did to it."""
    found: list[tuple[Line, list[Movement]]] = []
    after: str | None = None
    while True:
        page = uow.lines.list(entity, after, 500)
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
