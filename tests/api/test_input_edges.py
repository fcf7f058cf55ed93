"""Edges of the API's input: out-of-range cursors, strict JSON, unsafe text, implausible dates
and the methods a path allows. Each is refused with a 422 naming its field, and changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.support import World, assert_error, bearer


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/cycles?cursor=2147483648", "cursor"),
        ("/v1/cycles?cursor=-99999999999", "cursor"),
        ("/v1/cycles?cursor=-1", "cursor"),
        ("/v1/ledger/entries?after=9223372036854775808", "after"),
        ("/v1/ledger/entries?after=-1", "after"),
    ],
)
def test_an_integer_query_parameter_outside_its_stored_range_is_a_422_naming_it(
    world: World, path: str, field: str
) -> None:
    assert_error(world.client.get(path, headers=bearer(world.auditor)), 422, field=field)


def test_the_largest_cursors_in_range_are_answered_normally(world: World) -> None:
    auditor = bearer(world.auditor)
    assert world.client.get("/v1/cycles?cursor=2147483647", headers=auditor).status_code == 200
    last_seq = "/v1/ledger/entries?after=9223372036854775807"
    assert world.client.get(last_seq, headers=auditor).status_code == 200


def test_a_json_object_naming_a_key_twice_is_refused_and_nothing_is_stored(world: World) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    body = world.client.post(
        "/v1/invoices",
        content=(
            f'{{"invoice_number": "DUP-1", "importer_id": "{importer.id}", "currency": "CNY",'
            ' "amount": "1.00", "amount": "1000000.00", "issue_date": "2026-11-02",'
            ' "due_date": "2026-12-31", "hs_code": "8471"}'
        ),
        headers={**exporter.headers, "Content-Type": "application/json"},
    )
    error = assert_error(body, 422, field="body")
    assert '"amount"' in error["message"]
    assert world.invoice_count() == 0


def test_a_duplicate_key_in_a_nested_object_is_refused_too(world: World) -> None:
    response = world.client.put(
        "/v1/cycles/c/rates",
        content='{"base": "CNY", "jurisdictions": {"CN": "CNY", "CN": "RUB"}, "rates": {}}',
        headers={**world.operator("CN"), "Content-Type": "application/json"},
    )
    assert_error(response, 422, field="body")


def test_malformed_json_names_the_body_and_says_where_not_a_byte_offset_as_field(
    world: World,
) -> None:
    response = world.client.post(
        "/v1/participants",
        content='{"name": "Heihe Soy", "entity": CN}',
        headers={**bearer(world.admin), "Content-Type": "application/json"},
    )
    error = assert_error(response, 422, field="body")
    assert "not valid JSON" in error["message"]
    assert "character 32" in error["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "Soybeans \u202e00.001 t"),
        ("description", "zero\u200bwidth"),
        ("description", "bell\x07"),
        ("description", "C1 \x85control"),
        ("invoice_number", "INV-\u2066 1"),
        ("invoice_number", "INV-\u202d1"),
    ],
)
def test_text_with_bidi_overrides_or_control_characters_is_refused_naming_the_field(
    world: World, field: str, value: str
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    body = world.invoice_body(importer, **{field: value})
    response = world.client.post("/v1/invoices", json=body, headers=exporter.headers)
    assert_error(response, 422, field=field)
    assert world.invoice_count() == 0


def test_a_participant_name_with_a_right_to_left_override_is_refused(world: World) -> None:
    response = world.client.post(
        "/v1/participants",
        json={"name": "Heihe \u202eoC gnidarT", "entity": "CN"},
        headers=bearer(world.admin),
    )
    assert_error(response, 422, field="name")


def test_chinese_russian_and_newlines_in_a_description_are_still_welcome(world: World) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    body = world.invoice_body(importer, description="大豆 400 吨\nСоевые бобы, 400 т")  # noqa: RUF001
    response = world.client.post("/v1/invoices", json=body, headers=exporter.headers)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"issue_date": "0001-01-01"}, "issue_date"),
        ({"issue_date": "1999-12-31"}, "issue_date"),
        ({"due_date": "9999-12-31"}, "due_date"),
        ({"issue_date": "2026-01-01", "due_date": "2037-01-01"}, "due_date"),
        ({"issue_date": "2026-12-31", "due_date": "2026-12-30"}, "due_date"),
    ],
)
def test_implausible_invoice_dates_are_refused_naming_the_date(
    world: World, overrides: dict[str, str], field: str
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    response = world.client.post(
        "/v1/invoices", json=world.invoice_body(importer, **overrides), headers=exporter.headers
    )
    assert_error(response, 422, field=field)


def test_a_405_names_every_method_the_path_allows(client: TestClient) -> None:
    response = client.delete("/v1/invoices")
    assert_error(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    only_post = client.get("/v1/cycles/c-1/close")
    assert only_post.status_code == 405
    assert only_post.headers["Allow"] == "POST"


def test_a_trader_cannot_read_a_whole_cycle_and_learns_nothing_of_its_existence(
    world: World,
) -> None:
    # The cycle-wide view is for operators and auditors (DESIGN §10); the 403 comes before any
    # lookup, so it says nothing about whether the cycle exists.
    response = world.client.get("/v1/cycles/anything", headers=world.trader("CN").headers)
    assert_error(response, 403)


def test_a_query_parameter_the_operation_does_not_declare_is_refused_naming_it(
    world: World,
) -> None:
    # A misspelt filter would otherwise silently list everything.
    response = world.client.get("/v1/invoices?stauts=settled", headers=bearer(world.auditor))
    assert_error(response, 422, field="stauts")
    declared = world.client.get(
        "/v1/invoices?status=settled&limit=5", headers=bearer(world.auditor)
    )
    assert declared.status_code == 200, declared.text


def test_an_undeclared_query_parameter_without_a_key_is_still_a_401(client: TestClient) -> None:
    assert_error(client.get("/v1/invoices?stauts=settled"), 401)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_unicode_line_and_paragraph_separators_are_refused_in_text(
    world: World, separator: str
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    body = world.invoice_body(importer, description=f"first{separator}second")
    response = world.client.post("/v1/invoices", json=body, headers=exporter.headers)
    assert_error(response, 422, field="description")


def test_a_405_under_the_docs_assets_keeps_the_methods_they_allow(client: TestClient) -> None:
    response = client.post("/docs-assets/swagger-ui.css")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}
