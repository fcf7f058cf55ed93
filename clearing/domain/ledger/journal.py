"""The double-entry, append-only, hash-chained journal of each clearing entity (DESIGN §5).

Postings are signed integers in minor units of the entity's currency (positive = debit). A
:class:`JournalEntry` whose postings do not sum to zero per currency cannot be constructed.
Balances are always derived from postings. Entries are numbered by a global, gapless ``seq``
and chained: ``hash`` is the SHA-256 of the canonical JSON of the entry without ``hash``, and
``prev_hash`` is the hash of the entry before it.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from clearing.domain.canonical import canonical_json, sha256_hex
from clearing.domain.errors import InvalidInput, LedgerError
from clearing.domain.money import format_amount, parse_signed_amount

GENESIS_HASH = "0" * 64
SETTLEMENT_ACCOUNT = "settlement"
#: Money the bank credited that matched no due pay-in: owed to whoever sent it until an
#: operator assigns it to a pay-in or returns it.
SUSPENSE_ACCOUNT = "suspense"

_ACCOUNT = re.compile(r"settlement|suspense|participant:[^\s]+|mirror:[A-Z]{2,8}|line:[^\s]+")


def participant_account(participant_id: str) -> str:
    return f"participant:{participant_id}"


def mirror_account(entity: str) -> str:
    return f"mirror:{entity}"


def line_account(line_id: str) -> str:
    """The account through which a liquidity line's draws and repayments pass (DESIGN §5)."""
    return f"line:{line_id}"


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
    #: Where the money moved, for reconciling with the bank: a payment's participant, bank
    #: reference and value date, who recorded it and when; a refund's reason; and on a
    #: discharge, the cycles it superseded (``predecessors``). Hashed with the entry.
    details: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "postings", tuple(self.postings))
        if self.cycle is not None:
            object.__setattr__(self, "cycle", MappingProxyType(dict(self.cycle)))
        if self.details is not None:
            object.__setattr__(self, "details", MappingProxyType(dict(self.details)))
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
        return json_line(self.document())


def json_line(document: Mapping[str, Any]) -> str:
    """An exported entry as one line of JSON (without the newline)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _totals_by_currency(postings: Iterable[Posting]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for posting in postings:
        totals[posting.currency] += posting.amount
    return dict(totals)


def entry_document(seq: int, entry: JournalEntry, prev_hash: str) -> dict[str, Any]:
    """The hashed content of an entry: everything but ``hash``; amounts as decimal strings."""
    return stored_document(
        seq,
        entry.entity,
        entry.cycle_id,
        entry.kind,
        [(p.account, p.currency, p.amount) for p in entry.postings],
        prev_hash,
        entry.cycle,
        entry.details,
    )


def stored_document(
    seq: int,
    entity: str,
    cycle_id: str | None,
    kind: str,
    postings: Iterable[tuple[str, str, int]],
    prev_hash: str,
    cycle: Mapping[str, Any] | None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The exported document of an entry from its stored parts, as found: nothing is checked,
    so that a tampered entry reaches verification (which parses it into a
    :class:`JournalEntry` and reports what breaks) instead of failing to load."""
    document: dict[str, Any] = {
        "seq": seq,
        "entity": entity,
        "cycle_id": cycle_id,
        "kind": kind,
        "postings": [
            {"account": account, "currency": currency, "amount": format_amount(amount, currency)}
            for account, currency, amount in postings
        ],
        "prev_hash": prev_hash,
    }
    if cycle is not None:
        document["cycle"] = dict(cycle)
    if details is not None:
        document["details"] = dict(details)
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
            details=document.get("details"),
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
