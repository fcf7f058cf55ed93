"""The contract of the storage ports that the use cases rely on, as tests every implementation
must pass: the in-memory fake (``tests/unit/use_cases``) and the SQL repositories on
PostgreSQL (``tests/integration``) run the same class, so the fake is held to the database.

A subclass of :class:`PortContract` provides the fixture ``contract_uows``: a unit-of-work
factory on an empty store seeded with the default compliance rules.
"""

from tests.port_contract.ageing import AgeingContract
from tests.port_contract.bank import BankContract
from tests.port_contract.cycles import CycleContract
from tests.port_contract.lines import LineContract
from tests.port_contract.records import RecordContract
from tests.port_contract.transactions import TransactionContract


class PortContract(
    TransactionContract,
    RecordContract,
    CycleContract,
    BankContract,
    LineContract,
    AgeingContract,
):
    """Every test of the contract."""


__all__ = ["PortContract"]
