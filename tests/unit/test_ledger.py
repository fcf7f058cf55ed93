"""The ledger of DESIGN §5: balanced entries, closure after a cycle, the hash chain and the
auditor's replay, on journals built from generated netting results."""

from __future__ import annotations

import copy
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.adapters.files.journal import read_json_lines
from clearing.domain.cycles import PayIn
from clearing.domain.errors import LedgerError
from clearing.domain.ledger import (
    GENESIS_HASH,
    ChainedEntry,
    JournalEntry,
    Posting,
    balances,
    chain,
    cycle_entries,
    cycle_record,
    entry_from_document,
    pay_in_entry,
    replay_cycle,
    verify_chain,
    verify_journal,
)
from clearing.domain.money import format_amount
from clearing.domain.netting import NettingResult, net
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet
from tests.unit.strategies import Instance, a_third_of_the_examples, instances

#: When the test cycles settle, and who releases their pay-outs.
SETTLED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def settled_entries(result: NettingResult, cycle_id: str) -> list[JournalEntry]:
    """A cycle's entries as it settles, then every payer's pay-in of its whole due as the bank
    credited it (the order does not matter to a cycle's closure)."""
    pay_ins = [
        pay_in_entry(
            PayIn(f"pay-{p.participant_id}", cycle_id, p.participant_id, p.jurisdiction,
                  p.currency, -p.net, f"BANK-{p.participant_id}", "key_op",
                  value_date=SETTLED_AT.date()),
            SETTLED_AT,
        )
        for p in result.positions
        if p.net < 0
    ]  # fmt: skip
    released = cycle_entries(result, cycle_id, released_by="key_op", released_at=SETTLED_AT)
    return released + pay_ins


def with_a_matched_pair(instance: Instance, amount: int) -> list[Obligation]:
    """The instance's obligations plus a pair that matches exactly, so something settles."""
    first, second = instance.codes[:2]
    currency = instance.rates.base
    pair = [
        Obligation(
            "pair-out", "pair-a", first, "pair-b", second, currency, amount, date(2026, 1, 1)
        ),
        Obligation(
            "pair-in", "pair-c", second, "pair-d", first, currency, amount, date(2026, 1, 1)
        ),
    ]
    return [*instance.obligations, *pair]


@st.composite
def settled_results(draw: st.DrawFn, max_obligations: int = 12) -> NettingResult:
    instance = draw(instances(max_obligations=max_obligations))
    amount = draw(st.integers(10**4, 10**12))
    return net(with_a_matched_pair(instance, amount), instance.rates, instance.policy)


def manual_entry(entity: str, currency: str, amount: int) -> JournalEntry:
    """An entry outside any cycle: a participant deposits ``amount`` with the entity."""
    return JournalEntry(
        entity=entity,
        kind="deposit",
        postings=(
            Posting("settlement", currency, amount),
            Posting("participant:someone", currency, -amount),
        ),
    )


@dataclass(frozen=True)
class Journal:
    results: tuple[NettingResult, ...]
    entries: tuple[JournalEntry, ...]
    chained: tuple[ChainedEntry, ...]

    def documents(self) -> list[dict[str, Any]]:
        return [c.document() for c in self.chained]


@st.composite
def journals(draw: st.DrawFn) -> Journal:
    """One or two settled cycles, with entries outside any cycle before, between and after."""
    results = draw(st.lists(settled_results(max_obligations=6), min_size=1, max_size=2))
    entries: list[JournalEntry] = []
    for number, result in enumerate(results, start=1):
        for _ in range(draw(st.integers(0, 2))):
            entries.append(manual_entry("CN", "CNY", draw(st.integers(1, 10**9))))
        entries.extend(settled_entries(result, f"cycle-{number}"))
    entries.append(manual_entry("RU", "RUB", draw(st.integers(1, 10**9))))
    return Journal(tuple(results), tuple(entries), tuple(chain(entries)))


# --- balanced entries -------------------------------------------------------------------------

accounts = st.sampled_from(
    ["settlement", "participant:a", "participant:中-1", "mirror:RU", "mirror:CN"]
)
postings = st.builds(
    Posting, accounts, st.sampled_from(["CNY", "RUB", "JPY"]), st.integers(-(10**15), 10**15)
)


