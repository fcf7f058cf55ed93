"""The rules of the cycle lifecycle (DESIGN §6, §10): what is refused, with which answer, and
that a refusal changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from clearing.domain.access import Principal, Role
from clearing.domain.payments import is_creditor_reference
from clearing.use_cases import keys, participants
from tests.e2e.conftest import MakeWorld
from tests.e2e.world import ZERO, Json, World, bearer, dec


@pytest.fixture
def small(make_world: MakeWorld) -> World:
    """CN and RU, two traders each, with trade both ways (so both entities have a payer)."""
    world = make_world(("CN", "RU"), 2)
    (c0, c1), (r0, r1) = world.traders["CN"], world.traders["RU"]
    world.invoice(r0, c0, "3000.00")
    world.invoice(r1, c1, "400.00", currency="USD")
    world.invoice(c0, r1, "2500.00")
    world.invoice(c1, r0, "20000.00", currency="RUB")
    return world


def _error(response: Any, status: int, field: str | None = None) -> Json:
    """The answer is an error of ``status`` in the JSON shape ``{code, message, field?}``."""
    assert response.status_code == status, response.text
    body: Json = response.json()
    assert set(body) <= {"code", "message", "field"}, body
    assert body["code"], body
    assert body["message"], body
    if field is not None:
        assert body.get("field") == field, body
    return body


def test_a_rejected_proposal_returns_its_obligations_to_the_pool_and_a_new_cycle_can_open(
    small: World,
) -> None:
    before = small.invoices()
    proposal = small.propose()
    assert all(i["status"] == "in_cycle" for i in small.invoices().values())
    trader = small.trader("CN", 0)
    _error(
        small.client.post(
            f"/v1/cycles/{proposal['id']}/reject", json={"reason": "no"}, headers=trader.headers
        ),
        403,
    )
    small.approve(proposal, "CN")
    rejected = small.client.post(
        f"/v1/cycles/{proposal['id']}/reject",
        json={"reason": "the USD fixing is stale"},
        headers=small.op("RU"),
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    after = small.invoices()
    assert {i: (v["status"], v["outstanding"]) for i, v in after.items()} == {
        i: ("eligible", v["outstanding"]) for i, v in before.items()
    }
    _error(small.approve(proposal, "RU"), 409, "status")
    _error(small.pay_in(proposal["id"], small.trader("CN", 0).id, "1.00", "X-1"), 409, "status")
    assert small.journal() == []

    # The same pool with the same rates nets to the same digest in the next cycle.
    again = small.propose()
    assert again["id"] != proposal["id"]
    assert again["number"] == proposal["number"] + 1
    assert again["digest"] == proposal["digest"]
    small.approve_all(again)
    payer = next(p for p in small.positions(again["id"]) if dec(p["net"]) < 0)
    paid = small.pay_in(again["id"], payer["participant_id"], "1.00", "PART-1")
    assert paid.status_code == 201, paid.text
    # Once money has arrived, a rejection is refused: a default is the way out.
    refused = small.client.post(
        f"/v1/cycles/{again['id']}/reject", json={"reason": "late"}, headers=small.op("CN")
    )
    _error(refused, 409)
    assert small.cycle(again["id"])["status"] == "settling"


def test_approvals_need_the_proposed_digest_an_entity_with_legs_and_an_operator(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU", "KZ"), 1)
    (c0,), (r0,) = world.traders["CN"], world.traders["RU"]
    world.invoice(r0, c0, "3000.00")
    world.invoice(c0, r0, "2000.00")
    proposal = world.propose(by="KZ")
    assert proposal["required_approvals"] == ["CN", "RU"]
    cycle_id = proposal["id"]

    # KZ has no legs in this cycle: there is nothing for it to approve.
    _error(world.approve(proposal, "KZ"), 409, "entity")
    # A digest other than the one proposed is stale.
    _error(world.approve(proposal, "CN", digest="0" * 64), 409, "digest")
    _error(world.approve(proposal, "CN", digest=proposal["digest"][::-1]), 409, "digest")
    body = {"digest": proposal["digest"]}
    for headers in (world.trader("CN", 0).headers, world.aud, bearer(world.admin)):
        _error(world.client.post(f"/v1/cycles/{cycle_id}/approve", json=body, headers=headers), 403)
    _error(world.client.post(f"/v1/cycles/{cycle_id}/approve", json=body), 401)
    _error(
        world.client.post(
            "/v1/cycles/cyc_0000000000000000/approve", json=body, headers=world.op("CN")
        ),
        404,
    )
    unchanged = world.cycle(cycle_id)
    assert (unchanged["status"], unchanged["approvals"]) == ("proposed", [])

    first = world.approve(proposal, "CN")
    assert first.status_code == 200, first.text
    _error(world.approve(proposal, "CN"), 409, "entity")
    second = world.approve(proposal, "RU")
    assert second.status_code == 200, second.text
    # c0 and r0 owe each other the same matched value: no pay-in is due, so the last approval
    # settles the cycle at once.
    assert second.json()["status"] == "settled"
    assert [a["entity"] for a in second.json()["approvals"]] == ["CN", "RU"]
    assert all(dec(p["net"]) == ZERO for p in world.positions(cycle_id))
    _error(world.approve(proposal, "RU"), 409, "status")
    report = world.verify()
    assert (report["ok"], report["entries"], report["cycles"]) == (True, 2, 1)


def test_pay_ins_are_refused_across_entities_above_the_amount_due_and_in_a_wrong_currency(
    small: World,
) -> None:
    proposal = small.propose()
    cycle_id = proposal["id"]
    early = small.pay_in(cycle_id, small.trader("CN", 0).id, "1.00", "EARLY")
    _error(early, 409, "status")
    small.approve_all(proposal)
    positions = small.positions(cycle_id)
    cn_payer = next(p for p in positions if p["entity"] == "CN" and dec(p["net"]) < 0)
    due = -dec(cn_payer["net"])
    url = f"/v1/cycles/{cycle_id}/pay-ins"

    def attempt(headers: dict[str, str], **changes: str) -> Any:
        body = {
            "participant_id": cn_payer["participant_id"],
            "currency": "CNY",
            "amount": str(due),
            "bank_reference": "ICBC-7781",
            **changes,
        }
        return small.client.post(url, json=body, headers=headers)

    # RU's operator cannot see a CN participant's position at all.
    _error(attempt(small.op("RU")), 404, "participant_id")
    _error(attempt(small.op("RU"), currency="RUB"), 404, "participant_id")
    _error(attempt(small.op("CN"), currency="RUB"), 422, "currency")
    _error(attempt(small.op("CN"), currency="USD"), 422, "currency")
    _error(attempt(small.op("CN"), amount=str(due + Decimal("0.01"))), 422, "amount")
    _error(attempt(small.op("CN"), amount="0.00"), 422, "amount")
    _error(attempt(small.op("CN"), amount="1.001"), 422, "amount")
    _error(attempt(small.op("CN"), amount="-5.00"), 422, "amount")
    _error(attempt(small.op("CN"), participant_id="CN-NOBODY"), 404, "participant_id")
    for role in (small.trader("CN", 0).headers, small.aud, bearer(small.admin)):
        _error(attempt(role), 403)
    # None of that changed anything.
    assert small.positions(cycle_id) == positions
    assert small.cycle(cycle_id)["status"] == "approved"
    assert small.journal() == []

    # A real payment goes in; its bank reference cannot be recorded twice.
    part = attempt(small.op("CN"), amount="10.00")
    assert part.status_code == 201, part.text
    assert part.json()["status"] == "settling"
    _error(attempt(small.op("CN"), amount="10.00"), 409, "bank_reference")
    now = {p["participant_id"]: p for p in small.positions(cycle_id)}
    assert dec(now[cn_payer["participant_id"]]["received"]) == Decimal("10.00")
    assert dec(now[cn_payer["participant_id"]]["outstanding_pay_in"]) == due - Decimal("10.00")
    _error(attempt(small.op("CN"), amount=str(due), bank_reference="ICBC-7782"), 422, "amount")
    creditor = next(p for p in positions if dec(p["net"]) > 0 and p["entity"] == "CN")
    _error(
        attempt(
            small.op("CN"), participant_id=creditor["participant_id"], bank_reference="ICBC-7783"
        ),
        409,
        "participant_id",
    )


def test_only_one_cycle_is_active_at_a_time(small: World) -> None:
    opened = small.open_cycle("CN")
    refused = small.client.post("/v1/cycles", json={"policy": "fifo"}, headers=small.op("RU"))
    assert opened["id"] in _error(refused, 409)["message"]
    _error(small.client.post("/v1/cycles", json={"policy": "greedy"}, headers=small.op("RU")), 422)
    for headers in (small.trader("CN", 0).headers, small.aud, bearer(small.admin)):
        _error(small.client.post("/v1/cycles", json={}, headers=headers), 403)
    put = small.client.put(
        f"/v1/cycles/{opened['id']}/rates", json=small.rates(), headers=small.op("CN")
    )
    assert put.status_code == 200, put.text
    closed = small.client.post(f"/v1/cycles/{opened['id']}/close", headers=small.op("CN"))
    assert closed.json()["status"] == "proposed"
    _error(small.client.post("/v1/cycles", json={}, headers=small.op("CN")), 409)
    _error(small.client.post(f"/v1/cycles/{opened['id']}/close", headers=small.op("CN")), 409)
    small.approve_all(closed.json())
    _error(small.client.post("/v1/cycles", json={}, headers=small.op("RU")), 409)
    assert small.pay_everything(opened["id"])["status"] == "settled"
    assert small.open_cycle("RU")["number"] == opened["number"] + 1


def test_closing_needs_rates_for_every_currency_of_the_eligible_pool(small: World) -> None:
    small.invoice(small.trader("RU", 0), small.trader("CN", 1), "800.00", currency="EUR")
    cycle = small.open_cycle("RU")
    url = f"/v1/cycles/{cycle['id']}"
    no_rates = small.client.post(f"{url}/close", headers=small.op("CN"))
    assert "rates" in _error(no_rates, 409, "rates")["message"]

    for broken, field in [
        (small.rates(CNY="2"), "rates"),
        ({**small.rates(), "jurisdictions": {"CN": "CNY", "RU": "RUB", "XX": "USD"}}, None),
        ({**small.rates(), "jurisdictions": {"CN": "CNY", "RU": "USD"}}, None),
        (small.rates(RUB="0.07.81"), "rates.RUB"),
        (small.rates(RUB=""), "rates"),
    ]:
        _error(small.client.put(f"{url}/rates", json=broken, headers=small.op("CN")), 422, field)
    _error(
        small.client.put(f"{url}/rates", json=small.rates(), headers=small.trader("CN", 0).headers),
        403,
    )
    assert small.cycle(cycle["id"])["rates"] is None

    # USD and the entities' currencies are priced, but not the EUR invoice.
    put = small.client.put(f"{url}/rates", json=small.rates(), headers=small.op("CN"))
    assert put.status_code == 200, put.text
    missing = small.client.post(f"{url}/close", headers=small.op("RU"))
    assert "EUR" in _error(missing, 409, "rates")["message"]
    assert small.cycle(cycle["id"])["status"] == "open"
    assert all(i["status"] == "eligible" for i in small.invoices().values())
    _error(small.client.post(f"{url}/close", headers=small.trader("RU", 0).headers), 403)

    priced = small.client.put(f"{url}/rates", json=small.rates(EUR="7.70"), headers=small.op("RU"))
    assert priced.status_code == 200, priced.text
    closed = small.client.post(f"{url}/close", headers=small.op("RU"))
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "proposed"
    assert dec(closed.json()["rates"]["rates"]["EUR"]) == Decimal("7.70")
    _error(small.client.put(f"{url}/rates", json=small.rates(), headers=small.op("CN")), 409)


def test_a_cycle_whose_obligations_match_nothing_settles_at_close_with_no_ledger_entries(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 2)
    (c0, c1), (r0, r1) = world.traders["CN"], world.traders["RU"]
    world.invoice(r0, c0, "3000.00")
    world.invoice(r1, c1, "250.00", currency="USD")
    before = world.invoices()

    closed = world.propose()
    assert closed["status"] == "settled"
    assert closed["required_approvals"] == []
    assert [dec(c["settled"]) for c in closed["corridors"]] == [ZERO]
    assert dec(closed["metrics"]["carried_value"]) == dec(closed["metrics"]["submitted_value"])
    assert world.positions(closed["id"]) == []
    assert all(dec(s["settled"]) == ZERO for s in world.settlements(closed["id"]))
    after = world.invoices()
    assert {i: (v["status"], v["outstanding"]) for i, v in after.items()} == {
        i: ("eligible", v["outstanding"]) for i, v in before.items()
    }
    assert world.journal() == []
    assert world.balances() == {}
    report = world.verify()
    assert (report["ok"], report["entries"], report["cycles"]) == (True, 0, 1)
    assert world.open_cycle("RU")["status"] == "open"


def test_under_four_eyes_two_other_operators_approve_and_every_approval_names_its_operator(
    small: World,
) -> None:
    admin = Principal("admin", Role.ADMIN)
    participants.update_entity(small.uows(), admin, "CN", approvals_required=2)
    proposer = keys.authenticate(small.uows(), small.operators["CN"])
    assert proposer is not None
    proposal = small.propose(by="CN")
    second, third = (
        bearer(keys.create_key(small.uows(), Role.OPERATOR, entity="CN")[0]) for _ in range(2)
    )
    approve = f"/v1/cycles/{proposal['id']}/approve"
    digest = {"digest": proposal["digest"]}

    assert proposal["approvals_needed"] == {"CN": 2, "RU": 1}
    by_proposer = small.client.post(approve, json=digest, headers=small.op("CN"))
    _error(by_proposer, 409, field="principal")
    first = small.client.post(approve, json=digest, headers=second)
    assert first.status_code == 200, first.text
    assert first.json()["missing_approvals"] == ["CN", "RU"]
    _error(small.client.post(approve, json=digest, headers=second), 409, field="principal")
    assert small.client.post(approve, json=digest, headers=third).status_code == 200
    assert small.approve(proposal, "RU").status_code == 200

    cycle = small.cycle(proposal["id"])
    assert cycle["status"] == "approved"
    assert cycle["closed_by"] == proposer.id
    approvers = [(a["entity"], a["principal_id"]) for a in cycle["approvals"]]
    assert len(set(approvers)) == 3
    assert [entity for entity, _ in approvers].count("CN") == 2
    assert proposer.id not in {principal for _, principal in approvers}


def test_every_payer_is_shown_an_iso_11649_reference_on_its_positions_and_statement(
    small: World,
) -> None:
    proposal = small.propose()
    positions = small.positions(proposal["id"])

    payers = [p for p in positions if dec(p["net"]) < ZERO]
    payees = [p for p in positions if dec(p["net"]) >= ZERO]
    assert payers
    assert all(p["payment_reference"] is None for p in payees)
    references = [p["payment_reference"] for p in payers]
    assert len(set(references)) == len(references)
    assert all(is_creditor_reference(r) for r in references)
    payer = small.participant(payers[0]["participant_id"])
    statement = small.client.get(
        f"/v1/cycles/{proposal['id']}/statements/{payer.id}", headers=payer.headers
    )
    assert statement.status_code == 200, statement.text
    assert statement.json()["position"]["payment_reference"] == payers[0]["payment_reference"]


def test_recorded_pay_ins_are_listed_with_bank_reference_value_date_and_who_recorded_them(
    small: World,
) -> None:
    proposal = small.propose()
    small.approve_all(proposal)
    payer = next(p for p in small.positions(proposal["id"]) if dec(p["net"]) < ZERO)
    trader = small.participant(payer["participant_id"])
    due = -dec(payer["net"])
    part = (due / 3).quantize(Decimal("0.01"))
    path = f"/v1/cycles/{proposal['id']}/pay-ins"
    first = small.client.post(
        path,
        json={
            "participant_id": trader.id,
            "currency": payer["currency"],
            "amount": str(part),
            "bank_reference": "BANK-1",
            "value_date": "2026-11-30",
        },
        headers=small.op(trader.entity),
    )
    assert first.status_code == 201, first.text
    assert small.pay_in(proposal["id"], trader.id, str(due - part), "BANK-2").status_code == 201
    future = small.client.post(
        path,
        json={
            "participant_id": trader.id,
            "currency": payer["currency"],
            "amount": "0.01",
            "bank_reference": "BANK-3",
            "value_date": "2099-01-01",
        },
        headers=small.op(trader.entity),
    )
    _error(future, 422, field="value_date")

    listed = small.client.get(path, headers=small.op(trader.entity))
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [(i["bank_reference"], dec(i["amount"])) for i in items] == [
        ("BANK-1", part),
        ("BANK-2", due - part),
    ]
    assert items[0]["value_date"] == "2026-11-30"
    assert items[1]["value_date"] == items[1]["recorded_at"][:10]
    assert all(i["participant_id"] == trader.id and i["recorded_at"] for i in items)
    assert len({i["recorded_by"] for i in items}) == 1
    assert small.client.get(path, headers=small.aud).json()["items"] == items
    other = "RU" if trader.entity == "CN" else "CN"
    assert small.client.get(path, headers=small.op(other)).json()["items"] == []
    _error(small.client.get(path, headers=trader.headers), 403)
