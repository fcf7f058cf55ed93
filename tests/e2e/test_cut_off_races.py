"""A cut-off racing a party's action on one of the invoices it takes. The cut-off locks every
eligible invoice's row but leaves the rows as they were (it records the take once for the whole
snapshot), so an action that waited for that lock must still see the invoice in the cycle."""

from __future__ import annotations

from tests.e2e.conftest import MakeWorld
from tests.e2e.test_concurrency import _race
from tests.e2e.world import World

LOCK_INVOICE = "SELECT id FROM invoices WHERE id = :id FOR UPDATE"


def _open_with_rates(world: World) -> str:
    cycle = world.open_cycle("CN")
    put = world.client.put(
        f"/v1/cycles/{cycle['id']}/rates", json=world.rates(), headers=world.op("CN")
    )
    assert put.status_code == 200, put.text
    return str(cycle["id"])


def test_a_cancellation_queued_behind_the_cut_off_finds_the_invoice_taken(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 2)
    (c0, _c1), (r0, _r1) = world.traders["CN"], world.traders["RU"]
    invoice = world.invoice(r0, c0, "3000.00")
    world.invoice(c0, r0, "2500.00")
    cycle_id = _open_with_rates(world)

    close, cancel = _race(
        world,
        [
            ("POST", f"/v1/cycles/{cycle_id}/close", None, world.op("CN")),
            (
                "POST",
                f"/v1/invoices/{invoice['id']}/cancel",
                {"reason": "withdrawn"},
                r0.headers,
            ),
        ],
        LOCK_INVOICE,
        in_order=True,
        id=invoice["id"],
    )

    assert close.status_code == 200, close.text
    assert cancel.status_code == 409, cancel.text
    assert "in_cycle" in cancel.json()["message"]
    taken = world.invoices()[invoice["id"]]
    assert (taken["status"], taken["cycle_id"]) == ("in_cycle", cycle_id)


def test_a_cancellation_ahead_of_the_cut_off_keeps_the_invoice_out_of_the_snapshot(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 2)
    (c0, _c1), (r0, _r1) = world.traders["CN"], world.traders["RU"]
    invoice = world.invoice(r0, c0, "3000.00")
    world.invoice(c0, r0, "2500.00")
    cycle_id = _open_with_rates(world)

    cancel, close = _race(
        world,
        [
            (
                "POST",
                f"/v1/invoices/{invoice['id']}/cancel",
                {"reason": "withdrawn"},
                r0.headers,
            ),
            ("POST", f"/v1/cycles/{cycle_id}/close", None, world.op("CN")),
        ],
        LOCK_INVOICE,
        in_order=True,
        id=invoice["id"],
    )

    assert cancel.status_code == 200, cancel.text
    assert close.status_code == 200, close.text
    assert invoice["id"] not in {s["obligation_id"] for s in world.settlements(cycle_id)}
    assert world.invoices()[invoice["id"]]["status"] == "cancelled"
