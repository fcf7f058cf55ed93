"""The stand-alone verifier docs/verify_digest.py: it recomputes, byte for byte, a digest worked
out by hand from docs/digest.md; it agrees with the engine on generated instances; and as a
command it exits 0 when RESULT.json's digest is the recomputed one and 1, naming it, otherwise."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given

from clearing.adapters.files.netting import result_document
from clearing.domain.money import format_amount
from clearing.domain.netting import net
from clearing.domain.obligations import RECORD_COLUMNS
from tests.unit.budget import costly
from tests.unit.line_strategies import LinedInstance, lined_instances
from tests.unit.strategies import Instance, instances

VERIFIER = Path(__file__).resolve().parents[2] / "docs" / "verify_digest.py"


def load_verifier() -> ModuleType:
    """Import docs/verify_digest.py (a script, not a package) by its path."""
    specification = importlib.util.spec_from_file_location("verify_digest", VERIFIER)
    assert specification is not None
    assert specification.loader is not None
    module = importlib.util.module_from_spec(specification)
    specification.loader.exec_module(module)
    return module


verifier = load_verifier()

# --- a hand-made run: CN (CNY) and RU (RUB), base CNY, fifo ---------------------------------
#
# a-1 and b-2: cn-importer owes ru-exporter 10.00 USD (71.00 CNY) and 60.00 CNY; é-1: ru-importer
# owes cn-exporter 1000.00 RUB (80.00 CNY at 0.08). Each corridor settles 80.00 CNY: all of
# a-1 (priority 0) and 9.00 of b-2. The file has a BOM, padded cells, an extra column, an empty
# priority and its rows out of order; the amounts in it are never digested (RESULT.json's are).
OBLIGATIONS_CSV = (
    "\ufeffobligation_id, debtor_id ,debtor_jurisdiction,creditor_id,creditor_jurisdiction,"
    "currency,amount,due_date,priority,sequence,note\n"
    "b-2,cn-importer,CN,ru-exporter,RU,CNY,60.00,2026-11-02,1,2,second\n"
    "é-1 , ru-importer ,RU,cn-exporter,CN,RUB,1000,2026-11-01,,0,\n"
    "a-1,cn-importer,CN,ru-exporter,RU,USD,10,2026-11-01,0,1,first\n"
)


def obligation(
    obligation_id: str, currency: str, amounts: str, legs: tuple[str, str, str, str]
) -> dict[str, Any]:
    """An item of RESULT.json's obligations: ``amounts`` are its outstanding, settled,
    remaining, value and settled value; ``legs`` the debtor leg's currency and amount, then the
    creditor leg's."""
    names = ("outstanding", "settled", "remaining", "value", "settled_value")
    debtor_currency, debtor_amount, creditor_currency, creditor_amount = legs
    return {
        "obligation_id": obligation_id,
        "currency": currency,
        **dict(zip(names, amounts.split(), strict=True)),
        "debtor_leg": {"currency": debtor_currency, "amount": debtor_amount},
        "creditor_leg": {"currency": creditor_currency, "amount": creditor_amount},
    }


def position(participant_id: str, code: str, currency: str, amounts: str) -> dict[str, str]:
    """An item of RESULT.json's positions: ``amounts`` are its pay-in, pay-out and net."""
    names = ("pay_in", "pay_out", "net")
    fields = dict(zip(names, amounts.split(), strict=True))
    return {"participant_id": participant_id, "jurisdiction": code, "currency": currency, **fields}


