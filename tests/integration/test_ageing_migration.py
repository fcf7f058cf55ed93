"""Revision 0011 fills in the ageing figures of invoices stored before it from what is recorded:
a database that ran the invoice-state pilot and holds a proposal still to settle has its
invoices' ageing columns blanked, as rows stored before 0011 hold nothing there, and the
revision's fill-in run on them; every invoice then shows the first eligibility and the cycles
carried it showed before, and once the proposal settles, the counts are what counting invoice
by invoice gives (the in-memory fake, which had nothing to fill in)."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from clearing.adapters.persistence.database import MIGRATIONS, make_engine, upgrade
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.domain.cycles import CycleStatus
from clearing.use_cases import compliance, invoices
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.conftest import ADMIN_URL
from tests.integration.test_invoice_state import Names, names_of, pilot
from tests.unit.use_cases.world import World, build_world, new_store


def revision_0011() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "revision_0011", MIGRATIONS / "versions" / "0011_ageing.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_before_0011_and_filled_in(engine: Engine) -> None:
    revision = revision_0011()
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE invoices SET first_eligible_at = NULL, cycles_carried = 0, "
                "carried_after_step = 0"
            )
        )
        with Operations.context(MigrationContext.configure(connection)):
            revision.fill_in_first_eligibility()
            revision.fill_in_cycles_carried()


#: Per invoice name: status, cycles carried, first eligibility.
Figures = dict[str, tuple[str, int, datetime | None]]


def figures(names: Names) -> Figures:
    listed = invoices.list_invoices(names.world.uows(), names.world.auditor, limit=500)
    for invoice in listed:
        names.learn(invoice)
    return {names.of(i.id): (i.status.value, i.cycles_carried, i.first_eligible_at) for i in listed}


def counts(found: Figures) -> dict[str, tuple[str, int]]:
    return {name: (status, carried) for name, (status, carried, _first) in found.items()}


def up_to_a_proposal(uows: UnitOfWorkFactory) -> tuple[World, Names, Any]:
    """The pilot's six cycles, then a proposal holding the pool, and an invoice confirmed after
    its cut-off (which the proposal does not hold)."""
    world = build_world(uows)  # type: ignore[arg-type]
    names = names_of(world)
    pilot(world, lambda _label: None)
    blocked = {r.value for r in compliance.list_rules(world.uows())}
    cn, ru = (
        next(name for name in names if world.id(name) not in blocked)
        for names in (("cn0", "cn1"), ("ru0", "ru1"))
    )
    world.eligible(ru, cn, "420.00", number="P")
    world.eligible(cn, ru, "400.00", number="Q")
    proposal = world.propose()
    assert proposal.status is CycleStatus.PROPOSED
    world.eligible("kz0", cn, "50.00", number="R")
    return world, names, proposal


def settle(world: World, proposal: Any) -> None:
    world.pay_everything(world.approve_all(proposal))


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    name = f"clearing_ageing_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'clearing.db'}"
    url: str = request.getfixturevalue("empty_postgres")
    return url


def test_the_upgrade_fills_in_what_the_invoices_showed_and_the_next_settlement_counts_on(
    database: str,
) -> None:
    expected_world, expected_names, expected_proposal = up_to_a_proposal(new_store())
    expected_before = figures(expected_names)
    settle(expected_world, expected_proposal)
    expected_after = figures(expected_names)

    upgrade(database)
    engine = make_engine(database)
    try:
        world, names, proposal = up_to_a_proposal(SqlUnitOfWorkFactory(engine))
        before = figures(names)
        as_before_0011_and_filled_in(engine)
        migrated = figures(names)
        settle(world, proposal)
        after = figures(names)
    finally:
        engine.dispose()

    assert counts(before) == counts(expected_before)
    assert counts(migrated) == counts(before)
    for name, (_status, _carried, first) in before.items():
        filled_in = migrated[name][2]
        if first is None:
            assert filled_in is None, name
        else:
            # From the event that confirmed it, stamped as the confirmation was stored.
            assert filled_in is not None, name
            assert abs(filled_in - first) < timedelta(seconds=1), name
    assert counts(after) == counts(expected_after)
    assert any(carried >= 2 for _status, carried in counts(after).values())
