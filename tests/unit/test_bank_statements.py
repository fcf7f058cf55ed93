"""Bank statements in: camt.053.001.08 and camt.054.001.08 read only when valid against the
official schema, booked entries only, batch bookings split per transaction, and the same lines
as CSV; every refusal names what is wrong."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.adapters.files.bank_statements import read_statement
from clearing.domain.bank import Direction
from clearing.domain.errors import InvalidInput
from clearing.domain.payments import (
    Purpose,
    creditor_reference,
    cycle_payment_of,
    cycle_payment_reference,
    reference_in,
)
from tests.bank_files import Line, camt, statement_csv


def test_a_camt_054_credit_is_read_with_its_reference_amount_and_value_date() -> None:
    document = camt([Line("E-1", 1_234_56, remittance="RF18539007547034", counterparty="Acme")])
    statement = read_statement(document)
    [line] = statement.lines
    assert statement.accounts == ("6222000011112222",)
    assert (line.entry_reference, line.direction, line.currency) == ("E-1", Direction.CREDIT, "CNY")
    assert (line.amount, line.value_date) == (1_234_56, date(2026, 12, 1))
    assert (line.remittance, line.counterparty_name) == ("RF18539007547034", "Acme")


def test_a_camt_053_statement_is_read_as_the_notification_is() -> None:
    lines = [Line("E-1", 100, "RUB", remittance="x", structured=False), Line("E-2", 5, "RUB")]
    statement = read_statement(camt(lines, message="camt.053.001.08"))
    assert [(x.entry_reference, x.amount, x.remittance) for x in statement.lines] == [
        ("E-1", 100, "x"),
        ("E-2", 5, ""),
    ]


def test_pending_entries_are_counted_and_left_for_a_later_statement() -> None:
    statement = read_statement(camt([Line("E-1", 100), Line("E-2", 200, booked=False)]))
    assert [x.entry_reference for x in statement.lines] == ["E-1"]
    assert statement.pending == 1


def test_a_batch_booking_is_one_line_per_transaction_with_its_end_to_end_id() -> None:
    debit = Line("B-1", 500, credit=False, batch=((200, "RF1"), (300, "RF2")))
    statement = read_statement(camt([debit]))
    assert [(x.key, x.entry_reference, x.amount, x.end_to_end_id) for x in statement.lines] == [
        ("B-1/1", "B-1", 200, "RF1"),
        ("B-1/2", "B-1", 300, "RF2"),
    ]
    assert all(x.direction is Direction.DEBIT for x in statement.lines)


def test_a_document_the_schema_refuses_is_refused_naming_the_element() -> None:
    document = camt([Line("E-1", 100)]).replace(b"<CdtDbtInd>CRDT", b"<CdtDbtInd>BOTH")
    with pytest.raises(InvalidInput, match=r"not a valid camt\.054\.001\.08 document") as refused:
        read_statement(document)
    assert refused.value.field == "CdtDbtInd"


def test_a_document_of_another_message_is_refused() -> None:
    document = (
        b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>'
    )
    with pytest.raises(InvalidInput, match=r"a statement is a camt\.053\.001\.08") as refused:
        read_statement(document)
    assert refused.value.field == "Document"


def test_entity_declarations_are_refused_before_anything_is_read() -> None:
    document = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]><Document>&e;</Document>'
    with pytest.raises(InvalidInput, match="not well-formed XML"):
        read_statement(document)


def test_a_booked_entry_without_the_banks_reference_is_refused() -> None:
    document = camt([Line("E-1", 100)])
    document = document.replace(b"<NtryRef>E-1</NtryRef>", b"").replace(
        b"<AcctSvcrRef>E-1</AcctSvcrRef>", b""
    )
    with pytest.raises(InvalidInput, match="neither AcctSvcrRef nor NtryRef") as refused:
        read_statement(document)
    assert refused.value.field == "AcctSvcrRef"


def test_an_amount_with_more_decimals_than_the_currency_has_is_refused() -> None:
    document = camt([Line("E-1", 100)]).replace(b">1.00<", b">1.005<")
    with pytest.raises(InvalidInput, match=r"E-1.*3 decimal places"):
        read_statement(document)


def test_the_same_lines_as_csv_read_as_the_camt_does() -> None:
    lines = [Line("E-1", 100, remittance="RF18539007547034"), Line("E-2", 7, credit=False)]
    from_csv = read_statement(statement_csv(lines))
    from_camt = read_statement(camt(lines))
    assert [(x.entry_reference, x.direction, x.amount, x.remittance) for x in from_csv.lines] == [
        (x.entry_reference, x.direction, x.amount, x.remittance) for x in from_camt.lines
    ]


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"entry_reference,direction,currency,amount\n", "value_date"),
        (
            b"entry_reference,direction,currency,amount,value_date\nE,sideways,CNY,1,2026-12-01\n",
            "direction",
        ),
        (
            b"entry_reference,direction,currency,amount,value_date\nE,credit,CNY,-1,2026-12-01\n",
            "amount",
        ),
        (
            b"entry_reference,direction,currency,amount,value_date\nE,credit,XXQ,1,2026-12-01\n",
            "currency",
        ),
        (
            b"entry_reference,direction,currency,amount,value_date\nE,credit,CNY,1,1 Dec\n",
            "value_date",
        ),
        (
            b"entry_reference,direction,currency,amount,value_date\n,credit,CNY,1,2026-12-01\n",
            "entry_reference",
        ),
    ],
)
def test_a_bad_csv_line_is_refused_naming_its_field(content: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_statement(content)
    assert refused.value.field == field


def test_a_reference_is_found_in_free_text_in_groups_and_any_case() -> None:
    assert reference_in("invoice 7, rf18 5390 0754 7034 thanks") == "RF18539007547034"
    assert reference_in("RF18539007547034") == "RF18539007547034"
    assert reference_in("RF19539007547034") is None  # check digits do not hold
    assert reference_in("no reference at all") is None


@given(
    number=st.integers(1, 10**9),
    participant=st.text("ABCDEF0123456789-", min_size=1, max_size=20),
    purpose=st.sampled_from([Purpose.PAY_IN, Purpose.PAY_OUT, Purpose.REFUND]),
)
def test_a_cycle_payment_reference_names_its_cycle_number_and_purpose(
    number: int, participant: str, purpose: Purpose
) -> None:
    reference = cycle_payment_reference(number, f"cyc_{number:016x}", participant, purpose)
    assert len(reference) <= 25
    assert reference_in(f"paid {reference}") == reference
    assert cycle_payment_of(reference) == (number, purpose)


def test_a_reference_that_is_not_a_cycle_payment_names_none() -> None:
    assert cycle_payment_of(creditor_reference("539007547034")) is None