def hand_made_result() -> dict[str, Any]:
    """The RESULT.json of the hand-made run, as `clearing net` writes it (digest left out)."""
    return {
        "base": "CNY",
        "policy": "fifo",
        "rates": {
            "base": "CNY",
            "jurisdictions": {"CN": "CNY", "RU": "RUB"},
            "rates": {"CNY": "1", "RUB": "0.08", "USD": "7.1"},
            "source": "by hand",
            "as_of": "2026-11-20",
        },
        "submitted_value": "211.00",
        "settled_value": "160.00",
        "carried_value": "51.00",
        "corridors": [
            {
                "from": "CN",
                "to": "RU",
                "submitted": "131.00",
                "settled": "80.00",
                "carried": "51.00",
            },
            {"from": "RU", "to": "CN", "submitted": "80.00", "settled": "80.00", "carried": "0.00"},
        ],
        "jurisdictions": [
            {"jurisdiction": "CN", "currency": "CNY", "pay_in": "80.00", "pay_out": "80.00"},
            {"jurisdiction": "RU", "currency": "RUB", "pay_in": "1000.00", "pay_out": "1000.00"},
        ],
        "obligations": [
            obligation(
                "b-2", "CNY", "60.00 9.00 51.00 60.00 9.00", ("CNY", "9.00", "RUB", "112.50")
            ),
            obligation(
                "é-1", "RUB", "1000.00 1000.00 0.00 80.00 80.00", ("RUB", "1000.00", "CNY", "80.00")
            ),
            obligation(
                "a-1", "USD", "10.00 10.00 0.00 71.00 71.00", ("CNY", "71.00", "RUB", "887.50")
            ),
        ],
        "positions": [
            position("ru-importer", "RU", "RUB", "1000.00 0.00 -1000.00"),
            position("cn-importer", "CN", "CNY", "80.00 0.00 -80.00"),
            position("ru-exporter", "RU", "RUB", "0.00 1000.00 1000.00"),
            position("cn-exporter", "CN", "CNY", "0.00 80.00 80.00"),
        ],
        "metrics": {
            "cross_border_payments_avoided": 3,
            "cross_border_value_avoided": "160.00",
            "netting_efficiency": "0.758294",
            "domestic_liquidity_saved": "0.000000",
        },
    }


def integer(value: int) -> bytes:
    """docs/digest.md: an integer is 8 bytes, little-endian, two's complement."""
    return struct.pack("<q", value)


