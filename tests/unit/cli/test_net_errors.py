"""The error contract of `clearing net` (DESIGN §10), tested from the outside.

Bad input must exit with status 2, name the file, the line and the field, and write nothing
(an existing output file is left as it was). Error messages are plain text, never markup, on one
line. The tests drive the Typer app in-process through ``CliRunner``.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearing.domain.errors import InvalidInput
from clearing.entrypoints import cli
from tests.unit.cli.support import (
    GOOD_ROW,
    GOOD_ROW_BACK,
    VALID_RATES,
    VALID_ROWS,
    bad_row,
    net,
    one_line,
    rows_file,
    third_row,
    write_obligations,
    write_rates,
)

# --- bad input ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BadInput:
    """A broken input and where the error message must point: file, line and field."""

    obligations_text: str | None = None  # None: a valid file
    rates_text: str | None = None  # None: valid rates
    file: str = "obligations.csv"
    line: int | None = 3
    field: str | None = None
    words: str = ""  # a fragment the message must also contain


BAD_INPUTS = {
    "an amount with more decimal places than the currency allows": BadInput(
        bad_row(amount="12.345"), field="amount", words="decimal places"
    ),
    "an amount with decimals in a currency that has none": BadInput(
        bad_row(currency="JPY", amount="100.5"),
        field="amount",
    ),
    "a negative amount": BadInput(bad_row(amount="-5000.00"), field="amount"),
    "a zero amount": BadInput(bad_row(amount="0.00"), field="amount", words="greater than zero"),
    "a non-numeric amount": BadInput(bad_row(amount="five thousand"), field="amount"),
    "an amount in exponent notation": BadInput(bad_row(amount="1e5"), field="amount"),
    "an amount above 10^14 minor units": BadInput(
        bad_row(amount="1000000000000.01"), field="amount"
    ),
    "an empty amount": BadInput(bad_row(amount=""), field="amount"),
    "an unknown currency": BadInput(bad_row(currency="XYZ"), field="currency"),
    "a currency without a rate": BadInput(
        bad_row(currency="EUR"), field="currency", words="no rate"
    ),
    "a debtor jurisdiction without a currency in the rates": BadInput(
        bad_row(debtor_jurisdiction="KZ", debtor_id="KZ-ALMA-0001"),
        field="debtor_jurisdiction",
        words="KZ",
    ),
    "a creditor jurisdiction without a currency in the rates": BadInput(
        bad_row(creditor_jurisdiction="KZ", creditor_id="KZ-ALMA-0001"),
        field="creditor_jurisdiction",
        words="KZ",
    ),
    "an obligation inside one jurisdiction": BadInput(
        bad_row(creditor_jurisdiction="RU", creditor_id="RU-VLAD-0001"),
        field="creditor_jurisdiction",
    ),
    "a participant in two jurisdictions": BadInput(
        bad_row(creditor_id="RU-BLAG-0001"), field="creditor_id"
    ),
    "a duplicate obligation id": BadInput(
        bad_row(obligation_id="INV-0001"), field="obligation_id", words="duplicate"
    ),
    "an empty obligation id": BadInput(bad_row(obligation_id=""), field="obligation_id"),
    "a malformed due date": BadInput(bad_row(due_date="30/11/2026"), field="due_date"),
    "an impossible due date": BadInput(bad_row(due_date="2026-02-30"), field="due_date"),
    "a non-integer priority": BadInput(bad_row(priority="high"), field="priority"),
    "a non-integer sequence": BadInput(bad_row(sequence="3.5"), field="sequence"),
    "a missing required column": BadInput(
        rows_file(
            "INV-0001,CN-HEIHE-0001,CN,RU-BLAG-0001,RU,1000.00,2026-11-01",
            header="obligation_id,debtor_id,debtor_jurisdiction,creditor_id,"
            "creditor_jurisdiction,amount,due_date",
        ),
        line=1,
        field="currency",
        words="missing",
    ),
    "an empty file": BadInput("", line=1, words="empty"),
    "a file with only the header": BadInput(rows_file(), line=1, words="no obligations"),
    "a bad row after a blank line counted by its physical line": BadInput(
        rows_file(GOOD_ROW, GOOD_ROW_BACK, "", third_row(amount="abc")),
        line=5,
        field="amount",
    ),
    "malformed rates JSON": BadInput(
        rates_text='{"base": "CNY",\n "rates": {"CNY": "1",}\n}',
        file="rates.json",
        line=2,
        words="not valid JSON",
    ),
    "rates without the base currency": BadInput(
        rates_text=json.dumps({k: v for k, v in VALID_RATES.items() if k != "base"}),
        file="rates.json",
        line=None,
        field="base",
    ),
    "rates where the base currency has no rate of 1": BadInput(
        rates_text=json.dumps({**VALID_RATES, "rates": {"RUB": "0.0781", "USD": "7.10"}}),
        file="rates.json",
        line=None,
        field="rates",
        words="rate 1",
    ),
    "rates without a rate for a jurisdiction's currency": BadInput(
        rates_text=json.dumps(
            {**VALID_RATES, "jurisdictions": {"CN": "CNY", "RU": "RUB", "KZ": "KZT"}}
        ),
        file="rates.json",
        line=None,
        field="rates",
        words="KZT",
    ),
    "a rate given as a JSON number instead of a string": BadInput(
        rates_text=json.dumps(VALID_RATES).replace('"0.0781"', "0.0781"),
        file="rates.json",
        line=None,
        field="rates.RUB",
    ),
    "a rate in exponent notation": BadInput(
        rates_text=json.dumps(VALID_RATES).replace('"0.0781"', '"7.81e-2"'),
        file="rates.json",
        line=None,
        field="rates.RUB",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_exits_with_status_2_names_file_line_and_field_and_writes_nothing(
    runner: CliRunner, workdir: Path, case: BadInput
) -> None:
    obligations_text = case.obligations_text
    if obligations_text is None:
        obligations_text = rows_file(GOOD_ROW, GOOD_ROW_BACK)
    (workdir / "obligations.csv").write_text(obligations_text, encoding="utf-8")
    (workdir / "rates.json").write_text(
        case.rates_text if case.rates_text is not None else json.dumps(VALID_RATES),
        encoding="utf-8",
    )

    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--output", "out/result.json")

    assert outcome.exit_code == 2, outcome.output
    message = one_line(outcome.stderr)
    assert "Traceback" not in outcome.output
    assert case.file in message
    if case.line is not None:
        assert f"line {case.line}" in message
    if case.field is not None:
        assert case.field in message
    assert case.words in message
    assert outcome.stdout == ""
    assert not (workdir / "out").exists()
    assert sorted(path.name for path in workdir.iterdir()) == ["obligations.csv", "rates.json"]


def test_bad_input_leaves_an_existing_output_file_untouched(
    runner: CliRunner, workdir: Path
) -> None:
    (workdir / "obligations.csv").write_text(bad_row(amount="1e5"), encoding="utf-8")
    write_rates(workdir / "rates.json")
    (workdir / "result.json").write_text("previous run\n", encoding="utf-8")
    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--output", "result.json")
    assert outcome.exit_code == 2
    assert (workdir / "result.json").read_text(encoding="utf-8") == "previous run\n"
    assert sorted(path.name for path in workdir.iterdir()) == [
        "obligations.csv",
        "rates.json",
        "result.json",
    ]


def test_a_missing_obligations_file_is_named_and_exits_with_status_2(
    runner: CliRunner, workdir: Path
) -> None:
    write_rates(workdir / "rates.json")
    outcome = net(runner, "nowhere.csv", "--rates", "rates.json", "--output", "result.json")
    assert outcome.exit_code == 2
    assert "nowhere.csv" in one_line(outcome.stderr)
    assert not (workdir / "result.json").exists()


def test_a_missing_rates_file_is_named_and_exits_with_status_2(
    runner: CliRunner, workdir: Path
) -> None:
    write_obligations(workdir / "obligations.csv", VALID_ROWS)
    outcome = net(runner, "obligations.csv", "--rates", "absent.json", "--output", "result.json")
    assert outcome.exit_code == 2
    assert "absent.json" in one_line(outcome.stderr)
    assert not (workdir / "result.json").exists()


def test_an_unknown_policy_is_refused_with_status_2(runner: CliRunner, workdir: Path) -> None:
    write_obligations(workdir / "obligations.csv", VALID_ROWS)
    write_rates(workdir / "rates.json")
    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--policy", "lifo")
    assert outcome.exit_code == 2
    assert "policy" in outcome.output


# --- the error printer: plain text, never markup, one line ----------------------------------


def test_an_error_message_shows_the_offending_text_verbatim_even_with_brackets(
    runner: CliRunner, workdir: Path
) -> None:
    (workdir / "obligations.csv").write_text(bad_row(currency="[bold]X"), encoding="utf-8")
    write_rates(workdir / "rates.json")
    outcome = net(runner, "obligations.csv", "--rates", "rates.json")
    assert outcome.exit_code == 2
    assert "[bold]X" in outcome.stderr


def test_an_error_message_with_a_closing_tag_in_the_input_still_exits_with_status_2(
    runner: CliRunner, workdir: Path
) -> None:
    (workdir / "obligations.csv").write_text(bad_row(currency="[/x]"), encoding="utf-8")
    write_rates(workdir / "rates.json")
    outcome = net(runner, "obligations.csv", "--rates", "rates.json")
    assert outcome.exit_code == 2


def test_a_long_error_message_stays_on_one_line_for_scripts_that_grep_it(
    workdir: Path,
) -> None:
    runner = CliRunner(env={"COLUMNS": "80"})  # a pipe or an 80-column terminal
    folder = workdir / "a folder with a rather long name" / "and another one inside it"
    folder.mkdir(parents=True)
    (folder / "obligations.csv").write_text(bad_row(amount="1e5"), encoding="utf-8")
    write_rates(workdir / "rates.json")
    path = str(folder.relative_to(workdir) / "obligations.csv")
    outcome = net(runner, path, "--rates", "rates.json")
    assert outcome.exit_code == 2
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert f"{path}, line 3" in outcome.stderr


def test_an_error_while_the_result_is_being_written_exits_2_and_leaves_no_file(
    runner: CliRunner, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RESULT.json is built as it is written: an error half-way is still one line and exit 2.
    def half_written(result: object, *, with_lines: bool | None = None) -> Iterator[bytes]:
        yield b'{"digest":'
        raise InvalidInput("cannot be encoded", field="obligations")

    monkeypatch.setattr(cli, "result_json", half_written)
    (workdir / "obligations.csv").write_text(rows_file(GOOD_ROW, GOOD_ROW_BACK), encoding="utf-8")
    write_rates(workdir / "rates.json")
    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--output", "result.json")
    assert outcome.exit_code == 2, outcome.output
    assert "Traceback" not in outcome.output
    assert "cannot be encoded" in one_line(outcome.stderr)
    assert sorted(path.name for path in workdir.iterdir()) == ["obligations.csv", "rates.json"]


def test_a_written_result_is_as_readable_as_any_new_file(runner: CliRunner, workdir: Path) -> None:
    (workdir / "obligations.csv").write_text(rows_file(GOOD_ROW, GOOD_ROW_BACK), encoding="utf-8")
    write_rates(workdir / "rates.json")
    mask = os.umask(0o022)
    try:
        outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--output", "result.json")
    finally:
        os.umask(mask)
    assert outcome.exit_code == 0, outcome.output
    assert stat.S_IMODE((workdir / "result.json").stat().st_mode) == 0o644
