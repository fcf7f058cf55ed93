"""An invoice's state is derived, not rewritten, while a cycle holds it: the SQL repositories
record a cut-off and a settlement once per cycle and derive each invoice's status, outstanding,
cycle and history events from that record and the cycle's snapshot. What every caller sees must
be exactly what the rewrite of every invoice showed, which the in-memory fake still does row by
row: the same pilot is run on the fake, on PostgreSQL and on SQLite, and at every step each
invoice, its history, the filtered lists, the counts and the pool of the next cut-off agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, text

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.domain.access import Scope
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.invoices import Invoice, InvoiceFilter, Status
from clearing.use_cases import compliance, cycles, invoices, settlement
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.unit.use_cases.world import World, build_world, new_store

pytestmark = pytest.mark.postgres

#: A visible state, with every generated id replaced by a name that is the same in every store.
Seen = dict[str, Any]


@dataclass
class Names:
    """The generated ids of one store and the names they stand for."""

    world: World
    ids: dict[str, str]

    def of(self, value: Any) -> Any:
        if isinstance(value, str):
            known = "|".join(re.escape(i) for i in sorted(self.ids, key=len, reverse=True))
            return re.sub(known, lambda m: self.ids[m.group(0)], value)
        if isinstance(value, dict):
            return {self.of(k): self.of(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.of(v) for v in value]
        return value

    def learn(self, invoice: Invoice) -> None:
        self.ids.setdefault(invoice.id, f"invoice {invoice.invoice_number}")


def names_of(world: World) -> Names:
    ids = {p.id: f"principal {name}" for name, p in world.traders.items()}
    ids |= {p.id: f"operator {code}" for code, p in world.operators.items()}
    ids[world.auditor.id] = "auditor"
    ids |= {world.id(name): f"participant {name}" for name in world.traders}
    return Names(world, ids)


def seen(names: Names) -> Seen:
    """Everything a caller can see of the invoices, as names."""
    world = names.world
    listed = invoices.list_invoices(world.uows(), world.auditor, limit=500)
    for invoice in listed:
        names.learn(invoice)
    for found in cycles.list_cycles(world.uows(), world.auditor, None, 100):
        names.ids.setdefault(found.id, f"cycle {found.number}")
    state: Seen = {"invoices": {}, "histories": {}, "lists": {}}
    for invoice in listed:
        key = names.of(invoice.id)
        state["invoices"][key] = names.of(_fields(invoice))
        history = world.history(invoice.id)
        stamps = sorted({e.at for e in history if e.at is not None})
        state["histories"][key] = [
            (
                e.from_status,
                e.to_status,
                names.of(e.actor),
                names.of(e.reason),
                names.of(e.details),
                stamps.index(e.at) if e.at is not None else -1,
            )
            for e in history
        ]
    readers = {"auditor": world.auditor, "CN": world.op("CN"), "ru1": world.traders["ru1"]}
    for who, principal in readers.items():
        for status in Status:
            page = invoices.list_invoices(world.uows(), principal, status=status.value, limit=500)
            state["lists"][(who, status.value)] = [names.of(i.id) for i in page]
        for cycle_id, cycle_name in names.ids.items():
            if cycle_name.startswith("cycle "):
                page = invoices.list_invoices(world.uows(), principal, cycle_id=cycle_id, limit=5)
                state["lists"][(who, cycle_name)] = [names.of(i.id) for i in page]
    first = invoices.list_invoices(world.uows(), world.auditor, limit=3)
    after = invoices.list_invoices(
        world.uows(), world.auditor, after_sequence=first[-1].sequence if first else 0, limit=3
    )
    state["lists"]["pages"] = [names.of(i.id) for i in first + after]
    with world.uows() as uow:
        state["counts"] = uow.stats.invoices_by_status()
        pool = uow.cycles.eligible_invoices()
    state["pool"] = [names.of(_fields(i)) for i in pool]
    return state


def _fields(invoice: Invoice) -> dict[str, Any]:
    return {
        "number": invoice.invoice_number,
        "exporter": invoice.exporter_id,
        "importer": invoice.importer_id,
        "amount": invoice.amount,
        "outstanding": invoice.outstanding,
        "status": invoice.status.value,
        "cycle": invoice.cycle_id,
        "priority": invoice.priority,
        "dispute": (invoice.dispute.fields, invoice.dispute.reason) if invoice.dispute else None,
        "rejection": (invoice.rejection.rule, invoice.rejection.reason)
        if invoice.rejection
        else None,
    }


def pilot(world: World, look: Callable[[str], None]) -> None:
    """Six cycles through every cycle-time transition: settled in full, in part and not at all,
    disputed and confirmed again after a partial settlement, cancelled and released from the
    pool, a rejected proposal, a default with a successor that settles, and a screening at
    cut-off of an invoice a settlement left in part, in a proposal left open at the end."""
    for exporter, importer, amount, number in (
        ("ru0", "cn0", "1000.00", "A"),
        ("ru1", "cn1", "800.00", "B"),
        ("cn0", "ru0", "1200.00", "C"),
        ("kz0", "cn0", "500.00", "D"),
        ("kz0", "ru1", "400.00", "E"),
    ):
        world.eligible(exporter, importer, amount, number=number)
    look("eligible")
    first = world.propose()
    look("first proposed")
    world.pay_everything(world.approve_all(first))
    look("first settled")

    b = _by_number(world, "B")
    invoices.dispute_invoice(world.uows(), world.traders["cn1"], b.id, "short delivery")
    look("disputed after a partial settlement")
    invoices.confirm_invoice(world.uows(), world.traders["cn1"], b.id, "CNY", "800.00")
    invoices.cancel_invoice(
        world.uows(), world.traders["kz0"], _by_number(world, "E").id, "withdrawn"
    )
    world.eligible("cn1", "ru1", "300.00", number="F")
    world.eligible("ru0", "cn1", "700.00", number="G")
    look("confirmed again, one cancelled")

    second = world.propose()
    look("second proposed")
    cycles.reject_cycle(world.uows(), world.op("RU"), second.id, "rates disputed")
    look("second rejected")

    world.eligible("cn0", "ru1", "900.00", number="H")
    third = world.approve_all(world.propose())
    look("third approved")
    defaulter = sorted(world.due(third))[0]
    entity = world.traders[defaulter].entity or ""
    successor = settlement.declare_default(
        world.uows(), world.op(entity), third.id, world.id(defaulter), "did not pay"
    )
    look("third superseded")
    if successor.status is not CycleStatus.SETTLED:
        world.pay_everything(world.approve_all(successor))
    look("successor settled")

    world.eligible("ru0", "cn0", "650.00", number="J")
    world.eligible("cn0", "ru0", "640.00", number="K")
    world.eligible("kz0", "ru1", "300.00", number="M")
    world.eligible("kz0", "cn1", "200.00", number="N")
    fifth = world.propose()
    look("fifth proposed")
    _settle(world, fifth)
    look("fifth settled")

    # An invoice the fifth cycle settled in part, untouched since: its importer is blocked, so
    # the next cut-off rejects it with what it still owes.
    partial = _first(
        world,
        lambda i: (
            i.status is Status.ELIGIBLE and 0 < i.outstanding < i.amount and i.cycle_id == fifth.id
        ),
    )
    blocked = world.trader_of(partial.importer_id)
    compliance.add_rule(world.uows(), "blocked_party", world.id(blocked), "screened")
    released = _first(
        world,
        lambda i: (
            i.status is Status.ELIGIBLE and world.id(blocked) not in (i.importer_id, i.exporter_id)
        ),
    )
    invoices.release_invoice(
        world.uows(), world.op(released.importer_entity), released.id, "paid by letter of credit"
    )
    cn = next(name for name in ("cn0", "cn1") if name != blocked)
    ru = next(name for name in ("ru0", "ru1") if name != blocked)
    world.eligible(ru, cn, "100.00", number="L")
    look("one blocked, one released")
    world.propose()
    look("sixth proposed, one screened out")


def _settle(world: World, cycle: Cycle) -> None:
    if cycle.status is not CycleStatus.SETTLED:
        world.pay_everything(world.approve_all(cycle))


def _by_number(world: World, number: str) -> Invoice:
    return _first(world, lambda i: i.invoice_number == number)


def _first(world: World, wanted: Callable[[Invoice], bool]) -> Invoice:
    listed = invoices.list_invoices(world.uows(), world.auditor, limit=500)
    return next(i for i in listed if wanted(i))


def walk(uows: UnitOfWorkFactory) -> list[tuple[str, Seen]]:
    world = build_world(uows)  # type: ignore[arg-type]
    names = names_of(world)
    steps: list[tuple[str, Seen]] = []
    pilot(world, lambda label: steps.append((label, seen(names))))
    return steps


def test_every_step_of_six_cycles_shows_what_rewriting_every_invoice_showed(
    sql_uows: SqlUnitOfWorkFactory,
) -> None:
    expected = walk(new_store())
    found = walk(sql_uows)

    assert [label for label, _ in found] == [label for label, _ in expected]
    for (label, state), (_, wanted) in zip(found, expected, strict=True):
        for part in wanted:
            assert state[part] == wanted[part], (label, part)


def test_the_pilot_takes_and_settles_in_recorded_steps_and_writes_only_what_settles_in_full(
    sql_uows: SqlUnitOfWorkFactory,
) -> None:
    walk(sql_uows)

    engine: Engine = sql_uows.engine
    with engine.connect() as connection:
        steps = set(connection.execute(text("SELECT cycle_id, step FROM cycle_steps")))
        found = list(connection.execute(text("SELECT id, status, predecessor_id FROM cycles")))
        stored_settled = set(
            connection.execute(text("SELECT id FROM invoices WHERE status = 'settled'")).scalars()
        )
        events = connection.execute(
            text(
                "SELECT count(*) FROM invoice_events "
                "WHERE reason LIKE 'taken by cycle %' OR reason LIKE 'cycle % settled % of %'"
            )
        ).scalar()
    # Each cut-off took its snapshot in one step (a successor takes over its predecessor's
    # invoices instead), each settled cycle settled in one, and neither wrote an event.
    took = {(c, "take") for c, _status, predecessor in found if predecessor is None}
    settled = {(c, "settle") for c, status, _predecessor in found if status == "settled"}
    assert steps == took | settled
    assert len(took) == 5
    assert len(settled) >= 3
    assert events == 0
    # An invoice settled in full is written as such, once: the pool the next cut-off scans
    # never holds it.
    with sql_uows() as uow:
        shown = uow.invoices.list(
            InvoiceFilter(limit=500, scope=Scope(everything=True), status="settled")
        )
    assert shown
    assert {i.id for i in shown} == stored_settled
