"""The in-memory unit of work honours the contract of the storage ports (the same tests run on
PostgreSQL in ``tests/integration/test_port_contract.py``), and what is its own: it is used
inside a ``with`` block only, and it serialises transactions."""

from __future__ import annotations

import pytest

from clearing.domain.errors import Conflict
from clearing.domain.parties import Entity
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.fakes import FakeUnitOfWorkFactory
from tests.port_contract import PortContract

CN = Entity("CN", "CNY", "China clearing")
RU = Entity("RU", "RUB", "Russia clearing")


class TestTheInMemoryUnitOfWork(PortContract):
    @pytest.fixture
    def contract_uows(self, fake_uows: FakeUnitOfWorkFactory) -> UnitOfWorkFactory:
        return fake_uows


def test_a_repository_outside_its_units_with_block_is_an_error(
    fake_uows: FakeUnitOfWorkFactory,
) -> None:
    uow = fake_uows()
    with pytest.raises(RuntimeError, match="inside its `with` block"):
        uow.entities.list()
    with uow:
        uow.entities.add(CN)
        uow.commit()
    with pytest.raises(RuntimeError, match="inside its `with` block"):
        uow.entities.get("CN")


def test_a_transaction_that_wrote_and_commits_after_another_committed_is_a_conflict(
    fake_uows: FakeUnitOfWorkFactory,
) -> None:
    with fake_uows() as first, fake_uows() as second:
        first.entities.add(CN)
        second.entities.add(RU)
        second.commit()
        with pytest.raises(Conflict, match="a concurrent change won"):
            first.commit()
        first.entities.add(CN)
        first.commit()

    with fake_uows() as uow:
        assert [e.code for e in uow.entities.list()] == ["CN", "RU"]


def test_a_transaction_that_only_read_commits_whatever_others_did(
    fake_uows: FakeUnitOfWorkFactory,
) -> None:
    with fake_uows() as reader, fake_uows() as writer:
        assert reader.entities.list() == []
        writer.entities.add(CN)
        writer.commit()
        reader.commit()
        assert reader.entities.list() == [CN]
