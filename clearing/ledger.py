"""The double-entry, append-only, hash-chained journal of each clearing entity (DESIGN §5).

Postings are signed integers in minor units of the entity's currency (positive = debit). A
:class:`JournalEntry` whose postings do not sum to zero per currency cannot be constructed.
Balances are always derived from postings. Entries are numbered by a global, gapless ``seq``
and chained: ``hash`` is the SHA-256 of the canonical JSON of the entry without ``hash``, and
``prev_hash`` is the hash of the entry before it.

For a settled cycle each entity's book moves like this (amounts in its currency):

* ``discharge``: each debtor leg debits the importer (``participant:<id>``, it now owes the
  entity) and credits ``mirror:<creditor's entity>``; each creditor leg credits the exporter
  (the entity owes it) and debits ``mirror:<debtor's entity>``;
* ``pay_in``: the importer's domestic payment debits ``settlement`` and credits the importer;
* ``pay_out``: the exporter's payment credits ``settlement`` and debits the exporter.

Afterwards every participant's movement is zero, ``settlement`` paid out what it received, and
the mirror accounts sum to zero: nothing is owed across the border.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

from clearing.canonical import canonical_json, sha256_hex
from clearing.errors import InvalidInput, LedgerError
from clearing.money import format_amount, parse_signed_amount
from clearing.netting import NettingResult, net
from clearing.obligations import RECORD_COLUMNS, Obligation, Policy
from clearing.rates import RateSet

GENESIS_HASH = "0" * 64
SETTLEMENT_ACCOUNT = "settlement"

_ACCOUNT = re.compile(r"settlement|participant:[^\s]+|mirror:[A-Z]{2,8}")


def participant_account(participant_id: str) -> str:
    return f"participant:{participant_id}"


def mirror_account(entity: str) -> str:
    return f"mirror:{entity}"


@dataclass(frozen=True, slots=True)
class Posting:
    """One side of an entry: ``amount`` minor units of ``currency``, positive = debit."""

    account: str
    currency: str
    amount: int

    def __post_init__(self) -> None:
        if not _ACCOUNT.fullmatch(self.account):
            raise LedgerError(f"{self.account!r} is not a ledger account", field="account")
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise LedgerError("a posting amount is an integer of minor units", field="amount")


@dataclass(frozen=True)
class JournalEntry:
    """A balanced set of postings in one entity's book, optionally tied to a cycle.

    ``cycle`` carries, on the first entry a cycle posts, everything an auditor needs to re-run
    that cycle's netting (snapshot, rates, policy, digest): see :func:`cycle_record`.
    """

    entity: str
    kind: str
    postings: tuple[Posting, ...]
    cycle_id: str | None = None
    cycle: Mapping[str, Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "postings", tuple(self.postings))
        if self.cycle is not None:
            object.__setattr__(self, "cycle", MappingProxyType(dict(self.cycle)))
        if not self.postings:
            raise LedgerError("a journal entry needs postings", field="postings")
        for currency, total in _totals_by_currency(self.postings).items():
            if total != 0:
                raise LedgerError(
                    f"entry in {self.entity} does not balance: {currency} postings sum to {total}",
                    field="postings",
                )


@dataclass(frozen=True)
class ChainedEntry:
    """A journal entry with its place in the chain."""

    seq: int
    entry: JournalEntry
    prev_hash: str
    hash: str

    def document(self) -> dict[str, Any]:
        """The exported JSON object of this entry (DESIGN §10), including ``hash``."""
        document = entry_document(self.seq, self.entry, self.prev_hash)
        document["hash"] = self.hash
        return document

    def to_json_line(self) -> str:
        return json.dumps(self.document(), ensure_ascii=False, separators=(",", ":"))


def _totals_by_currency(postings: Iterable[Posting]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for posting in postings:
        totals[posting.currency] += posting.amount
    return dict(totals)


def entry_document(seq: int, entry: JournalEntry, prev_hash: str) -> dict[str, Any]:
    """The hashed content of an entry: everything but ``hash``; amounts as decimal strings."""
    document: dict[str, Any] = {
        "seq": seq,
        "entity": entry.entity,
        "cycle_id": entry.cycle_id,
        "kind": entry.kind,
        "postings": [
            {
                "account": p.account,
                "currency": p.currency,
                "amount": format_amount(p.amount, p.currency),
            }
            for p in entry.postings
        ],
        "prev_hash": prev_hash,
    }
    if entry.cycle is not None:
        document["cycle"] = dict(entry.cycle)
    return document


def entry_hash(seq: int, entry: JournalEntry, prev_hash: str) -> str:
    return sha256_hex(canonical_json(entry_document(seq, entry, prev_hash)))


def chain(
    entries: Iterable[JournalEntry], *, after_seq: int = 0, prev_hash: str = GENESIS_HASH
) -> list[ChainedEntry]:
    """Number and chain ``entries`` after the entry ``after_seq`` whose hash is ``prev_hash``."""
    chained: list[ChainedEntry] = []
    seq = after_seq
    for entry in entries:
        seq += 1
        digest = entry_hash(seq, entry, prev_hash)
        chained.append(ChainedEntry(seq, entry, prev_hash, digest))
        prev_hash = digest
    return chained


def balances(entries: Iterable[JournalEntry]) -> dict[tuple[str, str, str], int]:
    """Balances derived from postings: ``(entity, account, currency) -> minor units``."""
    result: dict[tuple[str, str, str], int] = defaultdict(int)
    for entry in entries:
        for posting in entry.postings:
            result[(entry.entity, posting.account, posting.currency)] += posting.amount
    return dict(sorted(result.items()))


# --- export and import as JSON lines ----------------------------------------------------------


def entry_from_document(document: Mapping[str, Any]) -> ChainedEntry:
    """Parse one exported JSON object back into a chained entry, naming any bad field."""
    try:
        postings = tuple(
            Posting(
                account=str(p["account"]),
                currency=str(p["currency"]),
                amount=parse_signed_amount(str(p["amount"]), str(p["currency"])),
            )
            for p in document["postings"]
        )
        entry = JournalEntry(
            entity=str(document["entity"]),
            kind=str(document["kind"]),
            postings=postings,
            cycle_id=document.get("cycle_id"),
            cycle=document.get("cycle"),
        )
        return ChainedEntry(
            seq=int(document["seq"]),
            entry=entry,
            prev_hash=str(document["prev_hash"]),
            hash=str(document["hash"]),
        )
    except KeyError as missing:
        raise InvalidInput(f"missing field {missing}", field=str(missing).strip("'")) from None
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"malformed entry: {error}", field="postings") from None


def read_json_lines(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line; a bad line raises naming it."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as error:
            raise InvalidInput(f"line {number}: not JSON ({error.msg})", field="line") from None
        if not isinstance(document, dict):
            raise InvalidInput(f"line {number}: not a JSON object", field="line")
        yield number, document


# --- verification -----------------------------------------------------------------------------


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
        seq = document.get("seq")
        try:
            chained = entry_from_document(document)
        except (InvalidInput, LedgerError) as error:
            problems.append(Problem(f"entry cannot be read: {error}", seq=expected_seq))
            expected_seq = (_int_or_none(seq) or expected_seq) + 1
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
        recomputed = entry_hash(chained.seq, chained.entry, chained.prev_hash)
        as_exported = sha256_hex(canonical_json({k: v for k, v in document.items() if k != "hash"}))
        if recomputed != chained.hash:
            problems.append(Problem("hash does not match the entry's content", seq=chained.seq))
        elif as_exported != chained.hash:
            # Same meaning, other text ("100.0" for "100.00", "3" for 3): still not what was
            # hashed, so the export was altered.
            problems.append(
                Problem("the entry's text differs from what was hashed", seq=chained.seq)
            )
        entries.append(chained)
        expected_seq = chained.seq + 1
        prev_hash = chained.hash
    return entries, problems


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def cycle_closure_problems(entries: Sequence[ChainedEntry]) -> list[Problem]:
    """For each cycle, per entity: participant movements zero, settlement net zero, and the
    mirror accounts summing to zero."""
    movements: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    mirrors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for chained in entries:
        entry = chained.entry
        if entry.cycle_id is None:
            continue
        for posting in entry.postings:
            if posting.account.startswith("mirror:"):
                mirrors[entry.cycle_id][entry.entity] += posting.amount
            else:
                movements[entry.cycle_id][(entry.entity, posting.account)] += posting.amount
    problems: list[Problem] = []
    for cycle_id in sorted(set(movements) | set(mirrors)):
        for (entity, account), amount in sorted(movements[cycle_id].items()):
            if amount != 0:
                problems.append(
                    Problem(f"{entity} {account} moved {amount} minor units", cycle_id=cycle_id)
                )
        for entity, amount in sorted(mirrors[cycle_id].items()):
            if amount != 0:
                problems.append(
                    Problem(f"{entity} mirror accounts sum to {amount}", cycle_id=cycle_id)
                )
    return problems


# --- posting a netted cycle --------------------------------------------------------------------


def cycle_record(result: NettingResult, cycle_id: str) -> dict[str, Any]:
    """What an auditor needs to re-run a cycle's netting with no database (DESIGN §5)."""
    return {
        "cycle_id": cycle_id,
        "digest": result.digest,
        "policy": result.policy.value,
        "rates": result.rates.to_json(),
        "columns": list(RECORD_COLUMNS),
        "obligations": [
            [
                o.obligation_id,
                o.debtor_id,
                o.debtor_jurisdiction,
                o.creditor_id,
                o.creditor_jurisdiction,
                o.currency,
                format_amount(o.outstanding, o.currency),
                o.due_date.isoformat(),
                o.priority,
                o.sequence,
            ]
            for o in result.obligations
        ],
    }


