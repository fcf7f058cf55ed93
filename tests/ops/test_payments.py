"""Payment files (DESIGN §5): only money that is there — the pay-outs of a settled cycle and
the refunds due — from the entity's own account and bank to each participant's registered
account and bank, on the settlement date; ISO 20022 pain.001 validated against the official
XSD, and the same transfers as CSV."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml
import xmlschema

from clearing.adapters.files import payments
from clearing.domain.cycles import Cycle, CycleStatus, Refund
from clearing.domain.errors import Conflict, InvalidInput
from clearing.domain.money import format_amount
from clearing.domain.payments import Debtor, PaymentOrder, Transfer
from clearing.entrypoints.cli import payment_file
from clearing.use_cases import cycles, settlement
from tests.pilot import ENTITY_BANKS, PARTICIPANT_BANKS, Pilot, settle

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.09.xsd"
NS = {"p": payments.PAIN_001_NAMESPACE}


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def texts(root: ElementTree.Element, path: str) -> list[str]:
    return [element.text or "" for element in root.iterfind(path, NS)]


def test_a_settled_cycles_pay_outs_make_a_valid_bank_ready_pain_001_per_entity(
    pilot: Pilot, schema: xmlschema.XMLSchema
) -> None:
    cycle = settle(pilot)
    assert cycle.settled_at is not None
    for entity in ("CN", "RU"):
        document = payment_file(pilot.uows, cycle.id, entity, "pain001")
        assert document is not None
        schema.validate(document)
        root = ElementTree.fromstring(document)
        amounts = [Decimal(a) for a in texts(root, ".//p:InstdAmt")]
        views = settlement.cycle_positions(pilot.uows(), pilot.principals["auditor"], cycle.id)
        expected = sorted(
            Decimal(v.position.net) / 100
            for v in views
            if v.position.jurisdiction == entity and v.position.net > 0
        )
        assert sorted(amounts) == expected
        assert sum(Decimal(s) for s in texts(root, ".//p:GrpHdr/p:CtrlSum")) == sum(amounts)
        bank_code, account = ENTITY_BANKS[entity]
        assert texts(root, ".//p:DbtrAcct/p:Id/p:Othr/p:Id") == [account]
        assert texts(root, ".//p:ReqdExctnDt/p:Dt") == [cycle.settled_at.date().isoformat()]
        creditor_banks = texts(root, ".//p:CdtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId")
        assert set(creditor_banks) == {PARTICIPANT_BANKS[entity]}
        assert set(texts(root, ".//p:CdtrAgt//p:ClrSysId/p:Cd")) == (
            {"CNAPS"} if entity == "CN" else {"RUCBC"}
        )
        if entity == "CN":
            assert texts(root, ".//p:DbtrAgt/p:FinInstnId/p:BICFI") == [bank_code]
        else:
            assert texts(root, ".//p:DbtrAgt//p:MmbId") == [bank_code]
        accounts = texts(root, ".//p:CdtrAcct/p:Id/p:Othr/p:Id")
        assert all(a.startswith(entity + "0000000000") for a in accounts)


def test_the_csv_holds_the_same_transfers_as_the_pain_001(pilot: Pilot) -> None:
    cycle = settle(pilot)
    for entity in ("CN", "RU"):
        document = payment_file(pilot.uows, cycle.id, entity, "pain001")
        text = payment_file(pilot.uows, cycle.id, entity, "csv")
        assert document is not None
        assert text is not None
        rows = list(csv.DictReader(io.StringIO(text)))
        root = ElementTree.fromstring(document)
        assert sorted(Decimal(r["amount"]) for r in rows) == sorted(
            Decimal(a) for a in texts(root, ".//p:InstdAmt")
        )
        assert {r["entity"] for r in rows} == {entity}
        assert {r["purpose"] for r in rows} == {"pay_out"}
        assert {r["bank_code"] for r in rows} == {PARTICIPANT_BANKS[entity]}


def test_a_cycle_that_is_not_settled_has_no_payment_file(pilot: Pilot) -> None:
    assert pilot.cycle.status is CycleStatus.PROPOSED
    for file_format in ("pain001", "csv"):
        with pytest.raises(Conflict) as refused:
            payment_file(pilot.uows, pilot.cycle.id, "CN", file_format)
        assert refused.value.field == "status"
        assert "proposed" in refused.value.message


def test_a_superseded_cycle_pays_nothing_and_its_refunds_go_out_with_its_successor(
    pilot: Pilot, schema: xmlschema.XMLSchema
) -> None:
    superseded, successor, refund = default_after_a_partial_pay_in(pilot)

    with pytest.raises(Conflict) as refused:
        payment_file(pilot.uows, superseded.id, refund.entity, "pain001")
    assert successor.id in refused.value.message

    settled = settle(pilot, successor)
    assert settled.status is CycleStatus.SETTLED
    document = payment_file(pilot.uows, settled.id, refund.entity, "pain001")
    assert document is not None
    schema.validate(document)
    rows = list(
        csv.DictReader(
            io.StringIO(payment_file(pilot.uows, settled.id, refund.entity, "csv") or "")
        )
    )
    refunds = [r for r in rows if r["purpose"] == "refund"]
    assert [(r["participant_id"], r["amount"]) for r in refunds] == [
        (refund.participant_id, format_amount(refund.amount, refund.currency))
    ]
    assert refund.participant_id in document


def test_participants_without_a_registered_account_stop_the_file_and_are_named(
    pilot: Pilot,
) -> None:
    cycle = settle(pilot)
    payees = [
        v.position.participant_id
        for v in settlement.cycle_positions(pilot.uows(), pilot.principals["auditor"], cycle.id)
        if v.position.jurisdiction == "RU" and v.position.net > 0
    ]
    with pilot.uows() as uow:
        for payee in payees:
            found = uow.participants.get(payee)
            assert found is not None
            uow.participants.save(replace(found, bank_account=None, bank_code=None))
        uow.commit()

    with pytest.raises(Conflict) as refused:
        payment_file(pilot.uows, cycle.id, "RU", "pain001")

    assert refused.value.field == "bank_account"
    assert all(payee in refused.value.message for payee in payees)


def test_an_entity_without_its_own_account_and_bank_cannot_pay(pilot: Pilot) -> None:
    cycle = settle(pilot)
    with pilot.uows() as uow:
        stored = uow.entities.get("CN")
        assert stored is not None
        uow.entities.save(replace(stored, bank_code=None, account=None))
        uow.commit()

    with pytest.raises(Conflict) as refused:
        payment_file(pilot.uows, cycle.id, "CN", "pain001")

    assert refused.value.field == "entity"
    assert "clearing entities set CN" in refused.value.message


def test_an_unknown_payment_file_format_is_refused(pilot: Pilot) -> None:
    cycle = settle(pilot)
    with pytest.raises(InvalidInput) as refused:
        payment_file(pilot.uows, cycle.id, "CN", "mt103")
    assert refused.value.field == "format"


def test_a_zero_exponent_currency_is_written_without_decimals(
    schema: xmlschema.XMLSchema,
) -> None:
    order = PaymentOrder(
        "c-JP",
        Debtor("JP", "Japan entity", "0012345", "BOTKJPJT"),
        (
            Transfer(
                "JP-1", "Osaka Trading", "JP0001", "SMBCJPJT", "JPY", 125000, "c/JP-1", "pay_out"
            ),
        ),
        date(2026, 11, 23),
    )
    document = payments.pain_001("c-JP", order, datetime(2026, 11, 22, tzinfo=UTC))
    schema.validate(document.decode())
    assert b'<InstdAmt Ccy="JPY">125000</InstdAmt>' in document


def test_an_order_with_nothing_to_pay_has_no_pain_001() -> None:
    order = PaymentOrder("c", Debtor("CN", "CN", "1", "BKCHCNBJ"), (), date(2026, 11, 23))
    with pytest.raises(ValueError, match="at least one transfer"):
        payments.pain_001("c", order, datetime(2026, 11, 22, tzinfo=UTC))


# --- a default after a partial pay-in --------------------------------------------------------


def default_after_a_partial_pay_in(pilot: Pilot) -> tuple[Cycle, Cycle, Refund]:
    """Approve the pilot's cycle; one payer pays part of its due and then defaults."""
    cycle = pilot.cycle
    assert cycle.digest is not None
    for entity in cycle.required_approvals:
        cycle = cycles.approve_cycle(
            pilot.uows(), pilot.principals[f"op-{entity}"], cycle.id, cycle.digest
        )
    payer = next(
        v
        for v in settlement.cycle_positions(pilot.uows(), pilot.principals["auditor"], cycle.id)
        if v.due
    )
    position = payer.position
    operator = pilot.principals[f"op-{position.jurisdiction}"]
    partial = payer.due // 3
    settlement.record_pay_in(
        pilot.uows(),
        operator,
        cycle.id,
        position.participant_id,
        position.currency,
        format_amount(partial, position.currency),
        "BANK-PART",
    )
    successor = settlement.declare_default(
        pilot.uows(), operator, cycle.id, position.participant_id, "did not pay"
    )
    superseded = cycles.get_cycle(pilot.uows(), pilot.principals["auditor"], cycle.id)
    (refund,) = [
        r
        for r in settlement.cycle_refunds(pilot.uows(), pilot.principals["auditor"], cycle.id)
        if r.participant_id == position.participant_id
    ]
    assert refund.amount == partial
    return superseded, successor, refund
