"""Fixtures of the `clearing net` tests: the Typer runner, a temporary working directory, and
the RESULT.json of a valid run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.unit.cli.support import VALID_ROWS, load_result, net, write_obligations, write_rates


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a temporary directory so that file names in messages are short and relative."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def valid_result(runner: CliRunner, workdir: Path) -> dict[str, Any]:
    write_obligations(workdir / "obligations.csv", VALID_ROWS)
    write_rates(workdir / "rates.json")
    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--output", "out/result.json")
    assert outcome.exit_code == 0, outcome.output
    return load_result((workdir / "out" / "result.json").read_text(encoding="utf-8"))
