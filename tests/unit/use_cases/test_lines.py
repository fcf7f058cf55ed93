"""Liquidity lines through the use cases (DESIGN §4b, §5, §7): one entity proposes, the other
confirms; only the two entities' operators and the auditors see a line; the cycles net with the
active lines' terms frozen at their cut-off, and only a settlement moves a balance, which the
ledger shows on each entity's mirror account and the audit re-checks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import pytest

from clearing.domain import ledger
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from clearing.domain.lines import LineAction, LineStatus
from clearing.use_cases import audit, cycles, lines, settlement
from clearing.use_cases.lines import LineView
from tests.unit.use_cases.world import World


def add_line(world: World, limit: str = "500.00", by: str = "CN", **kw: str) -> LineView:
    return lines.propose_line(
        world.uows(),
        world.op(by),
        kw.get("source", "CN"),
        kw.get("target", "RU"),
        kw.get("currency", "CNY"),
        limit,
    )


def active_line(world: World, limit: str = "500.00") -> str:
    proposed = add_line(world, limit)
    lines.confirm_line(world.uows(), world.op("RU"), proposed.line.id)
    return proposed.line.id


def line(world: World, line_id: str) -> LineView:
    return lines.get_line(world.uows(), world.auditor, line_id)


def cn_importers_owe_more(world: World, more: str = "1000.00", back: str = "400.00") -> None:
    """cn0 owes ru0 ``more`` and ru1 owes cn1 ``back`` (CNY): CN -> RU exceeds its reverse."""
    world.eligible("ru0", "cn0", more)
    world.eligible("cn1", "ru1", back)


def settle(world: World, cycle: Cycle) -> Cycle:
    return world.pay_everything(world.approve_all(cycle))


def balances(world: World) -> dict[tuple[str, str], int]:
    found = audit.ledger_balances(world.uows(), world.auditor)
    return {(entity, account): amount for (entity, account, _), amount in found.items()}


def test_a_line_proposed_by_one_entity_is_confirmed_by_the_other_with_who_and_when(
    world: World,
) -> None:
    proposed = add_line(world, "500.00", by="RU")
    assert (proposed.line.status, proposed.line.awaiting) == (LineStatus.PENDING, "CN")
    with pytest.raises(Conflict):
        lines.confirm_line(world.uows(), world.op("RU"), proposed.line.id)
    confirmed = lines.confirm_line(world.uows(), world.op("CN"), proposed.line.id)
    assert confirmed.line.status is LineStatus.ACTIVE
    assert (confirmed.line.proposed_by, confirmed.line.confirmed_by) == (
        world.op("RU").id,
        world.op("CN").id,
    )
    assert [(e.action, e.entity, e.actor) for e in confirmed.history] == [
        (LineAction.PROPOSED, "RU", world.op("RU").id),
        (LineAction.CONFIRMED, "CN", world.op("CN").id),
    ]
    assert line(world, proposed.line.id) == confirmed


def test_a_refused_proposal_changes_nothing_and_names_the_field(world: World) -> None:
    for limit, field in (("-1", "limit"), ("1.001", "limit")):
        with pytest.raises(InvalidInput) as refused:
            add_line(world, limit)
        assert refused.value.field == field
    with pytest.raises(InvalidInput) as refused:
        add_line(world, by="KZ")
    assert refused.value.field == "from"
    with pytest.raises(Forbidden):
        lines.propose_line(world.uows(), world.auditor, "CN", "RU", "CNY", "1.00")
    add_line(world)
    with pytest.raises(Conflict):
        add_line(world, by="RU")
    assert len(lines.list_lines(world.uows(), world.auditor, None, 100)) == 1


def test_only_the_two_entities_operators_and_the_auditor_see_a_line(world: World) -> None:
    line_id = active_line(world)
    other = add_line(world, "10.00", by="KZ", source="KZ", target="RU", currency="KZT")
    for caller in (world.op("CN"), world.op("RU"), world.auditor):
        assert lines.get_line(world.uows(), caller, line_id).line.id == line_id
    for action in (
        lambda: lines.get_line(world.uows(), world.op("KZ"), line_id),
        lambda: lines.confirm_line(world.uows(), world.op("KZ"), line_id),
        lambda: lines.change_limit(world.uows(), world.op("KZ"), line_id, "1.00"),
    ):
        with pytest.raises(NotFound):
            action()
    with pytest.raises(Forbidden):
        lines.get_line(world.uows(), world.traders["cn0"], line_id)
    with pytest.raises(Forbidden):
        lines.confirm_line(world.uows(), world.auditor, line_id)
    listed = {
        name: [v.line.id for v in lines.list_lines(world.uows(), caller, None, 100)]
        for name, caller in (("CN", world.op("CN")), ("KZ", world.op("KZ")), ("aud", world.auditor))
    }
    assert listed == {
        "CN": [line_id],
        "KZ": [other.line.id],
        "aud": sorted([line_id, other.line.id]),
    }


def test_a_new_limit_is_the_limit_once_the_other_entity_confirms_it(world: World) -> None:
    line_id = active_line(world, "500.00")
    changed = lines.change_limit(world.uows(), world.op("CN"), line_id, "800.00")
    assert changed.line.limit == 500_00
    assert changed.line.awaiting == "RU"
    with pytest.raises(Conflict):
        lines.confirm_line(world.uows(), world.op("CN"), line_id)
    confirmed = lines.confirm_line(world.uows(), world.op("RU"), line_id)
    assert (confirmed.line.limit, confirmed.line.pending_change) == (800_00, None)
    assert [e.action for e in confirmed.history][-2:] == [
        LineAction.LIMIT_PROPOSED,
        LineAction.LIMIT_CONFIRMED,
    ]


def test_a_pending_line_is_not_used_until_it_is_confirmed(world: World) -> None:
    proposed = add_line(world, "500.00")
    cn_importers_owe_more(world)
    without = world.propose()
    assert [m.drawn for m in without.lines] == []
    assert without.summary is not None
    assert without.summary.metrics.settled_value == 800_00
    cycles.reject_cycle(world.uows(), world.op("CN"), without.id, "the line is not confirmed")

    lines.confirm_line(world.uows(), world.op("RU"), proposed.line.id)
    drawing = world.propose()
    assert [(m.line_id, m.drawn, m.balance) for m in drawing.lines] == [
        (proposed.line.id, 500_00, 500_00)
    ]
    assert drawing.summary is not None
    assert drawing.summary.metrics.settled_value == 1300_00
    assert cycles.get_cycle(world.uows(), world.auditor, drawing.id).lines == drawing.lines


def test_two_cycles_draw_on_a_line_and_a_reversed_one_repays_it(world: World) -> None:
    line_id = active_line(world, "800.00")
    cn_importers_owe_more(world, "1000.00", "400.00")
    first = settle(world, world.propose())  # draws the 600.00 CN -> RU exceeds its reverse by
    assert line(world, line_id).line.balance == 600_00
    cn_importers_owe_more(world, "1000.00", "400.00")
    second = settle(world, world.propose())  # draws the 200.00 left; 400.00 carried
    assert line(world, line_id).line.balance == 800_00
    world.eligible("cn1", "ru1", "1200.00")  # RU -> CN now exceeds its reverse by 800.00
    third = settle(world, world.propose())

    view = line(world, line_id)
    assert [(m.cycle_id, m.drawn, m.repaid, m.balance) for m in view.movements] == [
        (first.id, 600_00, 0, 600_00),
        (second.id, 200_00, 0, 800_00),
        (third.id, 0, 800_00, 0),
    ]
    assert view.line.balance == 0
    assert [(m.drawn, m.repaid, m.balance) for m in third.lines] == [(0, 800_00, 0)]
    assert balances(world)[("CN", "mirror:RU")] == 0
    report = audit.verify(world.uows(), world.auditor)
    assert report.ok, report.problems


def test_the_mirror_accounts_carry_the_lines_balance_and_the_line_accounts_close(
    world: World,
) -> None:
    line_id = active_line(world, "500.00")
    cn_importers_owe_more(world, "1000.00", "400.00")
    cycle = settle(world, world.propose())  # draws the whole 500.00
    found = balances(world)
    assert found[("CN", f"line:{line_id}")] == 0
    assert found[("RU", f"line:{line_id}")] == 0
    assert found[("CN", "mirror:RU")] == -500_00  # CN owes RU the balance, in CNY
    assert found[("CN", "settlement")] == 500_00
    assert found[("RU", "mirror:CN")] == -found[("RU", "settlement")] > 0
    mirrors: dict[str, int] = defaultdict(int)
    for (entity, account), amount in found.items():
        if account.startswith("mirror:"):
            mirrors[entity] += amount
        elif account.startswith("participant:"):
            assert amount == 0, account
    assert mirrors["CN"] == -500_00
    documents = audit.ledger_entries(world.uows(), world.auditor, 0, 1000)
    booked = [d for d in documents if d["kind"] == ledger.LINE_ENTRY]
    assert {(d["entity"], d["details"]["line_id"], d["details"]["balance"]) for d in booked} == {
        ("CN", line_id, "500.00"),
        ("RU", line_id, "500.00"),
    }
    (record,) = [d["cycle"] for d in documents if d.get("cycle")]
    assert record["lines"] == [
        {
            "id": line_id,
            "from": "CN",
            "to": "RU",
            "currency": "CNY",
            "limit": "500.00",
            "balance": "0.00",
        }
    ]
    offline = ledger.verify_journal(documents)
    assert offline.ok, offline.problems
    assert offline.cycles == 1
    assert cycle.status is CycleStatus.SETTLED


def test_an_operator_reads_only_its_own_entitys_line_entries(world: World) -> None:
    line_id = active_line(world)
    cn_importers_owe_more(world)
    settle(world, world.propose())
    for entity in ("CN", "RU", "KZ"):
        own = audit.ledger_entries(world.uows(), world.op(entity), 0, 1000)
        assert {d["entity"] for d in own} <= {entity}
        booked = [d for d in own if d["kind"] == ledger.LINE_ENTRY]
        assert [d["details"]["line_id"] for d in booked] == ([] if entity == "KZ" else [line_id])


def test_a_rejected_or_superseded_cycle_moves_no_balance_and_its_successor_nets_the_same_terms(
    world: World,
) -> None:
    line_id = active_line(world, "500.00")
    world.eligible("ru0", "cn0", "200.00")  # cn0 owes ru0 (first in line): it will default
    world.eligible("ru1", "cn1", "1000.00")  # cn1 owes ru1
    world.eligible("cn1", "ru0", "400.00")  # ru0 owes cn1
    rejected = world.propose()
    cycles.reject_cycle(world.uows(), world.op("RU"), rejected.id, "not today")
    assert line(world, line_id).line.balance == 0

    proposed = world.approve_all(world.propose())
    assert [m.drawn for m in proposed.lines] == [500_00]
    # A limit below what the proposal draws is refused while the cycle is under way, whether
    # proposed then or before and confirmed then.
    with pytest.raises(Conflict) as refused:
        lines.change_limit(world.uows(), world.op("RU"), line_id, "50.00")
    assert refused.value.field == "limit"
    assert "the cycle under way" in refused.value.message
    assert "cn0" in world.due(proposed)
    successor = settlement.declare_default(
        world.uows(), world.op("CN"), proposed.id, world.id("cn0"), "no money"
    )
    assert line(world, line_id).line.balance == 0
    with world.uows() as uow:
        assert uow.lines.cycle_terms(successor.id) == uow.lines.cycle_terms(proposed.id)
        assert [t.limit for t in uow.lines.cycle_terms(successor.id)] == [500_00]
    assert [m.drawn for m in successor.lines] == [500_00]
    settled = settle(world, successor)
    assert settled.status is CycleStatus.SETTLED
    view = line(world, line_id)
    assert [(m.cycle_id, m.drawn) for m in view.movements] == [(successor.id, 500_00)]
    # The line is drawn to its limit, and the next cut-off lends nothing more.
    assert (view.line.limit, view.line.balance) == (500_00, 500_00)
    nothing_more = world.propose()
    assert [(m.drawn, m.repaid) for m in nothing_more.lines] == [(0, 0)]
    assert audit.verify(world.uows(), world.auditor).ok


def test_a_settlement_refuses_a_line_whose_balance_moved_since_the_cut_off(
    world: World,
) -> None:
    line_id = active_line(world, "500.00")
    cn_importers_owe_more(world)
    proposed = world.approve_all(world.propose())
    with world.uows() as uow:
        stored = uow.lines.get(line_id)
        assert stored is not None
        uow.lines.save(replace(stored, balance=1))
        uow.commit()
    with pytest.raises(Conflict, match=line_id):
        world.pay_everything(proposed)
    assert cycles.get_cycle(world.uows(), world.auditor, proposed.id).status is not (
        CycleStatus.SETTLED
    )


def test_a_lower_limit_proposed_before_a_cut_off_cannot_be_confirmed_below_what_the_cycle_draws(
    world: World,
) -> None:
    line_id = active_line(world, "500.00")
    lines.change_limit(world.uows(), world.op("RU"), line_id, "50.00")
    cn_importers_owe_more(world)
    drawing = world.propose()  # the lower limit is not in force: it draws 500.00
    assert [m.balance for m in drawing.lines] == [500_00]
    with pytest.raises(Conflict) as refused:
        lines.confirm_line(world.uows(), world.op("CN"), line_id)
    assert refused.value.field == "limit"
    assert line(world, line_id).line.limit == 500_00
    cycles.reject_cycle(world.uows(), world.op("RU"), drawing.id, "lower the limit first")
    confirmed = lines.confirm_line(world.uows(), world.op("CN"), line_id)
    assert confirmed.line.limit == 50_00