def text(value: str) -> bytes:
    """docs/digest.md: text is its UTF-8 length as 4 bytes little-endian, then the UTF-8 bytes."""
    data = value.encode("utf-8")
    return struct.pack("<I", len(data)) + data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hand_made_digest(lines: str = "") -> str:
    """The digest of the hand-made run, worked out from docs/digest.md alone; ``lines`` is the
    root's member of the lines that moved (with its leading comma), if any."""
    # corridor:RU>CN has one row (é-1), so its columns are its fields in column order. Spelled
    # out: "é" is two bytes in UTF-8, so "é-1" is 4 bytes long.
    ru_cn = b"".join(
        [
            b"\x04\x00\x00\x00" + b"\xc3\xa9-1",  # obligation_id
            b"\x0b\x00\x00\x00" + b"ru-importer",  # debtor_id
            b"\x02\x00\x00\x00" + b"RU",  # debtor_jurisdiction
            b"\x0b\x00\x00\x00" + b"cn-exporter",  # creditor_id
            b"\x02\x00\x00\x00" + b"CN",  # creditor_jurisdiction
            b"\x03\x00\x00\x00" + b"RUB",  # currency
            b"\xa0\x86\x01\x00\x00\x00\x00\x00",  # outstanding: 100000 kopecks
            b"\x0a\x00\x00\x00" + b"2026-11-01",  # due_date
            struct.pack("<q", 0),  # priority (empty in the file)
            struct.pack("<q", 0),  # sequence
            struct.pack("<q", 8000),  # value, in fen
            struct.pack("<q", 8000),  # settled_value, in fen
            struct.pack("<q", 100000),  # settled, in kopecks
            struct.pack("<q", 100000),  # debtor_leg, in kopecks
            struct.pack("<q", 8000),  # creditor_leg, in fen
        ]
    )
    # corridor:CN>RU has two rows, a-1 then b-2: every value of a column, then the next column.
    cn_ru = b"".join(
        [
            text("a-1") + text("b-2"),
            text("cn-importer") * 2,
            text("CN") * 2,
            text("ru-exporter") * 2,
            text("RU") * 2,
            text("USD") + text("CNY"),
            integer(1000) + integer(6000),  # outstanding: cents, fen
            text("2026-11-01") + text("2026-11-02"),
            integer(0) + integer(1),  # priority
            integer(1) + integer(2),  # sequence
            integer(7100) + integer(6000),  # value
            integer(7100) + integer(900),  # settled_value
            integer(1000) + integer(900),  # settled: cents, fen
            integer(7100) + integer(900),  # debtor_leg, in fen
            integer(88750) + integer(11250),  # creditor_leg, in kopecks
        ]
    )
    positions_cn = text("cn-exporter") + text("cn-importer") + text("CNY") * 2
    positions_cn += integer(0) + integer(8000) + integer(8000) + integer(0)
    positions_ru = text("ru-exporter") + text("ru-importer") + text("RUB") * 2
    positions_ru += integer(0) + integer(100000) + integer(100000) + integer(0)
    leaves = (
        f'"corridor:CN>RU":"{sha256(cn_ru)}","corridor:RU>CN":"{sha256(ru_cn)}",'
        f'"positions:CN":"{sha256(positions_cn)}","positions:RU":"{sha256(positions_ru)}"'
    )
    root = (
        '{"base":"CNY","corridors":[["CN","RU",13100,8000],["RU","CN",8000,8000]],'
        '"jurisdictions":{"CN":"CNY","RU":"RUB"},'
        f'"leaves":{{{leaves}}}{lines},'
        '"metrics":{"domestic_liquidity_saved":"0.000000","netting_efficiency":"0.758294",'
        '"obligations_settled":3,"settled_value":16000,"submitted_value":21100},'
        '"policy":"fifo","rates":{"CNY":"1","RUB":"0.08","USD":"7.1"},'
        '"totals":[["CN","CNY",8000,8000],["RU","RUB",100000,100000]],"version":2}'
    )
    return sha256(root.encode("utf-8"))


def write_run(folder: Path, obligations_csv: str, result: dict[str, Any]) -> tuple[Path, Path]:
    obligations, output = folder / "OBLIGATIONS.csv", folder / "RESULT.json"
    obligations.write_text(obligations_csv, encoding="utf-8", newline="")
    output.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return obligations, output


def test_the_verifier_recomputes_the_digest_worked_out_by_hand_from_the_doc(
    tmp_path: Path,
) -> None:
    expected = hand_made_digest()
    # The same run through `clearing net` gives this digest.
    assert expected == "4a1e3fd140e98ef102da4d688748e494f871b3435179cefa5ed0a790d1f4aa1b"
    paths = write_run(tmp_path, OBLIGATIONS_CSV, hand_made_result())
    assert verifier.digest(*paths) == expected


def test_only_the_rates_in_use_are_digested_and_without_trailing_zeros(tmp_path: Path) -> None:
    result = hand_made_result()
    result["rates"]["rates"] = {"CNY": "1.0", "EUR": "7.7", "RUB": "0.0800", "USD": "7.10"}
    assert verifier.digest(*write_run(tmp_path, OBLIGATIONS_CSV, result)) == hand_made_digest()


def test_lines_that_neither_draw_nor_repay_leave_the_digest_unchanged(tmp_path: Path) -> None:
    result = hand_made_result()
    idle = {"id": "L1", "from": "CN", "to": "RU", "currency": "CNY", "limit": "5.00"}
    result["lines"] = [idle | {"drawn": "0.00", "repaid": "0.00", "balance": "0.00"}]
    assert verifier.digest(*write_run(tmp_path, OBLIGATIONS_CSV, result)) == hand_made_digest()


