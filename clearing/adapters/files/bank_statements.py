"""Bank statements in: ISO 20022 ``camt.053.001.08`` (account statements) and
``camt.054.001.08`` (debit and credit notifications), validated against the official ISO 20022
schemas shipped in ``schemas/``, or the same lines as CSV (:data:`STATEMENT_COLUMNS`).

Only booked entries are lines; pending ones are counted and left for a later statement. A
booked entry that carries several transactions (a batch booking, as a bank books a payment
file) is one line per transaction, numbered within the booking (``<entry reference>/<n>``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path
from xml.etree.ElementTree import Element

import xmlschema

from clearing.adapters.files.netting import csv_dict_rows, csv_header
from clearing.domain.bank import BankStatement, Direction, StatementLine
from clearing.domain.errors import InvalidInput
from clearing.domain.money import check_currency, parse_amount

SCHEMAS = Path(__file__).parent / "schemas"
#: Each camt message this reads: its schema file, its message element and its report element.
CAMT_MESSAGES = {
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08": (
        "camt.053.001.08",
        "BkToCstmrStmt",
        "Stmt",
    ),
    "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08": (
        "camt.054.001.08",
        "BkToCstmrDbtCdtNtfctn",
        "Ntfctn",
    ),
}
#: The columns of a CSV statement; ``remittance``, ``end_to_end_id``, ``counterparty_name``,
#: ``counterparty_account`` and ``booking_date`` may follow.
STATEMENT_COLUMNS = ("entry_reference", "direction", "currency", "amount", "value_date")
_DIRECTIONS = {
    "credit": Direction.CREDIT,
    "crdt": Direction.CREDIT,
    "debit": Direction.DEBIT,
    "dbit": Direction.DEBIT,
}
#: camt allows five decimals in any currency; trailing zeros beyond the currency's are dropped.
_TRAILING_ZEROS = re.compile(r"(\.[0-9]*?)0+$")
_NOT_PROVIDED = "NOTPROVIDED"


def read_statement(content: bytes) -> BankStatement:
    """A statement from a camt.053/camt.054 document or a CSV file, told apart by content."""
    if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return read_camt(content)
    return read_statement_csv(content)


@cache
def camt_schema(message: str) -> xmlschema.XMLSchema:
    """The official schema of a camt message, e.g. ``camt.054.001.08`` (built once)."""
    return xmlschema.XMLSchema(str(SCHEMAS / f"{message}.xsd"))


def read_camt(content: bytes) -> BankStatement:
    """The booked lines of a camt.053.001.08 or camt.054.001.08 document, which must be valid
    against its schema; the first problem is named."""
    try:
        # No entity expansion and no access to anything beyond the document itself.
        document = xmlschema.XMLResource(content, defuse="always", allow="none")
    except (xmlschema.XMLResourceError, SyntaxError, ValueError) as error:
        raise InvalidInput(f"the statement is not well-formed XML: {error}") from None
    root = document.root
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    if namespace not in CAMT_MESSAGES:
        raise InvalidInput(
            f"the document is {namespace or 'in no namespace'}: a statement is a "
            "camt.053.001.08 or camt.054.001.08 document",
            field="Document",
        )
    message, message_tag, report_tag = CAMT_MESSAGES[namespace]
    problem = next(camt_schema(message).iter_errors(document), None)
    if problem is not None:
        where = problem.path or "/"
        raise InvalidInput(
            f"not a valid {message} document at {where}: {problem.reason}",
            field=where.rsplit("/", 1)[-1].split(":")[-1] or "Document",
        )
    tree = _Tree(namespace)
    lines: list[StatementLine] = []
    accounts: set[str] = set()
    pending = 0
    for report in tree.all(tree.one(root, message_tag), report_tag):
        account = tree.account(tree.one(report, "Acct"))
        if account:
            accounts.add(account)
        for number, entry in enumerate(tree.all(report, "Ntry"), start=1):
            status = tree.text(entry, "Sts", "Cd") or tree.text(entry, "Sts", "Prtry")
            if status.upper() != "BOOK":
                pending += 1
                continue
            lines.extend(_entry_lines(tree, entry, number))
    return BankStatement(tuple(sorted(accounts)), tuple(lines), pending)


class _Tree:
    """Reading elements of one camt namespace."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def _tag(self, name: str) -> str:
        return f"{{{self.namespace}}}{name}"

    def find(self, element: Element | None, *path: str) -> Element | None:
        for name in path:
            if element is None:
                return None
            element = element.find(self._tag(name))
        return element

    def one(self, element: Element, name: str) -> Element:
        found = element.find(self._tag(name))
        assert found is not None, f"the schema requires {name}"
        return found

    def all(self, element: Element, name: str) -> list[Element]:
        return element.findall(self._tag(name))

    def text(self, element: Element | None, *path: str) -> str:
        found = self.find(element, *path)
        return (found.text or "").strip() if found is not None else ""

    def day(self, element: Element | None, name: str) -> date | None:
        """An ``ISODate`` or the day of an ``ISODateTime`` (DateAndDateTime2Choice)."""
        text = self.text(element, name, "Dt") or self.text(element, name, "DtTm")[:10]
        return date.fromisoformat(text) if text else None

    def account(self, element: Element | None) -> str:
        return self.text(element, "Id", "IBAN") or self.text(element, "Id", "Othr", "Id")


