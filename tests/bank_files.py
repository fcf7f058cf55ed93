"""Bank statements as a bank would send them, for tests: camt.054.001.08 notifications and
camt.053.001.08 statements (checked against the official schema as they are made), and CSV."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from clearing.adapters.files.bank_statements import STATEMENT_COLUMNS, camt_schema
from clearing.domain.money import format_amount


@dataclass(frozen=True)
class Line:
    """One entry on the bank's side: ``amount`` in minor units of ``currency``."""

    reference: str
    amount: int
    currency: str = "CNY"
    credit: bool = True
    remittance: str = ""
    structured: bool = True
    end_to_end_id: str = ""
    counterparty: str = "A payer"
    value_date: date = date(2026, 12, 1)
    booked: bool = True
    #: Each transaction's amount when the bank books several as one entry.
    batch: tuple[tuple[int, str], ...] = ()


def camt(
    lines: Sequence[Line],
    *,
    account: str = "6222000011112222",
    message: str = "camt.054.001.08",
    message_id: str = "MSG-1",
) -> bytes:
    """A notification (``camt.054.001.08``) or statement (``camt.053.001.08``) of ``lines``,
    valid against the official schema (asserted)."""
    namespace = f"urn:iso:std:iso:20022:tech:xsd:{message}"
    ElementTree.register_namespace("", namespace)

    def add(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str):
        child = ElementTree.SubElement(parent, f"{{{namespace}}}{tag}", attributes)
        if text is not None:
            child.text = text
        return child

    document = ElementTree.Element(f"{{{namespace}}}Document")
    statement = message.startswith("camt.053")
    root = add(document, "BkToCstmrStmt" if statement else "BkToCstmrDbtCdtNtfctn")
    header = add(root, "GrpHdr")
    add(header, "MsgId", message_id)
    add(header, "CreDtTm", "2026-12-01T18:00:00")
    report = add(root, "Stmt" if statement else "Ntfctn")
    add(report, "Id", f"{message_id}-R")
    add(report, "CreDtTm", "2026-12-01T18:00:00")
    add(add(add(add(report, "Acct"), "Id"), "Othr"), "Id", account)
    if statement:
        for code in ("OPBD", "CLBD"):
            balance = add(report, "Bal")
            add(add(add(balance, "Tp"), "CdOrPrtry"), "Cd", code)
            add(balance, "Amt", "0.00", Ccy=lines[0].currency if lines else "CNY")
            add(balance, "CdtDbtInd", "CRDT")
            add(add(balance, "Dt"), "Dt", "2026-12-01")
    for line in lines:
        entry = add(report, "Ntry")
        add(entry, "NtryRef", line.reference)
        add(entry, "Amt", format_amount(line.amount, line.currency), Ccy=line.currency)
        add(entry, "CdtDbtInd", "CRDT" if line.credit else "DBIT")
        add(add(entry, "Sts"), "Cd", "BOOK" if line.booked else "PDNG")
        add(add(entry, "BookgDt"), "Dt", line.value_date.isoformat())
        add(add(entry, "ValDt"), "Dt", line.value_date.isoformat())
        add(entry, "AcctSvcrRef", line.reference)
        add(add(add(entry, "BkTxCd"), "Prtry"), "Cd", "NTRF")
        details = add(entry, "NtryDtls")
        for amount, end_to_end in line.batch or ((0, line.end_to_end_id),):
            transaction = add(details, "TxDtls")
            add(add(transaction, "Refs"), "EndToEndId", end_to_end or "NOTPROVIDED")
            if line.batch:
                add(transaction, "Amt", format_amount(amount, line.currency), Ccy=line.currency)
            party = add(transaction, "RltdPties")
            add(add(add(party, "Dbtr" if line.credit else "Cdtr"), "Pty"), "Nm", line.counterparty)
            if line.remittance:
                information = add(transaction, "RmtInf")
                if line.structured:
                    reference = add(add(information, "Strd"), "CdtrRefInf")
                    add(add(add(reference, "Tp"), "CdOrPrtry"), "Cd", "SCOR")
                    add(reference, "Ref", line.remittance)
                else:
                    add(information, "Ustrd", line.remittance)
    content: bytes = ElementTree.tostring(document, encoding="utf-8", xml_declaration=True)
    camt_schema(message).validate(content.decode())
    return content


def statement_csv(lines: Sequence[Line]) -> bytes:
    """The same lines as a CSV statement."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*STATEMENT_COLUMNS, "remittance", "end_to_end_id", "counterparty_name"])
    for line in lines:
        writer.writerow(
            [
                line.reference,
                "credit" if line.credit else "debit",
                line.currency,
                format_amount(line.amount, line.currency),
                line.value_date.isoformat(),
                line.remittance,
                line.end_to_end_id,
                line.counterparty,
            ]
        )
    return buffer.getvalue().encode()
