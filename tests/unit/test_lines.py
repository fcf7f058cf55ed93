"""Liquidity lines as records (DESIGN §4b): proposed by one entity and confirmed by the other, a
new limit likewise, never below the balance; the terms a cycle nets with; a settled cycle's
draw or repayment moving the balance it netted with, and nothing else."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.domain.access import Principal, Role
from clearing.domain.errors import Conflict, InvalidInput
from clearing.domain.lines import (
    Line,
    LineAction,
    LineStatus,
    Movement,
    apply_movement,
    check_unique,
    confirm,
    cycle_movements,
    new_line,
    parse_limit,
    propose_limit,
)
from clearing.domain.netting.lines import LineMovement, LineTerms

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ENTITIES = {"CN": "CNY", "RU": "RUB", "KZ": "KZT"}


def proposed(limit: str = "5000.00", proposer: str = "CN", **kw: str) -> Line:
    line, _ = new_line(
        "ln_1",
        kw.get("source", "CN"),
        kw.get("target", "RU"),
        kw.get("currency", "CNY"),
        limit,
        entity_currencies=ENTITIES,
        proposer=proposer,
        proposed_by=f"op-{proposer}",
        at=AT,
    )
    return line


def active(limit: str = "5000.00", balance: int = 0) -> Line:
    line, _ = confirm(proposed(limit), "RU", "op-RU", AT)
    return replace(line, balance=balance)


def test_a_proposed_line_is_pending_with_no_balance_and_awaits_the_other_entity() -> None:
    line, event = new_line(
        "ln_1",
        "CN",
        "RU",
        "RUB",
        "1200.50",
        entity_currencies=ENTITIES,
        proposer="RU",
        proposed_by="op-RU",
        at=AT,
    )
    assert (line.status, line.limit, line.balance, line.awaiting) == (
        LineStatus.PENDING,
        1200_50,
        0,
        "CN",
    )
    assert (event.action, event.limit, event.entity, event.actor) == (
        LineAction.PROPOSED,
        1200_50,
        "RU",
        "op-RU",
    )


@pytest.mark.parametrize(
    ("source", "target", "currency", "proposer", "field"),
    [
        ("XX", "RU", "CNY", "RU", "from"),
        ("CN", "XX", "CNY", "CN", "to"),
        ("CN", "CN", "CNY", "CN", "to"),
        ("CN", "RU", "CNY", "KZ", "from"),
        ("CN", "RU", "KZT", "CN", "currency"),
        ("CN", "RU", "usd", "CN", "currency"),
    ],
)
def test_a_line_of_unknown_or_other_entities_or_in_a_third_currency_is_refused_naming_a_field(
    source: str, target: str, currency: str, proposer: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        new_line(
            "ln_1",
            source,
            target,
            currency,
            "100.00",
            entity_currencies=ENTITIES,
            proposer=proposer,
            proposed_by="op",
            at=AT,
        )
    assert refused.value.field == field


@pytest.mark.parametrize(("text", "minor"), [("0", 0), ("0.00", 0), ("1", 100), ("12.34", 1234)])
def test_a_limit_is_zero_or_more_in_major_units(text: str, minor: int) -> None:
    assert parse_limit(text, "CNY") == minor


@pytest.mark.parametrize("text", ["-1.00", "0.001", "1e3", "", "abc", "1" * 20, " 5"])
def test_a_limit_that_is_not_a_plain_non_negative_amount_is_refused_naming_limit(
    text: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_limit(text, "CNY")
    assert refused.value.field == "limit"


def test_one_line_per_direction_and_currency() -> None:
    line = proposed()
    check_unique(replace(line, currency="RUB"), [line])
    check_unique(replace(line, source="RU", target="CN"), [line])
    with pytest.raises(Conflict):
        check_unique(replace(line, id="ln_2"), [line])


def test_only_the_other_entity_confirms_a_line_and_then_it_is_active() -> None:
    line = proposed(proposer="CN")
    with pytest.raises(Conflict) as refused:
        confirm(line, "CN", "op-CN-2", AT)
    assert refused.value.field == "entity"
    confirmed, event = confirm(line, "RU", "op-RU", AT)
    assert confirmed.status is LineStatus.ACTIVE
    assert (confirmed.confirmed_by, confirmed.confirmed_at, confirmed.awaiting) == (
        "op-RU",
        AT,
        None,
    )
    assert event.action is LineAction.CONFIRMED
    with pytest.raises(Conflict):
        confirm(confirmed, "RU", "op-RU", AT)


def test_a_new_limit_waits_for_the_other_entity_and_the_old_one_holds_until_then() -> None:
    line = active("5000.00")
    with pytest.raises(Conflict):
        propose_limit(proposed(), "CN", "6000.00", "op-CN", AT)  # still pending
    changed, event = propose_limit(line, "RU", "7000.00", "op-RU", AT)
    assert (changed.limit, changed.pending_change and changed.pending_change.limit) == (
        5000_00,
        7000_00,
    )
    assert changed.terms().limit == 5000_00
    assert changed.awaiting == "CN"
    assert event.action is LineAction.LIMIT_PROPOSED
    with pytest.raises(Conflict):
        confirm(changed, "RU", "op-RU-2", AT)
    confirmed, event = confirm(changed, "CN", "op-CN", AT)
    assert (confirmed.limit, confirmed.pending_change) == (7000_00, None)
    assert event.action is LineAction.LIMIT_CONFIRMED


def test_a_second_proposal_replaces_the_change_waiting_and_the_other_entity_confirms_it() -> None:
    first, _ = propose_limit(active(), "CN", "6000.00", "op-CN", AT)
    second, _ = propose_limit(first, "RU", "4000.00", "op-RU", AT)
    assert second.awaiting == "CN"
    confirmed, _ = confirm(second, "CN", "op-CN", AT)
    assert confirmed.limit == 4000_00


def test_a_limit_is_never_set_below_the_balance_proposed_or_confirmed() -> None:
    line = active("5000.00", balance=3000_00)
    with pytest.raises(Conflict) as refused:
        propose_limit(line, "CN", "2999.99", "op-CN", AT)
    assert refused.value.field == "limit"
    changed, _ = propose_limit(line, "CN", "3000.00", "op-CN", AT)
    assert confirm(changed, "RU", "op-RU", AT)[0].limit == 3000_00
    # The balance rose (a cycle settled) between the proposal and its confirmation.
    with pytest.raises(Conflict):
        confirm(replace(changed, balance=3500_00), "RU", "op-RU", AT)


def test_a_limit_change_by_a_third_entity_or_to_the_same_limit_is_refused() -> None:
    with pytest.raises(InvalidInput):
        propose_limit(active(), "KZ", "1.00", "op-KZ", AT)
    with pytest.raises(Conflict):
        propose_limit(active("5000.00"), "CN", "5000.00", "op-CN", AT)


def test_a_line_over_its_limit_nets_with_room_to_repay_only() -> None:
    terms = active("100.00", balance=150_00).terms()
    assert terms == LineTerms("ln_1", "CN", "RU", "CNY", 150_00, 150_00)
    assert active("100.00", balance=40_00).terms().limit == 100_00


def test_a_cycle_keeps_one_movement_per_line_it_nets_with() -> None:
    terms = [
        LineTerms("ln_b", "CN", "RU", "CNY", 100, 10),
        LineTerms("ln_a", "RU", "CN", "RUB", 50, 0),
    ]
    drew = LineMovement("ln_b", "CN", "RU", "CNY", 30, 0, 40)
    assert cycle_movements(terms, [drew]) == (
        LineMovement("ln_a", "RU", "CN", "RUB", 0, 0, 0),
        drew,
    )


@given(before=st.integers(0, 10**12), change=st.integers(-(10**12), 10**12))
def test_a_settled_movement_moves_the_balance_it_netted_with_and_no_other(
    before: int, change: int
) -> None:
    drawn, repaid = max(change, 0), min(max(-change, 0), before)
    after = before + drawn - repaid
    line = active("0", balance=before)
    movement = LineMovement("ln_1", "CN", "RU", "CNY", drawn, repaid, after)
    moved, record = apply_movement(line, movement, "cyc_1")
    assert moved.balance == after
    assert record == Movement("ln_1", "cyc_1", drawn, repaid, after)
    with pytest.raises(Conflict):
        apply_movement(replace(line, balance=before + 1), movement, "cyc_1")


@given(
    st.sampled_from([("CN", "RU"), ("RU", "KZ"), ("KZ", "CN")]),
    st.sampled_from(
        [
            Principal("o", Role.OPERATOR, "CN"),
            Principal("o", Role.OPERATOR, "RU"),
            Principal("o", Role.OPERATOR, "KZ"),
            Principal("t", Role.TRADER, "CN", "CN-1"),
            Principal("a", Role.AUDITOR),
        ]
    ),
)
def test_a_line_is_seen_by_the_operators_of_its_two_entities_and_the_auditors(
    parties: tuple[str, str], principal: Principal
) -> None:
    expected = principal.role is Role.AUDITOR or (
        principal.role is Role.OPERATOR and principal.entity in parties
    )
    assert principal.sees_line(*parties) is expected
