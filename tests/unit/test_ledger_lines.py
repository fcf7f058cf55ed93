"""The ledger with liquidity lines (DESIGN §4b, §5), on journals built from generated netting
results: every entry balances; a settled cycle leaves its line accounts at zero, the settlement
account holding what it took in beyond what it paid out, exactly the jurisdiction's pay-ins
less its pay-outs, and the mirror accounts owing it across the border; the auditor's replay
re-nets each cycle with its line terms and names any line entry, record or balance changed."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from clearing.domain.cycles import PayIn
from clearing.domain.errors import InvalidInput
from clearing.domain.ledger import (
    LINE_ENTRY,
    JournalEntry,
    chain,
    cycle_entries,
    cycle_record,
    journal_line_balances,
    pay_in_entry,
    replay_cycle,
    verify_journal,
)
from clearing.domain.netting import NettingResult, net
from clearing.domain.netting.lines import LineTerms
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet
from tests.unit.budget import costly
from tests.unit.strategies import instances

SETTLED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RATES = RateSet.from_json(
    {
        "base": "CNY",
        "jurisdictions": {"CN": "CNY", "RU": "RUB"},
        "rates": {"CNY": "1", "RUB": "0.0781"},
    }
)


def settled(
    result: NettingResult, cycle_id: str, terms: tuple[LineTerms, ...]
) -> list[JournalEntry]:
    """Every payer's pay-in of its whole due, then the cycle's entries as it settles."""
    pay_ins = [
        pay_in_entry(
            PayIn(f"pay-{cycle_id}-{p.participant_id}", cycle_id, p.participant_id,
                  p.jurisdiction, p.currency, -p.net, f"BANK-{p.participant_id}", "key_op",
                  value_date=SETTLED_AT.date()),
            SETTLED_AT,
        )
        for p in result.positions
        if p.net < 0
    ]  # fmt: skip
    released = cycle_entries(
        result, cycle_id, released_by="key_op", released_at=SETTLED_AT, line_terms=terms
    )
    return pay_ins + released


@st.composite
def lined_results(draw: st.DrawFn) -> tuple[NettingResult, tuple[LineTerms, ...]]:
    """A generated netting instance with one to three lines between its jurisdictions, each in
    one of its two entities' currencies, with a limit and a balance already drawn."""
    instance = draw(instances(max_obligations=10))
    codes = instance.codes
    terms = []
    for number in range(draw(st.integers(1, 3))):
        source, target = draw(st.permutations(codes))[:2]
        currency = draw(
            st.sampled_from([instance.rates.jurisdictions[c] for c in (source, target)])
        )
        limit = draw(st.integers(0, 10**13))
        balance = draw(st.integers(0, limit))
        terms.append(LineTerms(f"ln_{number}", source, target, currency, limit, balance))
    try:
        result = net(instance.obligations, instance.rates, instance.policy, lines=terms)
    except InvalidInput:
        assume(False)  # totals beyond the solver's bound: refused, and not what is tested here
        raise
    return result, tuple(terms)


@costly()
@given(lined_results())
def test_a_cycle_with_lines_closes_every_account_but_what_the_lines_carry_across_the_border(
    lined: tuple[NettingResult, tuple[LineTerms, ...]],
) -> None:
    result, terms = lined
    entries = settled(result, "cycle-1", terms)
    moved: dict[tuple[str, str], int] = defaultdict(int)
    for entry in entries:
        currency = result.rates.jurisdictions[entry.entity]
        assert {p.currency for p in entry.postings} == {currency}
        assert sum(p.amount for p in entry.postings) == 0
        for posting in entry.postings:
            moved[(entry.entity, posting.account)] += posting.amount
    for total in result.jurisdictions:
        entity, flow = total.jurisdiction, total.pay_in - total.pay_out
        mine = {account: amount for (e, account), amount in moved.items() if e == entity}
        assert mine.get("settlement", 0) == flow
        assert sum(a for account, a in mine.items() if account.startswith("mirror:")) == -flow
        for account, amount in mine.items():
            if account.startswith(("line:", "participant:")):
                assert amount == 0, (entity, account)
    # Each moved line is booked in the books of its two ends (unless its flow there is nil),
    # naming its balance after the cycle.
    booked = [e for e in entries if e.kind == LINE_ENTRY]
    assert {(e.entity, (e.details or {})["line_id"]) for e in booked} == {
        (end, m.line_id)
        for m in result.lines
        for end, flow in ((m.source, m.source_flow), (m.target, m.target_flow))
        if m.moved and flow
    }
    assert journal_line_balances(entries) == {
        m.line_id: m.balance for m in result.lines if m.moved and (m.source_flow or m.target_flow)
    }
    # The journal holds this one cycle (when it settled anything): a line that had a balance
    # before it is the one thing the audit names (no earlier cycle of the journal drew it).
    report = verify_journal([c.document() for c in chain(entries)])
    recorded = any(e.cycle is not None for e in entries)
    assert sorted(p.message for p in report.problems) == sorted(
        f"line {t.line_id} nets at balance {t.balance}; the journal left it at 0"
        for t in terms
        if t.balance and recorded
    )


