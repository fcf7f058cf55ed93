"""The unit of work: one transaction, rolled back unless committed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clearing.adapters.persistence.tables import EntityRow
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.domain.errors import Conflict
from clearing.domain.parties import Entity

CN = Entity("CN", "CNY", "China clearing")


def stored_entities(uows: SqlUnitOfWorkFactory) -> list[Entity]:
    with uows() as uow:
        return uow.entities.list()


def test_what_is_committed_is_kept(uows: SqlUnitOfWorkFactory) -> None:
    with uows() as uow:
        uow.entities.add(CN)
        uow.commit()

    assert stored_entities(uows) == [CN]


def test_leaving_without_commit_rolls_everything_back(uows: SqlUnitOfWorkFactory) -> None:
    with uows() as uow:
        uow.entities.add(CN)
        assert uow.entities.get("CN") == CN

    assert stored_entities(uows) == []


def test_an_exception_rolls_back_and_propagates(uows: SqlUnitOfWorkFactory) -> None:
    def add_and_fail() -> None:
        with uows() as uow:
            uow.entities.add(CN)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        add_and_fail()

    assert stored_entities(uows) == []


def test_an_explicit_rollback_discards_the_changes_so_far(uows: SqlUnitOfWorkFactory) -> None:
    with uows() as uow:
        uow.entities.add(CN)
        uow.rollback()
        uow.entities.add(Entity("RU", "RUB", "Russia clearing"))
        uow.commit()

    assert [e.code for e in stored_entities(uows)] == ["RU"]


def test_uncommitted_changes_are_invisible_to_another_unit_of_work(
    uows: SqlUnitOfWorkFactory,
) -> None:
    with uows() as writer:
        writer.entities.add(CN)
        with uows() as reader:
            assert reader.entities.get("CN") is None
        writer.commit()

    with uows() as reader:
        assert reader.entities.get("CN") == CN


def test_a_commit_that_breaks_a_constraint_is_a_conflict_and_keeps_nothing(
    uows: SqlUnitOfWorkFactory,
) -> None:
    with uows() as uow:
        uow.entities.add(CN)
        uow.commit()

    with uows() as uow:
        uow.entities.add(Entity("RU", "RUB", "Russia clearing"))
        uow.session.add(EntityRow(code="CN", currency="CNY", name="again", created_at=now()))
        with pytest.raises(Conflict):
            uow.commit()

    assert stored_entities(uows) == [CN]


def test_a_unit_of_work_can_be_used_again_after_it_is_left(uows: SqlUnitOfWorkFactory) -> None:
    uow = uows()
    with uow:
        uow.entities.add(CN)
    with uow:
        uow.entities.add(CN)
        uow.commit()

    assert stored_entities(uows) == [CN]


def now() -> datetime:
    return datetime.now(UTC)
