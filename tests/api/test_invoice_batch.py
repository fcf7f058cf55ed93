"""POST /v1/invoices/batch: up to 1,000 invoices, a result per item, in order."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.support import INVALID_FIELDS, World, assert_error, bearer


def post_batch(world: World, items: list[dict[str, Any]], headers: dict[str, str]) -> Any:
    return world.client.post("/v1/invoices/batch", json={"invoices": items}, headers=headers)


def test_a_batch_answers_each_item_in_order_with_the_status_it_alone_would_get(
    world: World,
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    world.submit(exporter, importer, invoice_number="TAKEN")
    items = [
        world.invoice_body(importer, invoice_number="B-1"),
        world.invoice_body(importer, invoice_number="B-2", amount="1.001"),
        world.invoice_body(importer, invoice_number="TAKEN"),
        world.invoice_body(importer, invoice_number="B-1"),
        world.invoice_body(importer, invoice_number="B-5", hs_code="9301"),
        world.invoice_body(importer, invoice_number="B-6", amount=12),
        world.invoice_body(importer, invoice_number="B-7", status="eligible"),
        world.invoice_body(world.trader("CN", 1), invoice_number="B-8"),
        world.invoice_body(importer, invoice_number="B-9", hs_code="0201"),
    ]

    response = post_batch(world, items, exporter.headers)

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 422, 409, 409, 201, 422, 422, 422, 201]
    assert results[0]["invoice"]["invoice_number"] == "B-1"
    assert results[0]["invoice"]["status"] == "awaiting_confirmation"
    assert results[1]["error"]["field"] == "amount"
    assert results[2]["error"]["field"] == "invoice_number"
    assert results[3]["error"]["field"] == "invoice_number"
    assert results[4]["invoice"]["status"] == "rejected"
    assert results[4]["invoice"]["rejection"]["rule"] == "blocked_goods:93"
    assert results[5]["error"]["field"] == "amount"
    assert results[6]["error"]["field"] == "status"
    assert results[7]["error"]["field"] == "importer_id"
    assert results[8]["invoice"]["priority"] == 0
    for result in results:
        assert set(result) in ({"status", "invoice"}, {"status", "error"})
    assert world.invoice_count() == 1 + 3
    stored = world.client.get("/v1/invoices", headers=exporter.headers).json()["items"]
    assert sorted(i["invoice_number"] for i in stored) == ["B-1", "B-5", "B-9", "TAKEN"]


def test_every_invalid_field_in_a_batch_is_refused_item_by_item_naming_the_field(
    world: World,
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    items = []
    for _, overrides, _ in INVALID_FIELDS:
        body = world.invoice_body(importer, **overrides)
        items.append({key: value for key, value in body.items() if value is not None})
    items.append(world.invoice_body(importer))

    response = post_batch(world, items, exporter.headers)

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(INVALID_FIELDS) + 1
    for (name, _, field), result in zip(INVALID_FIELDS, results, strict=False):
        assert result["status"] == 422, name
        assert result["error"]["field"] == field, (name, result)
        assert result["error"]["code"] == "invalid_input"
    assert results[-1]["status"] == 201
    assert world.invoice_count() == 1


def test_an_operator_submits_a_batch_for_exporters_of_its_entity(world: World) -> None:
    first, second = world.trader("RU", 0), world.trader("RU", 1)
    importer = world.trader("CN")
    items = [
        world.invoice_body(importer, exporter_id=first.id, currency="RUB", amount="5000.00"),
        world.invoice_body(importer, exporter_id=second.id),
        world.invoice_body(importer, exporter_id=world.trader("KZ").id),
        world.invoice_body(importer),
        world.invoice_body(importer, exporter_id="RU-0000000000"),
    ]

    response = post_batch(world, items, world.operator("RU"))

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 422, 422, 422]
    assert results[0]["invoice"]["exporter_id"] == first.id
    assert results[1]["invoice"]["exporter_id"] == second.id
    assert {r["error"]["field"] for r in results[2:]} == {"exporter_id"}
    assert world.trader("KZ").name not in response.text
    assert world.invoice_count() == 2


def test_a_trader_batch_names_no_other_exporter(world: World) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    items = [
        world.invoice_body(importer, exporter_id=exporter.id),
        world.invoice_body(importer, exporter_id=world.trader("CN", 1).id),
    ]

    results = post_batch(world, items, exporter.headers).json()["results"]

    assert [r["status"] for r in results] == [201, 422]
    assert results[1]["error"]["field"] == "exporter_id"


def test_a_batch_of_a_thousand_invoices_is_accepted_in_order(world: World) -> None:
    exporter, importer = world.trader("KZ"), world.trader("CN")
    items = [
        world.invoice_body(importer, invoice_number=f"K-{n:04d}", amount=f"{n + 1}.00")
        for n in range(1000)
    ]

    response = post_batch(world, items, exporter.headers)

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201] * 1000
    assert [r["invoice"]["invoice_number"] for r in results] == [f"K-{n:04d}" for n in range(1000)]
    sequences = [r["invoice"]["sequence"] for r in results]
    assert sequences == sorted(sequences)
    assert world.invoice_count() == 1000


def test_a_batch_of_more_than_a_thousand_invoices_is_refused_whole(world: World) -> None:
    importer = world.trader("CN")
    items = [world.invoice_body(importer, invoice_number=f"X-{n}") for n in range(1001)]

    response = post_batch(world, items, world.trader("KZ").headers)

    assert_error(response, 422, field="invoices")
    assert world.invoice_count() == 0


MALFORMED_ENVELOPES: list[tuple[Any, str]] = [
    ({"invoices": []}, "invoices"),
    ({}, "invoices"),
    ({"invoices": "all of them"}, "invoices"),
    ({"invoices": {"0": {}}}, "invoices"),
    ({"invoices": [{}], "atomic": True}, "atomic"),
    ([{}], "body"),
]


def test_a_malformed_batch_envelope_is_refused_whole(
    world: World, subtests: pytest.Subtests
) -> None:
    for body, field in MALFORMED_ENVELOPES:
        with subtests.test(body=body):
            response = world.client.post(
                "/v1/invoices/batch", json=body, headers=world.trader("CN").headers
            )

            assert_error(response, 422, field=field)
    assert world.invoice_count() == 0


def test_an_item_that_is_not_an_object_gets_its_own_422(world: World) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")

    response = world.client.post(
        "/v1/invoices/batch",
        json={"invoices": [42, world.invoice_body(importer)]},
        headers=exporter.headers,
    )

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [422, 201]
    assert world.invoice_count() == 1


def test_a_repeated_batch_with_the_same_idempotency_key_gives_the_first_answer(
    world: World,
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    items = [world.invoice_body(importer) for _ in range(5)]
    headers = {**exporter.headers, "Idempotency-Key": "batch-2026-11-22"}

    first = post_batch(world, items, headers)
    second = post_batch(world, items, headers)
    other = post_batch(world, items[:4], headers)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert_error(other, 409, field="Idempotency-Key")
    assert world.invoice_count() == 5


def test_without_an_idempotency_key_a_repeated_batch_is_refused_item_by_item(
    world: World,
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    items = [world.invoice_body(importer) for _ in range(3)]

    post_batch(world, items, exporter.headers)
    again = post_batch(world, items, exporter.headers)

    assert [r["status"] for r in again.json()["results"]] == [409, 409, 409]
    assert world.invoice_count() == 3


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_may_not_submit_batches(world: World, role: str) -> None:
    key = world.auditor if role == "auditor" else world.admin
    items = [world.invoice_body(world.trader("RU"), exporter_id=world.trader("CN").id)]

    response = post_batch(world, items, bearer(key))

    assert_error(response, 403)
    assert world.invoice_count() == 0
