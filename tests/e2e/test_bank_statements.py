"""Bank reconciliation through the API on PostgreSQL (DESIGN §5, §10): a cycle settled entirely
from the entities' camt.054 notifications, a re-import that records nothing twice, a stray
credit worked through suspense, the payment file, and the bank's debits confirming it."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import xmlschema

from clearing.domain.access import Principal, Role
from clearing.domain.money import format_amount, parse_amount
from clearing.use_cases import participants
from tests.bank_files import Line, camt, statement_csv
from tests.e2e.conftest import MakeWorld
from tests.e2e.world import Json, World, bearer, dec
from tests.ops.test_payments import XSD


def _trade(world: World) -> None:
    """Both ways, so that traders on each side must pay in."""
    (c0, c1, _, _), (r0, r1, _, _) = world.traders["CN"], world.traders["RU"]
    world.invoice(r0, c0, "5000.00")
    world.invoice(r1, c1, "3000.00")
    world.invoice(c0, r1, "4000.00")
    world.invoice(c1, r0, "1000.00")


def _credits(world: World, cycle_id: str, entity: str) -> list[Line]:
    currency = world.entities[entity]
    return [
        Line(
            f"{entity}-{n}",
            parse_amount(p["outstanding_pay_in"], currency),
            currency,
            remittance=p["payment_reference"],
            counterparty=world.participant(p["participant_id"]).name,
        )
        for n, p in enumerate(world.positions(cycle_id, world.op(entity)))
        if dec(p["outstanding_pay_in"]) > 0
    ]


def _import(world: World, entity: str, body: bytes, media_type: str = "application/xml") -> Json:
    response = world.client.post(
        "/v1/bank-statements",
        content=body,
        headers={**world.op(entity), "Content-Type": media_type},
    )
    assert response.status_code == 200, response.text
    report: Json = response.json()
    return report


def test_a_cycle_settles_from_imported_camt_054_notifications_with_a_stray_credit_in_suspense(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 4)
    _trade(world)
    cycle = world.propose()
    world.approve_all(cycle)
    stray = Line("CN-STRAY", 777_00, remittance="deposit, no reference", structured=False)
    cn_credits = _credits(world, cycle["id"], "CN")
    ru_credits = _credits(world, cycle["id"], "RU")
    assert cn_credits
    assert ru_credits
    cn_statement = camt([*cn_credits, stray], message_id="CN-0001")

    first = _import(world, "CN", cn_statement)
    assert (first["matched"], first["unmatched"]) == (len(cn_credits), 1)
    again = _import(world, "CN", cn_statement)
    assert (again["matched"], again["unmatched"]) == (0, 0)
    assert again["duplicates"] == len(cn_credits) + 1
    assert world.cycle(cycle["id"])["status"] == "settling"

    ru = _import(world, "RU", camt(ru_credits, message_id="RU-0001"))
    assert (ru["matched"], ru["unmatched"]) == (len(ru_credits), 0)
    assert world.cycle(cycle["id"])["status"] == "settled"

    pay_ins = world.client.get(f"/v1/cycles/{cycle['id']}/pay-ins", headers=world.aud).json()
    assert sorted(p["bank_reference"] for p in pay_ins["items"]) == sorted(
        line.reference for line in cn_credits + ru_credits
    )

    waiting = world.client.get("/v1/suspense", headers=world.op("CN")).json()["items"]
    assert [(w["entry_reference"], w["amount"]) for w in waiting] == [("CN-STRAY", "777.00")]
    assert world.client.get("/v1/suspense", headers=world.op("RU")).json()["items"] == []
    returned = world.client.post(
        f"/v1/suspense/{waiting[0]['id']}/return",
        json={"reason": "unknown payer"},
        headers=world.op("CN"),
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"
    assert world.client.get("/v1/suspense", headers=world.op("CN")).json()["items"] == []

    balances = world.balances()
    assert balances[("CN", "settlement")] == Decimal(0)
    assert balances[("CN", "suspense")] == Decimal(0)
    kinds = [entry["kind"] for entry in map(_json, world.journal())]
    assert kinds.count("suspense") == 1
    assert kinds.count("suspense_return") == 1
    report = world.verify()
    assert report["ok"], report["problems"]


def test_the_banks_debits_confirm_the_pay_outs_of_the_file_it_was_sent(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 4)
    for entity, (bank_code, account) in {
        "CN": ("BKCHCNBJ", "62170000100012345"),
        "RU": ("044525225", "30101810400000000225"),
    }.items():
        _set_entity_bank(world, entity, bank_code, account)
    for traders in world.traders.values():
        for trader in traders:
            code = "104100000004" if trader.entity == "CN" else "044525593"
            patched = world.client.patch(
                f"/v1/participants/{trader.id}",
                json={"bank_code": code},
                headers=bearer(world.admin),
            )
            assert patched.status_code == 200, patched.text
    _trade(world)
    cycle = world.propose()
    world.approve_all(cycle)
    too_early = world.client.get(f"/v1/cycles/{cycle['id']}/payments", headers=world.op("RU"))
    assert too_early.status_code == 409, too_early.text
    world.pay_everything(cycle["id"])

    document = world.client.get(f"/v1/cycles/{cycle['id']}/payments", headers=world.op("RU"))
    assert document.status_code == 200, document.text
    xmlschema.XMLSchema(str(XSD)).validate(document.text)
    transfers = world.client.get(
        f"/v1/cycles/{cycle['id']}/payments", params={"format": "csv"}, headers=world.op("RU")
    )
    rows = csv.DictReader(io.StringIO(transfers.text))
    batch = tuple((parse_amount(row["amount"], "RUB"), row["reference"]) for row in rows)
    debit = Line("RU-OUT-1", sum(a for a, _ in batch), "RUB", credit=False, batch=batch)
    statement = camt([debit], account="30101810400000000225", message_id="RU-0002")

    report = _import(world, "RU", statement)
    assert (report["matched"], report["unmatched"]) == (len(batch), 0)
    confirmed = {
        p["participant_id"]: p["pay_out_confirmed_by"]
        for p in world.positions(cycle["id"], world.op("RU"))
        if dec(p["net"]) > 0
    }
    assert confirmed
    assert all(by and by.startswith("RU-OUT-1") for by in confirmed.values())


def test_a_statement_is_refused_whole_naming_the_problem(make_world: MakeWorld) -> None:
    world = make_world(("CN", "RU"), 2)
    wrong_type = world.client.post(
        "/v1/bank-statements",
        content=b"{}",
        headers={**world.op("CN"), "Content-Type": "application/json"},
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json()["field"] == "Content-Type"
    invalid = camt([Line("E-1", 100)]).replace(b"<CdtDbtInd>CRDT", b"<CdtDbtInd>BOTH")
    refused = world.client.post(
        "/v1/bank-statements",
        content=invalid,
        headers={**world.op("CN"), "Content-Type": "application/xml"},
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "CdtDbtInd"
    bad_csv = statement_csv([Line("E-1", 100)]).replace(b"credit", b"sideways")
    refused = world.client.post(
        "/v1/bank-statements",
        content=bad_csv,
        headers={**world.op("CN"), "Content-Type": "text/csv"},
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "direction"
    trader = world.client.post(
        "/v1/bank-statements",
        content=camt([Line("E-1", 100)]),
        headers={**world.traders["CN"][0].headers, "Content-Type": "application/xml"},
    )
    assert trader.status_code == 403
    entries = world.client.get("/v1/bank-entries", headers=world.aud).json()["items"]
    assert entries == []


def _set_entity_bank(world: World, entity: str, bank_code: str, account: str) -> None:
    participants.update_entity(
        world.uows(),
        Principal("test-admin", Role.ADMIN),
        entity,
        bank_code=bank_code,
        account=account,
    )


def _json(line: str) -> Json:
    document: Json = json.loads(line)
    return document


def test_a_suspense_credit_is_matched_through_the_api_to_the_pay_in_recorded_by_hand(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 4)
    _trade(world)
    cycle = world.propose()
    world.approve_all(cycle)
    [line, *_] = _credits(world, cycle["id"], "CN")
    payer = next(
        p["participant_id"]
        for p in world.positions(cycle["id"], world.op("CN"))
        if p["payment_reference"] == line.remittance
    )
    by_hand = world.pay_in(cycle["id"], payer, format_amount(line.amount, "CNY"), "TYPED-1")
    assert by_hand.status_code == 201, by_hand.text
    [pay_in] = [
        p
        for p in world.client.get(
            f"/v1/cycles/{cycle['id']}/pay-ins", headers=world.op("CN")
        ).json()["items"]
        if p["bank_reference"] == "TYPED-1"
    ]
    report = _import(world, "CN", camt([line], message_id="CN-0009"))
    [waiting] = [x for x in report["lines"] if x["status"] == "suspense"]
    matched = world.client.post(
        f"/v1/suspense/{waiting['id']}/match",
        json={"pay_in_id": pay_in["id"]},
        headers=world.op("CN"),
    )
    assert matched.status_code == 200, matched.text
    assert (matched.json()["status"], matched.json()["pay_in_id"]) == ("assigned", pay_in["id"])
    again = world.client.post(
        f"/v1/suspense/{waiting['id']}/match",
        json={"pay_in_id": pay_in["id"]},
        headers=world.op("CN"),
    )
    assert again.status_code == 409
    unknown = world.client.post(
        f"/v1/suspense/{waiting['id']}/match",
        json={"pay_in_id": "pay_nothing"},
        headers=world.op("RU"),
    )
    assert unknown.status_code == 404
    assert world.verify()["ok"]
