"""Who sees what of a cycle and of the ledger (DESIGN §7, §10): traders their own position,
operators their entity's, auditors everything; others are refused, and what a caller may not
see is answered as if it did not exist."""

from __future__ import annotations

import json

import pytest

from tests.e2e.world import Json, World, bearer


@pytest.fixture
def cycle(trio: World) -> Json:
    """A settled cycle of CN<->RU and RU<->KZ trade: RU has legs with both, CN and KZ none
    with each other."""
    cn, ru, kz = trio.traders["CN"], trio.traders["RU"], trio.traders["KZ"]
    trio.invoice(ru[0], cn[0], "3000.00")
    trio.invoice(cn[1], ru[1], "2000.00")
    trio.invoice(kz[0], ru[0], "1000.00")
    trio.invoice(ru[2], kz[1], "1500.00")
    return trio.settle()


def _ids(rows: list[Json], key: str = "participant_id") -> set[str]:
    return {row[key] for row in rows}


def test_operators_see_their_entitys_positions_and_the_obligations_that_touch_it(
    trio: World, cycle: Json
) -> None:
    everyone = trio.positions(cycle["id"])
    all_settlements = trio.settlements(cycle["id"])
    assert len(all_settlements) == 4
    seen: set[str] = set()
    for entity in ("CN", "RU", "KZ"):
        own = trio.positions(cycle["id"], headers=trio.op(entity))
        assert own
        assert {p["entity"] for p in own} == {entity}
        assert own == [p for p in everyone if p["entity"] == entity]
        seen |= _ids(own)
        legs = trio.settlements(cycle["id"], headers=trio.op(entity))
        assert legs == [
            s for s in all_settlements if entity in (s["debtor_entity"], s["creditor_entity"])
        ]
    assert seen == _ids(everyone)
    assert len(trio.settlements(cycle["id"], headers=trio.op("CN"))) == 2
    assert len(trio.settlements(cycle["id"], headers=trio.op("RU"))) == 4

    # Another entity's participant is as absent as one that does not exist.
    foreign = trio.trader("RU", 0).id
    url = f"/v1/cycles/{cycle['id']}/statements"
    hidden = trio.client.get(f"{url}/{foreign}", headers=trio.op("CN"))
    missing = trio.client.get(f"{url}/CN-0000000000", headers=trio.op("CN"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"]
    assert trio.client.get(f"{url}/{foreign}", headers=trio.op("RU")).status_code == 200

    # Instructions: an entity's own bank file only.
    csv_url = f"/v1/cycles/{cycle['id']}/instructions.csv"
    assert (
        trio.client.get(csv_url, params={"entity": "RU"}, headers=trio.op("CN")).status_code == 404
    )
    assert {r["entity"] for r in trio.instructions(cycle["id"], headers=trio.op("KZ"))} == {"KZ"}

    # The ledger: an operator reads its own book only, and may not run the audit.
    for entity in ("CN", "RU", "KZ"):
        lines = [json.loads(x) for x in trio.journal(headers=trio.op(entity))]
        assert lines
        assert {d["entity"] for d in lines} == {entity}
        assert {e for e, _ in trio.balances(headers=trio.op(entity))} == {entity}
    assert trio.client.get("/v1/audit/verify", headers=trio.op("CN")).status_code == 403


def test_a_trader_sees_only_its_own_position_settlements_and_statement(
    trio: World, cycle: Json
) -> None:
    c0 = trio.trader("CN", 0)
    cycle_url = f"/v1/cycles/{cycle['id']}"
    mine = trio.positions(cycle["id"], headers=c0.headers)
    assert _ids(mine) == {c0.id}
    assert mine == [p for p in trio.positions(cycle["id"]) if p["participant_id"] == c0.id]
    legs = trio.settlements(cycle["id"], headers=c0.headers)
    assert len(legs) == 1
    assert all(c0.id in (s["debtor_id"], s["creditor_id"]) for s in legs)
    own = trio.client.get(f"{cycle_url}/statements/{c0.id}", headers=c0.headers)
    assert own.status_code == 200, own.text
    assert own.json()["position"] == mine[0]

    # Other participants, of its own entity or abroad, do not exist for it.
    for other in (trio.trader("CN", 1), trio.trader("RU", 0)):
        response = trio.client.get(f"{cycle_url}/statements/{other.id}", headers=c0.headers)
        assert response.status_code == 404, response.text
    # A trader with no position in the cycle cannot find the cycle at all.
    outsider = trio.trader("CN", 2).headers
    for path in ("/positions", "/settlements", f"/statements/{trio.trader('CN', 2).id}"):
        assert trio.client.get(f"{cycle_url}{path}", headers=outsider).status_code == 404, path

    # No operator's or auditor's views for a trader: not even the cycle it has a position in,
    # whose corridor totals and metrics are cycle-wide.
    for path in (
        "/v1/cycles",
        cycle_url,
        f"{cycle_url}/instructions.csv",
        "/v1/ledger/entries",
        "/v1/ledger/balances",
        "/v1/audit/verify",
    ):
        assert trio.client.get(path, headers=c0.headers).status_code == 403, path
    for path, body in (
        ("/approve", {"digest": cycle["digest"]}),
        ("/reject", {"reason": "x"}),
        ("/defaults", {"participant_id": c0.id, "reason": "x"}),
    ):
        assert (
            trio.client.post(f"{cycle_url}{path}", json=body, headers=c0.headers).status_code == 403
        ), path


def test_admins_have_no_operational_view_and_unknown_callers_none_at_all(
    trio: World, cycle: Json
) -> None:
    cycle_url = f"/v1/cycles/{cycle['id']}"
    admin = bearer(trio.admin)
    for path in (
        "/v1/cycles",
        cycle_url,
        f"{cycle_url}/positions",
        f"{cycle_url}/settlements",
        f"{cycle_url}/instructions.csv",
        "/v1/ledger/entries",
        "/v1/ledger/balances",
        "/v1/audit/verify",
    ):
        assert trio.client.get(path, headers=admin).status_code == 403, path
        assert trio.client.get(path).status_code == 401, path
        assert trio.client.get(path, headers=bearer("ck_not-a-key")).status_code == 401, path
    assert trio.client.post("/v1/cycles", json={}, headers=admin).status_code == 403

    # The auditor sees everything but acts on nothing; unknown cycles are 404 for everyone.
    assert trio.client.get(cycle_url, headers=trio.aud).status_code == 200
    assert len(trio.positions(cycle["id"])) == 7
    for path in ("/v1/cycles/cyc_0000000000000000", "/v1/cycles/cyc_0000000000000000/positions"):
        assert trio.client.get(path, headers=trio.aud).status_code == 404
        assert trio.client.get(path, headers=trio.op("CN")).status_code == 404
    assert trio.client.post("/v1/cycles", json={}, headers=trio.aud).status_code == 403
