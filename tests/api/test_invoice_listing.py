"""GET /v1/invoices: what each role sees, the status and cycle filters, and cursor pages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from clearing.adapters.persistence.tables import InvoiceRow
from tests.api.support import World, assert_error, bearer


def listed(world: World, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = world.client.get("/v1/invoices", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture
def invoices(world: World) -> dict[str, dict[str, Any]]:
    """CN0→RU0, RU0→CN1, KZ0→RU1 (confirmed), CN0→KZ0 (arms: rejected)."""
    cn0, cn1, ru0, ru1, kz0 = (
        world.trader("CN", 0),
        world.trader("CN", 1),
        world.trader("RU", 0),
        world.trader("RU", 1),
        world.trader("KZ", 0),
    )
    return {
        "cn0_ru0": world.submit(cn0, ru0),
        "ru0_cn1": world.submit(ru0, cn1, currency="RUB", amount="70000.00"),
        "kz0_ru1": world.confirm(world.submit(kz0, ru1, currency="USD"), ru1),
        "cn0_kz0": world.submit(cn0, kz0, hs_code="9302"),
    }


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {item["id"] for item in items}


def test_a_trader_lists_only_invoices_it_is_party_to(
    world: World, invoices: dict[str, dict[str, Any]]
) -> None:
    cn0 = listed(world, world.trader("CN", 0).headers)
    ru0 = listed(world, world.trader("RU", 0).headers)
    cn1 = listed(world, world.trader("CN", 1).headers)

    assert ids(cn0) == {invoices["cn0_ru0"]["id"], invoices["cn0_kz0"]["id"]}
    assert ids(ru0) == {invoices["cn0_ru0"]["id"], invoices["ru0_cn1"]["id"]}
    assert ids(cn1) == {invoices["ru0_cn1"]["id"]}


def test_an_operator_lists_the_invoices_touching_its_entity(
    world: World, invoices: dict[str, dict[str, Any]]
) -> None:
    kz = listed(world, world.operator("KZ"))
    ru = listed(world, world.operator("RU"))

    assert ids(kz) == {invoices["kz0_ru1"]["id"], invoices["cn0_kz0"]["id"]}
    assert ids(ru) == {
        invoices["cn0_ru0"]["id"],
        invoices["ru0_cn1"]["id"],
        invoices["kz0_ru1"]["id"],
    }


def test_an_auditor_lists_every_invoice_oldest_first(
    world: World, invoices: dict[str, dict[str, Any]]
) -> None:
    items = listed(world, bearer(world.auditor))

    assert [i["id"] for i in items] == [i["id"] for i in invoices.values()]


def test_an_admin_may_not_list_invoices(world: World) -> None:
    response = world.client.get("/v1/invoices", headers=bearer(world.admin))

    assert_error(response, 403)


def test_the_status_filter_returns_only_that_status(
    world: World, invoices: dict[str, dict[str, Any]]
) -> None:
    auditor = bearer(world.auditor)

    eligible = listed(world, auditor, status="eligible")
    rejected = listed(world, auditor, status="rejected")
    waiting = listed(world, auditor, status="awaiting_confirmation")
    settled = listed(world, auditor, status="settled")

    assert ids(eligible) == {invoices["kz0_ru1"]["id"]}
    assert ids(rejected) == {invoices["cn0_kz0"]["id"]}
    assert ids(waiting) == {invoices["cn0_ru0"]["id"], invoices["ru0_cn1"]["id"]}
    assert settled == []


def test_the_status_filter_still_respects_visibility(
    world: World, invoices: dict[str, dict[str, Any]]
) -> None:
    assert listed(world, world.trader("CN", 1).headers, status="rejected") == []
    assert ids(listed(world, world.operator("CN"), status="rejected")) == {
        invoices["cn0_kz0"]["id"]
    }


def test_the_cycle_filter_returns_only_invoices_of_that_cycle(
    world: World, invoices: dict[str, dict[str, Any]]
) -> None:
    taken = invoices["kz0_ru1"]["id"]
    with world.uows() as uow:
        uow.session.execute(
            update(InvoiceRow)
            .where(InvoiceRow.id == taken)
            .values(cycle_id="cyc_test", status="in_cycle")
        )
        uow.commit()

    in_cycle = listed(world, bearer(world.auditor), cycle="cyc_test")
    other = listed(world, bearer(world.auditor), cycle="cyc_other")
    not_seen = listed(world, world.trader("CN", 0).headers, cycle="cyc_test")

    assert ids(in_cycle) == {taken}
    assert in_cycle[0]["cycle_id"] == "cyc_test"
    assert in_cycle[0]["status"] == "in_cycle"
    assert other == []
    assert not_seen == []


def test_an_unknown_status_is_refused_naming_it(world: World) -> None:
    response = world.client.get("/v1/invoices?status=paid", headers=bearer(world.auditor))

    assert_error(response, 422, field="status")


def test_cursor_pages_cover_every_invoice_once_in_order(world: World) -> None:
    exporter, importer = world.trader("RU"), world.trader("KZ")
    items = [world.invoice_body(importer) for _ in range(23)]
    world.client.post("/v1/invoices/batch", json={"invoices": items}, headers=exporter.headers)
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0

    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor is not None:
            params["cursor"] = cursor
        response = world.client.get("/v1/invoices", params=params, headers=exporter.headers)
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 5
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 5
    assert [i["invoice_number"] for i in seen] == [i["invoice_number"] for i in items]
    assert len(ids(seen)) == 23
    sequences = [i["sequence"] for i in seen]
    assert sequences == sorted(sequences)


def test_the_last_page_has_no_next_cursor(
    world: World, invoices: dict[str, dict[str, Any]]
) -> None:
    response = world.client.get("/v1/invoices?limit=500", headers=bearer(world.auditor))

    assert response.json()["next_cursor"] is None
    assert len(response.json()["items"]) == len(invoices)


BAD_PAGE_PARAMETERS = [
    ("limit=0", "limit"),
    ("limit=501", "limit"),
    ("limit=-3", "limit"),
    ("limit=ten", "limit"),
    ("cursor=abc", "cursor"),
    ("cursor=-1", "cursor"),
    ("cursor=1.5", "cursor"),
    ("cursor=99999999999999999999999", "cursor"),
    ("cursor=%C2%B2", "cursor"),
]


def test_bad_page_parameters_are_refused_naming_them(
    world: World, subtests: pytest.Subtests
) -> None:
    for query, field in BAD_PAGE_PARAMETERS:
        with subtests.test(query=query):
            response = world.client.get(f"/v1/invoices?{query}", headers=bearer(world.auditor))

            assert_error(response, 422, field=field)


def test_a_cycle_filter_with_a_nul_is_answered_without_a_server_error(world: World) -> None:
    response = world.client.get("/v1/invoices?cycle=%00", headers=bearer(world.auditor))

    assert 200 <= response.status_code < 500


MALFORMED_IDS = ["inv_%00", "%00", "inv_%01", "x" * 1000, "..%2F..%2Fetc"]


def test_a_malformed_invoice_id_is_not_found_rather_than_a_server_error(
    world: World, subtests: pytest.Subtests
) -> None:
    trader = world.trader("CN")
    for invoice_id in MALFORMED_IDS:
        for method, suffix, body in [
            ("GET", "", None),
            ("GET", "/history", None),
            ("POST", "/confirm", {"currency": "CNY", "amount": "1.00"}),
            ("POST", "/cancel", {"reason": "x"}),
        ]:
            with subtests.test(invoice_id=invoice_id[:20], path=suffix):
                response = world.client.request(
                    method, f"/v1/invoices/{invoice_id}{suffix}", json=body, headers=trader.headers
                )

                assert_error(response, 404)
