"""Four eyes (DESIGN §7): an entity that asks for two approvals gets them from two different
operators, neither of whom proposed the cycle; every approval names who gave it."""

from __future__ import annotations

import pytest

from clearing.domain.access import Principal, Role
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from clearing.use_cases import cycles, keys, participants
from tests.unit.use_cases.world import World


def second_operator(world: World, entity: str) -> Principal:
    return keys.create_key(world.uows(), Role.OPERATOR, entity=entity)[1]


def four_eyes_in_cn(world: World) -> Cycle:
    """CN asks for two approvals; cn0 owes ru0 and ru1 owes cn1; CN's first operator proposes."""
    participants.update_entity(world.uows(), world.admin, "CN", approvals_required=2)
    world.eligible("ru0", "cn0", "1000.00")
    world.eligible("cn1", "ru1", "400.00")
    return world.propose(by="CN")


def approve(world: World, cycle: Cycle, operator: Principal) -> Cycle:
    assert cycle.digest is not None
    return cycles.approve_cycle(world.uows(), operator, cycle.id, cycle.digest)


def test_a_four_eyes_entity_needs_two_different_operators_who_did_not_propose_the_cycle(
    world: World,
) -> None:
    proposed = four_eyes_in_cn(world)
    second, third = second_operator(world, "CN"), second_operator(world, "CN")

    assert proposed.closed_by == world.op("CN").id
    assert proposed.approvals_needed_by("CN") == 2
    assert proposed.approvals_needed_by("RU") == 1
    with pytest.raises(Conflict) as proposer:
        approve(world, proposed, world.op("CN"))
    assert proposer.value.field == "principal"

    once = approve(world, proposed, second)
    assert once.missing_approvals == ("CN", "RU")
    with pytest.raises(Conflict) as twice:
        approve(world, once, second)
    assert twice.value.field == "principal"

    twice_over = approve(world, once, third)
    assert twice_over.missing_approvals == ("RU",)
    approved = approve(world, twice_over, world.op("RU"))

    assert approved.status is CycleStatus.APPROVED
    assert [(a.entity, a.principal_id) for a in approved.approvals] == [
        ("CN", second.id),
        ("CN", third.id),
        ("RU", world.op("RU").id),
    ]
    with pytest.raises(Conflict):
        approve(world, approved, second_operator(world, "CN"))


def test_with_one_approval_the_operator_who_proposed_may_approve(world: World) -> None:
    world.eligible("ru0", "cn0", "1000.00")
    world.eligible("cn1", "ru1", "400.00")
    proposed = world.propose(by="CN")

    approved = world.approve_all(proposed)

    assert proposed.approvals_needed_by("CN") == 1
    assert {a.principal_id for a in approved.approvals} == {world.op("CN").id, world.op("RU").id}
    assert approved.status is CycleStatus.APPROVED


def test_a_proposal_keeps_the_rule_it_was_made_under(world: World) -> None:
    proposed = four_eyes_in_cn(world)
    participants.update_entity(world.uows(), world.admin, "CN", approvals_required=1)

    once = approve(world, proposed, second_operator(world, "CN"))

    assert once.missing_approvals == ("CN", "RU")


def test_an_entity_asks_for_one_or_two_approvals_and_only_an_admin_changes_it(
    world: World,
) -> None:
    for count in (0, 3, True):
        with pytest.raises(InvalidInput) as refused:
            participants.update_entity(world.uows(), world.admin, "CN", approvals_required=count)
        assert refused.value.field == "approvals"
    with pytest.raises(InvalidInput):
        participants.add_entity(world.uows(), "MN", "MNT", approvals_required=3)
    with pytest.raises(NotFound):
        participants.update_entity(world.uows(), world.admin, "XX", approvals_required=2)
    with pytest.raises(Forbidden):
        participants.update_entity(world.uows(), world.op("CN"), "CN", approvals_required=2)

    changed = participants.update_entity(world.uows(), world.admin, "CN", approvals_required=2)
    added = participants.add_entity(world.uows(), "MN", "MNT", approvals_required=2)

    assert changed.approvals_required == 2
    assert added.approvals_required == 2
    with world.uows() as uow:
        assert uow.entities.get("CN") == changed
        assert uow.entities.get("RU").approvals_required == 1  # type: ignore[union-attr]
