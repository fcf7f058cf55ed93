"""Transitions racing each other (DESIGN §6: each transition is one transaction that locks the
cycle). To make the race certain, a third connection holds the lock the requests need until
both are waiting on it in PostgreSQL; then it lets go and they run one after the other."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.e2e.conftest import MakeWorld
from tests.e2e.world import ZERO, Json, World, dec, journal_entries_expected

Call = tuple[str, str, Json | None, dict[str, str]]


def _lock_waiters(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


@contextmanager
def _held(engine: Engine, statement: str, **params: str) -> Iterator[Callable[[], None]]:
    """Hold the lock ``statement`` takes until the yielded function is called."""
    connection = engine.connect()
    try:
        connection.execute(text(statement), params)
        yield connection.rollback
    finally:
        connection.rollback()
        connection.close()


def _wait_for_lock_waiters(engine: Engine, count: int) -> None:
    deadline = time.monotonic() + 15
    while _lock_waiters(engine) < count:
        assert time.monotonic() < deadline, "the requests never met at the lock"
        time.sleep(0.02)


def _race(
    world: World, calls: list[Call], statement: str, *, in_order: bool = False, **params: str
) -> list[Any]:
    """Send ``calls`` at once, each through its own client, while ``statement``'s lock is held
    until all of them wait for it. With ``in_order``, each call is queued at the lock before
    the next is sent, so they run in the order given. Returns the responses in that order."""
    app = world.client.app

    def send(call: Call) -> Any:
        method, url, body, headers = call
        with TestClient(app) as client:
            return client.request(method, url, json=body, headers=headers)

    # The lock is let go before the pool waits for its threads, even when something fails.
    with (
        ThreadPoolExecutor(len(calls)) as pool,
        _held(world.engine, statement, **params) as release,
    ):
        futures = []
        for queued, call in enumerate(calls, start=1):
            futures.append(pool.submit(send, call))
            if in_order:
                _wait_for_lock_waiters(world.engine, queued)
        _wait_for_lock_waiters(world.engine, len(calls))
        release()
        return [f.result(timeout=60) for f in futures]


LOCK_CYCLE = "SELECT id FROM cycles WHERE id = :id FOR UPDATE"


def _trade(world: World) -> None:
    """CN and RU, two traders each, with trade both ways: both entities have payers."""
    (c0, c1), (r0, r1) = world.traders["CN"], world.traders["RU"]
    world.invoice(r0, c0, "3000.00")
    world.invoice(r1, c1, "400.00", currency="USD")
    world.invoice(c0, r1, "2500.00")
    world.invoice(c1, r0, "20000.00", currency="RUB")


def _approve_call(world: World, cycle: Json, entity: str) -> Call:
    return (
        "POST",
        f"/v1/cycles/{cycle['id']}/approve",
        {"digest": cycle["digest"]},
        world.op(entity),
    )


def test_two_operators_closing_the_same_cycle_at_once_get_one_proposal_and_one_conflict(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 2)
    _trade(world)
    cycle = world.open_cycle("CN")
    put = world.client.put(
        f"/v1/cycles/{cycle['id']}/rates", json=world.rates(), headers=world.op("CN")
    )
    assert put.status_code == 200, put.text
    close = f"/v1/cycles/{cycle['id']}/close"
    responses = _race(
        world,
        [("POST", close, None, world.op("CN")), ("POST", close, None, world.op("RU"))],
        LOCK_CYCLE,
        id=cycle["id"],
    )
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 200)
    loser = next(r.json() for r in responses if r.status_code == 409)
    assert loser["field"] == "status"
    assert world.cycle(cycle["id"])["digest"] == winner["digest"]

    # The snapshot was taken once: four obligations, each taken into the cycle once.
    assert len(world.settlements(cycle["id"])) == 4
    for invoice_id in world.invoices(status="in_cycle"):
        history = world.client.get(f"/v1/invoices/{invoice_id}/history", headers=world.aud)
        assert [e["to"] for e in history.json()["items"]].count("in_cycle") == 1


def test_the_same_entity_approving_twice_at_once_counts_once(make_world: MakeWorld) -> None:
    world = make_world(("CN", "RU"), 2)
    _trade(world)
    proposal = world.propose()
    responses = _race(
        world,
        [_approve_call(world, proposal, "CN"), _approve_call(world, proposal, "CN")],
        LOCK_CYCLE,
        id=proposal["id"],
    )
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    assert next(r for r in responses if r.status_code == 409).json()["field"] == "entity"
    cycle = world.cycle(proposal["id"])
    assert cycle["status"] == "proposed"
    assert [a["entity"] for a in cycle["approvals"]] == ["CN"]


def test_cn_and_ru_approving_at_once_both_succeed_and_the_cycle_is_approved_once(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 2)
    _trade(world)
    proposal = world.propose()
    responses = _race(
        world,
        [_approve_call(world, proposal, "CN"), _approve_call(world, proposal, "RU")],
        LOCK_CYCLE,
        id=proposal["id"],
    )
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    # One of them saw the other's approval and moved the cycle on; the other did not.
    assert sorted(r.json()["status"] for r in responses) == ["approved", "proposed"]
    cycle = world.cycle(proposal["id"])
    assert cycle["status"] == "approved"
    assert sorted(a["entity"] for a in cycle["approvals"]) == ["CN", "RU"]
    assert world.journal() == []
    assert world.pay_everything(proposal["id"])["status"] == "settled"
    assert world.verify()["ok"] is True


def test_the_last_approvals_at_once_settle_a_cycle_that_needs_no_pay_in_exactly_once(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 1)
    (c0,), (r0,) = world.traders["CN"], world.traders["RU"]
    world.invoice(r0, c0, "3000.00")
    world.invoice(c0, r0, "39000.00", currency="RUB")
    proposal = world.propose()
    positions = world.positions(proposal["id"])
    assert positions
    assert all(dec(p["net"]) == ZERO for p in positions)
    responses = _race(
        world,
        [_approve_call(world, proposal, "RU"), _approve_call(world, proposal, "CN")],
        LOCK_CYCLE,
        id=proposal["id"],
    )
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert sorted(r.json()["status"] for r in responses) == ["proposed", "settled"]
    lines = [json.loads(line) for line in world.journal()]
    assert len(lines) == journal_entries_expected(positions) == 2
    report = world.verify()
    assert (report["ok"], report["entries"], report["cycles"]) == (True, 2, 1)


def test_the_last_two_pay_ins_arriving_at_once_settle_the_cycle_exactly_once(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 2)
    _trade(world)
    proposal = world.propose()
    world.approve_all(proposal)
    payers = [p for p in world.positions(proposal["id"]) if dec(p["net"]) < 0]
    assert sorted(p["entity"] for p in payers) == ["CN", "RU"]
    calls: list[Call] = [
        (
            "POST",
            f"/v1/cycles/{proposal['id']}/pay-ins",
            {
                "participant_id": p["participant_id"],
                "currency": p["currency"],
                "amount": str(-dec(p["net"])),
                "bank_reference": f"REF-{p['participant_id']}",
            },
            world.op(p["entity"]),
        )
        for p in payers
    ]
    responses = _race(world, calls, LOCK_CYCLE, id=proposal["id"])
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert sorted(r.json()["status"] for r in responses) == ["settled", "settling"]
    report = world.verify()
    assert report["ok"] is True, report
    assert (report["entries"], report["cycles"]) == (6, 1)
    assert len(world.journal()) == 6


def test_two_operators_opening_a_cycle_at_once_get_one_cycle_and_one_conflict(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 1)
    body = {"policy": "fifo"}
    # Both find no active cycle, then wait to insert theirs behind a share lock on the table.
    responses = _race(
        world,
        [
            ("POST", "/v1/cycles", body, world.op("CN")),
            ("POST", "/v1/cycles", body, world.op("RU")),
        ],
        "LOCK TABLE cycles IN SHARE MODE",
    )
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    listed = world.client.get("/v1/cycles", headers=world.aud).json()["items"]
    assert [c["status"] for c in listed] == ["open"]


@pytest.mark.parametrize("first", ["pay_in", "default"])
def test_a_default_racing_the_defaulters_last_pay_in_lets_exactly_one_of_them_happen(
    make_world: MakeWorld, first: str
) -> None:
    world = make_world(("CN", "RU"), 2)
    _trade(world)
    proposal = world.propose()
    world.approve_all(proposal)
    payers = {p["entity"]: p for p in world.positions(proposal["id"]) if dec(p["net"]) < 0}
    ru_payer, cn_payer = payers["RU"], payers["CN"]
    paid = world.pay_in(
        proposal["id"], ru_payer["participant_id"], str(-dec(ru_payer["net"])), "SBER-1"
    )
    assert paid.status_code == 201, paid.text
    base = f"/v1/cycles/{proposal['id']}"
    pay: Call = (
        "POST",
        f"{base}/pay-ins",
        {
            "participant_id": cn_payer["participant_id"],
            "currency": "CNY",
            "amount": str(-dec(cn_payer["net"])),
            "bank_reference": "ICBC-LAST",
        },
        world.op("CN"),
    )
    default: Call = (
        "POST",
        f"{base}/defaults",
        {"participant_id": cn_payer["participant_id"], "reason": "declared late"},
        world.op("CN"),
    )
    calls = [pay, default] if first == "pay_in" else [default, pay]
    won, lost = _race(world, calls, LOCK_CYCLE, in_order=True, id=proposal["id"])
    assert (won.status_code, lost.status_code) == (201, 409), (won.text, lost.text)
    assert lost.json()["field"] == "status"  # the loser finds the cycle settled or superseded
    cycle = world.cycle(proposal["id"])
    report = world.verify()
    assert report["ok"] is True, report
    if first == "pay_in":
        # The money arrived first: the cycle settled and it owes nothing to default on.
        assert cycle["status"] == "settled"
        assert report["cycles"] == 1
        positions = world.positions(proposal["id"])
        assert len(world.journal()) == journal_entries_expected(positions)
    else:
        # The default came first: the pay-in finds a superseded cycle, nothing settled (the
        # journal holds only the money that moved: the RU payer's pay-in, any refund), and the
        # RU payer's money waits in the successor, which no longer involves the defaulter.
        assert cycle["status"] == "superseded"
        assert cycle["superseded_by"] == won.json()["id"]
        assert report["cycles"] == 0
        kinds = [json.loads(line)["kind"] for line in world.journal()]
        assert "pay_in" in kinds
        assert set(kinds) <= {"pay_in", "refund"}
        successor = {p["participant_id"]: p for p in world.positions(won.json()["id"])}
        assert cn_payer["participant_id"] not in successor
