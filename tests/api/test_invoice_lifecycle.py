"""Confirm, dispute, cancel and release, and the status history they leave (DESIGN §6)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.support import Trader, World, assert_error, bearer


def act(
    world: World, invoice: dict[str, Any], action: str, body: dict[str, Any], headers: Any
) -> Any:
    return world.client.post(f"/v1/invoices/{invoice['id']}/{action}", json=body, headers=headers)


def history(world: World, invoice: dict[str, Any], headers: dict[str, str]) -> list[Any]:
    response = world.client.get(f"/v1/invoices/{invoice['id']}/history", headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


@pytest.fixture
def parties(world: World) -> tuple[Trader, Trader]:
    """An exporter in CN and its importer in RU."""
    return world.trader("CN"), world.trader("RU")


def test_the_importer_confirms_by_echoing_currency_and_amount_and_it_becomes_eligible(
    world: World, parties: tuple[Trader, Trader]
) -> None:
    exporter, importer = parties
    invoice = world.submit(exporter, importer, amount="125000.50")

    response = act(
        world, invoice, "confirm", {"currency": "CNY", "amount": "125000.5"}, importer.headers
    )

    assert response.status_code == 200, response.text
    confirmed = response.json()
    assert confirmed["status"] == "eligible"
    assert confirmed["dispute"] is None
    assert confirmed["amount"] == confirmed["outstanding"] == "125000.50"
    seen_by_exporter = world.client.get(f"/v1/invoices/{invoice['id']}", headers=exporter.headers)
    assert seen_by_exporter.json()["status"] == "eligible"


def test_a_different_amount_disputes_the_invoice_showing_both_values_to_both_sides(
    world: World, parties: tuple[Trader, Trader]
) -> None:
    exporter, importer = parties
    invoice = world.submit(exporter, importer, amount="1000.00")

    response = act(
        world, invoice, "confirm", {"currency": "CNY", "amount": "990.00"}, importer.headers
    )

    assert response.status_code == 200, response.text
    disputed = response.json()
    assert disputed["status"] == "disputed"
    expected = {"amount": {"exporter": "1000.00", "importer": "990.00"}}
    assert disputed["dispute"]["fields"] == expected
    assert disputed["dispute"]["reason"]
    for side in (exporter, importer):
        seen = world.client.get(f"/v1/invoices/{invoice['id']}", headers=side.headers).json()
        assert seen["status"] == "disputed"
        assert seen["dispute"]["fields"] == expected
    events = history(world, invoice, exporter.headers)
    assert events[-1]["to"] == "disputed"
    assert events[-1]["details"] == {"fields": expected}


def test_a_different_currency_disputes_the_invoice_naming_the_currency(
    world: World, parties: tuple[Trader, Trader]
) -> None:
    exporter, importer = parties
    invoice = world.submit(exporter, importer, amount="1000.00")

    disputed = act(
        world, invoice, "confirm", {"currency": "RUB", "amount": "1000.00"}, importer.headers
    ).json()

    assert disputed["status"] == "disputed"
    assert disputed["dispute"]["fields"]["currency"] == {"exporter": "CNY", "importer": "RUB"}


def test_after_a_dispute_the_importer_may_confirm_again_with_matching_data(
    world: World, parties: tuple[Trader, Trader]
) -> None:
    exporter, importer = parties
    invoice = world.submit(exporter, importer, amount="1000.00")
    act(world, invoice, "confirm", {"currency": "CNY", "amount": "999.99"}, importer.headers)

    again = act(
        world, invoice, "confirm", {"currency": "CNY", "amount": "1000.00"}, importer.headers
    )

    assert again.status_code == 200
    assert again.json()["status"] == "eligible"
    assert again.json()["dispute"] is None
    steps = [(e["from"], e["to"]) for e in history(world, invoice, importer.headers)]
    assert steps == [
        (None, "awaiting_confirmation"),
        ("awaiting_confirmation", "disputed"),
        ("disputed", "eligible"),
    ]


INVALID_CONFIRMATIONS: list[tuple[dict[str, Any], str]] = [
    ({"currency": "CNY", "amount": 1000}, "amount"),
    ({"currency": "CNY", "amount": "1000.001"}, "amount"),
    ({"currency": "CNY", "amount": "-1000.00"}, "amount"),
    ({"currency": "CNY", "amount": "0"}, "amount"),
    ({"currency": "CNY", "amount": "1e3"}, "amount"),
    ({"currency": "CNY"}, "amount"),
    ({"amount": "1000.00"}, "currency"),
    ({"currency": "XYZ", "amount": "1000.00"}, "currency"),
    ({"currency": "CNY", "amount": "1000.00", "status": "eligible"}, "status"),
]


def test_an_invalid_confirmation_is_refused_and_changes_nothing(
    world: World, parties: tuple[Trader, Trader], subtests: pytest.Subtests
) -> None:
    exporter, importer = parties
    invoice = world.submit(exporter, importer, amount="1000.00")
    for body, field in INVALID_CONFIRMATIONS:
        with subtests.test(body=body):
            response = act(world, invoice, "confirm", body, importer.headers)

            assert_error(response, 422, field=field)
            seen = world.client.get(f"/v1/invoices/{invoice['id']}", headers=importer.headers)
            assert seen.json() == invoice


def test_confirming_an_eligible_invoice_again_is_a_conflict(
    world: World, parties: tuple[Trader, Trader]
) -> None:
    exporter, importer = parties
    invoice = world.confirm(world.submit(exporter, importer), importer)

    again = act(
        world,
        invoice,
        "confirm",
        {"currency": invoice["currency"], "amount": invoice["amount"]},
        importer.headers,
    )

    assert_error(again, 409)


def test_a_repeated_confirmation_with_its_idempotency_key_gets_the_first_answer(
    world: World, parties: tuple[Trader, Trader]
) -> None:
    exporter, importer = parties
    invoice = world.submit(exporter, importer)
    headers = {**importer.headers, "Idempotency-Key": "confirm-1"}
    body = {"currency": invoice["currency"], "amount": invoice["amount"]}

    first = act(world, invoice, "confirm", body, headers)
    second = act(world, invoice, "confirm", body, headers)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len(history(world, invoice, importer.headers)) == 2


def test_the_exporter_may_not_confirm_its_own_invoice(
    world: World, parties: tuple[Trader, Trader]
) -> None:
    exporter, importer = parties
    invoice = world.submit(exporter, importer)

    response = act(
        world,
        invoice,
        "confirm",
        {"currency": invoice["currency"], "amount": invoice["amount"]},
        exporter.headers,
    )

    assert_error(response, 403)


def test_the_importer_disputes_with_a_reason(world: World, parties: tuple[Trader, Trader]) -> None:
    exporter, importer = parties
    invoice = world.confirm(world.submit(exporter, importer), importer)

    response = act(
        world, invoice, "dispute", {"reason": "only 30 of 40 units arrived"}, importer.headers
    )

    assert response.status_code == 200, response.text
    disputed = response.json()
    assert disputed["status"] == "disputed"
    assert disputed["dispute"] == {"fields": {}, "reason": "only 30 of 40 units arrived"}
    seen = world.client.get(f"/v1/invoices/{invoice['id']}", headers=exporter.headers).json()
    assert seen["dispute"]["reason"] == "only 30 of 40 units arrived"
    assert history(world, invoice, exporter.headers)[-1]["reason"] == (
        "only 30 of 40 units arrived"
    )


def test_the_exporter_may_not_dispute_and_the_importer_may_not_cancel(
    world: World, parties: tuple[Trader, Trader]
) -> None:
    exporter, importer = parties
    invoice = world.submit(exporter, importer)

    dispute = act(world, invoice, "dispute", {"reason": "mine"}, exporter.headers)
    cancel = act(world, invoice, "cancel", {"reason": "theirs"}, importer.headers)

    assert_error(dispute, 403)
    assert_error(cancel, 403)


def test_a_side_exit_needs_a_reason(
    world: World, parties: tuple[Trader, Trader], subtests: pytest.Subtests
) -> None:
    exporter, importer = parties
    invoice = world.submit(exporter, importer)
    actors = {
        "dispute": importer.headers,
        "cancel": exporter.headers,
        "release": world.operator("CN"),
    }
    for action, actor in actors.items():
        bodies: list[dict[str, Any]] = [
            {},
            {"reason": ""},
            {"reason": " "},
            {"reason": 7},
            {"why": "x"},
        ]
        for body in bodies:
            with subtests.test(action=action, body=body):
                response = act(world, invoice, action, body, actor)

                assert_error(response, 422)
                assert response.json()["field"] in ("reason", "why")
    seen = world.client.get(f"/v1/invoices/{invoice['id']}", headers=importer.headers)
    assert seen.json() == invoice


@pytest.mark.parametrize("status", ["awaiting_confirmation", "eligible", "disputed"])
def test_the_exporter_cancels_an_invoice_before_a_cycle_takes_it(
    world: World, parties: tuple[Trader, Trader], status: str
) -> None:
    exporter, importer = parties
    invoice = world.submit(exporter, importer)
    if status == "eligible":
        world.confirm(invoice, importer)
    if status == "disputed":
        act(world, invoice, "dispute", {"reason": "wrong goods"}, importer.headers)

    response = act(world, invoice, "cancel", {"reason": "order withdrawn"}, exporter.headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    events = history(world, invoice, importer.headers)
    assert (events[-1]["from"], events[-1]["to"]) == (status, "cancelled")
    assert events[-1]["reason"] == "order withdrawn"


def test_a_cancelled_invoice_admits_no_further_exit(
    world: World, parties: tuple[Trader, Trader], subtests: pytest.Subtests
) -> None:
    exporter, importer = parties
    invoice = world.submit(exporter, importer)
    act(world, invoice, "cancel", {"reason": "withdrawn"}, exporter.headers)
    attempts = [
        ("cancel", {"reason": "again"}, exporter.headers),
        ("release", {"reason": "again"}, world.operator("RU")),
        ("dispute", {"reason": "again"}, importer.headers),
        ("confirm", {"currency": "CNY", "amount": "1000.00"}, importer.headers),
    ]
    for action, body, actor in attempts:
        with subtests.test(action=action):
            assert_error(act(world, invoice, action, body, actor), 409)


@pytest.mark.parametrize("entity", ["CN", "RU"])
def test_an_operator_of_either_side_releases_an_invoice_to_conventional_settlement(
    world: World, parties: tuple[Trader, Trader], entity: str
) -> None:
    exporter, importer = parties
    invoice = world.confirm(world.submit(exporter, importer), importer)

    response = act(
        world, invoice, "release", {"reason": "urgent: pay by SWIFT"}, world.operator(entity)
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "released"
    events = history(world, invoice, exporter.headers)
    assert (events[-1]["from"], events[-1]["to"]) == ("eligible", "released")


def test_an_operator_of_a_third_entity_cannot_release_an_invoice_it_cannot_see(
    world: World, parties: tuple[Trader, Trader]
) -> None:
    exporter, importer = parties
    invoice = world.submit(exporter, importer)

    response = act(world, invoice, "release", {"reason": "not mine"}, world.operator("KZ"))

    assert_error(response, 404)
    assert invoice["invoice_number"] not in response.text


def test_the_history_records_who_moved_the_invoice_and_when(
    world: World, parties: tuple[Trader, Trader]
) -> None:
    exporter, importer = parties
    invoice = world.confirm(world.submit(exporter, importer), importer)
    act(world, invoice, "release", {"reason": "sent by SWIFT"}, world.operator("RU"))

    events = history(world, invoice, bearer(world.auditor))

    assert [e["to"] for e in events] == ["awaiting_confirmation", "eligible", "released"]
    assert len({e["actor"] for e in events}) == 3
    assert all(e["at"] for e in events)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)


def test_an_operator_releases_several_invoices_at_once_with_a_result_for_each(
    world: World, parties: tuple[Trader, Trader]
) -> None:
    exporter, importer = parties
    first = world.confirm(world.submit(exporter, importer), importer)
    second = world.confirm(world.submit(exporter, importer), importer)
    body = {"invoice_ids": [second["id"], "inv_unknown", first["id"]], "reason": "stale"}
    response = world.client.post("/v1/invoices/release", json=body, headers=world.operator("CN"))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [200, 404, 200]
    assert [r["invoice"]["status"] for r in (results[0], results[2])] == ["released"] * 2
    assert history(world, first, importer.headers)[-1]["reason"] == "stale"
    empty = world.client.post(
        "/v1/invoices/release",
        json={"invoice_ids": [], "reason": "stale"},
        headers=world.operator("CN"),
    )
    assert_error(empty, 422, field="invoice_ids")
    by_trader = world.client.post("/v1/invoices/release", json=body, headers=importer.headers)
    assert_error(by_trader, 403)
