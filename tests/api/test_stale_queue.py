"""The stale queue (DESIGN §6a, §10): every invoice answers with its first eligibility, the
cycles that carried it and whether the ageing rules flag it; ``GET /v1/invoices?stale=true`` is
the queue each operator sees, and a bulk release empties it. ``clearing ageing`` manages the
rules."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from clearing.entrypoints.cli import app as cli
from clearing.use_cases import ageing
from tests.api.support import TRACE_MARKERS, World, assert_error, bearer

#: Long past due (years before any test runs), and due after it.
OVERDUE = {"issue_date": "2020-01-02", "due_date": "2020-03-02"}
NOT_DUE = {"issue_date": "2026-11-02", "due_date": "2035-12-31"}


def listed(world: World, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = world.client.get("/v1/invoices", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def numbers(items: list[dict[str, Any]]) -> list[str]:
    return [item["invoice_number"] for item in items]


@pytest.fixture
def queue(world: World) -> dict[str, dict[str, Any]]:
    """A month-overdue rule; CN-RU and KZ-RU long overdue and confirmed, CN-RU not due and
    confirmed, and KZ-CN long overdue but awaiting its importer."""
    ageing.add_ageing_rule(world.uows(), "days_overdue", 30, "a month overdue")
    cn, ru, kz = world.trader("CN"), world.trader("RU"), world.trader("KZ")
    return {
        "cn_ru_overdue": world.confirm(
            world.submit(cn, ru, invoice_number="OLD-CN", **OVERDUE), ru
        ),
        "kz_ru_overdue": world.confirm(
            world.submit(kz, ru, invoice_number="OLD-KZ", **OVERDUE), ru
        ),
        "cn_ru_fresh": world.confirm(world.submit(cn, ru, invoice_number="NEW-CN", **NOT_DUE), ru),
        "kz_cn_waiting": world.submit(kz, cn, invoice_number="OLD-WAIT", **OVERDUE),
    }


def test_every_invoice_answers_with_its_ageing_figures(world: World) -> None:
    cn, ru = world.trader("CN"), world.trader("RU")
    submitted = world.submit(cn, ru, **NOT_DUE)
    confirmed = world.confirm(submitted, ru)
    fetched = world.client.get(f"/v1/invoices/{submitted['id']}", headers=cn.headers).json()

    assert (submitted["first_eligible_at"], submitted["cycles_carried"]) == (None, 0)
    assert submitted["stale"] is False
    assert confirmed["first_eligible_at"] is not None
    assert confirmed["first_eligible_at"].endswith("+00:00")
    assert (confirmed["cycles_carried"], confirmed["stale"]) == (0, False)
    assert {k: fetched[k] for k in ("first_eligible_at", "cycles_carried", "stale")} == {
        k: confirmed[k] for k in ("first_eligible_at", "cycles_carried", "stale")
    }


def test_an_operator_sees_the_stale_queue_of_its_entity_and_the_rest_apart(
    world: World, queue: dict[str, dict[str, Any]]
) -> None:
    assert numbers(listed(world, world.operator("RU"), stale="true")) == ["OLD-CN", "OLD-KZ"]
    assert numbers(listed(world, world.operator("CN"), stale="true")) == ["OLD-CN"]
    assert numbers(listed(world, world.operator("CN"), stale="false")) == ["NEW-CN", "OLD-WAIT"]
    assert numbers(listed(world, world.trader("KZ").headers, stale="true")) == ["OLD-KZ"]
    everything = listed(world, bearer(world.auditor))
    assert {i["invoice_number"]: i["stale"] for i in everything} == {
        "OLD-CN": True,
        "OLD-KZ": True,
        "NEW-CN": False,
        "OLD-WAIT": False,
    }


def test_the_stale_queue_pages_by_cursor(world: World, queue: dict[str, dict[str, Any]]) -> None:
    first = world.client.get(
        "/v1/invoices", params={"stale": "true", "limit": 1}, headers=world.operator("RU")
    ).json()
    second = world.client.get(
        "/v1/invoices",
        params={"stale": "true", "limit": 1, "cursor": first["next_cursor"]},
        headers=world.operator("RU"),
    ).json()

    assert numbers(first["items"]) == ["OLD-CN"]
    assert numbers(second["items"]) == ["OLD-KZ"]
    assert first["next_cursor"] is not None


def test_the_stale_filter_is_true_or_false(world: World) -> None:
    for value in ("yes", "1", "TRUE", ""):
        response = world.client.get(
            "/v1/invoices", params={"stale": value}, headers=world.operator("CN")
        )
        assert_error(response, 422, field="stale")


def test_a_bulk_release_takes_invoices_out_of_the_stale_queue(
    world: World, queue: dict[str, dict[str, Any]]
) -> None:
    stale = listed(world, world.operator("RU"), stale="true")

    response = world.client.post(
        "/v1/invoices/release",
        json={"invoice_ids": [i["id"] for i in stale], "reason": "stale: a month overdue"},
        headers=world.operator("RU"),
    )

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["status"], r["invoice"]["status"], r["invoice"]["stale"]) for r in results] == [
        (200, "released", False),
        (200, "released", False),
    ]
    assert listed(world, world.operator("RU"), stale="true") == []


# --- clearing ageing --------------------------------------------------------------------------


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose ``clearing`` works on the test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def run(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, ["ageing", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_rule_added_by_the_cli_fills_the_stale_queue_and_removing_it_empties_it(
    world: World, runner: CliRunner
) -> None:
    cn, ru = world.trader("CN"), world.trader("RU")
    world.confirm(world.submit(cn, ru, invoice_number="OLD", **OVERDUE), ru)
    assert listed(world, world.operator("CN"), stale="true") == []

    assert "added days_overdue:30" in run(
        runner, "add", "days_overdue", "30", "--description", "late"
    )
    assert run(runner, "list") == "days_overdue\t30\tlate\n"
    assert numbers(listed(world, world.operator("CN"), stale="true")) == ["OLD"]

    run(runner, "remove", "days_overdue", "30")
    assert listed(world, world.operator("CN"), stale="true") == []
    restored = run(runner, "reset")
    assert restored == "cycles_carried\t6\tcarried six cycles\ndays_overdue\t30\ta month overdue\n"


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["add", "cycles_carried", "0"], "threshold"),
        (["add", "cycles_carried", "1001"], "threshold"),
        (["remove", "days_overdue", "45"], "no ageing rule days_overdue:45"),
        (["add", "weekly", "3"], "weekly"),
    ],
)
def test_a_bad_ageing_command_exits_non_zero_with_a_message(
    world: World, runner: CliRunner, args: list[str], wanted: str
) -> None:
    result = runner.invoke(cli, ["ageing", *args])

    assert result.exit_code != 0
    assert wanted in result.output
    assert not any(marker in result.output for marker in TRACE_MARKERS)
    assert run(runner, "list") == ""
