"""The SQL unit of work: what only the database does. The contract every unit of work keeps
(commit, rollback, joining an open transaction) runs here too, in ``test_port_contract.py``."""

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


def now() -> datetime:
    return datetime.now(UTC)
