"""The cycle state machine of :mod:`tests.cycle_machine` on real PostgreSQL: its invariants are
checked against the tables themselves, read with SQL, and against what only the database keeps
(the slot that lets one cycle at a time be active).

The database is the session's throwaway one (``engine`` fixture), emptied for every example.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant, run_state_machine_as_test
from sqlalchemy import Connection, Engine, select, text

from clearing.adapters.persistence import invoice_state as state
from clearing.adapters.persistence import tables
from clearing.adapters.persistence.tables import Base
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.domain.cycles import ACTIVE_STATES, CycleStatus
from clearing.domain.ledger import GENESIS_HASH
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

pytestmark = pytest.mark.postgres

_CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
MACHINE_SETTINGS = settings(
    max_examples=50 if _CI else 20,
    stateful_step_count=35 if _CI else 25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def empty_database(engine: Engine) -> None:
    """Empty every table as the ``uows`` fixture does, then restore the migrations' data."""
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        # Journal tables refuse TRUNCATE by trigger; a replica session does not fire triggers.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # Migration 0002 seeds the ledger head; TRUNCATE removed it with the rest.
        connection.execute(
            text("INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, :genesis)"),
            {"genesis": GENESIS_HASH},
        )


class SqlReader:
    """The committed tables, read with SQL; no transaction is left open between steps."""

    def __init__(self, engine: Engine) -> None:
        self.connection: Connection = engine.connect()

    def rows(self, sql: str) -> list[Any]:
        try:
            return list(self.connection.execute(text(sql)))
        finally:
            self.connection.rollback()

    def invoices(self) -> list[InvoiceRow]:
        """Each invoice's state: its row, overlaid by the latest cut-off's snapshot (the state
        a cycle takes and settles is recorded once per cycle, not in every row)."""
        invoice = tables.InvoiceRow
        query = select(
            invoice.id,
            state.status,
            invoice.amount,
            state.outstanding,
            invoice.currency,
            invoice.importer_id,
            state.cycle_id,
        ).select_from(state.overlaid_invoices())
        try:
            return [InvoiceRow(*row) for row in self.connection.execute(query)]
        finally:
            self.connection.rollback()

    def cycles(self) -> list[CycleRow]:
        sql = "SELECT id, number, status, superseded_by, predecessor_id FROM cycles"
        return [CycleRow(*row) for row in self.rows(sql)]

    def snapshots(self) -> list[SnapshotRow]:
        return [
            SnapshotRow(*row)
            for row in self.rows(
                "SELECT cycle_id, invoice_id, debtor_id, creditor_id, currency, outstanding, "
                "settled FROM cycle_obligations"
            )
        ]

    def journal(self) -> list[EntryRow]:
        return [
            EntryRow(*row)
            for row in self.rows(
                # An entry without a record may hold JSON null rather than SQL NULL.
                "SELECT seq, entity, hash, cycle_id, kind, "
                "  coalesce(json_typeof(cycle_record) = 'object', false) "
                "FROM journal_entries ORDER BY seq"
            )
        ]

    def postings(self) -> list[PostingRow]:
        sql = "SELECT seq, entity, account, currency, amount FROM journal_postings"
        return [PostingRow(*row) for row in self.rows(sql)]

    def head(self) -> list[tuple[int, str]]:
        return [(row.seq, row.hash) for row in self.rows("SELECT seq, hash FROM ledger_head")]

    def pay_ins(self) -> list[MoneyRow]:
        sql = "SELECT cycle_id, participant_id, amount, carried_from IS NOT NULL FROM pay_ins"
        return [MoneyRow(*row) for row in self.rows(sql)]

    def refunds(self) -> list[MoneyRow]:
        sql = "SELECT cycle_id, participant_id, amount FROM refunds"
        return [MoneyRow(*row) for row in self.rows(sql)]

    def close(self) -> None:
        self.connection.close()


class SqlCycleMachine(CycleMachine):
    engine: ClassVar[Engine | None] = None

    def open_store(self) -> tuple[UnitOfWorkFactory, Reader]:
        assert self.engine is not None, "the engine fixture binds SqlCycleMachine.engine"
        empty_database(self.engine)
        return SqlUnitOfWorkFactory(self.engine), SqlReader(self.engine)

    @invariant()
    def the_active_slot_marks_the_one_active_cycle(self) -> None:
        assert isinstance(self.reader, SqlReader)
        for status, slot in self.reader.rows("SELECT status, active_slot FROM cycles"):
            assert (slot == 1) == (CycleStatus(status) in ACTIVE_STATES), (status, slot)


@pytest.fixture(autouse=True)
def _bind_engine(engine: Engine) -> Iterator[None]:
    """Hand the session's migrated database to the machine (its fixtures cannot be injected)."""
    SqlCycleMachine.engine = engine
    yield
    SqlCycleMachine.engine = None


def test_cycles_keep_the_ledger_and_the_money_straight() -> None:
    run_state_machine_as_test(SqlCycleMachine, settings=MACHINE_SETTINGS)


def test_a_default_carries_the_pay_ins_of_two_payers_of_one_entity() -> None:
    """Regression scenario, driven by hand: both CN payers pay part of their due, then RU0
    defaults; both pay-ins are carried into the successor and refunded there."""
    machine = SqlCycleMachine()
    try:
        default_after_two_partial_pay_ins(machine)
        machine.the_active_slot_marks_the_one_active_cycle()
    finally:
        machine.teardown()
