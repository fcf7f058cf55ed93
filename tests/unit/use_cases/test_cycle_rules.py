"""The cycle use cases keep the rules of DESIGN §6: one active cycle at a time; rates that cover
the pool; approval of the proposed digest, once per entity with legs; rejection only before
money arrives; a cycle with nothing due settles at once."""

from __future__ import annotations

import pytest

from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.errors import Conflict, Forbidden, InvalidInput
from clearing.domain.invoices import Status
from clearing.use_cases import audit, cycles, invoices, settlement
from clearing.use_cases.compliance import add_rule
from tests.unit.use_cases.world import World


def trade_both_ways(world: World) -> None:
    """cn0 owes ru0 1,000.00 CNY and ru1 owes cn1 400.00 CNY: 400.00 matches each way, so a
    payer and a payee in each entity."""
    world.eligible("ru0", "cn0", "1000.00")
    world.eligible("cn1", "ru1", "400.00")


def pool(world: World) -> dict[str, tuple[Status, int]]:
    return {
        i.id: (i.status, i.outstanding)
        for i in invoices.list_invoices(world.uows(), world.auditor, limit=500)
    }


def test_only_one_cycle_is_active_at_a_time(world: World) -> None:
    trade_both_ways(world)
    opened = cycles.open_cycle(world.uows(), world.op("CN"))
    with pytest.raises(Conflict, match=opened.id):
        cycles.open_cycle(world.uows(), world.op("RU"))
    cycles.set_rates(world.uows(), world.op("CN"), opened.id, world.rates())
    proposed = cycles.close_cycle(world.uows(), world.op("CN"), opened.id)
    with pytest.raises(Conflict):
        cycles.open_cycle(world.uows(), world.op("KZ"))
    approved = world.approve_all(proposed)
    with pytest.raises(Conflict):
        cycles.open_cycle(world.uows(), world.op("KZ"))
    world.pay_everything(approved)

    assert cycles.open_cycle(world.uows(), world.op("KZ")).number == opened.number + 1


def test_only_an_operator_opens_a_cycle_and_with_a_known_policy(world: World) -> None:
    for caller in (world.traders["cn0"], world.auditor, world.admin):
        with pytest.raises(Forbidden):
            cycles.open_cycle(world.uows(), caller)
    with pytest.raises(InvalidInput) as refused:
        cycles.open_cycle(world.uows(), world.op("CN"), "greedy")
    assert refused.value.field == "policy"
    assert cycles.list_cycles(world.uows(), world.auditor, None, 10) == []
    assert cycles.open_cycle(world.uows(), world.op("CN"), "pro_rata").policy.value == "pro_rata"


def test_rates_name_only_known_entities_in_their_currencies_and_are_fixed_at_cut_off(
    world: World,
) -> None:
    trade_both_ways(world)
    opened = cycles.open_cycle(world.uows(), world.op("CN"))
    unknown = {**world.rates(), "jurisdictions": {**world.rates()["jurisdictions"], "XX": "USD"}}
    wrong = {**world.rates(), "jurisdictions": {"CN": "CNY", "RU": "USD"}}
    for document, field in ((unknown, "jurisdictions.XX"), (wrong, "jurisdictions.RU")):
        with pytest.raises(InvalidInput) as refused:
            cycles.set_rates(world.uows(), world.op("CN"), opened.id, document)
        assert refused.value.field == field
    assert cycles.get_cycle(world.uows(), world.auditor, opened.id).rates is None

    cycles.set_rates(world.uows(), world.op("RU"), opened.id, world.rates())
    cycles.close_cycle(world.uows(), world.op("RU"), opened.id)
    with pytest.raises(Conflict) as late:
        cycles.set_rates(world.uows(), world.op("CN"), opened.id, world.rates(RUB="0.08"))
    assert late.value.field == "status"


def test_closing_needs_rates_for_every_currency_of_the_pool_and_a_refusal_changes_nothing(
    world: World,
) -> None:
    trade_both_ways(world)
    world.eligible("ru0", "cn1", "800.00", currency="EUR")
    before = pool(world)
    opened = cycles.open_cycle(world.uows(), world.op("RU"))

    with pytest.raises(Conflict) as no_rates:
        cycles.close_cycle(world.uows(), world.op("RU"), opened.id)
    assert no_rates.value.field == "rates"
    cycles.set_rates(world.uows(), world.op("RU"), opened.id, world.rates())
    with pytest.raises(Conflict, match="no rate for EUR") as unpriced:
        cycles.close_cycle(world.uows(), world.op("CN"), opened.id)
    assert unpriced.value.field == "rates"
    assert cycles.get_cycle(world.uows(), world.auditor, opened.id).status is CycleStatus.OPEN
    assert pool(world) == before
    assert settlement.cycle_settlements(world.uows(), world.auditor, opened.id, None, 10) == []

    cycles.set_rates(world.uows(), world.op("RU"), opened.id, world.rates(EUR="7.70"))
    closed = cycles.close_cycle(world.uows(), world.op("RU"), opened.id)
    assert closed.status is CycleStatus.PROPOSED
    assert {status for status, _ in pool(world).values()} == {Status.IN_CYCLE}


