"""The real server is killed (SIGKILL) in the middle of a default's re-netting and of the
settlement by the last pay-in; restarted, it continues, the client retries with the same
Idempotency-Key, the cycle settles, the audit passes and nobody is paid twice (DESIGN §6: a
crash between transitions loses nothing and a restart continues).

The kill is placed by ``CLEARING_TEST_KILL_AT`` (:mod:`clearing.entrypoints.faults`): the
server kills itself at the first commit it reaches, just before it (the re-netting written but
not committed) or just after it (the settlement committed, its answer never sent)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import Engine

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.entrypoints import faults
from tests.e2e.test_default import _trade
from tests.e2e.world import (
    ZERO,
    Json,
    World,
    assert_ledger_closed,
    assert_settled_coherently,
    build_world,
    dec,
)
from tests.ops.live_server import live_server

pytestmark = pytest.mark.postgres


def test_a_server_killed_mid_default_and_mid_settlement_continues_and_pays_nobody_twice(
    database_url: str, tmp_path: Path, uows: SqlUnitOfWorkFactory, engine: Engine
) -> None:
    with live_server(database_url, tmp_path) as server, server.client() as client:
        world = build_world(client, uows, engine, {"CN": "CNY", "RU": "RUB"}, 4)
        c0, r0 = world.trader("CN", 0), world.trader("RU", 0)
        _trade(world)
        before = world.invoices()
        cycle = _approved_and_partly_paid(world)

    default = _Post(
        f"/v1/cycles/{cycle['id']}/defaults",
        {"participant_id": c0.id, "reason": "the importer's bank returned the payment"},
        world.op("CN"),
        "default-c0",
    )
    _killed_while_answering(default, database_url, tmp_path, "before-commit")
    with live_server(database_url, tmp_path) as server, server.client() as client:
        world.client = client
        assert world.cycle(cycle["id"])["status"] == "settling", "the re-netting was committed"
        successor = default.send(world, expect=201)
        assert default.send(world, expect=201) == successor
        assert world.cycle(cycle["id"])["superseded_by"] == successor["id"]
        world.approve_all(successor)
        last_due = _all_paid_in_but(world, successor["id"], r0.id)

    last_pay_in = _Post(
        f"/v1/cycles/{successor['id']}/pay-ins",
        {"participant_id": r0.id, "currency": "RUB", "amount": last_due, "bank_reference": "LAST"},
        world.op("RU"),
        "last-pay-in",
    )
    _killed_while_answering(last_pay_in, database_url, tmp_path, "after-commit")
    with live_server(database_url, tmp_path) as server, server.client() as client:
        world.client = client
        assert world.cycle(successor["id"])["status"] == "settled", "the settlement was lost"
        assert last_pay_in.send(world, expect=201)["status"] == "settled"
        checked = assert_settled_coherently(world, successor["id"], before)
        assert_ledger_closed(world)
        settled = _positions(world, successor["id"])
        assert dec(settled[r0.id]["received"]) == dec(last_due), "the last pay-in counted twice"
        for position in checked["positions"]:
            owed_in = max(-dec(position["net"]), ZERO)
            assert dec(position["received"]) - dec(position["refunded"]) == owed_in, position
        report = world.verify()
        assert report["ok"] is True, report
        assert report["cycles"] == 1
    _audit_verify_passes(database_url)


def _approved_and_partly_paid(world: World) -> Json:
    """The proposal of :func:`_trade`, approved; c1 and c3 (CN) pay 1,000 each and r1 (RU) all
    it owes, so that the default by c0 has money to carry over and to refund."""
    (_, c1, _, c3), r1 = world.traders["CN"], world.trader("RU", 1)
    cycle = world.propose()
    world.approve_all(cycle)
    r1_due = -dec(_positions(world, cycle["id"])[r1.id]["net"])
    for payer, amount, reference in [
        (c1, "1000.00", "ICBC-0001"),
        (c3, "1000.00", "ICBC-0002"),
        (r1, str(r1_due), "SBER-0001"),
    ]:
        assert world.pay_in(cycle["id"], payer.id, amount, reference).status_code == 201
    return cycle


def _all_paid_in_but(world: World, cycle_id: str, last_payer: str) -> str:
    """Every pay-in still due but ``last_payer``'s is recorded; what ``last_payer`` owes."""
    owed = _positions(world, cycle_id)
    assert dec(owed[last_payer]["outstanding_pay_in"]) > ZERO
    for participant_id, position in owed.items():
        still = position["outstanding_pay_in"]
        if participant_id != last_payer and dec(still) > ZERO:
            paid = world.pay_in(cycle_id, participant_id, still, f"BANK-{participant_id}")
            assert paid.status_code == 201, paid.text
            assert paid.json()["status"] == "settling"
    last_due: str = owed[last_payer]["outstanding_pay_in"]
    return last_due


class _Post:
    """A POST a client retries with the same Idempotency-Key."""

    def __init__(self, path: str, body: Json, headers: dict[str, str], key: str) -> None:
        self.path, self.body = path, body
        self.headers = {**headers, "Idempotency-Key": key}

    def send(self, world: World, *, expect: int) -> Json:
        response = world.client.post(self.path, json=self.body, headers=self.headers)
        assert response.status_code == expect, response.text
        answer: Json = response.json()
        return answer


def _killed_while_answering(post: _Post, database_url: str, log_dir: Path, point: str) -> None:
    """Start a server that kills itself at ``point``, send it ``post``: no answer comes, and the
    server is dead of SIGKILL."""
    with (
        live_server(database_url, log_dir, CLEARING_TEST_KILL_AT=point) as server,
        server.client() as client,
    ):
        with pytest.raises(httpx2.TransportError):
            client.post(post.path, json=post.body, headers=post.headers)
        assert server.process.wait(timeout=30) == -signal.SIGKILL


def _positions(world: World, cycle_id: str) -> dict[str, Json]:
    return {p["participant_id"]: p for p in world.positions(cycle_id)}


def _audit_verify_passes(database_url: str) -> None:
    command = [str(Path(sys.executable).parent / "clearing"), "audit", "verify"]
    environment = {**os.environ, "DATABASE_URL": database_url}
    verified = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_kill_hook_is_off_unless_a_known_point_is_named(
    uows: SqlUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(faults.KILL_AT, raising=False)
    assert faults.from_environment(uows) is uows
    monkeypatch.setenv(faults.KILL_AT, "somewhere")
    with pytest.raises(ValueError, match="before-commit, after-commit"):
        faults.from_environment(uows)
