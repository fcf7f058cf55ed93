"""The `clearing net` contract of DESIGN §10, tested from the outside.

Valid runs must write RESULT.json with the documented fields, every amount a decimal string in
the currency named beside it and no float anywhere; the digest must not depend on row order.
Bad input must exit with status 2, name the file, the line and the field, and write nothing.
Most tests drive the Typer app in-process through ``CliRunner``; a few run the installed
``clearing`` command in a subprocess, as a user or a script would.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from clearing.domain.money import exponent
from clearing.entrypoints.cli import app

HEADER = (
    "obligation_id,debtor_id,debtor_jurisdiction,creditor_id,creditor_jurisdiction,"
    "currency,amount,due_date,priority,sequence"
)

#: Two corridors: CN->RU 1000.00 CNY + 250.00 USD (= 2775.00 CNY),
#: RU->CN 20000.00 RUB + 10000 JPY (= 1562.00 + 470.00 = 2032.00 CNY).
VALID_ROWS = (
    "INV-0001,CN-HEIHE-0001,CN,RU-BLAG-0001,RU,CNY,1000.00,2026-11-01,0,1",
    "INV-0002,CN-HEIHE-0002,CN,RU-BLAG-0002,RU,USD,250.00,2026-11-15,1,2",
    "INV-0003,RU-BLAG-0001,RU,CN-HEIHE-0002,CN,RUB,20000.00,2026-10-20,1,3",
    "INV-0004,RU-BLAG-0003,RU,CN-HEIHE-0001,CN,JPY,10000,2026-12-01,1,4",
)

VALID_RATES: dict[str, Any] = {
    "base": "CNY",
    "jurisdictions": {"CN": "CNY", "RU": "RUB"},
    "rates": {"CNY": "1", "RUB": "0.0781", "USD": "7.10", "JPY": "0.047"},
    "source": "test fixing",
    "as_of": "2026-11-20T10:00:00Z",
}

DOCUMENTED_TOP_LEVEL = {
    "digest",
    "base",
    "policy",
    "settled_value",
    "submitted_value",
    "carried_value",
    "corridors",
    "jurisdictions",
    "obligations",
    "positions",
    "metrics",
}
DOCUMENTED_CORRIDOR = {"from", "to", "submitted", "settled", "carried"}
DOCUMENTED_JURISDICTION = {"jurisdiction", "currency", "pay_in", "pay_out"}
DOCUMENTED_OBLIGATION = {
    "obligation_id",
    "currency",
    "outstanding",
    "settled",
    "remaining",
    "debtor_leg",
    "creditor_leg",
}
DOCUMENTED_LEG = {"currency", "amount"}
DOCUMENTED_POSITION = {"participant_id", "jurisdiction", "currency", "pay_in", "pay_out", "net"}
DOCUMENTED_METRICS = {
    "cross_border_payments_avoided",
    "netting_efficiency",
    "domestic_liquidity_saved",
}

#: Fields the CLI writes beyond DESIGN §10 today. They are pinned here so that any further
#: change to the shape of RESULT.json is a deliberate one: the rates actually used (which the
#: digest covers), each obligation's value and settled value in the base currency, and the
#: value of the cross-border payments avoided (DESIGN §4 step 6 asks for "their value").
EXTRA_TOP_LEVEL = {"rates"}
EXTRA_OBLIGATION = {"value", "settled_value"}
EXTRA_METRICS = {"cross_border_value_avoided"}

DECIMAL_STRING = re.compile(r"-?[0-9]+(\.[0-9]+)?")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a temporary directory so that file names in messages are short and relative."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_obligations(path: Path, rows: tuple[str, ...] | list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def write_rates(path: Path, document: dict[str, Any] | None = None) -> Path:
    path.write_text(json.dumps(VALID_RATES if document is None else document), encoding="utf-8")
    return path


def net(runner: CliRunner, *arguments: str) -> Result:
    return runner.invoke(app, ["net", *arguments])


def reject_floats(text: str) -> Any:
    raise AssertionError(f"a float in the JSON: {text}")


def load_result(text: str) -> dict[str, Any]:
    """Parse RESULT.json text, failing on any float (amounts and ratios must be strings)."""
    document: dict[str, Any] = json.loads(text, parse_float=reject_floats)
    return document


def one_line(text: str) -> str:
    """Whitespace collapsed, so that a wrapped message can be searched."""
    return " ".join(text.split())


def by_key(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


@pytest.fixture
def valid_result(runner: CliRunner, workdir: Path) -> dict[str, Any]:
    write_obligations(workdir / "obligations.csv", VALID_ROWS)
    write_rates(workdir / "rates.json")
    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--output", "out/result.json")
    assert outcome.exit_code == 0, outcome.output
    return load_result((workdir / "out" / "result.json").read_text(encoding="utf-8"))


# --- valid runs ---------------------------------------------------------------------------


def test_a_valid_run_writes_a_result_with_the_documented_fields(
    valid_result: dict[str, Any],
) -> None:
    assert set(valid_result) == DOCUMENTED_TOP_LEVEL | EXTRA_TOP_LEVEL
    assert re.fullmatch(r"[0-9a-f]{64}", valid_result["digest"])
    assert valid_result["base"] == "CNY"
    assert valid_result["policy"] == "fifo"
    for corridor in valid_result["corridors"]:
        assert set(corridor) == DOCUMENTED_CORRIDOR
    for total in valid_result["jurisdictions"]:
        assert set(total) == DOCUMENTED_JURISDICTION
    for obligation in valid_result["obligations"]:
        assert set(obligation) == DOCUMENTED_OBLIGATION | EXTRA_OBLIGATION
        assert set(obligation["debtor_leg"]) == DOCUMENTED_LEG
        assert set(obligation["creditor_leg"]) == DOCUMENTED_LEG
    for position in valid_result["positions"]:
        assert set(position) == DOCUMENTED_POSITION
    assert set(valid_result["metrics"]) == DOCUMENTED_METRICS | EXTRA_METRICS
    assert type(valid_result["metrics"]["cross_border_payments_avoided"]) is int


def test_every_amount_is_a_decimal_string_with_the_places_of_the_currency_beside_it(
    valid_result: dict[str, Any],
) -> None:
    def assert_amount(text: Any, currency: str) -> None:
        assert isinstance(text, str), text
        places = exponent(currency)
        pattern = rf"-?[0-9]+\.[0-9]{{{places}}}" if places else r"-?[0-9]+"
        assert re.fullmatch(pattern, text), (text, currency)

    base = valid_result["base"]
    for name in ("settled_value", "submitted_value", "carried_value"):
        assert_amount(valid_result[name], base)
    for corridor in valid_result["corridors"]:
        for name in ("submitted", "settled", "carried"):
            assert_amount(corridor[name], base)
    for total in valid_result["jurisdictions"]:
        assert_amount(total["pay_in"], total["currency"])
        assert_amount(total["pay_out"], total["currency"])
    for obligation in valid_result["obligations"]:
        for name in ("outstanding", "settled", "remaining"):
            assert_amount(obligation[name], obligation["currency"])
        for leg in (obligation["debtor_leg"], obligation["creditor_leg"]):
            assert_amount(leg["amount"], leg["currency"])
    for position in valid_result["positions"]:
        for name in ("pay_in", "pay_out", "net"):
            assert_amount(position[name], position["currency"])
    for name in ("netting_efficiency", "domestic_liquidity_saved"):
        assert isinstance(valid_result["metrics"][name], str)
        assert DECIMAL_STRING.fullmatch(valid_result["metrics"][name])


def test_no_float_appears_anywhere_in_the_result(
    workdir: Path, valid_result: dict[str, Any]
) -> None:
    def walk(node: Any) -> Iterator[Any]:
        yield node
        if isinstance(node, dict):
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    assert not any(isinstance(node, float) for node in walk(valid_result))
    text = (workdir / "out" / "result.json").read_text(encoding="utf-8")
    assert not re.search(r"[:\[,]\s*-?[0-9]+\.[0-9]", text), "an unquoted decimal number"


def test_the_smaller_corridor_is_settled_in_both_directions(
    valid_result: dict[str, Any],
) -> None:
    corridors = {(c["from"], c["to"]): c for c in valid_result["corridors"]}
    assert corridors["CN", "RU"] == {
        "from": "CN",
        "to": "RU",
        "submitted": "2775.00",
        "settled": "2032.00",
        "carried": "743.00",
    }
    assert corridors["RU", "CN"] == {
        "from": "RU",
        "to": "CN",
        "submitted": "2032.00",
        "settled": "2032.00",
        "carried": "0.00",
    }
    assert valid_result["submitted_value"] == "4807.00"
    assert valid_result["settled_value"] == "4064.00"
    assert valid_result["carried_value"] == "743.00"
    totals = by_key(valid_result["jurisdictions"], "jurisdiction")
    assert totals["CN"] == {
        "jurisdiction": "CN",
        "currency": "CNY",
        "pay_in": "2032.00",
        "pay_out": "2032.00",
    }
    # 2032.00 CNY / 0.0781 = 26017.9257... RUB, half up.
    assert totals["RU"] == {
        "jurisdiction": "RU",
        "currency": "RUB",
        "pay_in": "26017.93",
        "pay_out": "26017.93",
    }
    assert valid_result["metrics"]["cross_border_payments_avoided"] == 4
    assert valid_result["metrics"]["netting_efficiency"] == "0.845434"  # 4064 / 4807


def test_fifo_fills_the_priority_obligation_first_and_settles_the_next_one_in_part(
    valid_result: dict[str, Any],
) -> None:
    obligations = by_key(valid_result["obligations"], "obligation_id")
    priority_goods = obligations["INV-0001"]
    assert (priority_goods["settled"], priority_goods["remaining"]) == ("1000.00", "0.00")
    assert priority_goods["debtor_leg"] == {"currency": "CNY", "amount": "1000.00"}
    partly = obligations["INV-0002"]
    # 1032.00 CNY of 1775.00 CNY matched; in USD rounded down: 1032.00 / 7.10 = 145.352...
    assert (partly["outstanding"], partly["settled"], partly["remaining"]) == (
        "250.00",
        "145.35",
        "104.65",
    )
    assert partly["debtor_leg"] == {"currency": "CNY", "amount": "1032.00"}
    assert partly["creditor_leg"]["currency"] == "RUB"
    exact_rubles = Decimal("1032.00") / Decimal("0.0781")
    assert abs(Decimal(partly["creditor_leg"]["amount"]) - exact_rubles) <= Decimal("0.01")


def test_positions_net_pay_out_minus_pay_in_and_sum_to_zero_per_jurisdiction(
    valid_result: dict[str, Any],
) -> None:
    positions = by_key(valid_result["positions"], "participant_id")
    heihe = positions["CN-HEIHE-0001"]  # pays 1000.00 CNY, receives 470.00 CNY (10000 JPY)
    assert (heihe["pay_in"], heihe["pay_out"], heihe["net"]) == ("1000.00", "470.00", "-530.00")
    for position in valid_result["positions"]:
        assert Decimal(position["net"]) == Decimal(position["pay_out"]) - Decimal(
            position["pay_in"]
        )
    for jurisdiction in ("CN", "RU"):
        nets = [
            Decimal(p["net"])
            for p in valid_result["positions"]
            if p["jurisdiction"] == jurisdiction
        ]
        assert sum(nets) == 0


def test_the_order_of_rows_in_the_file_does_not_change_the_digest(
    runner: CliRunner, workdir: Path
) -> None:
    rows = [*VALID_ROWS]
    write_rates(workdir / "rates.json")
    documents = []
    for attempt in range(4):
        random.Random(attempt).shuffle(rows)
        write_obligations(workdir / f"shuffled-{attempt}.csv", rows)
        outcome = net(runner, f"shuffled-{attempt}.csv", "--rates", "rates.json")
        assert outcome.exit_code == 0, outcome.output
        documents.append(load_result(outcome.stdout))
    assert len({document["digest"] for document in documents}) == 1
    assert all(document == documents[0] for document in documents)


def test_extra_columns_are_ignored_and_priority_and_sequence_are_optional(
    runner: CliRunner, workdir: Path
) -> None:
    write_rates(workdir / "rates.json")
    write_obligations(
        workdir / "minimal.csv",
        [
            "INV-1,CN-A,CN,RU-B,RU,CNY,100.00,2026-11-01,8703,passenger cars",
            "INV-2,RU-B,RU,CN-A,CN,CNY,60.00,2026-11-02,0805,citrus fruit",
        ],
        header="obligation_id,debtor_id,debtor_jurisdiction,creditor_id,creditor_jurisdiction,"
        "currency,amount,due_date,hs_code,description",
    )
    outcome = net(runner, "minimal.csv", "--rates", "rates.json")
    assert outcome.exit_code == 0, outcome.output
    assert load_result(outcome.stdout)["settled_value"] == "120.00"


def test_the_pro_rata_policy_is_accepted_and_recorded_in_the_result(
    runner: CliRunner, workdir: Path, valid_result: dict[str, Any]
) -> None:
    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--policy", "pro_rata")
    assert outcome.exit_code == 0, outcome.output
    pro_rata = load_result(outcome.stdout)
    assert pro_rata["policy"] == "pro_rata"
    assert pro_rata["settled_value"] == valid_result["settled_value"]
    assert pro_rata["digest"] != valid_result["digest"]
    obligations = by_key(pro_rata["obligations"], "obligation_id")
    # Under pro_rata both CN->RU obligations are matched in part, in proportion to value.
    assert obligations["INV-0001"]["remaining"] != "0.00"
    assert obligations["INV-0002"]["remaining"] != "0.00"


def test_an_unknown_policy_is_refused_with_status_2(runner: CliRunner, workdir: Path) -> None:
    write_obligations(workdir / "obligations.csv", VALID_ROWS)
    write_rates(workdir / "rates.json")
    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--policy", "lifo")
    assert outcome.exit_code == 2
    assert "policy" in outcome.output


def test_without_output_the_result_goes_to_stdout_as_json_and_no_file_is_written(
    runner: CliRunner, workdir: Path
) -> None:
    write_obligations(workdir / "obligations.csv", VALID_ROWS)
    write_rates(workdir / "rates.json")
    outcome = net(runner, "obligations.csv", "--rates", "rates.json")
    assert outcome.exit_code == 0, outcome.output
    document = load_result(outcome.stdout)
    assert set(DOCUMENTED_TOP_LEVEL) <= set(document)
    assert sorted(path.name for path in workdir.iterdir()) == ["obligations.csv", "rates.json"]


def test_with_output_a_readable_summary_is_printed_instead_of_the_json(
    runner: CliRunner, valid_result: dict[str, Any], workdir: Path
) -> None:
    outcome = net(runner, "obligations.csv", "--rates", "rates.json", "--output", "again.json")
    assert outcome.exit_code == 0, outcome.output
    assert "Corridors" in outcome.stdout
    assert "netting efficiency" in outcome.stdout
    assert "again.json" in outcome.stdout
    assert '"digest"' not in outcome.stdout
    assert load_result((workdir / "again.json").read_text(encoding="utf-8")) == valid_result


# --- bad input ----------------------------------------------------------------------------

GOOD_ROW = "INV-0001,CN-HEIHE-0001,CN,RU-BLAG-0001,RU,CNY,1000.00,2026-11-01,0,1"
GOOD_ROW_BACK = "INV-0002,RU-BLAG-0001,RU,CN-HEIHE-0001,CN,RUB,20000.00,2026-10-20,1,2"


def third_row(**changes: str) -> str:
    """A valid RU->CN row (line 3 of the file) with some fields changed."""
    fields = {
        "obligation_id": "INV-0003",
        "debtor_id": "RU-BLAG-0002",
        "debtor_jurisdiction": "RU",
        "creditor_id": "CN-HEIHE-0002",
        "creditor_jurisdiction": "CN",
        "currency": "RUB",
        "amount": "5000.00",
        "due_date": "2026-11-30",
        "priority": "1",
        "sequence": "3",
    }
    fields.update(changes)
    return ",".join(fields.values())


@dataclass(frozen=True)
class BadInput:
    """A broken input and where the error message must point: file, line and field."""

    obligations_text: str | None = None  # None: a valid file
    rates_text: str | None = None  # None: valid rates
    file: str = "obligations.csv"
    line: int | None = 3
    field: str | None = None
    words: str = ""  # a fragment the message must also contain


def rows_file(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def bad_row(**changes: str) -> str:
    return rows_file(GOOD_ROW, third_row(**changes))


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


# --- the installed command, as a script would run it --------------------------------------


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
