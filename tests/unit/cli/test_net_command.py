"""`clearing net` as a user or a script runs it: the installed command, in a subprocess.

A valid run exits 0 and writes RESULT.json; bad input exits 2, names the file, the line and the
field on stderr, and writes nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.unit.cli.support import (
    VALID_ROWS,
    bad_row,
    load_result,
    one_line,
    write_obligations,
    write_rates,
)


def clearing_command() -> list[str]:
    installed = Path(sys.executable).with_name("clearing")
    if installed.exists():
        return [str(installed)]
    return [sys.executable, "-c", "from clearing.entrypoints.cli import main; main()"]


def test_the_installed_command_writes_the_result_and_exits_0(tmp_path: Path) -> None:
    write_obligations(tmp_path / "obligations.csv", VALID_ROWS)
    write_rates(tmp_path / "rates.json")
    completed = subprocess.run(
        [
            *clearing_command(),
            "net",
            "obligations.csv",
            "--rates",
            "rates.json",
            "--output",
            "result.json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    document = load_result((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert document["settled_value"] == "4064.00"


def test_the_installed_command_exits_2_on_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "obligations.csv").write_text(bad_row(amount="12.345"), encoding="utf-8")
    write_rates(tmp_path / "rates.json")
    completed = subprocess.run(
        [
            *clearing_command(),
            "net",
            "obligations.csv",
            "--rates",
            "rates.json",
            "--output",
            "result.json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    message = one_line(completed.stderr)
    assert "obligations.csv" in message
    assert "line 3" in message
    assert "amount" in message
    assert completed.stdout == ""
    assert not (tmp_path / "result.json").exists()
