"""The one visibility policy of DESIGN §7 (``clearing.domain.access``), role by role."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.domain.access import Principal, Role, Scope
from clearing.domain.errors import Forbidden

ENTITIES = ("CN", "RU", "KZ")
participants = st.sampled_from([f"{e}-{n}" for e in ENTITIES for n in "AB"])


def home(participant_id: str) -> str:
    return participant_id.split("-")[0]


def principals() -> st.SearchStrategy[Principal]:
    return st.one_of(
        st.builds(lambda p: Principal("t", Role.TRADER, home(p), p), participants),
        st.builds(lambda e: Principal("o", Role.OPERATOR, e), st.sampled_from(ENTITIES)),
        st.just(Principal("a", Role.AUDITOR)),
        st.just(Principal("x", Role.ADMIN)),
    )


@given(principals(), participants)
def test_a_principal_sees_a_participant_exactly_as_its_role_allows(
    principal: Principal, participant_id: str
) -> None:
    expected = {
        Role.TRADER: participant_id == principal.participant_id,
        Role.OPERATOR: home(participant_id) == principal.entity,
        Role.AUDITOR: True,
        Role.ADMIN: True,
    }[principal.role]
    assert principal.sees_participant(participant_id, home(participant_id)) is expected


@given(principals(), participants, participants)
def test_an_object_is_seen_by_whoever_sees_one_of_its_parties(
    principal: Principal, debtor: str, creditor: str
) -> None:
    either = principal.sees_participant(debtor, home(debtor)) or principal.sees_participant(
        creditor, home(creditor)
    )
    assert principal.sees_parties((debtor, home(debtor)), (creditor, home(creditor))) is either


def test_the_scope_a_list_filters_by_follows_the_role() -> None:
    assert Principal("t", Role.TRADER, "CN", "CN-A").scope == Scope(participant_id="CN-A")
    assert Principal("o", Role.OPERATOR, "RU").scope == Scope(entity="RU")
    assert Principal("a", Role.AUDITOR).scope == Scope(everything=True)
    assert Principal("x", Role.ADMIN).scope == Scope(everything=True)


def test_a_scope_that_names_nothing_sees_nothing() -> None:
    assert not Scope().admits("CN-A", "CN")


def test_a_trader_is_bound_to_a_participant_and_an_operator_to_an_entity() -> None:
    with pytest.raises(ValueError, match="participant"):
        Principal("t", Role.TRADER, "CN")
    with pytest.raises(ValueError, match="entity"):
        Principal("o", Role.OPERATOR)


def test_a_role_that_may_not_act_is_forbidden_naming_the_roles_that_may() -> None:
    with pytest.raises(Forbidden, match="operator or auditor role; the key is trader"):
        Principal("t", Role.TRADER, "CN", "CN-A").require(Role.OPERATOR, Role.AUDITOR)