def _entry_lines(tree: _Tree, entry: Element, number: int) -> Iterator[StatementLine]:
    """The lines of one booked entry: itself, or each of its transactions."""
    reference = tree.text(entry, "AcctSvcrRef") or tree.text(entry, "NtryRef")
    if not reference:
        raise InvalidInput(
            f"booked entry {number} has neither AcctSvcrRef nor NtryRef: the bank's entry "
            "reference is what keeps a re-imported line from being recorded twice",
            field="AcctSvcrRef",
        )
    amount = tree.one(entry, "Amt")
    currency = amount.get("Ccy", "")
    direction = Direction.CREDIT if tree.text(entry, "CdtDbtInd") == "CRDT" else Direction.DEBIT
    value_date = tree.day(entry, "ValDt") or tree.day(entry, "BookgDt")
    if value_date is None:
        raise InvalidInput(f"booked entry {reference} has no value date", field="ValDt")
    entry_details = tree.find(entry, "NtryDtls")
    transactions = tree.all(entry_details, "TxDtls") if entry_details is not None else []
    total = _minor(amount.text or "", currency, reference)
    if len(transactions) <= 1:
        details = transactions[0] if transactions else None
        yield _line(tree, reference, direction, currency, total, value_date, entry, details)
        return
    parts = 0
    for index, details in enumerate(transactions, start=1):
        part = tree.find(details, "Amt")
        if part is None:
            raise InvalidInput(
                f"booked entry {reference} has {len(transactions)} transactions, and "
                f"transaction {index} has no amount of its own",
                field="Amt",
            )
        minor = _minor(part.text or "", part.get("Ccy", ""), reference)
        parts += minor
        line = _line(tree, reference, direction, currency, minor, value_date, entry, details)
        yield replace(line, transaction=index)
    if parts != total:
        raise InvalidInput(
            f"booked entry {reference}: its transactions sum to another amount than the entry",
            field="Amt",
        )


def _line(
    tree: _Tree,
    reference: str,
    direction: Direction,
    currency: str,
    amount: int,
    value_date: date,
    entry: Element,
    details: Element | None,
) -> StatementLine:
    end_to_end = tree.text(details, "Refs", "EndToEndId")
    remittance = tree.text(details, "RmtInf", "Strd", "CdtrRefInf", "Ref")
    if not remittance and details is not None:
        information = tree.find(details, "RmtInf")
        texts = tree.all(information, "Ustrd") if information is not None else []
        remittance = " ".join((text.text or "").strip() for text in texts)
    party, account = ("Dbtr", "DbtrAcct") if direction is Direction.CREDIT else ("Cdtr", "CdtrAcct")
    return StatementLine(
        entry_reference=reference,
        direction=direction,
        currency=currency,
        amount=amount,
        value_date=value_date,
        remittance=remittance.strip(),
        end_to_end_id="" if end_to_end == _NOT_PROVIDED else end_to_end,
        counterparty_name=tree.text(details, "RltdPties", party, "Pty", "Nm"),
        counterparty_account=tree.account(tree.find(details, "RltdPties", account)),
        booking_date=tree.day(entry, "BookgDt"),
    )


def _minor(text: str, currency: str, reference: str) -> int:
    try:
        check_currency(currency, field="Ccy")
        return parse_amount(_TRAILING_ZEROS.sub(r"\1", text.strip()).rstrip("."), currency)
    except InvalidInput as error:
        raise InvalidInput(f"booked entry {reference}: {error}", field=error.field) from None


# --- CSV ----------------------------------------------------------------------------------------


def read_statement_csv(content: bytes) -> BankStatement:
    """The lines of a CSV statement, every one booked; a bad line is named with its field."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the statement is neither camt XML nor UTF-8 CSV text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = csv_header(reader)
    missing = [column for column in STATEMENT_COLUMNS if column not in header]
    if missing:
        raise InvalidInput(
            f"line 1: required column {missing[0]} is missing (a statement CSV has "
            + ", ".join(STATEMENT_COLUMNS)
            + ")",
            field=missing[0],
        )
    lines = [_csv_line(row, reader.line_num) for row in csv_dict_rows(reader)]
    return BankStatement((), tuple(lines))


def _csv_line(row: Mapping[str, str | None], number: int) -> StatementLine:
    def value(name: str) -> str:
        return (row.get(name) or "").strip()

    def day(name: str, *, required: bool) -> date | None:
        text = value(name)
        if not text and not required:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"line {number}: {name}: {text!r} is not an ISO date", field=name
            ) from None

    reference = value("entry_reference")
    if not reference:
        raise InvalidInput(f"line {number}: entry_reference is empty", field="entry_reference")
    direction = _DIRECTIONS.get(value("direction").lower())
    if direction is None:
        raise InvalidInput(
            f"line {number}: direction: {value('direction')!r} is neither credit nor debit",
            field="direction",
        )
    try:
        currency = check_currency(value("currency"))
        amount = parse_amount(value("amount"), currency)
    except InvalidInput as error:
        raise InvalidInput(f"line {number}: {error.field}: {error}", field=error.field) from None
    value_date = day("value_date", required=True)
    assert value_date is not None
    return StatementLine(
        entry_reference=reference,
        direction=direction,
        currency=currency,
        amount=amount,
        value_date=value_date,
        remittance=value("remittance"),
        end_to_end_id=value("end_to_end_id"),
        counterparty_name=value("counterparty_name"),
        counterparty_account=value("counterparty_account"),
        booking_date=day("booking_date", required=False),
    )
