"""The imbalance over cycles through the API (DESIGN §4a, §4b, §6a): the report's figures per
cycle and corridor with what the line drew and repaid, the age of what is still carried, the
CSV, and a set-off cycle that reports what it saved against fifo."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from tests.e2e.world import Json, World, dec


def report(world: World, headers: dict[str, str] | None = None, **params: str) -> Json:
    response = world.client.get(
        "/v1/reports/imbalance", params=params, headers=headers or world.aud
    )
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def settle(world: World, policy: str = "fifo") -> Json:
    proposal = world.propose(policy=policy)
    world.approve_all(proposal)
    return world.pay_everything(proposal["id"])


def active_line(world: World, limit: str) -> str:
    proposed = world.client.post(
        "/v1/lines",
        json={"from": "CN", "to": "RU", "currency": "CNY", "limit": limit},
        headers=world.op("CN"),
    )
    assert proposed.status_code == 201, proposed.text
    line_id: str = proposed.json()["id"]
    confirmed = world.client.post(f"/v1/lines/{line_id}/confirm", headers=world.op("RU"))
    assert confirmed.status_code == 200, confirmed.text
    return line_id


def cycle_drawing_the_line(world: World) -> tuple[str, Json]:
    """A 500.00 CNY CN -> RU line, and a settled cycle in which CN imports 1000.00 and exports
    300.00: the line funds 500.00 and 200.00 is carried."""
    (c0, c1), (r0, r1) = world.traders["CN"][:2], world.traders["RU"][:2]
    line_id = active_line(world, "500.00")
    world.invoice(r0, c0, "1000.00")
    world.invoice(c1, r1, "300.00")
    return line_id, settle(world)


def corridors(cycle: Json) -> dict[tuple[str, str], tuple[Decimal, ...]]:
    return {
        (c["from"], c["to"]): tuple(
            dec(c[k]) for k in ("submitted", "settled", "carried", "line_drawn", "line_repaid")
        )
        for c in cycle["corridors"]
    }


def test_the_report_shows_each_cycle_per_corridor_with_the_line_drawn_then_repaid(
    pilot: World,
) -> None:
    (c0, _), (r0, _) = pilot.traders["CN"][:2], pilot.traders["RU"][:2]
    line_id, first = cycle_drawing_the_line(pilot)
    pilot.invoice(c0, r0, "900.00")
    second = settle(pilot)

    body = report(pilot)
    assert [(c["number"], c["status"]) for c in body["cycles"]] == [
        (first["number"], "settled"),
        (second["number"], "settled"),
    ]
    one, two = body["cycles"]
    # 300.00 flows back; the line funds 500.00 more of CN's imports; 200.00 is carried.
    assert corridors(one)[("CN", "RU")] == (
        Decimal("1000.00"),
        Decimal("800.00"),
        Decimal("200.00"),
        Decimal("500.00"),
        Decimal(0),
    )
    assert one["lines"] == [
        {
            "id": line_id,
            "from": "CN",
            "to": "RU",
            "currency": "CNY",
            "drawn": "500.00",
            "repaid": "0.00",
            "balance": "500.00",
        }
    ]
    # Then 900.00 flows RU -> CN: it matches the 200.00 carried, and repays the line's 500.00.
    assert corridors(two)[("RU", "CN")][:3] == (Decimal("900.00"), Decimal("700.00"), 200)
    assert corridors(two)[("CN", "RU")][3:] == (Decimal(0), Decimal("500.00"))
    assert two["lines"][0]["balance"] == "0.00"
    # What is left carried (200.00 of the last invoice) is young and not yet overdue.
    assert body["ageing_base"] == "CNY"
    assert body["ageing"] == [
        {
            "from": "RU",
            "to": "CN",
            "buckets": {"0-30": "200.00", "31-60": "0.00", "61-90": "0.00", "90+": "0.00"},
            "overdue": "0.00",
        }
    ]
    assert [c["number"] for c in report(pilot, from_cycle=str(second["number"]))["cycles"]] == [
        second["number"]
    ]
    as_operator = report(pilot, pilot.op("RU"))
    assert as_operator["cycles"] == body["cycles"]


def test_the_ageing_buckets_count_days_since_first_eligible_and_the_overdue_value(
    pilot: World,
) -> None:
    (c0, c1), (r0, r1) = pilot.traders["CN"][:2], pilot.traders["RU"][:2]
    now = datetime.now(UTC)
    ages = {"100.00": 10, "200.00": 45, "400.00": 75, "800.00": 120}
    overdue_date = (now - timedelta(days=3)).date().isoformat()
    made: dict[str, Any] = {}
    for amount in ages:
        due = overdue_date if amount in ("400.00", "800.00") else "2036-01-01"
        made[amount] = pilot.invoice(r0, c0, amount, due_date=due)
    rub = pilot.invoice(c1, r1, "1000.00", currency="RUB")
    with pilot.engine.begin() as connection:
        for amount, days in ages.items():
            connection.execute(
                text("UPDATE invoices SET first_eligible_at = :at WHERE id = :id"),
                {"at": now - timedelta(days=days), "id": made[amount]["id"]},
            )
    settle(pilot)  # the rate set to value the pool with: 1000.00 RUB at 0.0781 CNY

    body = report(pilot)
    carried = {(row["from"], row["to"]): row for row in body["ageing"]}
    # CN's importers carry what RUB 1000.00 (78.10 CNY) did not match: fifo settled that
    # much of the 400.00 invoice (due first, submitted before the 800.00 one).
    assert carried[("CN", "RU")]["buckets"] == {
        "0-30": "100.00",
        "31-60": "200.00",
        "61-90": "321.90",
        "90+": "800.00",
    }
    assert carried[("CN", "RU")]["overdue"] == "1121.90"
    assert rub["status"] == "eligible"

    csv_answer = pilot.client.get(
        "/v1/reports/imbalance", params={"format": "csv"}, headers=pilot.op("CN")
    )
    assert csv_answer.status_code == 200, csv_answer.text
    assert csv_answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_answer.text)))
    assert list(rows[0]) == [
        "cycle_id",
        "cycle_number",
        "from",
        "to",
        "submitted",
        "settled",
        "carried",
        "line_drawn",
        "line_repaid",
    ]
    assert {(r["from"], r["to"], r["carried"]) for r in rows} == {
        ("CN", "RU", "1421.90"),
        ("RU", "CN", "0.00"),
    }


def test_the_report_is_for_operators_and_auditors_and_refuses_a_bad_range(pilot: World) -> None:
    trader = pilot.trader("CN", 0)
    refused = pilot.client.get("/v1/reports/imbalance", headers=trader.headers)
    assert refused.status_code == 403, refused.text
    backwards = pilot.client.get(
        "/v1/reports/imbalance", params={"from_cycle": "3", "to_cycle": "2"}, headers=pilot.aud
    )
    assert backwards.status_code == 422, backwards.text
    assert backwards.json()["field"] == "from_cycle"
    empty = report(pilot)
    assert (empty["cycles"], empty["ageing"], empty["ageing_base"]) == ([], [], None)


def test_a_set_off_cycle_settles_what_fifo_would_and_reports_the_money_it_saved(
    pilot: World,
) -> None:
    # CN:0 both imports from RU:0 and exports to RU:1. Fifo settles CN:1's import, due first,
    # so CN:1 pays in and CN:0 is paid out; set-off settles CN:0's import instead, cancelling
    # its debt against its claim, and only RU:1 pays in.
    (c0, c1), (r0, r1) = pilot.traders["CN"][:2], pilot.traders["RU"][:2]
    pilot.invoice(r0, c0, "500.00", due_date="2026-12-20")
    pilot.invoice(r0, c1, "500.00", due_date="2026-12-01")
    pilot.invoice(c0, r1, "500.00")
    settled = settle(pilot, policy="setoff")
    metrics = settled["metrics"]
    assert settled["policy"] == "setoff"
    assert dec(metrics["settled_value"]) == Decimal("1000.00")
    assert dec(metrics["money_moved"]) == Decimal("500.00")
    assert dec(metrics["setoff_saved"]) == Decimal("500.00")
    assert pilot.verify()["ok"] is True


def test_the_cycle_page_shows_what_its_line_drew_and_the_money_participants_move(
    pilot: World,
) -> None:
    line_id, first = cycle_drawing_the_line(pilot)
    signed_in = pilot.client.post(
        "/ui/login", data={"key": pilot.operators["RU"]}, follow_redirects=False
    )
    assert signed_in.status_code == 303, signed_in.text
    page = pilot.client.get(f"/ui/cycles/{first['id']}")
    assert page.status_code == 200, page.text
    assert 'data-testid="cycle-lines"' in page.text
    assert f"<td>{line_id}</td><td>CN → RU</td>" in page.text
    assert '<td class="num">500.00</td>' in page.text
    assert "Money participants move (net pay-ins)" in page.text
    report_page = pilot.client.get("/ui/reports/imbalance")
    assert report_page.status_code == 200, report_page.text
    assert report_page.text.count('data-testid="corridor-chart"') == 2


def test_an_operator_of_a_third_entity_sees_the_totals_but_not_the_line_nor_the_ageing(
    trio: World,
) -> None:
    line_id, cycle = cycle_drawing_the_line(trio)
    assert [line["id"] for line in trio.cycle(cycle["id"])["lines"]] == [line_id]

    outsider = trio.op("KZ")
    seen = trio.client.get(f"/v1/cycles/{cycle['id']}", headers=outsider)
    assert seen.status_code == 200, seen.text
    assert seen.json()["lines"] == []
    assert seen.json()["corridors"] == trio.cycle(cycle["id"])["corridors"]
    body = report(trio, outsider)
    assert [c["lines"] for c in body["cycles"]] == [[]]
    assert body["ageing"] == []
    assert report(trio, trio.op("RU"))["ageing"] != []
