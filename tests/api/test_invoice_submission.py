"""POST /v1/invoices: one invoice, strictly validated, screened at once, submitted once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.support import INVALID_FIELDS, World, assert_error, assert_no_trace, bearer


def test_an_exporter_submits_an_invoice_that_awaits_the_importers_confirmation(
    world: World,
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    body = world.invoice_body(importer, amount="125000.50", hs_code="8471.30")

    response = world.client.post("/v1/invoices", json=body, headers=exporter.headers)

    assert response.status_code == 201, response.text
    invoice = response.json()
    assert invoice["id"].startswith("inv_")
    assert invoice["status"] == "awaiting_confirmation"
    assert invoice["exporter_id"] == exporter.id
    assert invoice["exporter_entity"] == "CN"
    assert invoice["importer_id"] == importer.id
    assert invoice["importer_entity"] == "RU"
    assert invoice["currency"] == "CNY"
    assert invoice["amount"] == invoice["outstanding"] == "125000.50"
    assert invoice["issue_date"] == "2026-11-02"
    assert invoice["due_date"] == "2026-12-31"
    assert invoice["hs_code"] == "847130"
    assert invoice["invoice_number"] == body["invoice_number"]
    assert invoice["cycle_id"] is None
    assert invoice["rejection"] is None
    assert invoice["dispute"] is None
    fetched = world.client.get(f"/v1/invoices/{invoice['id']}", headers=importer.headers)
    assert fetched.json() == invoice


def test_amounts_are_answered_in_the_minor_units_of_their_own_currency(world: World) -> None:
    exporter, importer = world.trader("RU"), world.trader("CN")

    yen = world.submit(exporter, importer, currency="JPY", amount="1500")
    dinar = world.submit(exporter, importer, currency="KWD", amount="1.5")
    whole = world.submit(exporter, importer, currency="RUB", amount="7")

    assert yen["amount"] == "1500"
    assert dinar["amount"] == "1.500"
    assert whole["amount"] == "7.00"


def test_the_largest_amount_allowed_is_accepted(world: World) -> None:
    invoice = world.submit(world.trader("CN"), world.trader("RU"), amount="1000000000000.00")

    assert invoice["amount"] == "1000000000000.00"


def test_invoice_sequences_follow_the_order_of_submission(world: World) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")

    sequences = [world.submit(exporter, importer)["sequence"] for _ in range(3)]

    assert sequences == sorted(sequences)
    assert len(set(sequences)) == 3


def test_every_invalid_field_is_refused_naming_the_field_and_nothing_changes(
    world: World, subtests: pytest.Subtests
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    world.submit(exporter, importer)
    for name, overrides, field in INVALID_FIELDS:
        with subtests.test(name, field=field):
            body = world.invoice_body(importer, **overrides)
            body = {key: value for key, value in body.items() if value is not None}

            response = world.client.post("/v1/invoices", json=body, headers=exporter.headers)

            assert_error(response, 422, field=field)
            assert world.invoice_count() == 1


def test_an_invoice_to_an_importer_of_the_same_entity_is_refused(world: World) -> None:
    exporter, neighbour = world.trader("CN", 0), world.trader("CN", 1)

    response = world.client.post(
        "/v1/invoices", json=world.invoice_body(neighbour), headers=exporter.headers
    )

    body = assert_error(response, 422, field="importer_id")
    assert "cross-border" in body["message"]
    assert world.invoice_count() == 0


def test_a_trader_cannot_submit_in_another_exporters_name(world: World) -> None:
    exporter, other, importer = world.trader("CN", 0), world.trader("CN", 1), world.trader("RU")

    response = world.client.post(
        "/v1/invoices",
        json=world.invoice_body(importer, exporter_id=other.id),
        headers=exporter.headers,
    )

    assert_error(response, 422, field="exporter_id")
    assert world.invoice_count() == 0


NOT_AN_INVOICE = [b"{not json", b"", b"[]", b"null", b'"text"', b"\xff\xfe\x00", b'{"a": 1e999}']


def test_a_body_that_is_not_an_invoice_object_is_refused_without_a_trace(
    world: World, subtests: pytest.Subtests
) -> None:
    for raw in NOT_AN_INVOICE:
        with subtests.test(raw=raw):
            response = world.client.post(
                "/v1/invoices",
                content=raw,
                headers={**world.trader("CN").headers, "Content-Type": "application/json"},
            )

            assert_error(response, 422)
            assert world.invoice_count() == 0


def test_the_same_invoice_number_from_the_same_exporter_is_a_conflict(world: World) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    first = world.submit(exporter, importer, invoice_number="HH-2026-0042")

    again = world.client.post(
        "/v1/invoices",
        json=world.invoice_body(importer, invoice_number="HH-2026-0042", amount="5.00"),
        headers=exporter.headers,
    )

    assert_error(again, 409, field="invoice_number")
    assert world.invoice_count() == 1
    assert first["invoice_number"] == "HH-2026-0042"


def test_the_same_invoice_number_from_another_exporter_is_a_new_invoice(world: World) -> None:
    importer = world.trader("RU")

    first = world.submit(world.trader("CN", 0), importer, invoice_number="0001")
    second = world.submit(world.trader("KZ", 0), importer, invoice_number="0001")

    assert first["id"] != second["id"]
    assert world.invoice_count() == 2


# --- compliance at submission ---------------------------------------------------------------


def test_arms_are_rejected_at_once_with_the_rule_and_the_reason(
    world: World, subtests: pytest.Subtests
) -> None:
    exporter, importer = world.trader("RU"), world.trader("CN")
    for hs_code in ["93", "9301", "930200", "9306.21"]:
        with subtests.test(hs_code=hs_code):
            response = world.client.post(
                "/v1/invoices",
                json=world.invoice_body(importer, hs_code=hs_code),
                headers=exporter.headers,
            )

            assert response.status_code == 201, response.text
            invoice = response.json()
            assert invoice["status"] == "rejected"
            assert invoice["rejection"]["rule"] == "blocked_goods:93"
            assert "93" in invoice["rejection"]["reason"]
            stored = world.client.get(f"/v1/invoices/{invoice['id']}", headers=importer.headers)
            assert stored.json()["status"] == "rejected"
            assert stored.json()["rejection"] == invoice["rejection"]


def test_a_rejected_invoice_cannot_be_confirmed(world: World) -> None:
    exporter, importer = world.trader("RU"), world.trader("CN")
    rejected = world.submit(exporter, importer, hs_code="9301")

    response = world.client.post(
        f"/v1/invoices/{rejected['id']}/confirm",
        json={"currency": rejected["currency"], "amount": rejected["amount"]},
        headers=importer.headers,
    )

    assert_error(response, 409)


PRIORITIES = [
    ("01", 0),
    ("0201", 0),
    ("1201.90", 0),
    ("2402", 0),
    ("30", 0),
    ("3004", 0),
    ("9018", 0),
    ("9018.90", 0),
    ("25", 1),
    ("2501", 1),
    ("31", 1),
    ("9017", 1),
    ("9019", 1),
    ("8471", 1),
]


def test_food_medicine_and_medical_instruments_get_priority_zero_and_the_rest_one(
    world: World, subtests: pytest.Subtests
) -> None:
    for hs_code, priority in PRIORITIES:
        with subtests.test(hs_code=hs_code):
            invoice = world.submit(world.trader("CN"), world.trader("RU"), hs_code=hs_code)

            assert invoice["priority"] == priority
            assert invoice["status"] == "awaiting_confirmation"
            assert invoice["rejection"] is None


# --- idempotency ----------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_give_the_same_answer_and_one_invoice(
    world: World,
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    body = world.invoice_body(importer)
    headers = {**exporter.headers, "Idempotency-Key": "submit-0001"}

    first = world.client.post("/v1/invoices", json=body, headers=headers)
    second = world.client.post("/v1/invoices", json=body, headers=headers)
    reordered = world.client.post(
        "/v1/invoices", json=dict(reversed(list(body.items()))), headers=headers
    )

    assert first.status_code == second.status_code == reordered.status_code == 201
    assert first.json() == second.json() == reordered.json()
    assert world.invoice_count() == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(world: World) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    headers = {**exporter.headers, "Idempotency-Key": "submit-0002"}
    world.client.post("/v1/invoices", json=world.invoice_body(importer), headers=headers)

    other = world.client.post(
        "/v1/invoices", json=world.invoice_body(importer, amount="2.00"), headers=headers
    )

    assert_error(other, 409, field="Idempotency-Key")
    assert world.invoice_count() == 1


def test_an_idempotency_key_is_scoped_to_the_caller(world: World) -> None:
    importer = world.trader("RU")
    key = {"Idempotency-Key": "shared-key"}

    first = world.client.post(
        "/v1/invoices",
        json=world.invoice_body(importer, invoice_number="A-1"),
        headers={**world.trader("CN", 0).headers, **key},
    )
    second = world.client.post(
        "/v1/invoices",
        json=world.invoice_body(importer, invoice_number="A-1"),
        headers={**world.trader("CN", 1).headers, **key},
    )

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert second.json()["exporter_id"] == world.trader("CN", 1).id
    assert world.invoice_count() == 2


def test_a_refused_request_does_not_use_up_its_idempotency_key(world: World) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    headers = {**exporter.headers, "Idempotency-Key": "retry-after-fix"}

    refused = world.client.post(
        "/v1/invoices", json=world.invoice_body(importer, amount="1.001"), headers=headers
    )
    fixed = world.client.post(
        "/v1/invoices", json=world.invoice_body(importer, amount="1.00"), headers=headers
    )

    assert_error(refused, 422, field="amount")
    assert fixed.status_code == 201
    assert world.invoice_count() == 1


@pytest.mark.parametrize("key", ["k" * 201, "tab\there", "nul\x00"])
def test_a_malformed_idempotency_key_is_refused(world: World, key: str) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")

    response = world.client.post(
        "/v1/invoices",
        json=world.invoice_body(importer),
        headers={**exporter.headers, "Idempotency-Key": key},
    )

    assert_error(response, 422, field="Idempotency-Key")
    assert world.invoice_count() == 0


# --- limits ---------------------------------------------------------------------------------


def test_an_oversized_body_is_refused_with_413(world: World) -> None:
    body = world.invoice_body(world.trader("RU"), description="x" * (3 * 1024 * 1024))

    response = world.client.post("/v1/invoices", json=body, headers=world.trader("CN").headers)

    assert_error(response, 413)
    assert world.invoice_count() == 0


def test_an_oversized_body_without_a_length_is_refused_with_413(world: World) -> None:
    chunk = b" " * (256 * 1024)

    def chunks() -> Any:
        yield b'{"invoice_number": "X", "description": "'
        for _ in range(12):
            yield chunk
        yield b'"}'

    response = world.client.post(
        "/v1/invoices",
        content=chunks(),
        headers={**world.trader("CN").headers, "Content-Type": "application/json"},
    )

    assert_error(response, 413)
    assert world.invoice_count() == 0


def test_a_streamed_body_within_the_limit_is_accepted(world: World) -> None:
    body = world.invoice_body(world.trader("RU"))
    raw = json.dumps(body).encode()

    response = world.client.post(
        "/v1/invoices",
        content=iter([raw[:10], raw[10:]]),
        headers={**world.trader("CN").headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 201, response.text


def test_operators_may_submit_single_invoices_for_exporters_of_their_entity(
    world: World,
) -> None:
    exporter, importer = world.trader("KZ"), world.trader("CN")

    own = world.client.post(
        "/v1/invoices",
        json=world.invoice_body(importer, exporter_id=exporter.id),
        headers=world.operator("KZ"),
    )
    foreign = world.client.post(
        "/v1/invoices",
        json=world.invoice_body(importer, exporter_id=exporter.id),
        headers=world.operator("RU"),
    )

    assert own.status_code == 201
    assert own.json()["exporter_id"] == exporter.id
    assert_error(foreign, 422, field="exporter_id")
    assert exporter.name not in foreign.text


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_may_not_submit_invoices(world: World, role: str) -> None:
    key = world.auditor if role == "auditor" else world.admin

    response = world.client.post(
        "/v1/invoices", json=world.invoice_body(world.trader("RU")), headers=bearer(key)
    )

    assert_error(response, 403)
    assert world.invoice_count() == 0


def test_no_answer_to_a_hostile_invoice_leaks_a_trace(
    world: World, subtests: pytest.Subtests
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    hostile: list[dict[str, Any]] = [
        {"amount": "NaN"},
        {"amount": "Infinity"},
        {"amount": "0x10"},
        {"amount": ["1"]},
        {"amount": {"value": "1"}},
        {"currency": "\x00\x00\x00"},
        {"hs_code": "93\x00"},
        {"description": "\x00"},
        {"importer_id": "' OR 1=1 --"},
        {"importer_id": "x" * 5000},
        {"issue_date": "9999-99-99"},
        {"issue_date": "0000-01-01"},
    ]
    for overrides in hostile:
        with subtests.test(overrides=str(overrides)[:40]):
            response = world.client.post(
                "/v1/invoices",
                json=world.invoice_body(importer, **overrides),
                headers=exporter.headers,
            )

            assert 400 <= response.status_code < 500, response.text
            assert_no_trace(response.text)
    assert world.invoice_count() == 0
