"""Verifying a journal with no database: the chain, each cycle's closure, every cycle re-netted
to its digest, the head hash and the stored balances (DESIGN §5, ``audit verify``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clearing.domain.canonical import canonical_json, sha256_hex
from clearing.domain.errors import InvalidInput, LedgerError
from clearing.domain.ledger.journal import (
    GENESIS_HASH,
    SETTLEMENT_ACCOUNT,
    SUSPENSE_ACCOUNT,
    ChainedEntry,
    balances,
    entry_from_document,
    entry_hash,
)
from clearing.domain.ledger.line_postings import (
    LINE_ENTRY,
    booked_flows,
    recorded_movement,
    terms_from_record,
)
from clearing.domain.ledger.postings import replay_cycle
from clearing.domain.netting.lines import LineMovement


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing verification found wrong, tied to an entry's ``seq`` or to a cycle."""

    message: str
    seq: int | None = None
    cycle_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        where: dict[str, Any] = {"seq": self.seq} if self.seq is not None else {}
        if self.cycle_id is not None:
            where["cycle_id"] = self.cycle_id
        return {**where, "message": self.message}


def verify_chain(
    documents: Iterable[Mapping[str, Any]],
) -> tuple[list[ChainedEntry], list[Problem]]:
    """Check every exported entry: its hash, its link to the one before, its place, its balance.

    A changed entry fails its hash; a removed or inserted one breaks the ``seq`` sequence or the
    link; a reordered one does both. Returns the entries that parsed and the problems found.

    An entry that cannot be read, or is not the entry expected at its place, is reported at the
    ``seq`` expected there: the ``seq`` the document claims may be the very thing tampered with.
    """
    entries: list[ChainedEntry] = []
    problems: list[Problem] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    for document in documents:
        chained, content = entry_problems(document, expected_seq)
        if chained is None:
            problems += content
            expected_seq = (_int_or_none(document.get("seq")) or expected_seq) + 1
            prev_hash = str(document.get("hash", ""))
            continue
        if chained.seq != expected_seq:
            problems.append(
                Problem(
                    f"expected entry {expected_seq} here, found {chained.seq}", seq=expected_seq
                )
            )
        if chained.prev_hash != prev_hash:
            problems.append(
                Problem("prev_hash does not match the hash of the entry before", seq=chained.seq)
            )
        problems += content
        entries.append(chained)
        expected_seq = chained.seq + 1
        prev_hash = chained.hash
    return entries, problems


def entry_problems(
    document: Mapping[str, Any], expected_seq: int | None = None
) -> tuple[ChainedEntry | None, list[Problem]]:
    """One entry read back and hashed again (its content, not its place in the chain): the
    entry, or ``None`` when it cannot be read (reported at ``expected_seq``, else at the
    ``seq`` it claims), and what is wrong."""
    try:
        chained = entry_from_document(document)
    except (InvalidInput, LedgerError) as error:
        where = expected_seq if expected_seq is not None else _int_or_none(document.get("seq"))
        return None, [Problem(f"entry cannot be read: {error}", seq=where)]
    recomputed = entry_hash(chained.seq, chained.entry, chained.prev_hash)
    as_exported = sha256_hex(canonical_json({k: v for k, v in document.items() if k != "hash"}))
    if recomputed != chained.hash:
        return chained, [Problem("hash does not match the entry's content", seq=chained.seq)]
    if as_exported != chained.hash:
        # Same meaning, other text ("100.0" for "100.00", "3" for 3): still not what was
        # hashed, so the export was altered.
        return chained, [Problem("the entry's text differs from what was hashed", seq=chained.seq)]
    return chained, []


def stored_balance_problems(
    derived: Mapping[tuple[str, str, str], int], stored: Mapping[tuple[str, str, str], int]
) -> list[Problem]:
    """Each stored balance against the sum of the postings, by (entity, account, currency)."""
    problems: list[Problem] = []
    for key in sorted(set(derived) | set(stored)):
        if derived.get(key, 0) != stored.get(key, 0):
            entity, account, currency = key
            problems.append(
                Problem(
                    f"stored balance of {entity} {account} is {stored.get(key, 0)} "
                    f"{currency} minor units; postings sum to {derived.get(key, 0)}",
                )
            )
    return problems


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def cycle_closure_problems(entries: Sequence[ChainedEntry]) -> list[Problem]:
    """For each settled cycle, with the cycles it superseded, per entity: participant movements
    zero, every line account back at zero, the settlement account taking in what it paid out
    plus the line flows its ``line`` entries booked, and the mirror accounts summing to minus
    those flows (zero without lines). A cycle still taking pay-ins holds money, so it is
    checked once it settles (its discharge names the cycles it superseded, whose pay-ins and
    refunds close with it)."""
    closes_with: dict[str, str] = {}
    settled: set[str] = set()
    for chained in entries:
        entry = chained.entry
        if entry.kind == "discharge" and entry.cycle_id is not None:
            settled.add(entry.cycle_id)
            for predecessor in (entry.details or {}).get("predecessors", ()):
                closes_with[str(predecessor)] = entry.cycle_id
    movements: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    line_entries: dict[str, list[ChainedEntry]] = defaultdict(list)
    for chained in entries:
        entry = chained.entry
        if entry.cycle_id is None:
            continue
        closing = closes_with.get(entry.cycle_id, entry.cycle_id)
        group = movements[closing]
        for posting in entry.postings:
            group[(entry.entity, posting.account)] += posting.amount
        if entry.kind == LINE_ENTRY:
            line_entries[closing].append(chained)
    problems: list[Problem] = []
    for cycle_id in sorted(settled):
        flows = booked_flows(chained.entry for chained in line_entries[cycle_id])
        problems += closure_problems(movements[cycle_id], cycle_id, flows)
    return problems