@given(st.lists(postings, min_size=1, max_size=8))
def test_an_entry_is_constructed_only_if_each_currency_sums_to_zero(
    entry_postings: list[Posting],
) -> None:
    sums: dict[str, int] = defaultdict(int)
    for posting in entry_postings:
        sums[posting.currency] += posting.amount
    if all(total == 0 for total in sums.values()):
        assert JournalEntry("CN", "test", tuple(entry_postings)).postings == tuple(entry_postings)
    else:
        with pytest.raises(LedgerError) as error:
            JournalEntry("CN", "test", tuple(entry_postings))
        assert error.value.field == "postings"


@given(st.lists(postings, min_size=1, max_size=8), st.integers(1, 10**6))
def test_an_unbalanced_entry_cannot_be_constructed(
    entry_postings: list[Posting], error_units: int
) -> None:
    sums: dict[str, int] = defaultdict(int)
    for posting in entry_postings:
        sums[posting.currency] += posting.amount
    balanced = [
        *entry_postings,
        *(Posting("settlement", currency, -total) for currency, total in sums.items()),
    ]
    JournalEntry("CN", "test", tuple(balanced))
    unbalanced = [*balanced, Posting("settlement", balanced[0].currency, error_units)]
    with pytest.raises(LedgerError):
        JournalEntry("CN", "test", tuple(unbalanced))
    # Nor by replacing the postings of a balanced entry.
    with pytest.raises(LedgerError):
        replace(JournalEntry("CN", "test", tuple(balanced)), postings=tuple(unbalanced))


def test_an_entry_needs_postings_and_postings_need_accounts_and_integers() -> None:
    with pytest.raises(LedgerError):
        JournalEntry("CN", "test", ())
    with pytest.raises(LedgerError):
        Posting("cash", "CNY", 1)
    with pytest.raises(LedgerError):
        Posting("participant:has space", "CNY", 1)
    with pytest.raises(LedgerError):
        Posting("settlement", "CNY", True)
    with pytest.raises(LedgerError):
        Posting("settlement", "CNY", 1.5)  # type: ignore[arg-type]


# --- a cycle's entries ------------------------------------------------------------------------


