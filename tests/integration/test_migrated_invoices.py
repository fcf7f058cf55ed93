"""Invoices written before revisions 0004 and 0005 keep their states and histories: their rows
and event rows are their whole story (no cycle step, no submission on the row), and a cycle
taken before the upgrade settles through its rows afterwards. On PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text

from clearing.adapters.persistence.database import make_engine, upgrade
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.domain.invoices import Status

STAMP = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CYCLE = "cyc_before_upgrade"


@pytest.fixture
def engine_before(empty_url: str) -> Iterator[Engine]:
    """A database at revision 0003 with two invoices and their events, written as that
    revision's code wrote them: one confirmed, one taken into an approved cycle."""
    upgrade(empty_url, "0003")
    engine = make_engine(empty_url)
    with engine.begin() as connection:
        for code, currency in (("CN", "CNY"), ("RU", "RUB")):
            connection.execute(
                text("INSERT INTO entities VALUES (:code, :currency, :code, :at)"),
                {"code": code, "currency": currency, "at": STAMP},
            )
        for ident, entity in (("CN-1", "CN"), ("RU-1", "RU")):
            connection.execute(
                text(
                    "INSERT INTO participants (id, entity, name, created_at) "
                    "VALUES (:id, :entity, :id, :at)"
                ),
                {"id": ident, "entity": entity, "at": STAMP},
            )
        connection.execute(
            text(
                "INSERT INTO cycles (id, number, status, policy, active_slot, opened_by, "
                "opened_at) VALUES (:id, 1, 'approved', 'fifo', 1, 'key_op', :at)"
            ),
            {"id": CYCLE, "at": STAMP},
        )
        for number, status, cycle in ((1, "eligible", None), (2, "in_cycle", CYCLE)):
            connection.execute(
                text(
                    "INSERT INTO invoices (id, invoice_number, exporter_id, exporter_entity, "
                    "importer_id, importer_entity, currency, amount, outstanding, issue_date, "
                    "due_date, hs_code, description, status, priority, cycle_id, created_at, "
                    "updated_at) VALUES (:id, :number, 'CN-1', 'CN', 'RU-1', 'RU', 'CNY', "
                    "10000, 10000, :issued, :due, '1201', '', :status, 0, :cycle, :at, :at)"
                ),
                {
                    "id": f"inv_{number}",
                    "number": f"N-{number}",
                    "issued": date(2026, 11, 1),
                    "due": date(2026, 12, 1),
                    "status": status,
                    "cycle": cycle,
                    "at": STAMP,
                },
            )
        events: list[dict[str, Any]] = [
            {"id": f"inv_{n}", "before": None, "after": "awaiting_confirmation", "why": None}
            for n in (1, 2)
        ]
        events += [
            {"id": f"inv_{n}", "before": "awaiting_confirmation", "after": "eligible", "why": "ok"}
            for n in (1, 2)
        ]
        events.append(
            {"id": "inv_2", "before": "eligible", "after": "in_cycle", "why": f"taken by {CYCLE}"}
        )
        for event in events:
            connection.execute(
                text(
                    "INSERT INTO invoice_events (invoice_id, from_status, to_status, actor, "
                    "reason, at) VALUES (:id, :before, :after, 'key_old', :why, :at)"
                ),
                {**event, "at": STAMP},
            )
        connection.execute(
            text(
                "INSERT INTO cycle_obligations VALUES (:cycle, 'inv_2', 'RU-1', 'RU', 'CN-1', "
                "'CN', 'CNY', 10000, :due, 0, 2, 10000, 4000, 4000, 4000, 31250)"
            ),
            {"cycle": CYCLE, "due": date(2026, 12, 1)},
        )
    try:
        yield engine
    finally:
        engine.dispose()


def test_rows_and_events_written_before_the_upgrade_read_back_as_they_were(
    engine_before: Engine, empty_url: str
) -> None:
    upgrade(empty_url)
    uows = SqlUnitOfWorkFactory(engine_before)

    with uows() as uow:
        confirmed, taken = uow.invoices.get("inv_1"), uow.invoices.get("inv_2")
        histories = [uow.invoices.history(i) for i in ("inv_1", "inv_2")]
        pool = [i.id for i in uow.cycles.eligible_invoices()]

    assert confirmed is not None
    assert taken is not None
    assert (confirmed.status, confirmed.cycle_id) == (Status.ELIGIBLE, None)
    assert (taken.status, taken.cycle_id, taken.outstanding) == (Status.IN_CYCLE, CYCLE, 10000)
    assert [(e.from_status, e.to_status) for e in histories[0]] == [
        (None, "awaiting_confirmation"),
        ("awaiting_confirmation", "eligible"),
    ]
    assert [e.to_status for e in histories[1]] == ["awaiting_confirmation", "eligible", "in_cycle"]
    assert pool == ["inv_1"]


def test_a_cycle_taken_before_the_upgrade_settles_through_its_rows(
    engine_before: Engine, empty_url: str
) -> None:
    upgrade(empty_url)
    uows = SqlUnitOfWorkFactory(engine_before)

    with uows() as uow:
        uow.cycles.settle_invoices(CYCLE, "key_op")
        uow.commit()

    with uows() as uow:
        settled = uow.invoices.get("inv_2")
        history = uow.invoices.history("inv_2")
        pool = [i.id for i in uow.cycles.eligible_invoices()]
    assert settled is not None
    assert (settled.status, settled.outstanding, settled.cycle_id) == (
        Status.ELIGIBLE,
        6000,
        CYCLE,
    )
    assert [(e.from_status, e.to_status, e.reason) for e in history][-2:] == [
        ("eligible", "in_cycle", f"taken by {CYCLE}"),
        ("in_cycle", "eligible", f"cycle {CYCLE} settled 4000 of 10000 minor units"),
    ]
    assert pool == ["inv_1", "inv_2"]