def closure_problems(
    movement: Mapping[tuple[str, str], int],
    cycle_id: str,
    line_flows: Mapping[str, int] | None = None,
) -> list[Problem]:
    """What a settled cycle (with the cycles it superseded) left open, from the sum of its
    postings per ``(entity, account)`` and each entity's ``line_flows`` (what its lines left
    at its bank, owed across the border; none when not given): a participant or line account
    that moved, money at the bank (``settlement``, with what it took from ``suspense`` as
    pay-ins) that did not go out as it came in but for the line flows, or mirror accounts that
    do not sum to minus those flows."""
    flows = line_flows or {}
    problems: list[Problem] = []
    mirrors: dict[str, int] = defaultdict(int)
    at_bank: dict[str, int] = defaultdict(int)
    for (entity, account), amount in sorted(movement.items()):
        if account.startswith("mirror:"):
            mirrors[entity] += amount
        elif account in (SETTLEMENT_ACCOUNT, SUSPENSE_ACCOUNT):
            at_bank[entity] += amount
        elif amount != 0:
            problems.append(
                Problem(f"{entity} {account} moved {amount} minor units", cycle_id=cycle_id)
            )
    for entity in sorted(set(at_bank) | set(flows)):
        amount, flow = at_bank.get(entity, 0), flows.get(entity, 0)
        if amount != flow:
            beyond = f" (its lines' flow: {flow})" if flow else ""
            problems.append(
                Problem(
                    f"{entity} settlement moved {amount} minor units{beyond}", cycle_id=cycle_id
                )
            )
    for entity in sorted(set(mirrors) | set(flows)):
        amount, flow = mirrors.get(entity, 0), flows.get(entity, 0)
        if amount != -flow:
            owed = f", not minus its lines' flow of {flow}" if flow else ""
            problems.append(
                Problem(f"{entity} mirror accounts sum to {amount}{owed}", cycle_id=cycle_id)
            )
    return problems


def cycle_replay_problems(entries: Sequence[ChainedEntry]) -> tuple[int, list[Problem]]:
    """Re-net every cycle recorded in the journal (with the line terms it netted with); return
    how many and any digest mismatch, and any ``line`` entry of the cycle whose draw,
    repayment or balance is not what the re-netting gives."""
    problems: list[Problem] = []
    count = 0
    booked = _booked_movements(entries)
    for chained in entries:
        record = chained.entry.cycle
        if record is None:
            continue
        count += 1
        cycle_id = str(record.get("cycle_id", chained.entry.cycle_id))
        try:
            replayed = replay_cycle(record)
        except (KeyError, IndexError, TypeError, ValueError, InvalidInput) as error:
            problems.append(Problem(f"cycle record cannot be replayed: {error}", cycle_id=cycle_id))
            continue
        if replayed.digest != record.get("digest"):
            problems.append(
                Problem(
                    f"re-netting gives digest {replayed.digest}, recorded {record.get('digest')}",
                    cycle_id=cycle_id,
                )
            )
        moved = {m.line_id: m for m in replayed.lines if m.moved}
        for seq, entity, flow, movement in booked.get(cycle_id, ()):
            problem = _booking_problem(moved, entity, flow, movement)
            if problem:
                problems.append(Problem(problem, seq=seq))
    return count, problems


