"""Ageing and the stale queue (DESIGN §6a) through the use cases: when an invoice first became
eligible, how many cycles carried it (a settled cycle that leaves it in the pool and a default
that drops it count; a rejected proposal does not; a superseded cycle and its successor count
once), which invoices the ageing rules flag as of a day, and the rules themselves."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from clearing.domain.ageing import AgeingKind, AgeingRule, default_ageing_rules
from clearing.domain.cycles import CycleStatus
from clearing.domain.errors import Conflict, InvalidInput, NotFound
from clearing.domain.invoices import Invoice, Status
from clearing.use_cases import ageing, cycles, invoices, settlement
from tests.unit.use_cases.world import World

#: Every invoice of the world falls due on 2026-12-15.
DUE = datetime(2026, 12, 15, tzinfo=UTC)


def queue(world: World, who: str = "auditor", as_of: datetime = DUE) -> list[str]:
    """The stale queue as the auditor, an entity's operator or a trader sees it."""
    principal = (
        world.auditor
        if who == "auditor"
        else world.op(who)
        if who in world.operators
        else world.traders[who]
    )
    found = invoices.list_invoices(world.uows(), principal, stale=True, as_of=as_of)
    assert all(i.stale for i in found)
    return [i.invoice_number for i in found]


def carried(world: World, *numbers: str) -> list[int]:
    listed = {i.invoice_number: i for i in invoices.list_invoices(world.uows(), world.auditor)}
    return [listed[n].cycles_carried for n in numbers]


def settle_cycle(world: World) -> None:
    proposed = world.propose()
    if proposed.status is not CycleStatus.SETTLED:
        world.pay_everything(world.approve_all(proposed))


def partly_matched(world: World) -> tuple[Invoice, Invoice]:
    """cn0 owes ru0 1,000.00 and ru0 owes cn0 400.00: a cycle settles the second in full and
    carries 600.00 of the first."""
    return (
        world.eligible("ru0", "cn0", "1000.00", number="A"),
        world.eligible("cn0", "ru0", "400.00", number="B"),
    )


# --- first eligibility --------------------------------------------------------------------------


def test_an_invoice_is_first_eligible_when_its_importer_first_confirms_it(world: World) -> None:
    submitted = world.submit("cn0", "ru0", number="C-1")
    before = datetime.now(UTC)
    confirmed = invoices.confirm_invoice(
        world.uows(), world.traders["ru0"], submitted.id, "CNY", "1000.00"
    )
    invoices.dispute_invoice(world.uows(), world.traders["ru0"], submitted.id, "short")
    again = invoices.confirm_invoice(
        world.uows(), world.traders["ru0"], submitted.id, "CNY", "1000.00"
    )

    assert submitted.first_eligible_at is None
    assert confirmed.first_eligible_at is not None
    assert before <= confirmed.first_eligible_at <= datetime.now(UTC)
    assert again.first_eligible_at == confirmed.first_eligible_at
    assert world.invoice(submitted.id).first_eligible_at == confirmed.first_eligible_at


def test_a_confirmation_that_differs_makes_nothing_eligible(world: World) -> None:
    submitted = world.submit("cn0", "ru0")

    disputed = invoices.confirm_invoice(
        world.uows(), world.traders["ru0"], submitted.id, "CNY", "999.00"
    )

    assert disputed.status is Status.DISPUTED
    assert disputed.first_eligible_at is None


# --- cycles carried ---------------------------------------------------------------------------


def test_a_settled_cycle_carries_what_it_leaves_in_the_pool_and_not_what_it_settles(
    world: World,
) -> None:
    partly_matched(world)
    proposed = world.propose()
    assert carried(world, "A", "B") == [0, 0]  # taken, not yet carried

    world.pay_everything(world.approve_all(proposed))
    assert carried(world, "A", "B") == [1, 0]
    settle_cycle(world)  # nothing matches the 600.00 left
    assert carried(world, "A", "B") == [2, 0]


