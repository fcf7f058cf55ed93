"""Payment files for an entity's bank: ISO 20022 ``pain.001.001.09`` credit transfers and CSV.

The clearing entity is the debtor (it pays from its domestic settlement account); each
participant owed a pay-out (or a refund) is a creditor. Amounts are written in major units with
exactly the currency's ISO 4217 decimals.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from clearing.domain.money import format_amount
from clearing.domain.payments import Debtor, Instruction, Transfer

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
_MAX35 = 35
_MAX140 = 140


def _element(
    parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str
) -> ElementTree.Element:
    child = ElementTree.SubElement(parent, f"{{{PAIN_001_NAMESPACE}}}{tag}", attributes)
    if text is not None:
        child.text = text
    return child


def pain_001(
    message_id: str,
    debtor: Debtor,
    transfers: Sequence[Transfer],
    created_at: datetime,
    execution_date: str,
) -> bytes:
    """A ``pain.001.001.09`` document with one payment information block per currency."""
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
        _element(_element(block, "ReqdExctnDt"), "Dt", execution_date)
        _element(_element(block, "Dbtr"), "Nm", _max(debtor.name, _MAX140))
        _account(_element(block, "DbtrAcct"), debtor.account)
        agent = _element(_element(block, "DbtrAgt"), "FinInstnId")
        _element(_element(agent, "Othr"), "Id", _max(debtor.entity, _MAX35))
        for index, transfer in enumerate(group, start=1):
            item = _element(block, "CdtTrfTxInf")
            ids = _element(item, "PmtId")
            _element(ids, "InstrId", _max(f"{number}-{index}", _MAX35))
            _element(ids, "EndToEndId", _max(transfer.reference, _MAX35))
            amount = _element(item, "Amt")
            _element(amount, "InstdAmt", format_amount(transfer.amount, currency), Ccy=currency)
            creditor_name = transfer.name or transfer.participant_id
            _element(_element(item, "Cdtr"), "Nm", _max(creditor_name, _MAX140))
            _account(_element(item, "CdtrAcct"), transfer.bank_account or transfer.participant_id)
            remittance = _element(item, "RmtInf")
            _element(remittance, "Ustrd", _max(f"{transfer.purpose} {transfer.reference}", _MAX140))
    encoded: bytes = ElementTree.tostring(document, encoding="utf-8", xml_declaration=True)
    return encoded


def _account(parent: ElementTree.Element, account: str) -> None:
    identifier = _element(parent, "Id")
    _element(_element(identifier, "Othr"), "Id", _max(re.sub(r"\s+", "", account), 34))


def _control_sum(transfers: Sequence[Transfer]) -> str:
    """Sum of the amounts as a plain decimal (exact; currencies may differ in the header)."""
    total = sum((Decimal(format_amount(t.amount, t.currency)) for t in transfers), Decimal(0))
    return format(total, "f")


def _max(text: str, length: int) -> str:
    return text[:length] if text else "-"


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
