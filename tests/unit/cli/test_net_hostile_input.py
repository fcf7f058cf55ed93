"""`clearing net` on input that once escaped as a traceback: amounts past Python's int-string
limit, CSV fields past the csv module's limit, an unclosed quote, an ``--output`` that cannot
be written. Each must exit with status 2 and one line naming what is at fault."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearing.domain.errors import InvalidInput
from clearing.domain.money import MAX_MINOR_UNITS, parse_amount
from tests.unit.cli.support import (
    GOOD_ROW,
    GOOD_ROW_BACK,
    VALID_ROWS,
    bad_row,
    net,
    one_line,
    rows_file,
    third_row,
    write_obligations,
    write_rates,
)

#: Past both Python's int-string limit (4,300 digits) and the csv module's field limit.
HUGE = 200_000

HOSTILE_FILES = {
    "an amount with more digits than Python converts": (
        bad_row(amount="9" * 5_000),
        ["line 3", "amount", "exceeds the limit"],
    ),
    "an identifier longer than the csv field limit": (
        bad_row(obligation_id="X" * HUGE),
        ["line 3", "longer than 131,072 characters"],
    ),
    "an amount longer than the csv field limit": (
        bad_row(amount="1" * HUGE),
        ["line 3", "longer than 131,072 characters"],
    ),
    "a quote left open to the end of the file": (
        bad_row(obligation_id='"INV-0003'),
        ["line 3", "quoted field is not closed"],
    ),
    "a quote left open before more rows": (
        rows_file(GOOD_ROW, third_row(debtor_id='"RU-BLAG-0002'), GOOD_ROW_BACK),
        ["line 3", "quoted field is not closed"],
    ),
}


@pytest.mark.parametrize(("text", "words"), list(HOSTILE_FILES.values()), ids=list(HOSTILE_FILES))
def test_hostile_obligations_exit_2_with_one_short_line(
    runner: CliRunner, workdir: Path, text: str, words: list[str]
) -> None:
    (workdir / "obligations.csv").write_text(text, encoding="utf-8")
    write_rates(workdir / "rates.json")
    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--output", "result.json")
    assert outcome.exit_code == 2, outcome.output[-2000:]
    assert "Traceback" not in outcome.output
    message = one_line(outcome.stderr)
    assert message.startswith("error: obligations.csv, line ")
    assert all(word in message for word in words), message
    assert len(outcome.stderr) < 300
    assert not (workdir / "result.json").exists()


def test_an_output_that_is_a_directory_is_named_and_exits_2(
    runner: CliRunner, workdir: Path
) -> None:
    write_obligations(workdir / "obligations.csv", VALID_ROWS)
    write_rates(workdir / "rates.json")
    (workdir / "out").mkdir()
    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--output", "out")
    assert outcome.exit_code == 2, outcome.output
    assert one_line(outcome.stderr) == "error: --output out: cannot be written (Is a directory)"
    assert list((workdir / "out").iterdir()) == []


def test_an_output_below_a_plain_file_is_named_and_exits_2(
    runner: CliRunner, workdir: Path
) -> None:
    write_obligations(workdir / "obligations.csv", VALID_ROWS)
    write_rates(workdir / "rates.json")
    (workdir / "taken").write_text("a file, not a folder\n", encoding="utf-8")
    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--output", "taken/r.json")
    assert outcome.exit_code == 2, outcome.output
    assert one_line(outcome.stderr).startswith("error: --output taken/r.json: cannot be written")


def test_an_amount_with_too_many_digits_is_refused_before_it_is_converted() -> None:
    with pytest.raises(InvalidInput) as error:
        parse_amount("9" * 10_000, "CNY", field="amount")
    assert error.value.field == "amount"
    assert "exceeds the limit of 1000000000000.00" in error.value.message
    assert "(10,000 characters)" in error.value.message
    assert len(error.value.message) < 120


def test_leading_zeros_do_not_count_towards_the_digits_of_an_amount() -> None:
    assert parse_amount("0" * 10_000 + "1.00", "CNY") == 100
    assert parse_amount("0" * 10_000 + "1000000000000.00", "CNY") == MAX_MINOR_UNITS
    with pytest.raises(InvalidInput, match="greater than zero"):
        parse_amount("0" * 10_000 + ".00", "CNY")