def test_a_rejected_proposal_carries_nothing(world: World) -> None:
    partly_matched(world)
    proposed = world.propose()

    cycles.reject_cycle(world.uows(), world.op("CN"), proposed.id, "rates disputed")

    assert carried(world, "A", "B") == [0, 0]


def test_a_default_carries_what_it_drops_and_the_successor_counts_once_for_both_cycles(
    world: World,
) -> None:
    world.eligible("ru0", "cn0", "1000.00", number="A")  # cn0 pays in 400.00 of it
    world.eligible("cn1", "ru1", "400.00", number="B")
    world.eligible("kz0", "ru1", "300.00", number="K")
    world.eligible("ru1", "kz0", "300.00", number="L")
    proposed = world.approve_all(world.propose())
    assert "cn0" in world.due(proposed)

    successor = settlement.declare_default(
        world.uows(), world.op("CN"), proposed.id, world.id("cn0"), "did not pay"
    )
    if successor.status is not CycleStatus.SETTLED:
        world.pay_everything(world.approve_all(successor))

    # A was dropped with the defaulter; the successor matched nothing of B and all of K and L.
    assert carried(world, "A", "B", "K", "L") == [1, 1, 0, 0]


# --- the stale queue --------------------------------------------------------------------------


def test_an_invoice_overdue_the_rule_s_days_is_stale_until_released(world: World) -> None:
    ageing.add_ageing_rule(world.uows(), "days_overdue", 30, "a month overdue")
    pooled = world.eligible("cn0", "ru0", number="P")
    world.submit("cn1", "ru1", number="W")  # awaiting confirmation: not in the pool

    assert queue(world, as_of=DUE + timedelta(days=29)) == []
    assert queue(world, as_of=DUE + timedelta(days=30)) == ["P"]
    assert invoices.get_invoice(
        world.uows(), world.auditor, pooled.id, as_of=DUE + timedelta(days=30)
    ).stale
    assert not invoices.get_invoice(world.uows(), world.auditor, pooled.id, as_of=DUE).stale

    released = invoices.release_invoices(
        world.uows(), world.op("CN"), [pooled.id], "stale: a month overdue"
    )

    assert not released[0].stale  # type: ignore[union-attr]
    assert queue(world, as_of=DUE + timedelta(days=30)) == []


def test_an_invoice_carried_the_rule_s_cycles_is_stale_in_a_cycle_and_out(world: World) -> None:
    ageing.add_ageing_rule(world.uows(), AgeingKind.CYCLES_CARRIED, 2)
    partly_matched(world)
    settle_cycle(world)
    assert queue(world) == []

    # K and L match: the cycle awaits its approvals, and until it settles it carries nothing.
    world.eligible("kz0", "ru1", "300.00", number="K")
    world.eligible("ru1", "kz0", "300.00", number="L")
    proposed = world.propose()
    assert proposed.status is CycleStatus.PROPOSED
    assert queue(world) == []
    world.pay_everything(world.approve_all(proposed))
    assert queue(world) == ["A"]

    world.eligible("kz0", "ru1", "200.00", number="M")
    world.eligible("ru1", "kz0", "200.00", number="N")
    world.propose()
    shown = invoices.list_invoices(world.uows(), world.auditor, stale=True, as_of=DUE)
    assert [(i.invoice_number, i.status) for i in shown] == [("A", Status.IN_CYCLE)]


