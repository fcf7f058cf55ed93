"""Payment files: ISO 20022 pain.001 validated against the official XSD, and CSV."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml
import xmlschema

from clearing.adapters.files import payments
from clearing.domain.errors import InvalidInput
from clearing.entrypoints.cli import payment_file
from clearing.use_cases import settlement
from tests.pilot import Pilot, settle

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.09.xsd"
NS = {"p": payments.PAIN_001_NAMESPACE}


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def test_a_settled_cycles_pay_outs_make_a_valid_pain_001_per_entity(
    pilot: Pilot, schema: xmlschema.XMLSchema
) -> None:
    cycle = settle(pilot)
    for entity in ("CN", "RU"):
        document = payment_file(pilot.uows, cycle.id, entity, "pain001")
        schema.validate(document)
        root = ElementTree.fromstring(document)
        amounts = [Decimal(a.text or "") for a in root.iterfind(".//p:InstdAmt", NS)]
        views = settlement.cycle_positions(pilot.uows(), pilot.principals["auditor"], cycle.id)
        expected = sorted(
            Decimal(v.position.net) / 100
            for v in views
            if v.position.jurisdiction == entity and v.position.net > 0
        )
        assert sorted(amounts) == expected
        header_sum = root.find(".//p:GrpHdr/p:CtrlSum", NS)
        assert header_sum is not None
        assert Decimal(header_sum.text or "") == sum(amounts)
        assert {a.get("Ccy") for a in root.iterfind(".//p:InstdAmt", NS)} == {
            "CNY" if entity == "CN" else "RUB"
        }


def test_the_csv_instructions_list_every_pay_in_and_pay_out_of_the_entity(pilot: Pilot) -> None:
    cycle = settle(pilot)
    text = payment_file(pilot.uows, cycle.id, "RU", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    assert {row["entity"] for row in rows} == {"RU"}
    paid_in = sum(Decimal(r["amount"]) for r in rows if r["direction"] == "pay_in")
    paid_out = sum(Decimal(r["amount"]) for r in rows if r["direction"] == "pay_out")
    assert paid_in == paid_out


def test_an_unknown_payment_file_format_is_refused(pilot: Pilot) -> None:
    cycle = settle(pilot)
    with pytest.raises(InvalidInput) as refused:
        payment_file(pilot.uows, cycle.id, "CN", "mt103")
    assert refused.value.field == "format"


def test_a_zero_exponent_currency_is_written_without_decimals(
    schema: xmlschema.XMLSchema,
) -> None:
    transfers = [
        payments.Transfer("JP-1", "Osaka Trading", "JP0001", "JPY", 125000, "c/JP-1", "pay_out")
    ]
    document = payments.pain_001(
        "c-JP",
        payments.Debtor("JP", "Japan entity", "JP-SETTLEMENT"),
        transfers,
        datetime(2026, 11, 22, tzinfo=UTC),
        "2026-11-23",
    )
    schema.validate(document.decode())
    assert b'<InstdAmt Ccy="JPY">125000</InstdAmt>' in document
