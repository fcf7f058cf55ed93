"""Who sees what (DESIGN §7), as every use case applies the one policy of
:mod:`clearing.domain.access`: a trader sees what it is party to, an operator what touches its
entity, an auditor everything; what a caller may not see does not exist for it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.domain.access import Principal
from clearing.domain.errors import Forbidden, InvalidInput, NotFound
from clearing.domain.invoices import Invoice
from clearing.use_cases import cycles, invoices, participants, settlement
from tests.unit.use_cases.world import TRADERS, World, fresh_world

NAMES = [name for names in TRADERS.values() for name in names]
CROSS_BORDER = [(e, i) for e in NAMES for i in NAMES if e[:2] != i[:2]]


def callers(world: World) -> dict[str, Principal]:
    return {"auditor": world.auditor, **world.operators, **world.traders}


def sees(caller: Principal, invoice: Invoice) -> bool:
    return caller.sees_parties(
        (invoice.exporter_id, invoice.exporter_entity),
        (invoice.importer_id, invoice.importer_entity),
    )


@given(trades=st.lists(st.sampled_from(CROSS_BORDER), min_size=1, max_size=12))
def test_each_caller_lists_exactly_the_invoices_the_policy_lets_it_see_in_submission_order(
    trades: list[tuple[str, str]],
) -> None:
    world = fresh_world()
    submitted = [world.submit(exporter, importer) for exporter, importer in trades]
    for name, caller in callers(world).items():
        expected = [i.id for i in submitted if sees(caller, i)]
        listed = invoices.list_invoices(world.uows(), caller, limit=500)
        assert [i.id for i in listed] == expected, name
        for invoice in submitted:
            if sees(caller, invoice):
                assert invoices.get_invoice(world.uows(), caller, invoice.id) == invoice
                assert invoices.invoice_history(world.uows(), caller, invoice.id)
            else:
                with pytest.raises(NotFound):
                    invoices.get_invoice(world.uows(), caller, invoice.id)
                with pytest.raises(NotFound):
                    invoices.invoice_history(world.uows(), caller, invoice.id)


def test_an_invoice_is_seen_by_its_parties_their_operators_and_the_auditor_alone(
    world: World,
) -> None:
    invoice = world.submit("ru0", "cn0")
    seen = {name for name, caller in callers(world).items() if sees(caller, invoice)}
    assert seen == {"auditor", "CN", "RU", "ru0", "cn0"}
    with pytest.raises(NotFound):
        invoices.get_invoice(world.uows(), world.traders["cn1"], "inv_" + "0" * 32)
    with pytest.raises(Forbidden):
        invoices.get_invoice(world.uows(), world.admin, invoice.id)
    with pytest.raises(Forbidden):
        invoices.list_invoices(world.uows(), world.admin)


def test_a_trader_sees_its_own_participant_an_operator_its_entitys_and_an_admin_all(
    world: World,
) -> None:
    everyone = sorted(world.id(name) for name in NAMES)
    listed = participants.list_participants(world.uows(), world.admin, None, 100)
    assert [p.id for p in listed] == everyone
    cn = participants.list_participants(world.uows(), world.op("CN"), None, 100)
    assert [p.id for p in cn] == sorted([world.id("cn0"), world.id("cn1")])
    own = participants.list_participants(world.uows(), world.traders["ru1"], None, 100)
    assert [p.id for p in own] == [world.id("ru1")]
    assert (
        participants.list_participants(world.uows(), world.traders["ru1"], world.id("ru1"), 9) == []
    )
    with pytest.raises(NotFound):
        participants.get_participant(world.uows(), world.traders["ru1"], world.id("ru0"))
    with pytest.raises(NotFound):
        participants.get_participant(world.uows(), world.op("KZ"), world.id("ru0"))
    assert (
        participants.get_participant(world.uows(), world.op("RU"), world.id("ru0")).entity == "RU"
    )


def test_an_operator_registers_participants_with_its_own_entity_only(world: World) -> None:
    registered = participants.register_participant(world.uows(), world.op("KZ"), name="Steppe Oil")
    assert registered.entity == "KZ"
    with pytest.raises(InvalidInput) as refused:
        participants.register_participant(world.uows(), world.op("KZ"), name="X", entity="CN")
    assert refused.value.field == "entity"
    with pytest.raises(InvalidInput):
        participants.register_participant(world.uows(), world.admin, name="Nowhere", entity="XX")
    with pytest.raises(Forbidden):
        participants.register_participant(world.uows(), world.auditor, name="X", entity="CN")


def test_a_trader_sees_a_cycle_only_through_its_own_position_never_whole(world: World) -> None:
    world.eligible("ru0", "cn0", "1000.00")
    world.eligible("cn0", "ru0", "400.00")
    cycle = world.propose()
    uow = world.uows

    for name in ("cn0", "ru0"):
        trader = world.traders[name]
        with pytest.raises(Forbidden):
            cycles.get_cycle(uow(), trader, cycle.id)
        (view,) = settlement.cycle_positions(uow(), trader, cycle.id)
        assert view.position.participant_id == world.id(name)
        rows = settlement.cycle_settlements(uow(), trader, cycle.id, None, 100)
        assert len(rows) == 2
        statement = settlement.participant_statement(uow(), trader, cycle.id, world.id(name))
        assert statement.view == view
    for name in ("cn1", "kz0"):
        with pytest.raises(NotFound):
            settlement.cycle_settlements(uow(), world.traders[name], cycle.id, None, 100)
    with pytest.raises(NotFound):
        settlement.participant_statement(uow(), world.traders["cn0"], cycle.id, world.id("ru0"))
    with pytest.raises(Forbidden):
        cycles.list_cycles(uow(), world.traders["cn0"], None, 10)


def test_an_operator_sees_its_entitys_positions_and_instructions_and_another_entitys_not(
    world: World,
) -> None:
    world.eligible("ru0", "cn0", "1000.00")
    world.eligible("cn1", "ru1", "400.00")
    kz = world.eligible("kz0", "cn1", "100.00")  # matches nothing: KZ has no legs
    cycle = world.propose()
    uow = world.uows

    everything = settlement.cycle_positions(uow(), world.auditor, cycle.id)
    assert {v.position.jurisdiction for v in everything} == {"CN", "RU"}
    for entity in ("CN", "RU"):
        own = settlement.cycle_positions(uow(), world.op(entity), cycle.id)
        assert own == [v for v in everything if v.position.jurisdiction == entity]
        listed = settlement.payment_instructions(uow(), world.op(entity), cycle.id)
        # A proposed cycle has pay-ins to expect; its pay-outs are listed once it settles.
        assert [i.direction for i in listed] == ["pay_in"]
        assert {i.entity for i in listed} == {entity}
    assert settlement.cycle_positions(uow(), world.op("KZ"), cycle.id) == []
    (only,) = settlement.cycle_settlements(uow(), world.op("KZ"), cycle.id, None, 100)
    assert (only.obligation.obligation_id, only.settled) == (kz.id, 0)
    with pytest.raises(NotFound):
        settlement.payment_instructions(uow(), world.op("KZ"), cycle.id, "CN")
    with pytest.raises(NotFound):
        settlement.participant_statement(uow(), world.op("KZ"), cycle.id, world.id("cn0"))