@costly()
@given(lined_results())
def test_the_cycle_record_carries_the_line_terms_and_replays_to_the_same_result(
    lined: tuple[NettingResult, tuple[LineTerms, ...]],
) -> None:
    result, terms = lined
    record = json.loads(json.dumps(cycle_record(result, "cycle-1", terms)))
    entries = settled(result, "cycle-1", terms)
    assert [dict(e.cycle) for e in entries if e.cycle is not None] in ([], [record])
    assert [line["id"] for line in record["lines"]] == sorted(t.line_id for t in terms)
    replayed = replay_cycle(record)
    assert replayed.digest == result.digest
    assert replayed.lines == result.lines


# --- what the auditor's replay names ------------------------------------------------------------


def obligation(n: int, debtor_side: str, amount: int) -> Obligation:
    creditor_side = "RU" if debtor_side == "CN" else "CN"
    return Obligation(
        f"o-{n}", f"{debtor_side}-d{n}", debtor_side, f"{creditor_side}-c{n}", creditor_side,
        "CNY", amount, date(2026, 12, 1),
    )  # fmt: skip


def two_cycles() -> list[JournalEntry]:
    """Cycle 1 draws 500.00 on a CN -> RU line; cycle 2 nets with the balance it left."""
    first_terms = (LineTerms("ln_1", "CN", "RU", "CNY", 800_00, 0),)
    first = net(
        [obligation(1, "CN", 1000_00), obligation(2, "RU", 500_00)],
        RATES,
        Policy.FIFO,
        lines=first_terms,
    )
    assert [(m.drawn, m.balance) for m in first.lines] == [(500_00, 500_00)]
    second_terms = (LineTerms("ln_1", "CN", "RU", "CNY", 800_00, 500_00),)
    second = net(
        [obligation(3, "RU", 900_00), obligation(4, "CN", 100_00)],
        RATES,
        Policy.FIFO,
        lines=second_terms,
    )
    assert [(m.repaid, m.balance) for m in second.lines] == [(500_00, 0)]
    return settled(first, "cycle-1", first_terms) + settled(second, "cycle-2", second_terms)


def documents(entries: list[JournalEntry]) -> list[dict[str, Any]]:
    return [c.document() for c in chain(entries)]


def test_a_journal_of_cycles_drawing_and_repaying_a_line_verifies() -> None:
    report = verify_journal(documents(two_cycles()))
    assert report.ok, report.problems
    assert report.cycles == 2


def test_a_line_entry_rewritten_and_rechained_is_named_at_its_seq() -> None:
    entries = two_cycles()
    at = next(i for i, e in enumerate(entries) if e.kind == LINE_ENTRY)
    details = dict(entries[at].details or {})
    entries[at] = replace(entries[at], details={**details, "balance": "400.00"})
    report = verify_journal(documents(entries))
    assert [p.seq for p in report.problems] == [at + 1]
    assert "not what re-netting the cycle gives" in report.problems[0].message


def test_a_line_flow_posted_in_another_amount_is_named_at_its_seq() -> None:
    entries = two_cycles()
    at = next(i for i, e in enumerate(entries) if e.kind == LINE_ENTRY and e.entity == "RU")
    postings = entries[at].postings
    entries[at] = replace(
        entries[at],
        postings=tuple(replace(p, amount=p.amount + (1 if p.amount > 0 else -1)) for p in postings),
    )
    report = verify_journal(documents(entries))
    assert at + 1 in {p.seq for p in report.problems}
    assert any(p.cycle_id == "cycle-1" for p in report.problems)  # and the cycle stays open


def test_a_line_entry_left_out_leaves_its_cycle_open() -> None:
    entries = two_cycles()
    at = next(i for i, e in enumerate(entries) if e.kind == LINE_ENTRY)
    report = verify_journal(documents(entries[:at] + entries[at + 1 :]))
    messages = [p.message for p in report.problems if p.cycle_id == "cycle-1"]
    assert any("line:ln_1 moved" in m for m in messages), report.problems


def test_a_cycle_record_netting_a_line_at_another_balance_than_the_journal_left_is_named() -> None:
    entries = two_cycles()
    at = next(i for i, e in enumerate(entries) if e.cycle is not None and e.cycle_id == "cycle-2")
    record = dict(entries[at].cycle or {})
    # Rewritten consistently: the record's digest is what re-netting at that balance gives.
    record["lines"] = [{**record["lines"][0], "balance": "0.00"}]
    record["digest"] = replay_cycle(record).digest
    entries[at] = replace(entries[at], cycle=record)
    report = verify_journal(documents(entries))
    assert any(
        p.cycle_id == "cycle-2" and "the journal left it at 50000" in p.message
        for p in report.problems
    ), report.problems
