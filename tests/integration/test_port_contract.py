"""The SQL repositories on PostgreSQL honour the contract of the storage ports: the same tests
the in-memory fake of the use-case tests passes (``tests/port_contract.py``)."""

from __future__ import annotations

import pytest

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.port_contract import PortContract

pytestmark = pytest.mark.postgres


class TestTheSqlUnitOfWork(PortContract):
    @pytest.fixture
    def contract_uows(self, uows: SqlUnitOfWorkFactory) -> UnitOfWorkFactory:
        return uows
