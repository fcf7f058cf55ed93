"""The operating commands on a database they cannot use, and `clearing import` on hostile CSV:
one line on stderr and a documented exit status, never a traceback. Exit 2 when the URL or the
database needs fixing, 1 when the server cannot be reached."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from clearing.entrypoints.cli import app
from tests.conftest import ADMIN_URL
from tests.pilot import Pilot
from tests.unit.cli.support import one_line

runner = CliRunner()

COMMANDS_THAT_OPEN_THE_DATABASE = [["db", "upgrade"], ["entities", "list"], ["audit", "verify"]]


def run_on(url: str, command: list[str], monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.setenv("DATABASE_URL", url)
    return runner.invoke(app, command)


def assert_one_line_error(result: Result, code: int, words: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert words in lines[0]


BAD_URLS = {
    "not a URL": ("notaurl", "'notaurl' is not a database URL"),
    "an unsupported database": ("mysql://clearing@127.0.0.1/clearing", "mysql is not supported"),
    "a driver that is not installed": (
        "postgresql+nosuchdriver://clearing@127.0.0.1/clearing",
        "needs a database driver that is not installed",
    ),
    "a port that is not a number": ("postgresql://u:secret@db:port/x", "is not a database URL"),
}


@pytest.mark.parametrize("command", COMMANDS_THAT_OPEN_THE_DATABASE, ids=" ".join)
@pytest.mark.parametrize(("url", "words"), list(BAD_URLS.values()), ids=list(BAD_URLS))
def test_a_bad_database_url_exits_2_with_one_line(
    url: str, words: str, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_on(url, command, monkeypatch)
    assert_one_line_error(result, 2, words)
    assert "secret" not in result.output


@pytest.mark.parametrize("command", COMMANDS_THAT_OPEN_THE_DATABASE, ids=" ".join)
def test_a_server_that_does_not_answer_exits_1_with_one_line(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_on("postgresql://clearing:secret@127.0.0.1:1/clearing", command, monkeypatch)
    assert_one_line_error(result, 1, "cannot connect to the database at postgresql+psycopg://")
    assert "secret" not in result.output


def test_an_sqlite_file_in_a_missing_folder_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_on(f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}", ["db", "upgrade"], monkeypatch)
    assert_one_line_error(result, 1, "unable to open database file")


@pytest.fixture
def missing_database_url() -> Iterator[str]:
    """The URL of a database the test server does not have; dropped afterwards if created."""
    name = f"clearing_missing_{uuid.uuid4().hex[:12]}"
    yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_missing_database_is_created_by_db_upgrade_and_named_by_other_commands(
    missing_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = make_url(missing_database_url).database
    listed = run_on(missing_database_url, ["entities", "list"], monkeypatch)
    assert_one_line_error(listed, 2, f"there is no database {name}")
    assert "run `clearing db upgrade` to create it" in listed.stderr

    upgraded = run_on(missing_database_url, ["db", "upgrade"], monkeypatch)
    assert upgraded.exit_code == 0, upgraded.output
    assert f"created the database postgresql+psycopg://postgres@127.0.0.1:5432/{name}" in (
        upgraded.stdout
    )
    assert "is up to date" in upgraded.stdout

    again = run_on(missing_database_url, ["db", "upgrade"], monkeypatch)
    assert again.exit_code == 0, again.output
    assert "created" not in again.stdout
    assert run_on(missing_database_url, ["entities", "list"], monkeypatch).exit_code == 0


# --- clearing import on hostile CSV --------------------------------------------------------

HEADER = "exporter_id,invoice_number,importer_id,currency,amount,issue_date,due_date,hs_code"


def invoice_row(amount: str = "10.00", invoice_number: str = "IMP-1") -> str:
    return f"CN-1,{invoice_number},RU-1,CNY,{amount},2026-11-01,2026-12-01,0808"


HOSTILE_INVOICES = {
    "a field longer than the csv limit": (
        invoice_row(invoice_number="X" * 200_000),
        "line 2: a field is longer than 131,072 characters",
    ),
    "a quote left open": (
        invoice_row(invoice_number='"IMP-1'),
        "line 2: a quoted field is not closed",
    ),
}


@pytest.mark.parametrize(
    ("row", "words"), list(HOSTILE_INVOICES.values()), ids=list(HOSTILE_INVOICES)
)
def test_import_names_the_line_of_hostile_csv_and_exits_2(
    row: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "invoices.csv"
    path.write_text(f"{HEADER}\n{row}\n", encoding="utf-8")
    empty_database = f"sqlite:///{tmp_path / 'empty.db'}"  # the file is refused before it is used
    result = run_on(empty_database, ["import", str(path), "--entity", "CN"], monkeypatch)
    assert_one_line_error(result, 2, f"invoices.csv, {words}")


def test_import_refuses_an_amount_of_thousands_of_digits_by_its_line(
    pilot: Pilot, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = pilot.principals["cn1"].participant_id
    importer = pilot.principals["ru1"].participant_id
    path = tmp_path / "invoices.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER.split(","))
        writer.writerow(
            [exporter, "IMP-1", importer, "CNY", "9" * 5_000, "2026-11-01", "2026-12-01", "0808"]
        )
    result = run_on(database_url, ["import", str(path), "--entity", "CN"], monkeypatch)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    output = one_line(result.output)
    assert "0 accepted, 0 rejected by compliance, 1 refused" in output
    assert "line 2: amount: '999999999999999999999999'… (5,000 characters) exceeds the limit" in (
        output
    )


def test_serve_with_an_unknown_kill_point_exits_2_with_one_line(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARING_TEST_KILL_AT", "sometime")
    result = run_on(database_url, ["serve", "--port", "1"], monkeypatch)
    assert_one_line_error(result, 2, "CLEARING_TEST_KILL_AT must be one of")
