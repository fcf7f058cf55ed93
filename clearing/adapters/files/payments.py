"""Payment files for an entity's bank: ISO 20022 ``pain.001.001.09`` credit transfers and CSV.

The clearing entity is the debtor (it pays from its domestic settlement account at its bank);
each participant owed a pay-out (or a refund) is a creditor, at its registered account and bank.
Banks are named by BIC, or by their member id in the national clearing system (CNAPS in China,
``RUCBC`` — the BIK — in Russia). Amounts are written in major units with
exactly the currency's ISO 4217 decimals.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from clearing.domain.money import format_amount
from clearing.domain.payments import (
    BankCodeKind,
    Instruction,
    PaymentOrder,
    Transfer,
    bank_code_kind,
)

PAIN_001_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
CSV_COLUMNS = (
    "entity",
    "participant_id",
    "name",
    "bank_account",
    "direction",
    "currency",
    "amount",
    "reference",
)
#: The columns of :func:`transfers_csv`.
TRANSFER_COLUMNS = (
    "entity",
    "participant_id",
    "name",
    "bank_account",
    "bank_code",
    "purpose",
    "currency",
    "amount",
    "reference",
    "execution_date",
)
_MAX35 = 35
_MAX140 = 140


def _element(
    parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str
) -> ElementTree.Element:
    child = ElementTree.SubElement(parent, f"{{{PAIN_001_NAMESPACE}}}{tag}", attributes)
    if text is not None:
        child.text = text
    return child


def pain_001(message_id: str, order: PaymentOrder, created_at: datetime) -> bytes:
    """A ``pain.001.001.09`` document with one payment information block per currency. An
    order with no transfer has no document: the schema asks for at least one."""
    if not order.transfers:
        raise ValueError("a pain.001 document holds at least one transfer")
    debtor, transfers = order.debtor, order.transfers
    ElementTree.register_namespace("", PAIN_001_NAMESPACE)
    document = ElementTree.Element(f"{{{PAIN_001_NAMESPACE}}}Document")
    initiation = _element(document, "CstmrCdtTrfInitn")
    header = _element(initiation, "GrpHdr")
    _element(header, "MsgId", _max(message_id, _MAX35))
    _element(header, "CreDtTm", created_at.replace(microsecond=0).isoformat())
    _element(header, "NbOfTxs", str(len(transfers)))
    _element(header, "CtrlSum", _control_sum(transfers))
    _element(_element(header, "InitgPty"), "Nm", _max(debtor.name, _MAX140))
    by_currency: dict[str, list[Transfer]] = {}
    for transfer in transfers:
        by_currency.setdefault(transfer.currency, []).append(transfer)
    for number, (currency, group) in enumerate(sorted(by_currency.items()), start=1):
        block = _element(initiation, "PmtInf")
        _element(block, "PmtInfId", _max(f"{message_id}-{number}", _MAX35))
        _element(block, "PmtMtd", "TRF")
        _element(block, "NbOfTxs", str(len(group)))
        _element(block, "CtrlSum", _control_sum(group))
        _element(_element(block, "ReqdExctnDt"), "Dt", order.execution_date.isoformat())
        _element(_element(block, "Dbtr"), "Nm", _max(debtor.name, _MAX140))
        _account(_element(block, "DbtrAcct"), debtor.account)
        _agent(_element(block, "DbtrAgt"), debtor.bank_code)
        for index, transfer in enumerate(group, start=1):
            item = _element(block, "CdtTrfTxInf")
            ids = _element(item, "PmtId")
            _element(ids, "InstrId", _max(f"{number}-{index}", _MAX35))
            _element(ids, "EndToEndId", _max(transfer.reference, _MAX35))
            amount = _element(item, "Amt")
            _element(amount, "InstdAmt", format_amount(transfer.amount, currency), Ccy=currency)
            _agent(_element(item, "CdtrAgt"), transfer.bank_code)
            creditor_name = transfer.name or transfer.participant_id
            _element(_element(item, "Cdtr"), "Nm", _max(creditor_name, _MAX140))
            _account(_element(item, "CdtrAcct"), transfer.bank_account)
            remittance = _element(item, "RmtInf")
            remark = f"{transfer.purpose} {transfer.reference} {transfer.participant_id}"
            _element(remittance, "Ustrd", _max(remark, _MAX140))
    encoded: bytes = ElementTree.tostring(document, encoding="utf-8", xml_declaration=True)
    return encoded


def _account(parent: ElementTree.Element, account: str) -> None:
    identifier = _element(parent, "Id")
    _element(_element(identifier, "Othr"), "Id", _max(account, 34))


def _agent(parent: ElementTree.Element, bank_code: str) -> None:
    """A bank by its BIC, or by its member id in its national clearing system."""
    institution = _element(parent, "FinInstnId")
    kind = bank_code_kind(bank_code)
    if kind is BankCodeKind.BIC:
        _element(institution, "BICFI", bank_code)
        return
    member = _element(institution, "ClrSysMmbId")
    _element(_element(member, "ClrSysId"), "Cd", kind.value)
    _element(member, "MmbId", bank_code)


def _control_sum(transfers: Sequence[Transfer]) -> str:
    """Sum of the amounts as a plain decimal (exact; currencies may differ in the header)."""
    total = sum((Decimal(format_amount(t.amount, t.currency)) for t in transfers), Decimal(0))
    return format(total, "f")


def _max(text: str, length: int) -> str:
    return text[:length] if text else "-"


def transfers_csv(order: PaymentOrder) -> str:
    """The transfers of a payment order as CSV, one line each (what the pain.001 holds)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRANSFER_COLUMNS)
    for t in order.transfers:
        writer.writerow(
            [
                order.debtor.entity,
                t.participant_id,
                t.name,
                t.bank_account,
                t.bank_code,
                t.purpose,
                t.currency,
                format_amount(t.amount, t.currency),
                t.reference,
                order.execution_date.isoformat(),
            ]
        )
    return buffer.getvalue()


def instructions_csv(instructions: Sequence[Instruction]) -> str:
    """Payment instructions as CSV: one line per expected pay-in, pay-out or refund."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i in instructions:
        writer.writerow(
            [
                i.entity,
                i.participant_id,
                i.name,
                i.bank_account or "",
                i.direction,
                i.currency,
                format_amount(i.amount, i.currency),
                i.reference,
            ]
        )
    return buffer.getvalue()
