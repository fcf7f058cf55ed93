"""GET /v1/keys and POST /v1/keys/{id}/revoke: keys listed without secrets, revoked at once."""

from __future__ import annotations

from tests.api.support import World, assert_error, bearer


def test_an_admin_lists_keys_without_their_secrets(world: World) -> None:
    operator_key = world.operators["CN"]

    response = world.client.get("/v1/keys", headers=bearer(world.admin))

    assert response.status_code == 200, response.text
    page = response.json()
    assert operator_key not in response.text
    assert world.admin not in response.text
    operators = [k for k in page["items"] if k["role"] == "operator" and k["entity"] == "CN"]
    assert len(operators) == 1
    shown = operators[0]
    assert shown["prefix"] == operator_key[:10]
    assert shown["revoked_at"] is None
    assert shown["created_at"]
    assert set(shown) == {
        "id", "role", "entity", "participant_id", "label", "prefix", "created_at", "revoked_at"
    }  # fmt: skip


def test_a_revoked_key_is_refused_on_its_next_request(world: World) -> None:
    trader = world.trader("RU")
    assert world.client.get("/v1/invoices", headers=trader.headers).status_code == 200
    listed = world.client.get("/v1/keys", headers=bearer(world.admin)).json()["items"]
    (key_id,) = [k["id"] for k in listed if k["participant_id"] == trader.id]

    revoked = world.client.post(f"/v1/keys/{key_id}/revoke", headers=bearer(world.admin))

    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert_error(world.client.get("/v1/invoices", headers=trader.headers), 401)
    again = world.client.post(f"/v1/keys/{key_id}/revoke", headers=bearer(world.admin))
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


def test_revoking_an_unknown_key_is_not_found(world: World) -> None:
    response = world.client.post("/v1/keys/key_unknown/revoke", headers=bearer(world.admin))

    assert_error(response, 404, field="key_id")


def test_only_an_admin_lists_or_revokes_keys(world: World) -> None:
    for headers in (world.operator("CN"), bearer(world.auditor), world.trader("CN").headers):
        assert_error(world.client.get("/v1/keys", headers=headers), 403)
        revoke = world.client.post(f"/v1/keys/{'key_x'}/revoke", headers=headers)
        assert_error(revoke, 403)