def _booking_problem(
    replayed: Mapping[str, LineMovement], entity: str, flow: int, booked: LineMovement | None
) -> str | None:
    """What is wrong with a ``line`` entry of ``entity`` that posts ``flow`` for ``booked``,
    against the movements re-netting its cycle gives; ``None`` when nothing is."""
    if booked is None:
        return "the line entry names no readable movement"
    again = replayed.get(booked.line_id)
    if again is None or _as_booked(again) != _as_booked(booked):
        return (
            f"line {booked.line_id} is booked as drawn {booked.drawn}, repaid {booked.repaid}, "
            f"balance {booked.balance}: not what re-netting the cycle gives"
        )
    expected = again.source_flow if entity == again.source else again.target_flow
    if entity not in (again.source, again.target) or flow != expected:
        return f"line {booked.line_id} moves {flow} in {entity}'s book; re-netting gives {expected}"
    return None


def _as_booked(movement: LineMovement) -> tuple[str, str, str, str, int, int, int]:
    """What a ``line`` entry's details name of a movement."""
    m = movement
    return (m.line_id, m.source, m.target, m.currency, m.drawn, m.repaid, m.balance)


def _booked_movements(
    entries: Sequence[ChainedEntry],
) -> dict[str, list[tuple[int, str, int, LineMovement | None]]]:
    """Per cycle, each ``line`` entry's entity, the flow it posts on the line's account and the
    movement it names (``None``: unreadable)."""
    booked: dict[str, list[tuple[int, str, int, LineMovement | None]]] = defaultdict(list)
    for chained in entries:
        entry = chained.entry
        if entry.kind != LINE_ENTRY or entry.cycle_id is None:
            continue
        try:
            movement: LineMovement | None = recorded_movement(entry.details or {})
        except (KeyError, InvalidInput):
            movement = None
        flow = sum(p.amount for p in entry.postings if p.account.startswith("line:"))
        booked[entry.cycle_id].append((chained.seq, entry.entity, flow, movement))
    return booked


def line_balance_problems(entries: Sequence[ChainedEntry]) -> list[Problem]:
    """Each line's balance carried from cycle to cycle: a cycle record nets with every line at
    the balance the last ``line`` entry before it left (zero for a line not moved yet)."""
    problems: list[Problem] = []
    balances: dict[str, int] = {}
    for chained in entries:
        entry = chained.entry
        if entry.cycle is not None:
            try:
                terms = terms_from_record(entry.cycle)
            except (KeyError, TypeError, InvalidInput):
                continue  # the replay reports an unreadable record
            for term in terms:
                if term.balance != balances.get(term.line_id, 0):
                    problems.append(
                        Problem(
                            f"line {term.line_id} nets at balance {term.balance}; the journal "
                            f"left it at {balances.get(term.line_id, 0)}",
                            cycle_id=entry.cycle_id,
                        )
                    )
        elif entry.kind == LINE_ENTRY:
            try:
                movement = recorded_movement(entry.details or {})
            except (KeyError, InvalidInput):
                continue  # reported by the replay
            balances[movement.line_id] = movement.balance
    return problems


def _head_problem(entries: Sequence[ChainedEntry], expected_head: str) -> Problem:
    """The export does not end at the journal's head: name the first entry extra or missing."""
    at_head = [chained.seq for chained in entries if chained.hash == expected_head]
    if at_head:
        return Problem(
            f"entries follow the head {expected_head}: they are not in the journal",
            seq=at_head[0] + 1,
        )
    head = entries[-1].hash if entries else GENESIS_HASH
    return Problem(
        f"journal ends at hash {head}, the head is {expected_head}: entries missing",
        seq=(entries[-1].seq if entries else 0) + 1,
    )


@dataclass(frozen=True)
class VerificationReport:
    """The outcome of verifying a journal (DESIGN §10 ``audit verify``)."""

    entries: int
    cycles: int
    head_hash: str
    balances: dict[tuple[str, str, str], int]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "cycles": self.cycles,
            "head_hash": self.head_hash,
            "problems": [p.to_json() for p in self.problems],
        }


def verify_journal(
    documents: Iterable[Mapping[str, Any]],
    *,
    expected_head: str | None = None,
    stored_balances: Mapping[tuple[str, str, str], int] | None = None,
) -> VerificationReport:
    """Verify an exported journal with no database: the chain, each cycle's closure, every
    cycle re-netted to its digest, and optionally the head hash and stored balances."""
    documents = list(documents)
    entries, problems = verify_chain(documents)
    problems.extend(cycle_closure_problems(entries))
    cycles, replay_problems = cycle_replay_problems(entries)
    problems.extend(replay_problems)
    problems.extend(line_balance_problems(entries))
    head = entries[-1].hash if entries else GENESIS_HASH
    if expected_head is not None and head != expected_head:
        problems.append(_head_problem(entries, expected_head))
    derived = balances(chained.entry for chained in entries)
    if stored_balances is not None:
        problems.extend(stored_balance_problems(derived, stored_balances))
    return VerificationReport(
        entries=len(documents),  # unreadable entries count too: they are in the journal
        cycles=cycles,
        head_hash=head,
        balances=derived,
        problems=tuple(problems),
    )
