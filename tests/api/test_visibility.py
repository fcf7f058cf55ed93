"""Nobody reaches another party's data by guessing an id (DESIGN §7).

For every endpoint that takes an id, every role given someone else's object is answered 404
(or 403 where its role may never do that), with no data of the object in the body, and the
object is unchanged. A 404 for someone else's object reads exactly like one for an id that
does not exist.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import Trader, World, bearer

CONFIRM = {"currency": "CNY", "amount": "4321.09"}
REASON = {"reason": "let me in"}

#: (method, path template, body) of every endpoint that takes an invoice id.
INVOICE_ENDPOINTS = [
    ("GET", "/v1/invoices/{id}", None),
    ("GET", "/v1/invoices/{id}/history", None),
    ("POST", "/v1/invoices/{id}/confirm", CONFIRM),
    ("POST", "/v1/invoices/{id}/dispute", REASON),
    ("POST", "/v1/invoices/{id}/cancel", REASON),
    ("POST", "/v1/invoices/{id}/release", REASON),
]
PARTICIPANT_ENDPOINT = ("GET", "/v1/participants/{id}", None)
UNKNOWN_INVOICE = "inv_ffffffffffffffffffffffffffffffff"
UNKNOWN_PARTICIPANT = "CN-FFFFFFFFFF"


def outsiders_of_the_invoice(world: World, method: str) -> dict[str, str]:
    """Keys of callers who are no party to a CN0->RU0 invoice and whose entity it not touches."""
    outsiders = {
        "trader of the exporter's entity": world.trader("CN", 1).key,
        "trader of the importer's entity": world.trader("RU", 1).key,
        "trader of a third entity": world.trader("KZ", 0).key,
        "operator of a third entity": world.operators["KZ"],
        "admin": world.admin,
    }
    if method == "POST":
        outsiders["auditor"] = world.auditor
    return outsiders


def outsiders_of_the_participant(world: World) -> dict[str, str]:
    """Keys of callers who may not see participant CN0."""
    return {
        "its neighbour in CN": world.trader("CN", 1).key,
        "its counterparty in RU": world.trader("RU", 0).key,
        "a trader in KZ": world.trader("KZ", 0).key,
        "the RU operator": world.operators["RU"],
        "the KZ operator": world.operators["KZ"],
    }


def secrets_of(invoice: dict[str, Any], exporter: Trader, importer: Trader) -> list[str]:
    return [
        invoice["invoice_number"],
        invoice["description"],
        invoice["amount"],
        exporter.id,
        importer.id,
        exporter.name,
        importer.name,
        "Laptops",
    ]


def call(client: TestClient, method: str, path: str, body: Any, key: str) -> Any:
    return client.request(method, path, json=body, headers=bearer(key))


@pytest.mark.parametrize(
    ("method", "template", "body"),
    INVOICE_ENDPOINTS,
    ids=[f"{method} {template}" for method, template, _ in INVOICE_ENDPOINTS],
)
def test_no_outsider_reaches_someone_elses_invoice(
    world: World,
    subtests: pytest.Subtests,
    method: str,
    template: str,
    body: dict[str, Any] | None,
) -> None:
    exporter, importer = world.trader("CN", 0), world.trader("RU", 0)
    invoice = world.submit(
        exporter,
        importer,
        invoice_number="SECRET-7731",
        amount="4321.09",
        description="Laptops for the secret project",
    )
    before = world.client.get(f"/v1/invoices/{invoice['id']}/history", headers=exporter.headers)

    for role, key in outsiders_of_the_invoice(world, method).items():
        with subtests.test(role=role):
            response = call(world.client, method, template.format(id=invoice["id"]), body, key)

            assert response.status_code in (403, 404), response.text
            for secret in secrets_of(invoice, exporter, importer):
                assert secret not in response.text, (secret, response.text)
            if response.status_code == 404:
                unknown = call(world.client, method, template.format(id=UNKNOWN_INVOICE), body, key)
                assert unknown.status_code == 404
                assert response.json() == {
                    name: str(value).replace(UNKNOWN_INVOICE, invoice["id"])
                    for name, value in unknown.json().items()
                }

    after = world.client.get(f"/v1/invoices/{invoice['id']}/history", headers=exporter.headers)
    assert after.json() == before.json()
    seen = world.client.get(f"/v1/invoices/{invoice['id']}", headers=exporter.headers).json()
    assert seen == invoice


def test_no_outsider_reaches_someone_elses_participant(
    world: World, subtests: pytest.Subtests
) -> None:
    method, template, _ = PARTICIPANT_ENDPOINT
    response = world.client.post(
        "/v1/participants",
        json={"name": "Harbin Secret Soy", "tax_id": "TAX-SECRET-1", "bank_account": "ACC-77"},
        headers=world.operator("CN"),
    )
    participant = response.json()
    secrets = [participant["name"], participant["tax_id"], participant["bank_account"], "Soy"]

    for role, key in outsiders_of_the_participant(world).items():
        with subtests.test(role=role):
            answer = call(world.client, method, template.format(id=participant["id"]), None, key)

            assert answer.status_code == 404, answer.text
            for secret in secrets:
                assert secret not in answer.text
            unknown = call(world.client, method, template.format(id=UNKNOWN_PARTICIPANT), None, key)
            assert answer.json() == {
                name: str(value).replace(UNKNOWN_PARTICIPANT, participant["id"])
                for name, value in unknown.json().items()
            }


def test_the_parties_and_their_operators_and_the_auditor_do_see_the_invoice(
    world: World, subtests: pytest.Subtests
) -> None:
    exporter, importer = world.trader("CN", 0), world.trader("RU", 0)
    invoice = world.submit(exporter, importer)
    for role, key in {
        "exporter": exporter.key,
        "importer": importer.key,
        "CN operator": world.operators["CN"],
        "RU operator": world.operators["RU"],
        "auditor": world.auditor,
    }.items():
        with subtests.test(role=role):
            response = world.client.get(f"/v1/invoices/{invoice['id']}", headers=bearer(key))

            assert response.status_code == 200
            assert response.json() == invoice