def test_the_lines_that_moved_are_in_the_root_as_the_doc_lays_them_out(tmp_path: Path) -> None:
    # Out of id order in the file; L2 drew 5.00 CNY, L1 did nothing and is left out.
    result = hand_made_result()
    result["lines"] = [
        {"id": "L2", "from": "CN", "to": "RU", "currency": "CNY"}
        | {"drawn": "5.00", "repaid": "0.00", "balance": "7.50"},
        {"id": "L1", "from": "RU", "to": "CN", "currency": "RUB"}
        | {"drawn": "0.00", "repaid": "0.00", "balance": "3.00"},
        {"id": "L0", "from": "RU", "to": "CN", "currency": "RUB"}
        | {"drawn": "0.00", "repaid": "1.25", "balance": "0.00"},
    ]
    expected = hand_made_digest(
        ',"lines":[["L0","RU","CN","RUB",0,125,0],["L2","CN","RU","CNY",500,0,750]]'
    )
    assert verifier.digest(*write_run(tmp_path, OBLIGATIONS_CSV, result)) == expected
    assert expected != hand_made_digest()


def write_obligations(path: Path, instance: Instance) -> None:
    """The instance's obligations as an OBLIGATIONS.csv with the columns of a record row."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RECORD_COLUMNS)
        for o in instance.obligations:
            cells = {
                "obligation_id": o.obligation_id,
                "debtor_id": o.debtor_id,
                "debtor_jurisdiction": o.debtor_jurisdiction,
                "creditor_id": o.creditor_id,
                "creditor_jurisdiction": o.creditor_jurisdiction,
                "currency": o.currency,
                "amount": format_amount(o.outstanding, o.currency),
                "due_date": o.due_date.isoformat(),
                "priority": o.priority,
                "sequence": o.sequence,
            }
            writer.writerow([cells[column] for column in RECORD_COLUMNS])


@given(instance=instances())
def test_the_engine_and_the_verifier_agree_on_every_generated_instance(
    tmp_path_factory: pytest.TempPathFactory, instance: Instance
) -> None:
    result = net(instance.obligations, instance.rates, instance.policy)
    folder = tmp_path_factory.mktemp("run")
    obligations, output = folder / "OBLIGATIONS.csv", folder / "RESULT.json"
    write_obligations(obligations, instance)
    with open(output, "w", encoding="utf-8") as handle:
        json.dump(result_document(result), handle)
    assert verifier.digest(obligations, output) == result.digest


@costly()
@given(lined=lined_instances())
def test_the_engine_and_the_verifier_agree_on_every_generated_instance_with_lines(
    tmp_path_factory: pytest.TempPathFactory, lined: LinedInstance
) -> None:
    instance = lined.instance
    result = net(instance.obligations, instance.rates, instance.policy, lined.lines)
    folder = tmp_path_factory.mktemp("run")
    obligations, output = folder / "OBLIGATIONS.csv", folder / "RESULT.json"
    write_obligations(obligations, instance)
    with open(output, "w", encoding="utf-8") as handle:
        json.dump(result_document(result, with_lines=True), handle)
    assert verifier.digest(obligations, output) == result.digest


def run_verifier(obligations: Path, output: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(VERIFIER), str(obligations), str(output)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_the_command_exits_0_when_the_digest_matches_and_1_naming_the_mismatch_otherwise(
    tmp_path: Path,
) -> None:
    digest = hand_made_digest()
    altered = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    matching = write_run(tmp_path, OBLIGATIONS_CSV, hand_made_result() | {"digest": digest})
    completed = run_verifier(*matching)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[0] == digest
    assert "OK" in completed.stdout
    differing = write_run(tmp_path, OBLIGATIONS_CSV, hand_made_result() | {"digest": altered})
    completed = run_verifier(*differing)
    assert completed.returncode == 1
    assert completed.stdout.splitlines() == [digest]
    assert "MISMATCH" in completed.stderr
    assert altered in completed.stderr
