"""POST and GET /v1/participants: who registers whom, and who sees whom."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.support import World, assert_error, bearer


def test_an_operator_registers_a_participant_with_its_own_entity(world: World) -> None:
    response = world.client.post(
        "/v1/participants",
        json={"name": "Blagoveshchensk Timber", "tax_id": "2801000001", "bank_account": "4070"},
        headers=world.operator("RU"),
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["entity"] == "RU"
    assert created["name"] == "Blagoveshchensk Timber"
    assert created["tax_id"] == "2801000001"
    assert created["bank_account"] == "4070"
    assert created["id"].startswith("RU-")
    fetched = world.client.get(f"/v1/participants/{created['id']}", headers=world.operator("RU"))
    assert fetched.status_code == 200
    assert fetched.json() == created


def test_an_operator_may_name_its_own_entity_but_not_another(world: World) -> None:
    own = world.client.post(
        "/v1/participants", json={"name": "Own", "entity": "CN"}, headers=world.operator("CN")
    )
    other = world.client.post(
        "/v1/participants", json={"name": "Other", "entity": "RU"}, headers=world.operator("CN")
    )

    assert own.status_code == 201
    assert own.json()["entity"] == "CN"
    assert_error(other, 422, field="entity")


def test_an_admin_registers_a_participant_with_the_entity_it_names(world: World) -> None:
    response = world.client.post(
        "/v1/participants",
        json={"name": "Astana Grain", "entity": "KZ"},
        headers=bearer(world.admin),
    )

    assert response.status_code == 201
    assert response.json()["entity"] == "KZ"


INVALID_PARTICIPANTS: list[tuple[dict[str, object], str]] = [
    ({"name": "No entity"}, "entity"),
    ({"name": "Unknown entity", "entity": "XX"}, "entity"),
    ({"name": "Bad entity", "entity": "C\x00N"}, "entity"),
    ({"entity": "CN"}, "name"),
    ({"name": "", "entity": "CN"}, "name"),
    ({"name": "   ", "entity": "CN"}, "name"),
    ({"name": "x" * 201, "entity": "CN"}, "name"),
    ({"name": "Bell\x07", "entity": "CN"}, "name"),
    ({"name": 42, "entity": "CN"}, "name"),
    ({"name": "Tax", "entity": "CN", "tax_id": "t" * 65}, "tax_id"),
    ({"name": "Bank", "entity": "CN", "bank_account": "b" * 65}, "bank_account"),
    ({"name": "Owned", "entity": "CN", "id": "CN-MINE"}, "id"),
    ({"name": "Owned", "entity": "CN", "created_at": "2026-01-01"}, "created_at"),
]


def test_an_invalid_participant_is_refused_naming_the_field_and_nothing_is_stored(
    world: World, subtests: pytest.Subtests
) -> None:
    before = world.client.get("/v1/participants", headers=bearer(world.auditor)).json()["items"]
    for body, field in INVALID_PARTICIPANTS:
        with subtests.test(field=field, body=body):
            response = world.client.post("/v1/participants", json=body, headers=bearer(world.admin))

            assert_error(response, 422, field=field)
            after = world.client.get("/v1/participants", headers=bearer(world.auditor))
            assert after.json()["items"] == before


@pytest.mark.parametrize("role", ["trader", "auditor"])
def test_traders_and_auditors_may_not_register_participants(world: World, role: str) -> None:
    key = world.trader("CN").key if role == "trader" else world.auditor

    response = world.client.post(
        "/v1/participants", json={"name": "Sneaky", "entity": "CN"}, headers=bearer(key)
    )

    assert_error(response, 403)


def test_an_operator_lists_only_the_participants_of_its_entity(world: World) -> None:
    response = world.client.get("/v1/participants", headers=world.operator("CN"))

    assert response.status_code == 200
    page = response.json()
    assert {p["id"] for p in page["items"]} == {t.id for t in world.traders["CN"]}
    assert page["next_cursor"] is None


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admins_and_auditors_list_every_participant(world: World, role: str) -> None:
    key = world.admin if role == "admin" else world.auditor

    page = world.client.get("/v1/participants", headers=bearer(key)).json()

    expected = {t.id for traders in world.traders.values() for t in traders}
    assert {p["id"] for p in page["items"]} == expected


def test_a_trader_lists_only_itself(world: World) -> None:
    trader = world.trader("RU", 1)

    page = world.client.get("/v1/participants", headers=trader.headers).json()

    assert [p["id"] for p in page["items"]] == [trader.id]
    assert page["next_cursor"] is None


def test_a_trader_reads_itself_but_not_its_neighbour(world: World) -> None:
    trader, neighbour = world.trader("CN", 0), world.trader("CN", 1)

    own = world.client.get(f"/v1/participants/{trader.id}", headers=trader.headers)
    other = world.client.get(f"/v1/participants/{neighbour.id}", headers=trader.headers)

    assert own.status_code == 200
    assert own.json()["name"] == trader.name
    assert_error(other, 404)
    assert neighbour.name not in other.text


def test_participants_are_paged_by_cursor_without_gaps_or_repeats(world: World) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = world.client.get("/v1/participants", params=params, headers=bearer(world.admin))
        assert page.status_code == 200
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [p["id"] for p in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    expected = sorted(t.id for traders in world.traders.values() for t in traders)
    assert seen == expected
    assert pages >= len(expected) // 2


def test_a_participant_page_limit_outside_1_to_500_is_refused(
    world: World, subtests: pytest.Subtests
) -> None:
    for limit in ["0", "501", "-1", "many"]:
        with subtests.test(limit=limit):
            response = world.client.get(
                f"/v1/participants?limit={limit}", headers=bearer(world.admin)
            )

            assert_error(response, 422, field="limit")


def test_an_unknown_participant_is_not_found(world: World) -> None:
    response = world.client.get("/v1/participants/CN-0000000000", headers=bearer(world.admin))

    assert_error(response, 404)


def test_a_malformed_participant_id_is_not_found_rather_than_a_server_error(
    world: World, subtests: pytest.Subtests
) -> None:
    for participant_id in ["CN-%00", "%00", "CN-%01", "x" * 300]:
        with subtests.test(participant_id=participant_id):
            response = world.client.get(
                f"/v1/participants/{participant_id}", headers=bearer(world.admin)
            )

            assert_error(response, 404)


def test_a_malformed_participant_cursor_is_refused_naming_it(
    world: World, subtests: pytest.Subtests
) -> None:
    for cursor in ["%01", "CN-%0A", "x" * 65]:
        with subtests.test(cursor=cursor):
            response = world.client.get(
                f"/v1/participants?cursor={cursor}", headers=bearer(world.admin)
            )

            assert_error(response, 422, field="cursor")


def test_a_participant_cursor_with_a_nul_is_answered_without_a_server_error(
    world: World,
) -> None:
    response = world.client.get("/v1/participants?cursor=%00", headers=bearer(world.admin))

    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)


def test_registering_with_the_same_idempotency_key_twice_registers_once(
    world: World, client: TestClient
) -> None:
    headers = {**world.operator("KZ"), "Idempotency-Key": "register-almaty-1"}
    body = {"name": "Almaty Cotton"}

    first = client.post("/v1/participants", json=body, headers=headers)
    second = client.post("/v1/participants", json=body, headers=headers)
    listed = client.get("/v1/participants", headers=world.operator("KZ")).json()["items"]

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert [p["name"] for p in listed].count("Almaty Cotton") == 1


def test_an_operator_changes_a_participants_bank_details_and_every_version_is_kept(
    world: World,
) -> None:
    trader = world.trader("RU")
    path = f"/v1/participants/{trader.id}"

    changed = world.client.patch(
        path,
        json={"bank_account": "40702 810 4000 0000 0225", "bank_code": "044525593"},
        headers=world.operator("RU"),
    )
    renamed = world.client.patch(path, json={"name": "Amur Timber"}, headers=bearer(world.admin))

    assert changed.status_code == 200, changed.text
    assert changed.json()["bank_account"] == "40702810400000000225"
    assert changed.json()["bank_code"] == "044525593"
    assert renamed.json()["name"] == "Amur Timber"
    assert renamed.json()["bank_code"] == "044525593"
    assert world.client.get(path, headers=world.operator("RU")).json() == renamed.json()
    history = world.client.get(f"{path}/history", headers=world.operator("RU"))
    assert history.status_code == 200, history.text
    versions = history.json()["items"]
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[0]["name"] == trader.name
    assert versions[0]["bank_code"] is None
    assert (versions[1]["bank_account"], versions[1]["bank_code"]) == (
        "40702810400000000225",
        "044525593",
    )
    assert versions[2]["name"] == "Amur Timber"
    assert len({v["changed_by"] for v in versions[1:]}) == 2
    assert all(v["changed_at"] for v in versions)
    assert history.json()["next_cursor"] is None


def test_a_participant_is_changed_only_by_its_own_entitys_operator_or_an_admin(
    world: World,
) -> None:
    trader = world.trader("RU")
    path = f"/v1/participants/{trader.id}"
    body = {"bank_code": "044525593"}

    assert_error(world.client.patch(path, json=body, headers=world.operator("CN")), 404)
    assert_error(world.client.patch(path, json=body, headers=trader.headers), 403)
    assert_error(world.client.patch(path, json=body, headers=bearer(world.auditor)), 403)
    assert_error(world.client.get(f"{path}/history", headers=world.operator("CN")), 404)
    assert world.client.get(path, headers=world.operator("RU")).json()["bank_code"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"bank_code": "12345"}, "bank_code"),
        ({"bank_account": "acc!"}, "bank_account"),
        ({"name": "  "}, "name"),
        ({"entity": "CN"}, "entity"),
        ({"tax_id": "1"}, "tax_id"),
    ],
)
def test_a_bad_change_is_refused_naming_the_field_and_changes_nothing(
    world: World, body: dict[str, object], field: str
) -> None:
    trader = world.trader("CN")
    path = f"/v1/participants/{trader.id}"
    before = world.client.get(path, headers=world.operator("CN")).json()

    assert_error(
        world.client.patch(path, json=body, headers=world.operator("CN")), 422, field=field
    )

    assert world.client.get(path, headers=world.operator("CN")).json() == before
    versions = world.client.get(f"{path}/history", headers=world.operator("CN")).json()["items"]
    assert len(versions) == 1


def test_a_change_that_names_nothing_is_refused(world: World) -> None:
    path = f"/v1/participants/{world.trader('CN').id}"
    assert_error(world.client.patch(path, json={}, headers=world.operator("CN")), 422)
