"""API keys bind each principal as its role requires (DESIGN §7) and are kept only as hashes;
compliance rules are data an operator changes without a release (DESIGN §8)."""

from __future__ import annotations

import pytest

from clearing.domain.access import Role
from clearing.domain.compliance import Rule, RuleKind, default_rules
from clearing.domain.errors import ClearingError, InvalidInput, NotFound
from clearing.use_cases import compliance, keys
from tests.fakes import FakeUnitOfWorkFactory
from tests.unit.use_cases.world import World


def test_a_key_authenticates_its_principal_and_only_its_hash_is_kept(
    world: World, fake_uows: FakeUnitOfWorkFactory
) -> None:
    key, principal = keys.create_key(world.uows(), Role.TRADER, participant_id=world.id("cn0"))

    assert key.startswith("ck_")
    assert principal.entity == "CN"
    assert keys.authenticate(world.uows(), key) == principal
    assert keys.authenticate(world.uows(), key + "x") is None
    stored = fake_uows.store.committed.api_keys[keys.hash_key(key)]
    assert (stored.principal, stored.key_prefix) == (principal, key[:10])
    assert key not in repr(fake_uows.store.committed)


@pytest.mark.parametrize(
    ("role", "binding", "error", "field"),
    [
        (Role.TRADER, {}, InvalidInput, "participant"),
        (Role.TRADER, {"participant_id": "CN-NOBODY"}, NotFound, "participant"),
        (Role.TRADER, {"participant": "cn0", "entity": "RU"}, InvalidInput, "entity"),
        (Role.OPERATOR, {}, InvalidInput, "entity"),
        (Role.OPERATOR, {"entity": "XX"}, NotFound, "entity"),
        (Role.OPERATOR, {"participant": "cn0", "entity": "CN"}, InvalidInput, "participant"),
        (Role.AUDITOR, {"entity": "CN"}, InvalidInput, "entity"),
        (Role.ADMIN, {"entity": "CN"}, InvalidInput, "entity"),
        ("superuser", {}, InvalidInput, "role"),
    ],
)
def test_a_key_bound_against_its_role_is_refused_and_nothing_is_stored(
    world: World,
    fake_uows: FakeUnitOfWorkFactory,
    role: Role | str,
    binding: dict[str, str],
    error: type[ClearingError],
    field: str,
) -> None:
    before = dict(fake_uows.store.committed.api_keys)
    trader = binding.get("participant")
    if trader is not None:  # the trader's name, for its participant id
        binding = {"entity": binding["entity"], "participant_id": world.id(trader)}

    with pytest.raises(error) as refused:
        keys.create_key(world.uows(), role, **binding)

    assert refused.value.field == field
    assert fake_uows.store.committed.api_keys == before


def test_rules_are_added_and_removed_as_data_and_reset_to_the_shipped_default(
    fake_uows: FakeUnitOfWorkFactory,
) -> None:
    added = compliance.add_rule(fake_uows(), "blocked_goods", "8710.10", "tanks")
    assert added == Rule(RuleKind.BLOCKED_GOODS, "871010", "tanks")
    assert added in compliance.list_rules(fake_uows())
    compliance.remove_rule(fake_uows(), "priority_goods", "30")
    with pytest.raises(NotFound):
        compliance.remove_rule(fake_uows(), "priority_goods", "30")
    for kind, value, field in (("allowed_goods", "01", "kind"), ("blocked_goods", "9X", "value")):
        with pytest.raises(InvalidInput) as refused:
            compliance.add_rule(fake_uows(), kind, value)
        assert refused.value.field == field

    restored = compliance.reset_rules(fake_uows())

    assert set(restored) == {*default_rules(), added}
    assert restored == compliance.list_rules(fake_uows())
