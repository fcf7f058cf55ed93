"""The cycle state machine of :mod:`tests.cycle_machine` on the in-memory unit of work: the same
walks and invariants as on PostgreSQL, read from the fake's committed tables, so that many
more and longer walks run in seconds."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from clearing.use_cases.ports import UnitOfWorkFactory
from tests.cycle_machine.machine import CycleMachine, default_after_two_partial_pay_ins
from tests.cycle_machine.rows import (
    CycleRow,
    EntryRow,
    InvoiceRow,
    MoneyRow,
    PostingRow,
    Reader,
    SnapshotRow,
)
from tests.fakes import FakeUnitOfWorkFactory
from tests.fakes.tables import Store, Tables

_CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
MACHINE_SETTINGS = settings(
    max_examples=300 if _CI else 60,
    stateful_step_count=50 if _CI else 35,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class TablesReader:
    """The fake's committed tables, as the SQL reader finds the database's."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def tables(self) -> Tables:
        return self.store.committed

    def invoices(self) -> list[InvoiceRow]:
        return [
            InvoiceRow(
                i.id, i.status.value, i.amount, i.outstanding, i.currency, i.importer_id, i.cycle_id
            )
            for i in self.tables.invoices.values()
        ]

    def cycles(self) -> list[CycleRow]:
        return [
            CycleRow(c.id, c.number, c.status.value, c.superseded_by, c.predecessor_id)
            for c in self.tables.cycles.values()
        ]

    def snapshots(self) -> list[SnapshotRow]:
        return [
            SnapshotRow(
                cycle_id,
                invoice_id,
                s.obligation.debtor_id,
                s.obligation.creditor_id,
                s.obligation.currency,
                s.obligation.outstanding,
                s.settled,
            )
            for (cycle_id, invoice_id), s in self.tables.snapshots.items()
        ]

    def journal(self) -> list[EntryRow]:
        return [
            EntryRow(e.seq, e.entity, e.hash, e.cycle_id, e.kind, e.cycle_record is not None)
            for e in self.tables.journal.values()
        ]

    def postings(self) -> list[PostingRow]:
        return [
            PostingRow(e.seq, e.entity, account, currency, amount)
            for e in self.tables.journal.values()
            for account, currency, amount in e.postings
        ]

    def head(self) -> list[tuple[int, str]]:
        return [self.tables.head]

    def pay_ins(self) -> list[MoneyRow]:
        return [
            MoneyRow(p.cycle_id, p.participant_id, p.amount, p.carried_from is not None)
            for _recorded, p in self.tables.pay_ins.values()
        ]

    def refunds(self) -> list[MoneyRow]:
        return [MoneyRow(r.cycle_id, r.participant_id, r.amount) for r in self.tables.refunds]

    def close(self) -> None:
        """Nothing to release."""


class InMemoryCycleMachine(CycleMachine):
    def open_store(self) -> tuple[UnitOfWorkFactory, Reader]:
        uows = FakeUnitOfWorkFactory()
        return uows, TablesReader(uows.store)


def test_cycles_keep_the_ledger_and_the_money_straight() -> None:
    run_state_machine_as_test(InMemoryCycleMachine, settings=MACHINE_SETTINGS)


def test_a_default_carries_the_pay_ins_of_two_payers_of_one_entity() -> None:
    """Regression scenario, driven by hand: both CN payers pay part of their due, then RU0
    defaults; both pay-ins are carried into the successor and refunded there."""
    machine = InMemoryCycleMachine()
    try:
        default_after_two_partial_pay_ins(machine)
    finally:
        machine.teardown()
