"""The output contract of `clearing net` (DESIGN §10), tested from the outside.

Valid runs must write RESULT.json with the documented fields, every amount a decimal string in
the currency named beside it and no float anywhere; the digest must not depend on row order.
Without ``--output`` the result goes to stdout as JSON; with it, a readable summary is printed.
The tests drive the Typer app in-process through ``CliRunner``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from clearing.domain.money import exponent
from tests.unit.cli.support import (
    VALID_ROWS,
    by_key,
    load_result,
    net,
    write_obligations,
    write_rates,
)

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