def replay_cycle(record: Mapping[str, Any]) -> NettingResult:
    """Re-run the netting of a cycle from its :func:`cycle_record`."""
    rates = RateSet.from_json(record["rates"])
    obligations = [
        Obligation(
            obligation_id=row[0],
            debtor_id=row[1],
            debtor_jurisdiction=row[2],
            creditor_id=row[3],
            creditor_jurisdiction=row[4],
            currency=row[5],
            outstanding=parse_signed_amount(row[6], row[5]),
            due_date=date.fromisoformat(row[7]),
            priority=int(row[8]),
            sequence=int(row[9]),
        )
        for row in record["obligations"]
    ]
    return net(obligations, rates, Policy(record["policy"]))


def cycle_replay_problems(entries: Sequence[ChainedEntry]) -> tuple[int, list[Problem]]:
    """Re-net every cycle recorded in the journal; return how many and any digest mismatch."""
    problems: list[Problem] = []
    count = 0
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
    return count, problems


def cycle_entries(
    result: NettingResult, cycle_id: str, *, with_record: bool = True
) -> list[JournalEntry]:
    """Every entity's entries for a settled cycle: discharge, pay-ins, pay-outs.

    The first entry carries the :func:`cycle_record` when ``with_record`` is set.
    """
    entries: list[JournalEntry] = []
    record = cycle_record(result, cycle_id) if with_record else None
    for total in result.jurisdictions:
        discharge = _discharge_postings(result, total.jurisdiction, total.currency)
        if not discharge:
            continue
        entries.append(
            JournalEntry(
                entity=total.jurisdiction,
                kind="discharge",
                postings=tuple(discharge),
                cycle_id=cycle_id,
                cycle=record if not entries else None,
            )
        )
        positions = [p for p in result.positions if p.jurisdiction == total.jurisdiction]
        payers = {p.participant_id: -p.net for p in positions if p.net < 0}
        payees = {p.participant_id: p.net for p in positions if p.net > 0}
        for kind, amounts, sign in (("pay_in", payers, 1), ("pay_out", payees, -1)):
            if amounts:
                entries.append(
                    payment_entry(total.jurisdiction, total.currency, cycle_id, kind, amounts, sign)
                )
    return entries


