"""The throwaway database fixture itself: built by migrations, emptied between tests."""

from __future__ import annotations

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.use_cases import compliance


def test_a_fresh_database_has_the_default_rules_and_no_entities(uows: SqlUnitOfWorkFactory) -> None:
    assert any(rule.value == "93" for rule in compliance.list_rules(uows()))
    with uows() as uow:
        assert uow.entities.list() == []
