"""API keys bind each principal as its role requires (DESIGN §7) and are kept only as hashes;
compliance rules are data an operator changes without a release (DESIGN §8)."""

from __future__ import annotations

import pytest

from clearing.domain.access import Role
from clearing.domain.compliance import Rule, RuleKind, default_rules
from clearing.domain.errors import ClearingError, Forbidden, InvalidInput, NotFound
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


# --- listing and revoking keys ---------------------------------------------------------------


def test_an_admin_lists_every_key_in_id_order_with_its_prefix_and_never_its_secret(
    world: World,
) -> None:
    admin = world.admin
    made = [
        keys.create_key(world.uows(), Role.OPERATOR, entity="CN", label="night shift"),
        keys.create_key(world.uows(), Role.AUDITOR),
    ]

    listed = keys.list_keys(world.uows(), admin, limit=100)

    by_id = {k.principal.id: k for k in listed}
    assert [k.principal.id for k in listed] == sorted(by_id)
    for key, principal in made:
        shown = by_id[principal.id]
        assert shown.principal == principal
        assert shown.prefix == key[:10]
        assert shown.revoked_at is None
        assert key not in repr(listed)
    assert by_id[made[0][1].id].label == "night shift"


def test_keys_are_listed_a_page_at_a_time_after_the_cursor(world: World) -> None:
    admin = world.admin
    for _ in range(3):
        keys.create_key(world.uows(), Role.AUDITOR)
    everything = keys.list_keys(world.uows(), admin, limit=100)

    first = keys.list_keys(world.uows(), admin, limit=2)
    rest = keys.list_keys(world.uows(), admin, first[-1].principal.id, limit=100)

    assert first + rest == everything
    with pytest.raises(InvalidInput) as refused:
        keys.list_keys(world.uows(), admin, limit=0)
    assert refused.value.field == "limit"


def test_a_revoked_key_authenticates_no_one_from_the_next_request_on(world: World) -> None:
    key, principal = keys.create_key(world.uows(), Role.OPERATOR, entity="CN")
    assert keys.authenticate(world.uows(), key) == principal

    revoked = keys.revoke_key(world.uows(), world.admin, principal.id)

    assert revoked.principal == principal
    assert revoked.revoked_at is not None
    assert keys.authenticate(world.uows(), key) is None


def test_revoking_a_key_twice_keeps_the_first_revocation_time(world: World) -> None:
    _key, principal = keys.create_key(world.uows(), Role.AUDITOR)
    admin = world.admin

    first = keys.revoke_key(world.uows(), admin, principal.id)
    again = keys.revoke_key(world.uows(), admin, principal.id)

    assert again.revoked_at == first.revoked_at


def test_revoking_a_key_that_does_not_exist_is_not_found_and_changes_nothing(
    world: World, fake_uows: FakeUnitOfWorkFactory
) -> None:
    before = dict(fake_uows.store.committed.api_keys)

    with pytest.raises(NotFound) as refused:
        keys.revoke_key(world.uows(), world.admin, "key_0000000000000000")

    assert refused.value.field == "key_id"
    assert fake_uows.store.committed.api_keys == before


@pytest.mark.parametrize("role", ["operator", "auditor", "trader"])
def test_only_an_admin_lists_or_revokes_keys(world: World, role: str) -> None:
    _key, target = keys.create_key(world.uows(), Role.AUDITOR)
    caller = {"operator": world.op("CN"), "auditor": world.auditor, "trader": world.traders["cn0"]}[
        role
    ]

    with pytest.raises(Forbidden):
        keys.list_keys(world.uows(), caller)
    with pytest.raises(Forbidden):
        keys.revoke_key(world.uows(), caller, target.id)
    assert all(k.revoked_at is None for k in keys.list_keys(world.uows(), world.admin))