def test_the_stale_queue_and_the_rest_part_the_visible_invoices(world: World) -> None:
    ageing.add_ageing_rule(world.uows(), "days_overdue", 1)
    world.eligible("cn0", "ru0", number="CN-RU")
    world.eligible("kz0", "ru1", number="KZ-RU")
    world.submit("kz0", "cn1", number="KZ-CN")
    later = DUE + timedelta(days=1)

    assert queue(world, as_of=later) == ["CN-RU", "KZ-RU"]
    assert queue(world, "CN", as_of=later) == ["CN-RU"]
    assert queue(world, "ru1", as_of=later) == ["KZ-RU"]
    rest = invoices.list_invoices(world.uows(), world.auditor, stale=False, as_of=later)
    assert [(i.invoice_number, i.stale) for i in rest] == [("KZ-CN", False)]
    page = invoices.list_invoices(world.uows(), world.auditor, stale=True, as_of=later, limit=1)
    after = invoices.list_invoices(
        world.uows(), world.auditor, stale=True, as_of=later, after_sequence=page[0].sequence
    )
    assert [i.invoice_number for i in page + after] == ["CN-RU", "KZ-RU"]


def test_a_confirmation_past_due_is_answered_stale(world: World) -> None:
    ageing.add_ageing_rule(world.uows(), "days_overdue", 1)
    draft = replace(
        world.draft("ru0", number="OLD"), issue_date=date(2020, 1, 2), due_date=date(2020, 3, 2)
    )
    submitted = invoices.submit_invoice(world.uows(), world.traders["cn0"], draft)

    confirmed = invoices.confirm_invoice(
        world.uows(), world.traders["ru0"], submitted.id, "CNY", "1000.00"
    )

    assert confirmed.stale


def test_without_ageing_rules_nothing_is_stale(world: World) -> None:
    world.eligible("cn0", "ru0")

    assert queue(world, as_of=DUE + timedelta(days=3000)) == []


def test_the_stale_filter_must_be_true_or_false(world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        invoices.list_invoices(world.uows(), world.auditor, stale="yes")  # type: ignore[arg-type]

    assert refused.value.field == "stale"


# --- the rules ----------------------------------------------------------------------------------


def test_ageing_rules_are_added_listed_and_removed(world: World) -> None:
    added = ageing.add_ageing_rule(world.uows(), "cycles_carried", 4, " four cycles ")
    ageing.add_ageing_rule(world.uows(), "days_overdue", 60)

    assert added == AgeingRule(AgeingKind.CYCLES_CARRIED, 4, "four cycles")
    assert ageing.list_ageing_rules(world.uows()) == [
        added,
        AgeingRule(AgeingKind.DAYS_OVERDUE, 60),
    ]
    ageing.remove_ageing_rule(world.uows(), "days_overdue", 60)
    assert ageing.list_ageing_rules(world.uows()) == [added]


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        (lambda w: ageing.add_ageing_rule(w.uows(), "cycles_carried", 6), Conflict, "threshold"),
        (lambda w: ageing.add_ageing_rule(w.uows(), "weekly", 6), InvalidInput, "kind"),
        (lambda w: ageing.add_ageing_rule(w.uows(), "days_overdue", 0), InvalidInput, "threshold"),
        (
            lambda w: ageing.add_ageing_rule(w.uows(), "days_overdue", 5, "\x00"),
            InvalidInput,
            "description",
        ),
        (lambda w: ageing.remove_ageing_rule(w.uows(), "days_overdue", 7), NotFound, "threshold"),
        (lambda w: ageing.remove_ageing_rule(w.uows(), "daily", 7), InvalidInput, "kind"),
    ],
)
def test_a_bad_change_to_the_rules_is_refused_naming_the_field_and_changes_nothing(
    world: World, change: object, error: type[Exception], field: str
) -> None:
    ageing.add_ageing_rule(world.uows(), "cycles_carried", 6)

    with pytest.raises(error) as refused:
        change(world)  # type: ignore[operator]

    assert refused.value.field == field  # type: ignore[attr-defined]
    assert ageing.list_ageing_rules(world.uows()) == [AgeingRule(AgeingKind.CYCLES_CARRIED, 6)]


def test_resetting_restores_the_shipped_default_and_keeps_the_others(world: World) -> None:
    kept = ageing.add_ageing_rule(world.uows(), "days_overdue", 90)

    restored = ageing.reset_ageing_rules(world.uows())

    assert set(restored) == {*default_ageing_rules(), kept}
