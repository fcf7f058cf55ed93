"""The shipped example month (examples/): it nets, it has the shape of real CN<->RU border trade,
and it is exactly what examples/generate.py produces."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import sys
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from clearing.entrypoints.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OBLIGATIONS = EXAMPLES / "obligations-2026-10.csv"
RATES = EXAMPLES / "rates-2026-10.json"


def load_generator(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import examples/generate.py (not a package) as a module for the duration of a test."""
    specification = importlib.util.spec_from_file_location(
        "example_generator", EXAMPLES / "generate.py"
    )
    assert specification is not None
    assert specification.loader is not None
    module = importlib.util.module_from_spec(specification)
    monkeypatch.setitem(sys.modules, specification.name, module)  # dataclasses look it up
    specification.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example_result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("example") / "result.json"
    outcome = CliRunner().invoke(
        app, ["net", str(OBLIGATIONS), "--rates", str(RATES), "--output", str(output)]
    )
    assert outcome.exit_code == 0, outcome.output
    document: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def example_rows() -> list[dict[str, str]]:
    with open(OBLIGATIONS, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def corridor_values(result: dict[str, Any]) -> dict[tuple[str, str], dict[str, Decimal]]:
    return {
        (c["from"], c["to"]): {
            name: Decimal(c[name]) for name in ("submitted", "settled", "carried")
        }
        for c in result["corridors"]
    }


def test_the_shipped_example_nets_with_the_shipped_rates(example_result: dict[str, Any]) -> None:
    assert example_result["base"] == "CNY"
    assert re.fullmatch(r"[0-9a-f]{64}", example_result["digest"])
    assert Decimal(example_result["settled_value"]) > 0


def test_the_cn_to_ru_corridor_is_the_larger_one_about_three_and_a_half_times(
    example_result: dict[str, Any],
) -> None:
    corridors = corridor_values(example_result)
    cn_to_ru = corridors["CN", "RU"]["submitted"]
    ru_to_cn = corridors["RU", "CN"]["submitted"]
    assert cn_to_ru > ru_to_cn
    # Heihe 2024: imports from Russia 24.44bn CNY, exports to Russia 6.91bn CNY (x3.54).
    assert Decimal(3) < cn_to_ru / ru_to_cn < Decimal(4)


def test_the_settled_value_is_twice_the_smaller_corridor(example_result: dict[str, Any]) -> None:
    corridors = corridor_values(example_result)
    smaller = min(corridor["submitted"] for corridor in corridors.values())
    assert Decimal(example_result["settled_value"]) == 2 * smaller
    for corridor in corridors.values():
        assert corridor["settled"] == smaller
        assert corridor["carried"] == corridor["submitted"] - smaller
    assert Decimal(example_result["carried_value"]) == (
        Decimal(example_result["submitted_value"]) - 2 * smaller
    )


def test_each_side_pays_in_exactly_what_it_pays_out(example_result: dict[str, Any]) -> None:
    for total in example_result["jurisdictions"]:
        assert total["pay_in"] == total["pay_out"]
    assert {t["jurisdiction"]: t["currency"] for t in example_result["jurisdictions"]} == {
        "CN": "CNY",
        "RU": "RUB",
    }


def test_the_example_is_a_realistic_month_of_border_trade(
    example_rows: list[dict[str, str]],
) -> None:
    assert 2_000 <= len(example_rows) <= 10_000
    assert OBLIGATIONS.stat().st_size < 1_000_000
    participants = {
        jurisdiction: {
            row["debtor_id"] for row in example_rows if row["debtor_jurisdiction"] == jurisdiction
        }
        | {
            row["creditor_id"]
            for row in example_rows
            if row["creditor_jurisdiction"] == jurisdiction
        }
        for jurisdiction in ("CN", "RU")
    }
    assert 100 <= len(participants["CN"]) <= 999
    assert 100 <= len(participants["RU"]) <= 999
    assert all(re.fullmatch(r"CN-[A-Z]+-[0-9]{4}", p) for p in participants["CN"])
    assert all(re.fullmatch(r"RU-[A-Z]+-[0-9]{4}", p) for p in participants["RU"])
    assert all(re.fullmatch(r"INV-2026-10-[0-9]{6}", row["obligation_id"]) for row in example_rows)
    currencies = Counter(row["currency"] for row in example_rows)
    assert {"CNY", "RUB", "USD", "EUR"} <= set(currencies)
    assert currencies["CNY"] + currencies["RUB"] > 0.8 * len(example_rows)
    assert {row["priority"] for row in example_rows} == {"0", "1"}
    due_dates = {date.fromisoformat(row["due_date"]) for row in example_rows}
    assert date(2026, 10, 1) <= min(due_dates)
    assert max(due_dates) <= date(2026, 12, 31)
    sequences = [int(row["sequence"]) for row in example_rows]
    assert sequences == list(range(1, len(example_rows) + 1))


def test_the_shipped_files_are_exactly_what_the_generator_produces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = load_generator(monkeypatch)
    obligations, rates = generator.generate(tmp_path)
    assert obligations.read_bytes() == OBLIGATIONS.read_bytes()
    assert rates.read_bytes() == RATES.read_bytes()
