"""The invoice use cases keep the lifecycle of DESIGN §6: each action starts only from the states
``LIFECYCLE`` allows, a refusal is a conflict naming the status and changes nothing; who may
take each action; submission rules (duplicates, screening, cross-border only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from clearing.domain.errors import ClearingError, Conflict, Forbidden, InvalidInput, NotFound
from clearing.domain.invoices import LIFECYCLE, Action, Invoice, Status
from clearing.use_cases import invoices
from clearing.use_cases.compliance import add_rule
from tests.unit.use_cases.world import World


def invoice_in(world: World, status: Status) -> Invoice:
    """An invoice from ru0 to cn0 (cn0 owes 1,000.00 CNY), brought to ``status`` through the
    use cases."""
    exporter, importer = world.traders["ru0"], world.traders["cn0"]
    if status is Status.REJECTED:
        return world.submit("ru0", "cn0", hs_code="930190")  # arms: blocked by default
    if status in (Status.IN_CYCLE, Status.SETTLED):
        invoice = world.eligible("ru0", "cn0", "1000.00")
        # The other way round: fully matched (nothing to pay in), or in part (pay-ins due).
        world.eligible("cn0", "ru0", "1000.00" if status is Status.SETTLED else "400.00")
        cycle = world.propose()
        if status is Status.SETTLED:
            world.approve_all(cycle)
        return world.invoice(invoice.id)
    invoice = (
        world.eligible("ru0", "cn0") if status is Status.ELIGIBLE else world.submit("ru0", "cn0")
    )
    uow = world.uows
    if status is Status.DISPUTED:
        invoices.dispute_invoice(uow(), importer, invoice.id, "goods not as ordered")
    elif status is Status.CANCELLED:
        invoices.cancel_invoice(uow(), exporter, invoice.id, "order withdrawn")
    elif status is Status.RELEASED:
        invoices.release_invoice(uow(), world.op("CN"), invoice.id, "paid by letter of credit")
    return world.invoice(invoice.id)


Act = Callable[[World, Invoice], Invoice]

ACTIONS: dict[Action, Act] = {
    Action.CONFIRM: lambda w, i: invoices.confirm_invoice(
        w.uows(), w.traders["cn0"], i.id, "CNY", "1000.00"
    ),
    Action.DISPUTE: lambda w, i: invoices.dispute_invoice(
        w.uows(), w.traders["cn0"], i.id, "short delivery"
    ),
    Action.CANCEL: lambda w, i: invoices.cancel_invoice(
        w.uows(), w.traders["ru0"], i.id, "withdrawn"
    ),
    Action.RELEASE: lambda w, i: invoices.release_invoice(
        w.uows(), w.op("RU"), i.id, "settled outside"
    ),
}


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_action_starts_only_from_the_states_the_lifecycle_allows(
    world: World, action: Action, status: Status
) -> None:
    before = invoice_in(world, status)
    assert before.status is status
    history = world.history(before.id)
    transition = LIFECYCLE[action]

    if status in transition.sources:
        after = ACTIONS[action](world, before)
        assert after.status is transition.target
        stored = world.invoice(before.id)
        assert (stored.status, stored.outstanding) == (transition.target, before.outstanding)
        added = world.history(before.id)[len(history) :]
        assert [(e.from_status, e.to_status) for e in added] == [
            (status.value, transition.target.value)
        ]
    else:
        with pytest.raises(Conflict) as refused:
            ACTIONS[action](world, before)
        assert refused.value.field == "status"
        assert f"cannot {action.value} an invoice that is {status.value}" in str(refused.value)
        assert world.invoice(before.id) == before
        assert world.history(before.id) == history


def test_a_confirmation_that_differs_disputes_the_invoice_with_both_values(world: World) -> None:
    submitted = world.submit("ru0", "cn0", "1000.00")
    importer = world.traders["cn0"]

    disputed = invoices.confirm_invoice(world.uows(), importer, submitted.id, "CNY", "999.99")

    assert disputed.status is Status.DISPUTED
    assert disputed.dispute is not None
    assert disputed.dispute.fields == {"amount": {"exporter": "1000.00", "importer": "999.99"}}
    assert world.invoice(submitted.id) == disputed
    (event,) = world.history(submitted.id)[-1:]
    assert event.details == {"fields": disputed.dispute.fields}

    again = invoices.confirm_invoice(world.uows(), importer, submitted.id, "CNY", "1000.00")
    assert (again.status, again.dispute) == (Status.ELIGIBLE, None)
    assert world.invoice(submitted.id) == again


def test_another_currency_in_the_confirmation_is_named_in_the_dispute(world: World) -> None:
    submitted = world.submit("ru0", "cn0", "1000.00")
    disputed = invoices.confirm_invoice(
        world.uows(), world.traders["cn0"], submitted.id, "USD", "1000.00"
    )
    assert disputed.dispute is not None
    assert disputed.dispute.fields == {"currency": {"exporter": "CNY", "importer": "USD"}}


@pytest.mark.parametrize(
    ("caller", "action", "error"),
    [
        ("ru0", Action.CONFIRM, Forbidden),  # the exporter
        ("ru1", Action.CONFIRM, NotFound),  # a stranger sees nothing
        ("ru0", Action.DISPUTE, Forbidden),
        ("cn1", Action.DISPUTE, NotFound),
        ("cn0", Action.CANCEL, Forbidden),  # the importer
        ("kz0", Action.CANCEL, NotFound),
    ],
)
def test_only_the_importer_confirms_or_disputes_and_only_the_exporter_cancels(
    world: World, caller: str, action: Action, error: type[ClearingError]
) -> None:
    submitted = world.submit("ru0", "cn0")
    trader = world.traders[caller]
    calls: dict[Action, Callable[[], Invoice]] = {
        Action.CONFIRM: lambda: invoices.confirm_invoice(
            world.uows(), trader, submitted.id, "CNY", "1000.00"
        ),
        Action.DISPUTE: lambda: invoices.dispute_invoice(world.uows(), trader, submitted.id, "no"),
        Action.CANCEL: lambda: invoices.cancel_invoice(world.uows(), trader, submitted.id, "no"),
    }
    with pytest.raises(error):
        calls[action]()
    assert world.invoice(submitted.id) == submitted


def test_an_operator_releases_only_an_invoice_it_can_see_and_a_trader_never(world: World) -> None:
    submitted = world.submit("ru0", "cn0")
    with pytest.raises(NotFound):
        invoices.release_invoice(world.uows(), world.op("KZ"), submitted.id, "outside")
    with pytest.raises(Forbidden):
        invoices.release_invoice(world.uows(), world.traders["ru0"], submitted.id, "outside")
    with pytest.raises(InvalidInput) as blank:
        invoices.release_invoice(world.uows(), world.op("CN"), submitted.id, "  ")
    assert blank.value.field == "reason"
    assert world.invoice(submitted.id) == submitted

    released = invoices.release_invoice(world.uows(), world.op("CN"), submitted.id, "outside")
    assert released.status is Status.RELEASED
    assert world.history(submitted.id)[-1].actor == world.op("CN").id


def test_the_same_invoice_number_from_the_same_exporter_is_a_conflict_and_stores_nothing(
    world: World,
) -> None:
    first = world.submit("ru0", "cn0", number="AT-1")
    with pytest.raises(Conflict) as refused:
        world.submit("ru0", "cn1", number="AT-1")
    assert refused.value.field == "invoice_number"
    other = world.submit("ru1", "cn0", number="AT-1")
    listed = invoices.list_invoices(world.uows(), world.auditor)
    assert [i.id for i in listed] == [first.id, other.id]


def test_a_batch_answers_each_item_on_its_own_and_stores_the_valid_ones_in_order(
    world: World,
) -> None:
    exporter = world.traders["ru0"]
    drafts = [
        world.draft("cn0", number="B-1"),
        world.draft("cn1", number="B-1"),  # the same number twice in the batch
        world.draft("ru1", number="B-2"),  # domestic
        world.draft("cn1", "12.345", number="B-3"),  # too many decimals
        world.draft("cn1", hs_code="9302", number="B-4"),  # arms
        world.draft("kz0", currency="USD", number="B-5"),
    ]

    outcomes = invoices.submit_invoices(world.uows(), exporter, drafts)

    assert [type(o).__name__ for o in outcomes] == [
        "Invoice",
        "Conflict",
        "InvalidInput",
        "InvalidInput",
        "Invoice",
        "Invoice",
    ]
    stored = [o for o in outcomes if isinstance(o, Invoice)]
    assert [i.status for i in stored] == [
        Status.AWAITING_CONFIRMATION,
        Status.REJECTED,
        Status.AWAITING_CONFIRMATION,
    ]
    assert stored[0].sequence < stored[1].sequence < stored[2].sequence
    listed = invoices.list_invoices(world.uows(), world.auditor)
    assert listed == stored


def test_screening_at_submission_rejects_blocked_goods_and_parties_and_ranks_priority_goods(
    world: World,
) -> None:
    arms = world.submit("ru0", "cn0", hs_code="9301.10")
    assert arms.status is Status.REJECTED
    assert arms.rejection is not None
    assert arms.rejection.rule == "blocked_goods:93"
    assert "9301" in arms.rejection.reason
    (event,) = world.history(arms.id)
    assert (event.from_status, event.to_status, event.reason) == (
        None,
        "rejected",
        arms.rejection.reason,
    )
    assert world.submit("ru0", "cn0", hs_code="0201").priority == 0  # meat
    assert world.submit("ru0", "cn0", hs_code="9018.90").priority == 0  # medical
    assert world.submit("ru0", "cn0", hs_code="8471").priority == 1

    add_rule(world.uows(), "blocked_party", world.id("cn1"), "screening list")
    screened = world.submit("ru0", "cn1")
    assert screened.rejection is not None
    assert screened.rejection.rule == f"blocked_party:{world.id('cn1')}"


def test_an_invoice_between_two_traders_of_one_entity_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        world.submit("cn0", "cn1")
    assert refused.value.field == "importer_id"
    assert invoices.list_invoices(world.uows(), world.auditor) == []


def test_an_operator_submits_for_exporters_of_its_own_entity_only(world: World) -> None:
    own = replace(world.draft("cn0"), exporter_id=world.id("ru0"))
    assert invoices.submit_invoice(world.uows(), world.op("RU"), own).exporter_id == world.id("ru0")
    for exporter in (world.id("cn1"), None):
        foreign = replace(world.draft("cn0"), exporter_id=exporter)
        with pytest.raises(InvalidInput) as refused:
            invoices.submit_invoice(world.uows(), world.op("RU"), foreign)
        assert refused.value.field == "exporter_id"
    with pytest.raises(Forbidden):
        invoices.submit_invoice(world.uows(), world.auditor, world.draft("cn0"))
