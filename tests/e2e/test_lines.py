"""Liquidity lines through the API on PostgreSQL (DESIGN §4b, §5, §10): a line proposed by one
entity is used only once the other confirms it; two cycles draw on it and a reversed one repays
it; each entity's mirror account carries the balance while its line account closes; the audit
passes online and offline; who sees a line, and refused requests changing nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clearing.domain.netting.disclosure import disclosed_digest
from clearing.entrypoints.cli import app as cli
from tests.e2e.world import Json, World, dec


def post_line(world: World, by: str, limit: str = "500.00", **body: str) -> Any:
    document = {"from": "CN", "to": "RU", "currency": "CNY", "limit": limit, **body}
    return world.client.post("/v1/lines", json=document, headers=world.op(by))


def confirm(world: World, line_id: str, by: str) -> Any:
    return world.client.post(f"/v1/lines/{line_id}/confirm", headers=world.op(by))


def get_line(world: World, line_id: str, headers: dict[str, str] | None = None) -> Json:
    response = world.client.get(f"/v1/lines/{line_id}", headers=headers or world.aud)
    assert response.status_code == 200, response.text
    found: Json = response.json()
    return found


def active_line(world: World, limit: str) -> str:
    proposed = post_line(world, "CN", limit)
    assert proposed.status_code == 201, proposed.text
    confirmed = confirm(world, proposed.json()["id"], "RU")
    assert confirmed.status_code == 200, confirmed.text
    line_id: str = proposed.json()["id"]
    return line_id


def cn_importers_owe_more(world: World, more: str, back: str) -> None:
    """A CN importer owes a RU exporter ``more`` and a RU importer owes a CN exporter ``back``
    (CNY): the corridor CN -> RU exceeds its reverse."""
    (c0, c1, *_), (r0, r1, *_) = world.traders["CN"], world.traders["RU"]
    world.invoice(r0, c0, more)
    world.invoice(c1, r1, back)


def settle(world: World) -> Json:
    settled = world.settle()
    assert settled["status"] == "settled", settled
    return world.cycle(settled["id"])


def cycle_lines(cycle: Json) -> list[tuple[str, str, str, str]]:
    return [(m["id"], m["drawn"], m["repaid"], m["balance"]) for m in cycle["lines"]]


def test_a_pending_line_is_not_used_until_the_other_entity_confirms_it(pilot: World) -> None:
    proposed = post_line(pilot, "CN", "500.00")
    assert proposed.status_code == 201, proposed.text
    line = proposed.json()
    assert (line["status"], line["awaiting"], line["balance"], line["movements"]) == (
        "pending",
        "RU",
        "0.00",
        [],
    )
    assert [(e["action"], e["entity"], e["limit"]) for e in line["history"]] == [
        ("proposed", "CN", "500.00")
    ]
    cn_importers_owe_more(pilot, "1000.00", "400.00")
    without = pilot.propose()
    assert without["lines"] == []
    assert without["metrics"]["settled_value"] == "800.00"
    rejected = pilot.client.post(
        f"/v1/cycles/{without['id']}/reject", json={"reason": "wait"}, headers=pilot.op("CN")
    )
    assert rejected.status_code == 200, rejected.text

    assert confirm(pilot, line["id"], "CN").status_code == 409  # the proposer's entity
    confirmed = confirm(pilot, line["id"], "RU")
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["awaiting"]) == ("active", None)
    assert confirmed.json()["confirmed_by"]
    drawing = pilot.propose()
    assert cycle_lines(drawing) == [(line["id"], "500.00", "0.00", "500.00")]
    assert drawing["metrics"]["settled_value"] == "1300.00"
    assert pilot.cycle(drawing["id"])["lines"] == drawing["lines"]
    assert get_line(pilot, line["id"])["balance"] == "0.00"  # proposed, not settled


def test_two_cycles_draw_on_a_line_a_reversed_one_repays_it_and_the_books_show_it(
    pilot: World, tmp_path: Path
) -> None:
    line_id = active_line(pilot, "800.00")
    cn_importers_owe_more(pilot, "1000.00", "400.00")
    first = settle(pilot)
    cn_importers_owe_more(pilot, "1000.00", "400.00")
    second = settle(pilot)
    assert cycle_lines(first) == [(line_id, "600.00", "0.00", "600.00")]
    assert cycle_lines(second) == [(line_id, "200.00", "0.00", "800.00")]
    assert_books_carry(pilot, line_id, Decimal("800.00"))

    # RU -> CN now exceeds its reverse by 800.00.
    pilot.invoice(pilot.trader("CN", 1), pilot.trader("RU", 1), "1200.00")
    third = settle(pilot)
    assert cycle_lines(third) == [(line_id, "0.00", "800.00", "0.00")]
    line = get_line(pilot, line_id)
    assert line["balance"] == "0.00"
    assert [(m["cycle_id"], m["drawn"], m["repaid"], m["balance"]) for m in line["movements"]] == [
        (first["id"], "600.00", "0.00", "600.00"),
        (second["id"], "200.00", "0.00", "800.00"),
        (third["id"], "0.00", "800.00", "0.00"),
    ]
    assert_books_carry(pilot, line_id, Decimal(0))

    report = pilot.verify()
    assert report["ok"] is True, report
    assert report["cycles"] == 3
    export = tmp_path / "journal.jsonl"
    export.write_text("\n".join(pilot.journal(page_size=1000)) + "\n", encoding="utf-8")
    offline = CliRunner().invoke(cli, ["audit", "verify", "--from-file", str(export)])
    assert offline.exit_code == 0, offline.output
    records = [json.loads(x).get("cycle") for x in export.read_text().splitlines()]
    assert [r["lines"][0]["balance"] for r in records if r] == ["0.00", "600.00", "800.00"]
    for entity in ("CN", "RU"):
        own = [json.loads(x) for x in pilot.journal(pilot.op(entity), page_size=1000)]
        disclosures = [d["disclosure"] for d in own if "disclosure" in d]
        assert [x["cycle_id"] for x in disclosures] == [first["id"], second["id"], third["id"]]
        assert all(disclosed_digest(x) == x["digest"] for x in disclosures)


def assert_books_carry(world: World, line_id: str, balance: Decimal) -> None:
    """CN's mirror account for RU carries the line's balance (CNY, the line's currency); RU's
    for CN carries it in RUB, as much as RU's bank paid out beyond what it took in; both line
    accounts are closed and every participant is square."""
    books = world.balances()
    assert books.get(("CN", f"line:{line_id}"), Decimal(0)) == 0
    assert books.get(("RU", f"line:{line_id}"), Decimal(0)) == 0
    assert books[("CN", "mirror:RU")] == -balance
    assert books[("CN", "settlement")] == balance
    assert books[("RU", "mirror:CN")] == -books[("RU", "settlement")]
    assert (books[("RU", "mirror:CN")] > 0) is (balance > 0)
    assert all(v == 0 for (_, account), v in books.items() if account.startswith("participant:"))
    entries = [json.loads(x) for x in world.journal(page_size=1000)]
    booked = [e for e in entries if e["kind"] == "line"]
    for entity in ("CN", "RU"):
        flows = sum(
            (
                dec(p["amount"])
                for e in booked
                if e["entity"] == entity
                for p in e["postings"]
                if p["account"] == f"line:{line_id}"
            ),
            Decimal(0),
        )
        assert -flows == books[(entity, f"mirror:{'RU' if entity == 'CN' else 'CN'}")]


def test_an_operator_of_a_third_entity_is_answered_as_if_no_line_existed(trio: World) -> None:
    line_id = active_line(trio, "100.00")
    for headers in (trio.op("CN"), trio.op("RU"), trio.aud):
        assert get_line(trio, line_id, headers)["id"] == line_id
    outsider = trio.op("KZ")
    assert trio.client.get(f"/v1/lines/{line_id}", headers=outsider).status_code == 404
    assert trio.client.post(f"/v1/lines/{line_id}/confirm", headers=outsider).status_code == 404
    patched = trio.client.patch(f"/v1/lines/{line_id}", json={"limit": "1.00"}, headers=outsider)
    assert patched.status_code == 404
    assert trio.client.get("/v1/lines", headers=outsider).json() == {
        "items": [],
        "next_cursor": None,
    }
    trader = trio.trader("CN", 0).headers
    assert trio.client.get(f"/v1/lines/{line_id}", headers=trader).status_code == 403
    assert trio.client.post("/v1/lines/x/confirm", headers=trio.aud).status_code == 403
    listed = trio.client.get("/v1/lines", headers=trio.op("RU")).json()["items"]
    assert [x["id"] for x in listed] == [line_id]


def test_a_new_limit_waits_for_the_other_entity_and_never_goes_below_the_balance(
    pilot: World,
) -> None:
    line_id = active_line(pilot, "500.00")
    cn_importers_owe_more(pilot, "1000.00", "400.00")
    settle(pilot)  # balance 500.00
    below = pilot.client.patch(
        f"/v1/lines/{line_id}", json={"limit": "499.99"}, headers=pilot.op("RU")
    )
    assert below.status_code == 409, below.text
    assert below.json()["field"] == "limit"
    raised = pilot.client.patch(
        f"/v1/lines/{line_id}", json={"limit": "900.00"}, headers=pilot.op("RU")
    )
    assert raised.status_code == 200, raised.text
    assert raised.json()["limit"] == "500.00"
    assert raised.json()["pending_limit"]["limit"] == "900.00"
    assert raised.json()["awaiting"] == "CN"
    assert confirm(pilot, line_id, "RU").status_code == 409
    confirmed = confirm(pilot, line_id, "CN")
    assert (confirmed.json()["limit"], confirmed.json()["pending_limit"]) == ("900.00", None)
    actions = [e["action"] for e in confirmed.json()["history"]]
    assert actions == ["proposed", "confirmed", "limit_proposed", "limit_confirmed"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"from": "CN", "to": "XX", "currency": "CNY", "limit": "1.00"}, 422, "to"),
        ({"from": "CN", "to": "RU", "currency": "USD", "limit": "1.00"}, 422, "currency"),
        ({"from": "CN", "to": "RU", "currency": "CNY", "limit": "-1.00"}, 422, "limit"),
        ({"from": "CN", "to": "RU", "currency": "CNY", "limit": "1.001"}, 422, "limit"),
        ({"from": "CN", "to": "RU", "currency": "CNY", "limit": 100}, 422, "limit"),
        ({"from": "CN", "to": "RU", "currency": "CNY"}, 422, "limit"),
        ({"from": "CN", "to": "RU", "currency": "CNY", "limit": "1", "balance": "1"}, 422, None),
    ],
)
def test_a_bad_line_is_refused_naming_the_field_and_nothing_is_stored(
    pilot: World, body: dict[str, Any], status: int, field: str | None
) -> None:
    refused = pilot.client.post("/v1/lines", json=body, headers=pilot.op("CN"))
    assert refused.status_code == status, refused.text
    if field is not None:
        assert refused.json()["field"] == field, refused.json()
    assert pilot.client.get("/v1/lines", headers=pilot.aud).json()["items"] == []


def test_a_repeated_post_with_its_idempotency_key_answers_the_first_line(pilot: World) -> None:
    headers = {**pilot.op("CN"), "Idempotency-Key": "line-cn-ru-1"}
    body = {"from": "CN", "to": "RU", "currency": "CNY", "limit": "0"}
    first = pilot.client.post("/v1/lines", json=body, headers=headers)
    again = pilot.client.post("/v1/lines", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert first.json()["limit"] == "0.00"
    other = pilot.client.post("/v1/lines", json={**body, "limit": "1.00"}, headers=headers)
    assert other.status_code == 409
    duplicate = post_line(pilot, "RU", "5.00")  # CN -> RU in CNY exists already
    assert duplicate.status_code == 409
    assert len(pilot.client.get("/v1/lines", headers=pilot.aud).json()["items"]) == 1
