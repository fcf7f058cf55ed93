"""``clearing lines`` on PostgreSQL: a line proposed for one entity is confirmed for the other,
a new limit likewise; a cycle draws on it and the audit still verifies; refused commands exit
non-zero with a message and change nothing."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from clearing.entrypoints.cli import app
from clearing.use_cases import cycles, lines
from tests.pilot import RATES, Pilot, settle

runner = CliRunner()


def clearing(*arguments: str) -> tuple[int, str]:
    outcome = runner.invoke(app, arguments)
    return outcome.exit_code, " ".join(outcome.output.split())


def test_a_line_is_proposed_confirmed_changed_and_drawn_on_from_the_command_line(
    pilot: Pilot, on_test_database: str
) -> None:
    settle(pilot)  # the pilot's first cycle carries CN -> RU's excess into the pool
    code, output = clearing(
        "lines", "add", "--from", "CN", "--to", "RU", "--currency", "CNY", "--limit", "5000.00"
    )
    assert code == 0, output
    found = re.search(r"(ln_[0-9a-f]+): CN → RU in CNY", output)
    assert found, output
    line_id = found.group(1)
    assert "pending, awaiting RU" in output

    code, output = clearing("lines", "confirm", line_id)
    assert code == 0, output
    assert "active" in output
    code, output = clearing("lines", "confirm", line_id)
    assert code == 1
    assert "nothing waiting to be confirmed" in output

    code, output = clearing("lines", "limit", line_id, "10000.00")
    assert code == 0, output
    assert "awaiting RU (limit 10000.00)" in output
    code, output = clearing("lines", "confirm", line_id, "--entity", "CN")
    assert code == 1
    assert "waits for an operator of RU" in output
    code, output = clearing("lines", "confirm", line_id)
    assert code == 0, output
    assert "limit 10000.00, balance 0.00, active" in output

    operator = pilot.principals["op-CN"]
    opened = cycles.open_cycle(pilot.uows(), operator)
    cycles.set_rates(pilot.uows(), operator, opened.id, dict(RATES))
    proposed = cycles.close_cycle(pilot.uows(), operator, opened.id)
    assert [(m.line_id, m.drawn) for m in proposed.lines] == [(line_id, 10000_00)]
    settle(pilot, proposed)
    view = lines.get_line(pilot.uows(), pilot.principals["auditor"], line_id)
    assert view.line.balance == 10000_00

    code, output = clearing("lines", "list")
    assert code == 0, output
    assert line_id in output
    assert "10000.00" in output
    code, output = clearing("lines", "list", "--entity", "RU")
    assert line_id in output
    code, output = clearing("audit", "verify")
    assert code == 0, output


def test_a_refused_line_command_exits_non_zero_naming_what_is_wrong(
    pilot: Pilot, on_test_database: str
) -> None:
    code, output = clearing(
        "lines", "add", "--from", "CN", "--to", "RU", "--currency", "CNY", "--limit", "-5"
    )
    assert code == 2
    assert "limit" in output
    code, output = clearing(
        "lines", "add", "--from", "CN", "--to", "KZ", "--currency", "CNY", "--limit", "5"
    )
    assert code == 2
    assert "no entity KZ" in output
    code, output = clearing("lines", "confirm", "ln_missing")
    assert code == 2
    assert "no line ln_missing" in output
    code, output = clearing("lines", "list")
    assert code == 0
    assert "ln_" not in output
    code, output = clearing(
        "lines", "add", "--from", "", "--to", "RU", "--currency", "CNY", "--limit", "5"
    )
    assert code == 2
    assert "--entity" in output
