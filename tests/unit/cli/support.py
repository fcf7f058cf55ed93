"""What the tests of `clearing net` share: valid input files, writers for them, the command
run in-process, and builders of broken rows.

The file format is written out here rather than taken from the code under test, so that the
tests pin the contract of DESIGN §10 from the outside.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

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


#: Two valid rows, CN->RU on line 2 and RU->CN on line 3 of their file.
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


def rows_file(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def bad_row(**changes: str) -> str:
    return rows_file(GOOD_ROW, third_row(**changes))
