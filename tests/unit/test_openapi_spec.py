"""The published OpenAPI spec is as strict as the server: one bearer security scheme on every
operation, a typed answer for every JSON operation, enums where the server has them, and the
Idempotency-Key rule on every POST."""

from __future__ import annotations

from functools import cache
from typing import Any

from clearing.use_cases.ports import UnitOfWork
from service.app import create_app


def _no_database() -> UnitOfWork:
    raise AssertionError("the spec is read without a database")


@cache
def spec() -> dict[str, Any]:
    document: dict[str, Any] = create_app(_no_database).openapi()
    return document


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in spec()["paths"].items()
        if path.startswith("/v1/")
        for method, operation in methods.items()
    ]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec()["components"]["schemas"][name]
    return schema


def test_every_operation_requires_the_bearer_key_scheme() -> None:
    schemes = spec()["components"]["securitySchemes"]
    assert schemes == {
        "ApiKey": {
            "type": "http",
            "scheme": "bearer",
            "description": schemes["ApiKey"]["description"],
        }
    }
    for method, path, operation in operations():
        assert operation.get("security") == [{"ApiKey": []}], f"{method} {path}"


def test_every_json_answer_is_a_typed_object_not_a_bare_one() -> None:
    for method, path, operation in operations():
        success = next(v for k, v in operation["responses"].items() if k.startswith("2"))
        content = success.get("content")
        assert content, f"{method} {path} declares no content type"
        if "application/json" not in content:
            continue
        schema = resolve(content["application/json"]["schema"])
        assert schema.get("properties"), f"{method} {path} answers an untyped object"


def test_pages_list_typed_items_and_a_cursor() -> None:
    page = resolve(
        spec()["paths"]["/v1/cycles/{cycle_id}/positions"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]
    )
    assert set(page["required"]) == {"items", "next_cursor"}
    assert resolve(page["properties"]["items"]["items"])["title"] == "PositionOut"


def test_the_journal_is_declared_as_json_lines_and_payment_instructions_as_csv() -> None:
    paths = spec()["paths"]
    entries = paths["/v1/ledger/entries"]["get"]["responses"]["200"]["content"]
    assert list(entries) == ["application/x-ndjson"]
    csv = paths["/v1/cycles/{cycle_id}/instructions.csv"]["get"]["responses"]["200"]["content"]
    assert list(csv) == ["text/csv"]


def test_policy_and_statuses_are_enums() -> None:
    schemas = spec()["components"]["schemas"]
    assert schemas["Policy"]["enum"] == ["fifo", "pro_rata", "setoff"]
    assert "superseded" in schemas["CycleStatus"]["enum"]
    assert "awaiting_confirmation" in schemas["Status"]["enum"]
    status_filter = next(
        p for p in spec()["paths"]["/v1/invoices"]["get"]["parameters"] if p["name"] == "status"
    )
    assert any("$ref" in option for option in status_filter["schema"]["anyOf"])


def test_a_single_cycle_declares_every_field_the_list_returns() -> None:
    cycle = spec()["components"]["schemas"]["CycleOut"]["properties"]
    for name in ("missing_approvals", "defaulted", "note", "opened_at", "closed_at", "settled_at"):
        assert name in cycle


def test_every_post_documents_the_idempotency_key() -> None:
    for method, path, operation in operations():
        if method != "POST":
            continue
        (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header", path
        assert "same key" in header["description"], path
        assert header["schema"]["anyOf"][0]["maxLength"] == 200, path


def test_integer_cursors_are_bounded_by_the_columns_they_page() -> None:
    def query(path: str, name: str) -> dict[str, Any]:
        parameters = spec()["paths"][path]["get"]["parameters"]
        found: dict[str, Any] = next(p for p in parameters if p["name"] == name)["schema"]
        return found

    assert query("/v1/ledger/entries", "after")["maximum"] == 2**63 - 1
    cursor = query("/v1/cycles", "cursor")["anyOf"][0]
    assert (cursor["minimum"], cursor["maximum"]) == (0, 2**31 - 1)