def test_the_cut_off_screens_every_obligation_again_with_the_rules_of_the_day(
    world: World,
) -> None:
    trade_both_ways(world)
    blocked = world.eligible("ru1", "kz0", "50.00")
    add_rule(world.uows(), "blocked_party", world.id("kz0"), "screening list")

    cycle = world.propose()

    rejected = world.invoice(blocked.id)
    assert rejected.status is Status.REJECTED
    assert rejected.rejection is not None
    assert rejected.rejection.rule == f"blocked_party:{world.id('kz0')}"
    assert world.history(blocked.id)[-1].to_status == "rejected"
    taken = settlement.cycle_settlements(world.uows(), world.auditor, cycle.id, None, 100)
    assert blocked.id not in {s.obligation.obligation_id for s in taken}
    assert len(taken) == 2


def test_approval_needs_the_proposed_digest_an_entity_with_legs_and_one_approval_each(
    world: World,
) -> None:
    trade_both_ways(world)
    proposal = world.propose(by="KZ")
    assert proposal.digest is not None
    assert proposal.required_approvals == ("CN", "RU")

    def approve(entity: str, digest: str = proposal.digest or "") -> Cycle:
        return cycles.approve_cycle(world.uows(), world.op(entity), proposal.id, digest)

    for entity, digest, field in (
        ("CN", "0" * 64, "digest"),
        ("CN", proposal.digest[::-1], "digest"),
        ("KZ", proposal.digest, "entity"),
    ):
        with pytest.raises(Conflict) as refused:
            approve(entity, digest)
        assert refused.value.field == field
    for caller in (world.traders["cn0"], world.auditor, world.admin):
        with pytest.raises(Forbidden):
            cycles.approve_cycle(world.uows(), caller, proposal.id, proposal.digest)
    assert cycles.get_cycle(world.uows(), world.auditor, proposal.id) == proposal

    approve("CN")
    with pytest.raises(Conflict) as twice:
        approve("CN")
    assert twice.value.field == "entity"
    approved = approve("RU")
    assert approved.status is CycleStatus.APPROVED  # pay-ins are due
    assert [a.entity for a in approved.approvals] == ["CN", "RU"]
    assert cycles.get_cycle(world.uows(), world.auditor, proposal.id) == approved
    with pytest.raises(Conflict) as late:
        approve("RU")
    assert late.value.field == "status"


def test_a_cycle_with_nothing_to_pay_in_settles_on_its_last_approval(world: World) -> None:
    first = world.eligible("ru0", "cn0", "1000.00")
    second = world.eligible("cn0", "ru0", "1000.00")
    proposal = world.propose()
    assert proposal.required_approvals == ("CN", "RU")
    assert proposal.digest is not None

    halfway = cycles.approve_cycle(world.uows(), world.op("RU"), proposal.id, proposal.digest)
    assert halfway.status is CycleStatus.PROPOSED
    settled = cycles.approve_cycle(world.uows(), world.op("CN"), proposal.id, proposal.digest)

    assert settled.status is CycleStatus.SETTLED
    assert pool(world) == {first.id: (Status.SETTLED, 0), second.id: (Status.SETTLED, 0)}
    report = audit.verify(world.uows(), world.auditor)
    assert (report.ok, report.cycles) == (True, 1)
    assert report.entries > 0


def test_a_cycle_that_matches_nothing_settles_at_cut_off_and_posts_nothing(world: World) -> None:
    world.eligible("ru0", "cn0", "1000.00")
    world.eligible("ru1", "cn1", "250.00", currency="USD")
    before = pool(world)

    closed = world.propose()

    assert closed.status is CycleStatus.SETTLED
    assert closed.required_approvals == ()
    assert settlement.cycle_positions(world.uows(), world.auditor, closed.id) == []
    assert pool(world) == {i: (Status.ELIGIBLE, left) for i, (_s, left) in before.items()}
    assert audit.ledger_entries(world.uows(), world.auditor, 0, 100) == []
    assert cycles.open_cycle(world.uows(), world.op("RU")).status is CycleStatus.OPEN


def test_a_proposal_is_rejected_only_before_money_arrives_and_gives_its_pool_back(
    world: World,
) -> None:
    trade_both_ways(world)
    before = pool(world)
    proposal = world.propose()
    with pytest.raises(Forbidden):
        cycles.reject_cycle(world.uows(), world.traders["cn0"], proposal.id, "no")
    world.approve_all(proposal)

    rejected = cycles.reject_cycle(world.uows(), world.op("RU"), proposal.id, "stale fixing")

    assert (rejected.status, rejected.note) == (CycleStatus.REJECTED, "stale fixing")
    assert pool(world) == before
    with pytest.raises(Conflict):
        cycles.reject_cycle(world.uows(), world.op("RU"), proposal.id, "again")
    again = world.propose()
    assert (again.number, again.digest) == (proposal.number + 1, proposal.digest)
    approved = world.approve_all(again)
    payer, due = sorted(world.due(approved).items())[0]
    paying = world.pay(approved, payer, due // 2, "PART-1")
    assert paying.status is CycleStatus.SETTLING
    with pytest.raises(Conflict) as refused:
        cycles.reject_cycle(world.uows(), world.op("CN"), again.id, "late")
    assert refused.value.field == "status"
    assert cycles.get_cycle(world.uows(), world.auditor, again.id).status is CycleStatus.SETTLING
