"""Who may call what (DESIGN §7): 401 without a valid key, 403 when the role may not do it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from clearing.adapters.persistence.tables import ApiKeyRow
from tests.api.support import World, assert_error, bearer

ID = "inv_00000000000000000000000000000000"

#: The participant and invoice endpoints, with a body each would accept.
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/v1/participants", {"name": "Anyone", "entity": "CN"}),
    ("GET", "/v1/participants", None),
    ("GET", "/v1/participants/CN-0000000000", None),
    ("POST", "/v1/invoices", {}),
    ("POST", "/v1/invoices/batch", {"invoices": [{}]}),
    ("GET", "/v1/invoices", None),
    ("GET", f"/v1/invoices/{ID}", None),
    ("GET", f"/v1/invoices/{ID}/history", None),
    ("POST", f"/v1/invoices/{ID}/confirm", {"currency": "CNY", "amount": "1.00"}),
    ("POST", f"/v1/invoices/{ID}/dispute", {"reason": "why not"}),
    ("POST", f"/v1/invoices/{ID}/cancel", {"reason": "why not"}),
    ("POST", f"/v1/invoices/{ID}/release", {"reason": "why not"}),
]

BAD_AUTHORIZATION = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Bearer ck_not_a_key",
    "Basic dXNlcjpwYXNz",
    "ck_missing_scheme",
    "Bearer " + "k" * 5000,
]


def call(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.request(method, path, json=body, headers=headers)


def test_every_endpoint_refuses_a_missing_or_bad_key_with_401(
    world: World, subtests: pytest.Subtests
) -> None:
    for method, path, body in ENDPOINTS:
        for authorization in BAD_AUTHORIZATION:
            headers = {} if authorization is None else {"Authorization": authorization}
            with subtests.test(method=method, path=path, authorization=authorization):
                response = call(world.client, method, path, body, headers)

                assert_error(response, 401)
                assert response.headers["www-authenticate"] == "Bearer"


def test_every_v1_route_of_the_app_refuses_a_missing_key(
    client: TestClient, subtests: pytest.Subtests
) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    routes = [
        (method.upper(), path.replace("{", "").replace("}", ""))
        for path, operations in paths.items()
        if path.startswith("/v1/")
        for method in operations
    ]
    assert len(routes) >= len(ENDPOINTS)
    for method, path in routes:
        with subtests.test(method=method, path=path):
            body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
            response = call(client, method, path, body, {})

            assert_error(response, 401)


def test_a_revoked_key_no_longer_authenticates(world: World) -> None:
    trader = world.trader("CN")
    assert world.client.get("/v1/invoices", headers=trader.headers).status_code == 200
    with world.uows() as uow:
        uow.session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.participant_id == trader.id)
            .values(revoked_at=ApiKeyRow.created_at)
        )
        uow.commit()

    response = world.client.get("/v1/invoices", headers=trader.headers)

    assert_error(response, 401)


def test_the_bearer_scheme_is_case_insensitive(world: World) -> None:
    response = world.client.get(
        "/v1/invoices", headers={"Authorization": f"bearer {world.trader('CN').key}"}
    )

    assert response.status_code == 200


def test_health_needs_no_key(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


#: (method, path template, body, roles that may call it). ``{invoice}`` is a CN0->RU0 invoice.
ROLE_RULES: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("POST", "/v1/participants", {"name": "New", "entity": "CN"}, {"operator", "admin"}),
    ("POST", "/v1/invoices", None, {"trader", "operator"}),
    ("POST", "/v1/invoices/batch", None, {"trader", "operator"}),
    ("GET", "/v1/invoices", None, {"trader", "operator", "auditor"}),
    ("GET", "/v1/invoices/{invoice}", None, {"trader", "operator", "auditor"}),
    ("GET", "/v1/invoices/{invoice}/history", None, {"trader", "operator", "auditor"}),
    ("POST", "/v1/invoices/{invoice}/confirm", {"currency": "CNY", "amount": "1.00"}, {"trader"}),
    ("POST", "/v1/invoices/{invoice}/dispute", {"reason": "no"}, {"trader"}),
    ("POST", "/v1/invoices/{invoice}/cancel", {"reason": "no"}, {"trader"}),
    ("POST", "/v1/invoices/{invoice}/release", {"reason": "no"}, {"operator"}),
]


def test_each_role_is_refused_with_403_what_it_may_not_do(
    world: World, subtests: pytest.Subtests
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    invoice = world.submit(exporter, importer)
    keys = {
        "trader": importer.key,
        "operator": world.operators["CN"],
        "auditor": world.auditor,
        "admin": world.admin,
    }
    count = world.invoice_count()
    for method, template, body, allowed in ROLE_RULES:
        path = template.format(invoice=invoice["id"])
        if body is None and method == "POST":
            body = (
                world.invoice_body(importer, exporter_id=exporter.id)
                if path.endswith("invoices")
                else {"invoices": [world.invoice_body(importer, exporter_id=exporter.id)]}
            )
        for role, key in keys.items():
            if role in allowed:
                continue
            with subtests.test(method=method, path=template, role=role):
                response = call(world.client, method, path, body, bearer(key))

                assert_error(response, 403)
    assert world.invoice_count() == count
    seen = world.client.get(f"/v1/invoices/{invoice['id']}", headers=exporter.headers).json()
    assert seen == invoice


def test_only_the_importer_may_confirm(world: World, subtests: pytest.Subtests) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    invoice = world.submit(exporter, importer)
    body = {"currency": "CNY", "amount": "1000.00"}
    for role, key in [
        ("exporter", exporter.key),
        ("operator", world.operators["RU"]),
        ("auditor", world.auditor),
        ("admin", world.admin),
    ]:
        with subtests.test(role=role):
            response = world.client.post(
                f"/v1/invoices/{invoice['id']}/confirm", json=body, headers=bearer(key)
            )

            assert_error(response, 403)
    confirmed = world.client.post(
        f"/v1/invoices/{invoice['id']}/confirm", json=body, headers=importer.headers
    )
    assert confirmed.json()["status"] == "eligible"
