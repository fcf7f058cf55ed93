"""The cycles that carried each invoice are derived, not rewritten, as a cycle takes and settles
its snapshot (DESIGN §6a): the six cycles of the invoice-state pilot run on the in-memory fake,
which counts invoice by invoice, on PostgreSQL and on SQLite, and at every step each invoice's
count and first eligibility, the stale queue by every threshold, and the pool's carried value
agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.domain.access import Scope
from clearing.domain.ageing import StaleTest
from clearing.domain.invoices import InvoiceFilter
from clearing.use_cases import invoices
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.integration.test_invoice_state import Names, names_of, pilot
from tests.unit.use_cases.world import build_world, new_store

pytestmark = pytest.mark.postgres

AS_OF = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def seen(names: Names) -> dict[str, Any]:
    """The ageing figures a caller can see, with every generated id as a name."""
    world = names.world
    listed = invoices.list_invoices(world.uows(), world.auditor, limit=500, as_of=AS_OF)
    for invoice in listed:
        names.learn(invoice)
    state: dict[str, Any] = {
        "invoices": {
            names.of(i.id): (i.status.value, i.cycles_carried, i.first_eligible_at is not None)
            for i in listed
        },
        "stale": {},
    }
    with world.uows() as uow:
        for threshold in (1, 2, 3):
            for wanted in (True, False):
                for who, scope in (("all", Scope(everything=True)), ("CN", Scope(entity="CN"))):
                    found = uow.invoices.list(
                        InvoiceFilter(
                            limit=500,
                            scope=scope,
                            stale=wanted,
                            stale_test=StaleTest(threshold, None),
                        )
                    )
                    state["stale"][(threshold, wanted, who)] = [names.of(i.id) for i in found]
        state["carried"] = [
            (c.source, c.target, c.currency, c.outstanding) for c in uow.invoices.carried()
        ]
        state["by age"] = uow.invoices.carried_by_age(AS_OF)
    return state


def walk(uows: UnitOfWorkFactory) -> list[tuple[str, dict[str, Any]]]:
    world = build_world(uows)  # type: ignore[arg-type]
    names = names_of(world)
    steps: list[tuple[str, dict[str, Any]]] = []
    pilot(world, lambda label: steps.append((label, seen(names))))
    return steps


def test_every_step_of_six_cycles_counts_the_cycles_carried_as_counting_each_invoice_did(
    sql_uows: SqlUnitOfWorkFactory,
) -> None:
    expected = walk(new_store())
    found = walk(sql_uows)

    assert [label for label, _ in found] == [label for label, _ in expected]
    for (label, state), (_, wanted) in zip(found, expected, strict=True):
        for part in wanted:
            assert state[part] == wanted[part], (label, part)
    # The pilot carries invoices through more than one cycle, and the queue tells them apart.
    final = expected[-1][1]
    assert max(carried for _status, carried, _eligible in final["invoices"].values()) >= 2
    assert final["stale"][(1, True, "all")] != final["stale"][(2, True, "all")]