def payment_entry(
    entity: str,
    currency: str,
    cycle_id: str,
    kind: str,
    amounts: Mapping[str, int],
    sign: int,
) -> JournalEntry:
    """Domestic payments: ``sign`` +1 for money received (pay-ins), -1 for money paid out."""
    postings = [
        Posting(participant_account(participant), currency, -sign * amount)
        for participant, amount in sorted(amounts.items())
    ]
    postings.append(Posting(SETTLEMENT_ACCOUNT, currency, sign * sum(amounts.values())))
    return JournalEntry(entity=entity, kind=kind, postings=tuple(postings), cycle_id=cycle_id)


def _discharge_postings(result: NettingResult, entity: str, currency: str) -> list[Posting]:
    participants: dict[str, int] = defaultdict(int)
    # Mirror flows are kept gross, (entity, direction) -> amount, so the book shows what was
    # matched in each direction even where it nets to zero.
    mirrors: dict[tuple[str, int], int] = defaultdict(int)
    for index, obligation in enumerate(result.obligations):
        if result.settled_values[index] == 0:
            continue
        if obligation.debtor_jurisdiction == entity:
            leg = result.debtor_legs[index]
            participants[participant_account(obligation.debtor_id)] += leg
            mirrors[(obligation.creditor_jurisdiction, -1)] -= leg
        elif obligation.creditor_jurisdiction == entity:
            leg = result.creditor_legs[index]
            participants[participant_account(obligation.creditor_id)] -= leg
            mirrors[(obligation.debtor_jurisdiction, 1)] += leg
    postings = [
        Posting(account, currency, amount) for account, amount in sorted(participants.items())
    ]
    postings.extend(
        Posting(mirror_account(other), currency, amount)
        for (other, _direction), amount in sorted(mirrors.items())
        if amount
    )
    return [p for p in postings if p.amount]


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
    head = entries[-1].hash if entries else GENESIS_HASH
    if expected_head is not None and head != expected_head:
        problems.append(_head_problem(entries, expected_head))
    derived = balances(chained.entry for chained in entries)
    if stored_balances is not None:
        for key in sorted(set(derived) | set(stored_balances)):
            if derived.get(key, 0) != stored_balances.get(key, 0):
                entity, account, currency = key
                problems.append(
                    Problem(
                        f"stored balance of {entity} {account} is {stored_balances.get(key, 0)} "
                        f"{currency} minor units; postings sum to {derived.get(key, 0)}",
                    )
                )
    return VerificationReport(
        entries=len(documents),  # unreadable entries count too: they are in the journal
        cycles=cycles,
        head_hash=head,
        balances=derived,
        problems=tuple(problems),
    )
