"""`clearing net --lines LINES.json` (DESIGN §10, §4b), tested from the outside: the lines fund
what the corridors leave unmatched, RESULT.json shows each line's movement and the
jurisdictions' pay-ins and pay-outs differ by their net line flow; without movement, or without
the option, the output is as without the feature; a bad LINES.json exits 2 naming the file and
the field, and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.unit.cli.support import (
    VALID_ROWS,
    by_key,
    load_result,
    net,
    one_line,
    write_obligations,
    write_rates,
)
from tests.unit.test_digest_verifier import verifier

#: VALID_ROWS leave 743.00 CNY of CN->RU unmatched (2775.00 against 2032.00).
LINE = {"id": "L1", "from": "CN", "to": "RU", "currency": "CNY", "limit": "500.00", "balance": "0"}


def write_lines(path: Path, lines: list[dict[str, Any]] | str) -> Path:
    text = lines if isinstance(lines, str) else json.dumps({"lines": lines})
    path.write_text(text, encoding="utf-8")
    return path


def net_with_lines(
    runner: CliRunner, workdir: Path, lines: list[dict[str, Any]] | str
) -> tuple[int, dict[str, Any] | None, str]:
    """Run `clearing net` on VALID_ROWS with ``lines``; the exit code, the written result (or
    None) and stderr on one line."""
    write_obligations(workdir / "obligations.csv", VALID_ROWS)
    write_rates(workdir / "rates.json")
    write_lines(workdir / "lines.json", lines)
    outcome = net(
        runner,
        "obligations.csv",
        "--rates",
        "rates.json",
        "--lines",
        "lines.json",
        "--output",
        "out/result.json",
    )
    written = workdir / "out" / "result.json"
    document = load_result(written.read_text(encoding="utf-8")) if written.exists() else None
    return outcome.exit_code, document, one_line(outcome.stderr) + one_line(outcome.stdout)


def test_a_line_funds_the_unmatched_value_and_the_result_shows_what_it_drew(
    runner: CliRunner, workdir: Path, valid_result: dict[str, Any]
) -> None:
    code, document, _ = net_with_lines(runner, workdir, [LINE])
    assert code == 0
    assert document is not None
    assert document["lines"] == [
        {
            "id": "L1",
            "from": "CN",
            "to": "RU",
            "currency": "CNY",
            "drawn": "500.00",
            "repaid": "0.00",
            "balance": "500.00",
        }
    ]
    # settled_value counts what the line funded: 4064.00 matched, and 500.00 more CN->RU.
    assert valid_result["settled_value"] == "4064.00"
    assert document["settled_value"] == "4564.00"
    assert by_key(document["corridors"], "from")["CN"]["settled"] == "2532.00"
    # China's importers pay in 500.00 more than its exporters receive. Russia's importers pay
    # in 2032.00 CNY in roubles (26017.93), and its exporters are paid that and 500.00 CNY in
    # roubles more (6402.05, both half up).
    totals = by_key(document["jurisdictions"], "jurisdiction")
    assert (totals["CN"]["pay_in"], totals["CN"]["pay_out"]) == ("2532.00", "2032.00")
    assert (totals["RU"]["pay_in"], totals["RU"]["pay_out"]) == ("26017.93", "32419.98")
    assert document["digest"] != valid_result["digest"]


def test_the_stand_alone_verifier_recomputes_the_digest_of_a_result_with_lines(
    runner: CliRunner, workdir: Path
) -> None:
    code, document, _ = net_with_lines(runner, workdir, [LINE])
    assert code == 0
    assert document is not None
    recomputed = verifier.digest(workdir / "obligations.csv", workdir / "out" / "result.json")
    assert recomputed == document["digest"]


def test_a_reversed_line_with_a_balance_is_repaid_and_the_summary_says_so(
    runner: CliRunner, workdir: Path
) -> None:
    owed = LINE | {"id": "L-ru", "from": "RU", "to": "CN", "limit": "900.00", "balance": "800.00"}
    code, document, output = net_with_lines(runner, workdir, [owed])
    assert code == 0
    assert document is not None
    # Repaying what Russia's entity owes lets CN->RU settle beyond RU->CN.
    assert document["lines"][0] | {"id": "L-ru"} == {
        "id": "L-ru",
        "from": "RU",
        "to": "CN",
        "currency": "CNY",
        "drawn": "0.00",
        "repaid": "743.00",
        "balance": "57.00",
    }
    assert document["carried_value"] == "0.00"
    assert "line L-ru RU->CN: drawn 0.00, repaid 743.00, balance 57.00 CNY" in output


def test_lines_that_move_nothing_are_listed_and_change_nothing_else(
    runner: CliRunner, workdir: Path, valid_result: dict[str, Any]
) -> None:
    idle = [LINE | {"limit": "0.00"}, LINE | {"id": "L2", "from": "RU", "to": "CN"}]
    code, document, _ = net_with_lines(runner, workdir, idle)
    assert code == 0
    assert document is not None
    lines = document.pop("lines")
    assert document == valid_result
    assert [(n["id"], n["drawn"], n["repaid"], n["balance"]) for n in lines] == [
        ("L1", "0.00", "0.00", "0.00"),
        ("L2", "0.00", "0.00", "0.00"),
    ]


def test_an_empty_lines_file_gives_an_empty_list_and_otherwise_the_result_without_lines(
    runner: CliRunner, workdir: Path, valid_result: dict[str, Any]
) -> None:
    code, document, _ = net_with_lines(runner, workdir, [])
    assert code == 0
    assert document is not None
    assert document.pop("lines") == []
    assert document == valid_result


def test_without_the_option_the_result_has_no_lines(valid_result: dict[str, Any]) -> None:
    assert "lines" not in valid_result


def test_with_lines_on_stdout_the_json_has_them_too(runner: CliRunner, workdir: Path) -> None:
    write_obligations(workdir / "obligations.csv", VALID_ROWS)
    write_rates(workdir / "rates.json")
    write_lines(workdir / "lines.json", [LINE])
    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--lines", "lines.json")
    assert outcome.exit_code == 0, outcome.output
    assert load_result(outcome.stdout)["lines"][0]["drawn"] == "500.00"


BAD_LINES: dict[str, tuple[list[dict[str, Any]] | str, str, str]] = {
    "not JSON": ("{lines: [", "", "is not valid JSON"),
    "no list": ('{"lines": {}}', "lines", "expected"),
    "not an object": (json.dumps({"lines": ["L1"]}), "lines[0]", "must be an object"),
    "missing limit": (
        [{k: v for k, v in LINE.items() if k != "limit"}],
        "lines[0].limit",
        "is missing",
    ),
    "a number": ([LINE | {"limit": 500}], "lines[0].limit", "must be a string"),
    "too many places": ([LINE | {"limit": "12.345"}], "lines[0].limit", "decimal places"),
    "negative": ([LINE | {"limit": "-5.00"}], "lines[0].limit", "positive decimal"),
    "exponent": ([LINE | {"limit": "1e3"}], "lines[0].limit", "positive decimal"),
    "zero with places": ([LINE | {"balance": "0.000"}], "lines[0].balance", "decimal places"),
    "too large": ([LINE | {"limit": "1000000000000.01"}], "lines[0].limit", "exceeds"),
    "above the limit": (
        [LINE | {"balance": "600.00"}],
        "lines[0].balance",
        "above the line's limit",
    ),
    "unknown jurisdiction": ([LINE | {"to": "KZ"}], "lines[0].to", "no currency in the rates"),
    "bad code": ([LINE | {"from": "cn"}], "lines[0].from", "not a jurisdiction code"),
    "to itself": ([LINE | {"to": "CN"}], "lines[0].to", "itself"),
    "other currency": ([LINE | {"currency": "USD"}], "lines[0].currency", "not the currency"),
    "no currency": ([LINE | {"currency": "XXY"}], "lines[0].currency", "currency"),
    "empty id": ([LINE | {"id": ""}], "lines[0].id", "is empty"),
    "id with spaces": ([LINE | {"id": "L 1"}], "lines[0].id", "no spaces"),
    "duplicate id": ([LINE, LINE | {"from": "RU", "to": "CN"}], "lines[1].id", "duplicate"),
}


@pytest.mark.parametrize("case", list(BAD_LINES.values()), ids=list(BAD_LINES))
def test_a_bad_lines_file_exits_2_naming_the_file_and_field_and_writes_nothing(
    runner: CliRunner, workdir: Path, case: tuple[list[dict[str, Any]] | str, str, str]
) -> None:
    lines, field, words = case
    code, document, message = net_with_lines(runner, workdir, lines)
    assert code == 2
    assert document is None
    assert "Traceback" not in message
    assert "lines.json" in message
    assert field in message
    assert words in message
    assert not (workdir / "out").exists()


def test_a_missing_lines_file_is_named_and_exits_2(runner: CliRunner, workdir: Path) -> None:
    write_obligations(workdir / "obligations.csv", VALID_ROWS)
    write_rates(workdir / "rates.json")
    outcome = net(
        runner,
        "obligations.csv",
        "--rates",
        "rates.json",
        "--lines",
        "absent.json",
        "--output",
        "r.json",
    )
    assert outcome.exit_code == 2
    assert "absent.json" in one_line(outcome.stderr)
    assert "cannot be read" in one_line(outcome.stderr)
    assert not (workdir / "r.json").exists()
