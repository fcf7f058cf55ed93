"""An invoice entering the pool while a cut-off reads it (DESIGN §6a): the importer's
confirmation and the cut-off exclude each other, so the invoice is either in the cycle or
written after it, and the count of cycles that carried it starts from the right one. A third
connection holds the pool's lock until both requests wait for it, then lets go."""

from __future__ import annotations

from clearing.adapters.persistence.invoice_state import POOL_LOCK
from tests.e2e.conftest import MakeWorld
from tests.e2e.test_concurrency import _race
from tests.e2e.world import Json, Trader, World

#: The lock a cut-off's read of the pool takes alone and an entry into the pool shares.
LOCK_POOL = f"SELECT pg_advisory_xact_lock({POOL_LOCK['space']}, {POOL_LOCK['key']})"


def _submitted(world: World, exporter: Trader, importer: Trader) -> Json:
    body = {
        "invoice_number": "LATE-1",
        "importer_id": importer.id,
        "currency": "CNY",
        "amount": "100.00",
        "issue_date": "2026-11-02",
        "due_date": "2026-12-20",
        "hs_code": "8471",
        "description": "goods",
    }
    response = world.client.post("/v1/invoices", json=body, headers=exporter.headers)
    assert response.status_code == 201, response.text
    submitted: Json = response.json()
    return submitted


def _race_confirmation_and_cut_off(world: World, *, confirm_first: bool) -> tuple[str, Json]:
    """cn0 owes ru0 3,000.00 and ru0 owes cn0 2,500.00; cn1 confirms 100.00 it owes ru1 at the
    moment the cut-off runs. Returns the cycle and the late invoice as it stands."""
    (c0, c1), (r0, r1) = world.traders["CN"], world.traders["RU"]
    world.invoice(r0, c0, "3000.00", due_date="2026-12-10")
    world.invoice(c0, r0, "2500.00")
    late = _submitted(world, r1, c1)
    cycle = world.open_cycle("CN")
    put = world.client.put(
        f"/v1/cycles/{cycle['id']}/rates", json=world.rates(), headers=world.op("CN")
    )
    assert put.status_code == 200, put.text
    close = ("POST", f"/v1/cycles/{cycle['id']}/close", None, world.op("CN"))
    confirm = (
        "POST",
        f"/v1/invoices/{late['id']}/confirm",
        {"currency": "CNY", "amount": "100.00"},
        c1.headers,
    )
    calls = [confirm, close] if confirm_first else [close, confirm]
    responses = _race(world, calls, LOCK_POOL, in_order=True)
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    return str(cycle["id"]), world.invoices()[late["id"]]


def _settle(world: World, cycle_id: str) -> None:
    world.approve_all(world.cycle(cycle_id))
    assert world.pay_everything(cycle_id)["status"] == "settled"


def test_a_confirmation_queued_behind_the_cut_off_is_not_carried_by_its_cycle(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 2)

    cycle_id, late = _race_confirmation_and_cut_off(world, confirm_first=False)
    assert (late["status"], late["cycle_id"]) == ("eligible", None)
    _settle(world, cycle_id)

    counts = {i["invoice_number"]: i["cycles_carried"] for i in world.invoices().values()}
    assert counts["LATE-1"] == 0
    assert sorted(counts.values()) == [0, 0, 1]  # 500.00 of the 3,000.00 carried


def test_a_confirmation_ahead_of_the_cut_off_is_taken_and_carried_by_its_cycle(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 2)

    cycle_id, late = _race_confirmation_and_cut_off(world, confirm_first=True)
    assert (late["status"], late["cycle_id"]) == ("in_cycle", cycle_id)
    _settle(world, cycle_id)

    counts = {i["invoice_number"]: i["cycles_carried"] for i in world.invoices().values()}
    assert counts["LATE-1"] == 1  # nothing matched it
