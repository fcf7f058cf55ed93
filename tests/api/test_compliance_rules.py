"""Compliance rules are data: `clearing rules` changes how the next submission is screened."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from clearing.entrypoints.cli import app as cli
from tests.api.support import World


@pytest.fixture
def rules(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose ``clearing`` works on the test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def run(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, ["rules", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_blocked_goods_rule_added_by_the_cli_rejects_the_next_submission(
    world: World, rules: CliRunner
) -> None:
    exporter, importer = world.trader("CN"), world.trader("RU")
    before = world.submit(exporter, importer, hs_code="847130")

    run(rules, "add", "blocked_goods", "8471", "--description", "dual-use computers")
    after = world.submit(exporter, importer, hs_code="847130")

    assert before["status"] == "awaiting_confirmation"
    assert after["status"] == "rejected"
    assert after["rejection"]["rule"] == "blocked_goods:8471"
    assert "dual-use computers" in after["rejection"]["reason"]
    assert "blocked_goods\t8471" in run(rules, "list")


def test_a_priority_goods_rule_added_by_the_cli_raises_the_next_submissions_priority(
    world: World, rules: CliRunner
) -> None:
    exporter, importer = world.trader("RU"), world.trader("KZ")
    before = world.submit(exporter, importer, hs_code="2709")

    run(rules, "add", "priority_goods", "2709", "--description", "crude oil for heating")
    after = world.submit(exporter, importer, hs_code="270900")

    assert before["priority"] == 1
    assert after["priority"] == 0
    assert after["status"] == "awaiting_confirmation"


def test_a_blocked_party_is_rejected_as_importer_and_as_exporter(
    world: World, rules: CliRunner
) -> None:
    blocked, partner = world.trader("RU", 0), world.trader("CN", 0)

    run(rules, "add", "blocked_party", blocked.id, "--description", "sanctions list")
    to_blocked = world.submit(partner, blocked)
    from_blocked = world.submit(blocked, partner, currency="RUB")
    unrelated = world.submit(partner, world.trader("RU", 1))

    for invoice in (to_blocked, from_blocked):
        assert invoice["status"] == "rejected"
        assert invoice["rejection"]["rule"] == f"blocked_party:{blocked.id}"
        assert blocked.id in invoice["rejection"]["reason"]
    assert unrelated["status"] == "awaiting_confirmation"


def test_removing_a_rule_by_the_cli_stops_it_applying(world: World, rules: CliRunner) -> None:
    exporter, importer = world.trader("KZ"), world.trader("CN")
    run(rules, "add", "blocked_goods", "2844", "--description", "radioactive elements")
    blocked = world.submit(exporter, importer, hs_code="2844")

    run(rules, "remove", "blocked_goods", "2844")
    cleared = world.submit(exporter, importer, hs_code="2844")

    assert blocked["status"] == "rejected"
    assert cleared["status"] == "awaiting_confirmation"


def test_a_rejected_submission_is_recorded_with_its_rule_in_the_history(
    world: World, rules: CliRunner
) -> None:
    run(rules, "add", "blocked_goods", "8802", "--description", "aircraft")
    exporter, importer = world.trader("CN"), world.trader("RU")
    invoice = world.submit(exporter, importer, hs_code="880240")

    events = world.client.get(
        f"/v1/invoices/{invoice['id']}/history", headers=exporter.headers
    ).json()["items"]

    assert [(e["from"], e["to"]) for e in events] == [(None, "rejected")]
    assert events[0]["reason"] == invoice["rejection"]["reason"]


INVALID_RULE_COMMANDS = [
    ["add", "blocked_goods", "ABC"],
    ["add", "blocked_goods", "9"],
    ["add", "embargo", "93"],
    ["add", "blocked_goods", "93"],
    ["remove", "blocked_goods", "1234"],
]


def test_an_invalid_rule_command_fails_and_changes_no_rule(
    world: World, rules: CliRunner, subtests: pytest.Subtests
) -> None:
    before = run(rules, "list")
    for args in INVALID_RULE_COMMANDS:
        with subtests.test(args=args):
            result = rules.invoke(cli, ["rules", *args])

            assert result.exit_code != 0
            assert "Traceback" not in result.output
            assert run(rules, "list") == before
