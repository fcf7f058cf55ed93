"""The fake unit of work: one transaction over a working copy of the committed tables."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from clearing.domain.errors import Conflict
from tests.fakes.cycles import FakeCycles
from tests.fakes.lines import FakeLines
from tests.fakes.repositories import (
    FakeAgeingRules,
    FakeApiKeys,
    FakeBankEntries,
    FakeEntities,
    FakeIdempotencyRecords,
    FakeInvoices,
    FakeLedger,
    FakeParticipants,
    FakeRules,
    FakeStats,
)
from tests.fakes.tables import Store, Tables


class FakeUnitOfWork:
    """One transaction over the store's tables; re-entering it joins the transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._depth = 0
        self._tables: Tables | None = None
        self._began = 0
        self._wrote = False
        self.entities = FakeEntities(self)
        self.participants = FakeParticipants(self)
        self.api_keys = FakeApiKeys(self)
        self.invoices = FakeInvoices(self)
        self.rules = FakeRules(self)
        self.ageing_rules = FakeAgeingRules(self)
        self.idempotency = FakeIdempotencyRecords(self)
        self.cycles = FakeCycles(self)
        self.ledger = FakeLedger(self)
        self.bank = FakeBankEntries(self)
        self.stats = FakeStats(self)
        self.lines = FakeLines(self)

    def __enter__(self) -> Self:
        self._depth += 1
        if self._depth == 1:
            self._begin()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._tables = None  # whatever was not committed is gone

    def commit(self) -> None:
        if self._depth > 1:
            return  # the outermost block commits
        tables = self.tables(writing=False)
        if self._wrote:
            if self.store.commits != self._began:
                self._begin()
                raise Conflict("a concurrent change won; try again")
            self.store.committed = tables
            self.store.commits += 1
        self._begin()

    def rollback(self) -> None:
        self.tables(writing=False)
        self._begin()

    def tables(self, *, writing: bool) -> Tables:
        """The transaction's working copy; outside a ``with`` block there is none."""
        if self._tables is None:
            raise RuntimeError("a unit of work is used inside its `with` block only")
        self._wrote = self._wrote or writing
        return self._tables

    def _begin(self) -> None:
        self._tables = self.store.committed.copy()
        self._began = self.store.commits
        self._wrote = False


class FakeUnitOfWorkFactory:
    """Makes units of work over one in-memory store (one database)."""

    def __init__(self) -> None:
        self.store = Store()

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)