@given(settled_results())
def test_a_cycles_entries_chain_verify_cleanly_and_replay_to_its_digest(
    result: NettingResult,
) -> None:
    entries = settled_entries(result, "cycle-1")
    chained = chain(entries)
    report = verify_journal([c.document() for c in chained])
    assert report.ok, report.problems
    assert report.entries == len(entries) >= 1
    assert report.cycles == 1
    assert report.head_hash == chained[-1].hash
    assert [c.seq for c in chained] == list(range(1, len(chained) + 1))
    assert chained[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(chained):
        assert after.prev_hash == before.hash
    # The first entry carries the cycle record; replaying it reproduces digest and result.
    assert [e.cycle is not None for e in entries] == [True] + [False] * (len(entries) - 1)
    record = json.loads(json.dumps(dict(entries[0].cycle or {})))
    assert record == json.loads(json.dumps(cycle_record(result, "cycle-1")))
    replayed = replay_cycle(record)
    assert replayed.digest == result.digest == record["digest"]
    assert replayed == result


@given(settled_results())
def test_a_cycle_balances_every_entry_and_leaves_no_participant_settlement_or_mirror_open(
    result: NettingResult,
) -> None:
    entries = settled_entries(result, "cycle-1")
    # Every entry sums to zero, in its entity's own currency.
    for entry in entries:
        currency = result.rates.jurisdictions[entry.entity]
        assert {p.currency for p in entry.postings} == {currency}
        assert sum(p.amount for p in entry.postings) == 0
        assert entry.cycle_id == "cycle-1"
    # After the cycle each participant and each settlement account moved zero, and each
    # entity's mirror accounts sum to zero: nothing is owed across the border.
    moved: dict[tuple[str, str], int] = defaultdict(int)
    mirrors: dict[str, int] = defaultdict(int)
    discharged: dict[tuple[str, str], int] = defaultdict(int)
    for entry in entries:
        for posting in entry.postings:
            if posting.account.startswith("mirror:"):
                assert posting.account != f"mirror:{entry.entity}"
                mirrors[entry.entity] += posting.amount
            else:
                moved[(entry.entity, posting.account)] += posting.amount
            if entry.kind == "discharge" and posting.account.startswith("participant:"):
                discharged[(entry.entity, posting.account)] += posting.amount
    assert all(amount == 0 for amount in moved.values()), moved
    assert all(amount == 0 for amount in mirrors.values()), mirrors
    # The discharge moves each participant by its legs: what it pays in less what it is paid.
    expected = {
        (p.jurisdiction, f"participant:{p.participant_id}"): p.pay_in - p.pay_out
        for p in result.positions
        if p.pay_in != p.pay_out
    }
    assert {key: amount for key, amount in discharged.items() if amount} == expected
    # The settlement account received exactly the positions' pay-ins, and paid them out.
    for total in result.jurisdictions:
        received = sum(
            p.amount
            for e in entries
            if e.entity == total.jurisdiction and e.kind == "pay_in"
            for p in e.postings
            if p.account == "settlement"
        )
        expected_in = sum(
            -p.net for p in result.positions if p.jurisdiction == total.jurisdiction and p.net < 0
        )
        assert received == expected_in


@a_third_of_the_examples()
@given(journals())
def test_balances_are_the_sum_of_the_postings(journal: Journal) -> None:
    expected: dict[tuple[str, str, str], int] = defaultdict(int)
    for entry in journal.entries:
        for posting in entry.postings:
            expected[(entry.entity, posting.account, posting.currency)] += posting.amount
    derived = balances(journal.entries)
    assert derived == dict(expected)
    report = verify_journal(journal.documents(), stored_balances=derived)
    assert report.ok, report.problems
    assert report.balances == derived
    assert report.cycles == len(journal.results)


def test_a_stored_balance_that_differs_from_the_postings_is_reported() -> None:
    entries = [manual_entry("CN", "CNY", 500), manual_entry("CN", "CNY", 250)]
    documents = [c.document() for c in chain(entries)]
    derived = balances(entries)
    assert derived == {
        ("CN", "participant:someone", "CNY"): -750,
        ("CN", "settlement", "CNY"): 750,
    }
    assert verify_journal(documents, stored_balances=derived).ok
    wrong = {**derived, ("CN", "settlement", "CNY"): 751}
    problems = verify_journal(documents, stored_balances=wrong).problems
    assert len(problems) == 1
    assert "settlement" in problems[0].message
    missing = {("CN", "settlement", "CNY"): 750}
    assert len(verify_journal(documents, stored_balances=missing).problems) == 1


@a_third_of_the_examples()
@given(journals())
def test_a_journal_survives_export_to_json_lines_and_import(journal: Journal) -> None:
    lines = [c.to_json_line() + "\n" for c in journal.chained]
    assert all(line.count("\n") == 1 for line in lines)
    documents = [document for _, document in read_json_lines(["\n", *lines, "   \n"])]
    assert documents == json.loads(json.dumps(journal.documents()))
    imported = [entry_from_document(document) for document in documents]
    assert imported == list(journal.chained)
    assert [c.document() for c in imported] == documents
    for original, again in zip(journal.chained, imported, strict=True):
        assert again.entry.postings == original.entry.postings
        assert (again.entry.cycle is None) == (original.entry.cycle is None)
    report = verify_journal(documents, expected_head=journal.chained[-1].hash)
    assert report.ok, report.problems
    # Postings in exports are signed decimal strings in major units.
    for document, chained in zip(documents, journal.chained, strict=True):
        amounts = [p["amount"] for p in document["postings"]]
        assert amounts == [format_amount(p.amount, p.currency) for p in chained.entry.postings]


def test_a_rate_with_more_digits_than_the_decimal_context_replays_to_the_same_digest() -> None:
    # 29 significant digits: 1 kopeck * 0.4999... CNY/RUB is worth just under half a fen.
    rates = RateSet(
        "CNY",
        {"CN": "CNY", "RU": "RUB"},
        {"CNY": Decimal(1), "RUB": Decimal("0." + "4" + "9" * 28)},
    )
    obligations = [
        Obligation("a", "x", "RU", "y", "CN", "RUB", 1, date(2026, 1, 1)),
        Obligation("b", "z", "CN", "w", "RU", "CNY", 1, date(2026, 1, 1)),
    ]
    result = net(obligations, rates, Policy.FIFO)
    assert list(result.values) == [0, 1]
    replayed = replay_cycle(json.loads(json.dumps(cycle_record(result, "c"))))
    assert list(replayed.values) == [0, 1]
    assert replayed.digest == result.digest


# --- tampering --------------------------------------------------------------------------------


def mutations(document: dict[str, Any]) -> list[tuple[str, Any]]:
    """Ways to change one exported entry, each a real change of its content."""

    def changed(edit: Any) -> dict[str, Any]:
        again = copy.deepcopy(document)
        edit(again)
        return again

    def flip(text: str) -> str:
        return ("1" if text[0] != "1" else "2") + text[1:]

    postings = document["postings"]
    options: list[tuple[str, Any]] = [
        ("seq", changed(lambda d: d.update(seq=d["seq"] + 1000))),
        ("seq below", changed(lambda d: d.update(seq=0))),
        ("entity", changed(lambda d: d.update(entity="KZ" if d["entity"] != "KZ" else "CN"))),
        ("kind", changed(lambda d: d.update(kind=d["kind"] + "!"))),
        ("cycle_id", changed(lambda d: d.update(cycle_id=(d["cycle_id"] or "") + "x"))),
        ("prev_hash", changed(lambda d: d.update(prev_hash=flip(d["prev_hash"])))),
        ("hash", changed(lambda d: d.update(hash=flip(d["hash"])))),
        ("account", changed(lambda d: d["postings"][0].update(account="participant:mallory"))),
        ("drop posting", changed(lambda d: d["postings"].pop())),
    ]

    def add_minor_unit(d: dict[str, Any], index: int, units: int) -> None:
        posting = d["postings"][index]
        minor = round(Decimal(posting["amount"]).scaleb(_places(posting["currency"])))
        posting["amount"] = format_amount(int(minor) + units, posting["currency"])

    options.append(("unbalanced amount", changed(lambda d: add_minor_unit(d, 0, 1))))
    if len(postings) >= 2 and postings[0]["currency"] == postings[1]["currency"]:
        # Still balanced: one unit moves from one account to another.
        def shift(d: dict[str, Any]) -> None:
            add_minor_unit(d, 0, 1)
            add_minor_unit(d, 1, -1)

        options.append(("balanced amounts", changed(shift)))
    if document.get("cycle") is not None:
        options.append(
            (
                "cycle digest",
                changed(lambda d: d["cycle"].update(digest=flip(d["cycle"]["digest"]))),
            )
        )
        options.append(("cycle policy", changed(lambda d: d["cycle"].update(policy="other"))))
    return options


def _places(currency: str) -> int:
    return len(format_amount(1, currency).partition(".")[2])


def first_problem_seq(documents: list[dict[str, Any]], *, head: str | None = None) -> int | None:
    report = verify_journal(documents, expected_head=head)
    assert not report.ok
    return report.problems[0].seq


@a_third_of_the_examples()
@given(journals(), st.data())
def test_changing_any_entry_is_detected_at_its_seq(journal: Journal, data: st.DataObject) -> None:
    documents = journal.documents()
    index = data.draw(st.integers(0, len(documents) - 1))
    name, tampered = data.draw(st.sampled_from(mutations(documents[index])))
    assert tampered != documents[index], name
    documents[index] = tampered
    _, problems = verify_chain(documents)
    assert problems, name
    assert problems[0].seq == index + 1, (name, problems)


@a_third_of_the_examples()
@given(journals(), st.data())
def test_removing_any_entry_is_detected_at_its_seq(journal: Journal, data: st.DataObject) -> None:
    documents = journal.documents()
    index = data.draw(st.integers(0, len(documents) - 1))
    del documents[index]
    head = journal.chained[-1].hash
    if index < len(documents):
        _, problems = verify_chain(documents)
        assert problems
        assert problems[0].seq == index + 1, problems
    else:
        # The last entry is missing only by comparison with the head hash.
        assert verify_chain(documents)[1] == []
        assert first_problem_seq(documents, head=head) == index + 1


@a_third_of_the_examples()
@given(journals(), st.data())
def test_inserting_an_entry_is_detected_where_it_stands(
    journal: Journal, data: st.DataObject
) -> None:
    documents = journal.documents()
    position = data.draw(st.integers(0, len(documents)))
    forged_entry = manual_entry("CN", "CNY", 1)
    prev_hash = documents[position - 1]["hash"] if position else GENESIS_HASH
    copied = copy.deepcopy(documents[data.draw(st.integers(0, len(documents) - 1))])
    # Either a well-forged entry (right seq, linked to the entry before it) or a copy of one.
    forged = data.draw(
        st.sampled_from(
            [chain([forged_entry], after_seq=position, prev_hash=prev_hash)[0].document(), copied]
        )
    )
    appended = position == len(documents)
    documents.insert(position, forged)
    fits = forged["seq"] == position + 1 and forged["prev_hash"] == prev_hash
    # An entry that fits its place is seen only through the genuine entry it displaced, which
    # is no longer where it should be, or, appended at the end, by the head hash.
    expected = position + 2 if fits and not appended else position + 1
    if fits and appended:
        assert verify_chain(documents)[1] == []
        assert first_problem_seq(documents, head=journal.chained[-1].hash) == expected
    else:
        _, problems = verify_chain(documents)
        assert problems
        assert problems[0].seq == expected, problems


@a_third_of_the_examples()
@given(journals(), st.data())
def test_reordering_entries_is_detected_at_the_first_one_out_of_place(
    journal: Journal, data: st.DataObject
) -> None:
    documents = journal.documents()
    first = data.draw(st.integers(0, len(documents) - 2))
    second = data.draw(st.integers(first + 1, len(documents) - 1))
    documents[first], documents[second] = documents[second], documents[first]
    _, problems = verify_chain(documents)
    assert problems
    assert problems[0].seq == first + 1, problems


@given(settled_results(max_obligations=8), st.data())
def test_a_rewritten_and_rechained_cycle_record_fails_its_replay(
    result: NettingResult, data: st.DataObject
) -> None:
    # An insider rewrites a cycle's snapshot and re-chains everything: the chain is whole, but
    # re-netting the snapshot no longer gives the recorded digest.
    entries = settled_entries(result, "cycle-9")
    record = json.loads(json.dumps(dict(entries[0].cycle or {})))
    row = data.draw(st.integers(0, len(record["obligations"]) - 1))
    obligation = record["obligations"][row]
    obligation[9] = obligation[9] + 1  # its sequence, which the digest covers
    entries[0] = replace(entries[0], cycle=record)
    report = verify_journal([c.document() for c in chain(entries)])
    assert not report.ok
    assert [p.cycle_id for p in report.problems] == ["cycle-9"]
    assert "digest" in report.problems[0].message


def test_a_journal_whose_cycle_does_not_close_is_reported() -> None:
    rates = RateSet("CNY", {"CN": "CNY", "RU": "RUB"}, {"CNY": Decimal(1), "RUB": Decimal("0.08")})
    result = net(
        [
            Obligation("a", "x", "CN", "y", "RU", "CNY", 100_00, date(2026, 1, 1)),
            Obligation("b", "z", "RU", "w", "CN", "CNY", 100_00, date(2026, 1, 1)),
        ],
        rates,
    )
    entries = [e for e in settled_entries(result, "c1") if e.kind != "pay_out"]
    report = verify_journal([c.document() for c in chain(entries)])
    assert not report.ok
    assert {p.cycle_id for p in report.problems} == {"c1"}


def test_rewriting_an_amount_in_another_notation_is_detected_too() -> None:
    rates = RateSet(
        base="CNY",
        jurisdictions={"CN": "CNY", "RU": "RUB"},
        rates={"CNY": Decimal(1), "RUB": Decimal("0.1")},
    )
    result = net(
        [
            Obligation("a", "cn", "CN", "ru", "RU", "CNY", 10000, date(2026, 1, 1)),
            Obligation("b", "ru", "RU", "cn", "CN", "RUB", 100000, date(2026, 1, 1)),
        ],
        rates,
    )
    documents = [entry.document() for entry in chain(settled_entries(result, "c"))]
    amount = documents[1]["postings"][0]["amount"]
    assert amount.endswith("0")
    documents[1]["postings"][0]["amount"] = amount[:-1]
    _, problems = verify_chain(documents)
    assert [p.seq for p in problems] == [2]
