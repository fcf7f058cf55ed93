"""Ageing rules (DESIGN §6a) as a pure function of an invoice's figures, the rules and the day:
what is stale, which rule flags it, and how old the carried value is."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.domain.ageing import (
    MAX_THRESHOLD,
    AgeingKind,
    AgeingRule,
    StaleTest,
    bucket_of,
    bucket_starts,
    carried_totals,
    check_ageing_rule,
    days_overdue,
    default_ageing_rules,
    flagged_by,
    stale_test,
)
from clearing.domain.errors import InvalidInput
from clearing.domain.imbalance import AGE_BUCKETS
from clearing.domain.invoices import POOL, Status

TODAY = date(2026, 12, 4)
CYCLES = AgeingKind.CYCLES_CARRIED
DAYS = AgeingKind.DAYS_OVERDUE


def rule(kind: AgeingKind, threshold: int) -> AgeingRule:
    return AgeingRule(kind, threshold)


# --- the rules as data ------------------------------------------------------------------------


def test_a_rule_is_a_known_kind_with_a_whole_threshold_from_one() -> None:
    assert check_ageing_rule("cycles_carried", 3) == AgeingRule(CYCLES, 3)
    assert check_ageing_rule(DAYS, MAX_THRESHOLD[DAYS]) == AgeingRule(DAYS, 3653)
    assert check_ageing_rule(DAYS, 30).name == "days_overdue:30"


@pytest.mark.parametrize(
    ("kind", "threshold", "field"),
    [
        ("weeks_late", 3, "kind"),
        ("", 3, "kind"),
        ("cycles_carried", 0, "threshold"),
        ("cycles_carried", -1, "threshold"),
        ("cycles_carried", 1001, "threshold"),
        ("days_overdue", 3654, "threshold"),
        ("days_overdue", True, "threshold"),
        ("days_overdue", "30", "threshold"),
        ("days_overdue", 30.0, "threshold"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(kind: str, threshold: object, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_ageing_rule(kind, threshold)

    assert refused.value.field == field


def test_the_shipped_default_flags_six_cycles_carried_or_a_month_overdue() -> None:
    assert [(r.kind, r.threshold) for r in default_ageing_rules()] == [(CYCLES, 6), (DAYS, 30)]


# --- what is stale ----------------------------------------------------------------------------


def test_an_invoice_is_one_day_overdue_the_day_after_its_due_date() -> None:
    assert days_overdue(TODAY, TODAY) == 0
    assert days_overdue(TODAY + timedelta(days=5), TODAY) == 0
    assert days_overdue(TODAY - timedelta(days=1), TODAY) == 1


def test_a_days_overdue_rule_flags_from_its_threshold_on() -> None:
    test = stale_test([rule(DAYS, 10)], TODAY)

    assert test.due_by == TODAY - timedelta(days=10)
    assert test.flags(Status.ELIGIBLE, 0, TODAY - timedelta(days=10))
    assert not test.flags(Status.ELIGIBLE, 0, TODAY - timedelta(days=9))


def test_a_cycles_carried_rule_flags_from_its_threshold_on() -> None:
    test = stale_test([rule(CYCLES, 3)], TODAY)

    assert test.flags(Status.IN_CYCLE, 3, TODAY)
    assert test.flags(Status.ELIGIBLE, 4, TODAY)
    assert not test.flags(Status.ELIGIBLE, 2, TODAY)


def test_the_least_threshold_of_each_kind_decides() -> None:
    test = stale_test([rule(CYCLES, 5), rule(DAYS, 60), rule(CYCLES, 2), rule(DAYS, 7)], TODAY)

    assert test == StaleTest(2, TODAY - timedelta(days=7))


def test_without_rules_nothing_is_stale() -> None:
    test = stale_test([], TODAY)

    assert test.flags_nothing
    assert not test.flags(Status.ELIGIBLE, 1000, date(2000, 1, 1))


@pytest.mark.parametrize("status", sorted(set(Status) - POOL))
def test_only_an_invoice_in_the_pool_can_be_stale(status: Status) -> None:
    rules = [rule(CYCLES, 1), rule(DAYS, 1)]
    test = stale_test(rules, TODAY)

    assert not test.flags(status, 10, date(2020, 1, 1))
    assert flagged_by(rules, status, 10, date(2020, 1, 1), TODAY) == []


def test_the_rules_that_flag_an_invoice_are_named() -> None:
    rules = [rule(CYCLES, 2), rule(CYCLES, 4), rule(DAYS, 30)]

    found = flagged_by(rules, Status.ELIGIBLE, 3, TODAY - timedelta(days=31), TODAY)

    assert found == [rule(CYCLES, 2), rule(DAYS, 30)]


rules_strategy = st.lists(
    st.builds(
        AgeingRule,
        st.sampled_from(list(AgeingKind)),
        st.integers(min_value=1, max_value=40),
    ),
    max_size=4,
)


@given(
    rules=rules_strategy,
    status=st.sampled_from(list(Status)),
    carried=st.integers(min_value=0, max_value=50),
    overdue=st.integers(min_value=-30, max_value=60),
)
def test_the_reduced_test_flags_exactly_what_some_rule_flags(
    rules: list[AgeingRule], status: Status, carried: int, overdue: int
) -> None:
    due = TODAY - timedelta(days=overdue)

    reduced = stale_test(rules, TODAY).flags(status, carried, due)

    assert reduced == bool(flagged_by(rules, status, carried, due, TODAY))


# --- how old the carried value is ----------------------------------------------------------------

AS_OF = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (timedelta(0), "0-30"),
        (timedelta(days=30, hours=23), "0-30"),
        (timedelta(days=31), "31-60"),
        (timedelta(days=60, hours=23, minutes=59), "31-60"),
        (timedelta(days=61), "61-90"),
        (timedelta(days=91), "90+"),
        (timedelta(days=-1), "0-30"),
    ],
)
def test_an_age_falls_in_its_bucket_by_whole_days(age: timedelta, bucket: str) -> None:
    assert bucket_of(AS_OF - age, AS_OF) == bucket


@given(seconds=st.integers(min_value=-86_400 * 5, max_value=86_400 * 400))
def test_the_bucket_starts_storage_compares_with_put_an_age_in_the_report_s_bucket(
    seconds: int,
) -> None:
    first_eligible_at = AS_OF - timedelta(seconds=seconds)
    starts = bucket_starts(AS_OF)

    by_starts = next(label for label, start in starts if start is None or first_eligible_at > start)

    assert by_starts == bucket_of(first_eligible_at, AS_OF)
    days = max(0, (AS_OF - first_eligible_at).days)
    assert by_starts == next(
        label
        for label, first, last in AGE_BUCKETS
        if first <= days and (last is None or days <= last)
    )


def test_carried_totals_sum_by_corridor_currency_and_bucket_youngest_first() -> None:
    old = AS_OF - timedelta(days=100)
    young = AS_OF - timedelta(days=3)
    overdue = AS_OF.date() - timedelta(days=1)
    due_today = AS_OF.date()
    rows = [
        ("RU", "CN", "CNY", 100, old, overdue),
        ("RU", "CN", "CNY", 50, young, due_today),
        ("RU", "CN", "CNY", 7, young, overdue),
        ("CN", "RU", "RUB", 900, old, due_today),
        ("RU", "CN", "USD", 3, old, overdue),
    ]

    totals = carried_totals(rows, AS_OF)

    assert [(t.source, t.target, t.currency, t.bucket) for t in totals] == [
        ("CN", "RU", "RUB", "90+"),
        ("RU", "CN", "CNY", "0-30"),
        ("RU", "CN", "CNY", "90+"),
        ("RU", "CN", "USD", "90+"),
    ]
    assert [(t.outstanding, t.overdue, t.obligations) for t in totals] == [
        (900, 0, 1),
        (57, 7, 2),
        (100, 100, 1),
        (3, 3, 1),
    ]
