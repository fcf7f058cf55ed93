"""`clearing net --policy setoff` end to end (DESIGN §4a, §10): the policy is accepted, recorded
in RESULT.json and in its digest, settles what fifo settles, and cancels a trader's debts
against its claims."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.unit.cli.support import by_key, load_result, net, write_obligations, write_rates

#: heihe-trade and blago-trade owe each other 100.00 CNY; an older debt between two others
#: (priority 0) is what fifo settles first.
MUTUAL_ROWS = (
    "OLDER,CN-HARBIN-FOODS,CN,RU-AMUR-GRAIN,RU,CNY,100.00,2026-11-01,0,1",
    "BUYS,CN-HEIHE-TRADE,CN,RU-BLAGO-TRADE,RU,CNY,100.00,2026-11-01,1,2",
    "SELLS,RU-BLAGO-TRADE,RU,CN-HEIHE-TRADE,CN,CNY,100.00,2026-11-01,1,3",
)


def test_setoff_settles_what_fifo_settles_and_cancels_a_traders_debts_against_its_claims(
    runner: CliRunner, workdir: Path
) -> None:
    write_obligations(workdir / "obligations.csv", MUTUAL_ROWS)
    write_rates(workdir / "rates.json")
    fifo_run = net(runner, "obligations.csv", "--rates", "rates.json", "--policy", "fifo")
    setoff_run = net(runner, "obligations.csv", "--rates", "rates.json", "--policy", "setoff")
    assert fifo_run.exit_code == 0, fifo_run.output
    assert setoff_run.exit_code == 0, setoff_run.output
    fifo, result = load_result(fifo_run.stdout), load_result(setoff_run.stdout)
    assert result["policy"] == "setoff"
    assert result["settled_value"] == fifo["settled_value"] == "200.00"
    assert result["digest"] != fifo["digest"]
    obligations = by_key(result["obligations"], "obligation_id")
    assert {key: item["remaining"] for key, item in obligations.items()} == {
        "OLDER": "100.00",
        "BUYS": "0.00",
        "SELLS": "0.00",
    }
    # Both traders pay in and are paid out the same amount: nothing moves net.
    positions = by_key(result["positions"], "participant_id")
    assert set(positions) == {"CN-HEIHE-TRADE", "RU-BLAGO-TRADE"}
    assert positions["CN-HEIHE-TRADE"]["net"] == "0.00"
    assert positions["RU-BLAGO-TRADE"]["net"] == "0.00"
    # Under fifo harbin-foods pays in for the older debt and blago-trade for what it bought.
    fifo_positions = by_key(fifo["positions"], "participant_id")
    assert fifo_positions["CN-HARBIN-FOODS"]["net"] == "-100.00"
    assert fifo_positions["RU-BLAGO-TRADE"]["net"].startswith("-")


def test_setoff_writes_its_result_file_and_a_summary(runner: CliRunner, workdir: Path) -> None:
    write_obligations(workdir / "obligations.csv", MUTUAL_ROWS)
    write_rates(workdir / "rates.json")
    outcome = net(
        runner, "obligations.csv", "--rates", "rates.json", "--policy", "setoff", "--output", "r"
    )
    assert outcome.exit_code == 0, outcome.output
    assert load_result((workdir / "r").read_text(encoding="utf-8"))["policy"] == "setoff"
    assert "Result written to r" in outcome.output


def test_the_help_names_setoff_among_the_policies(runner: CliRunner) -> None:
    outcome = net(runner, "--help")
    assert outcome.exit_code == 0
    assert "setoff" in outcome.output
