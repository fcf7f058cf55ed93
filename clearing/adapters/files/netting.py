"""The file formats of DESIGN §10: ``OBLIGATIONS.csv``, ``RATES.json`` and ``RESULT.json``.

Readers reject bad input with :class:`FileInputError`, which names the file, the line and the
field; nothing is half-read.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from clearing.domain.errors import InvalidInput
from clearing.domain.money import check_currency, format_amount, parse_amount
from clearing.domain.netting import NettingResult
from clearing.domain.obligations import RECORD_COLUMNS, Obligation
from clearing.domain.rates import RateSet, check_jurisdiction

OBLIGATION_COLUMNS = RECORD_COLUMNS
REQUIRED_COLUMNS = OBLIGATION_COLUMNS[:8]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_IDENTIFIER = re.compile(r"[^\s\x00-\x1f]{1,128}")


class FileInputError(InvalidInput):
    """Bad input in a file, located by file, line and field."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, message: str) -> None:
        where = f"{path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}", field=field)
        self.path = str(path)
        self.line = line

    def __str__(self) -> str:
        return self.message


def read_rates(path: str | Path) -> RateSet:
    """Read a ``RATES.json`` file."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as error:
        raise FileInputError(path, None, None, f"cannot be read ({error.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FileInputError(
            path, getattr(error, "lineno", None), None, "is not valid JSON"
        ) from None
    try:
        return RateSet.from_json(document)
    except InvalidInput as error:
        raise FileInputError(path, None, error.field, error.message) from None


def read_obligations(path: str | Path, rates: RateSet) -> list[Obligation]:
    """Read an ``OBLIGATIONS.csv`` file, checking every row against ``rates``."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return list(parse_obligations(handle, rates, path))
    except OSError as error:
        raise FileInputError(path, None, None, f"cannot be read ({error.strerror})") from None
    except UnicodeDecodeError:
        raise FileInputError(path, None, None, "is not UTF-8 text") from None


def parse_obligations(
    lines: Iterable[str], rates: RateSet, path: str | Path = "<input>"
) -> Iterator[Obligation]:
    """Parse CSV text into obligations; raise :class:`FileInputError` at the first bad field."""
    reader = csv.reader(lines, strict=True)
    rows = _csv_rows(reader, path)
    header = next(rows, None)
    if header is None:
        raise FileInputError(path, 1, None, "the file is empty; expected a header row")
    header = [name.strip() for name in header]
    for name in REQUIRED_COLUMNS:
        if name not in header:
            raise FileInputError(path, 1, name, "required column is missing")
    positions = {name: header.index(name) for name in OBLIGATION_COLUMNS if name in header}
    seen_ids: dict[str, int] = {}
    homes: dict[str, str] = {}
    count = 0
    for row in rows:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))
        obligation = _parse_row(row, positions, rates, path, line)
        first = seen_ids.setdefault(obligation.obligation_id, line)
        if first != line:
            raise FileInputError(
                path,
                line,
                "obligation_id",
                f"duplicate id {obligation.obligation_id!r} (first on line {first})",
            )
        for participant, jurisdiction, field in (
            (obligation.debtor_id, obligation.debtor_jurisdiction, "debtor_id"),
            (obligation.creditor_id, obligation.creditor_jurisdiction, "creditor_id"),
        ):
            home = homes.setdefault(participant, jurisdiction)
            if home != jurisdiction:
                raise FileInputError(
                    path,
                    line,
                    field,
                    f"participant {participant!r} is in {home} elsewhere in the file, "
                    f"not {jurisdiction}",
                )
        count += 1
        yield obligation
    if count == 0:
        raise FileInputError(path, reader.line_num or 1, None, "no obligations after the header")


def _csv_rows(reader: Any, path: str | Path) -> Iterator[list[str]]:
    """The rows of ``reader``; a row that is not CSV raises :class:`FileInputError` naming the
    line it starts on."""
    while True:
        start = reader.line_num + 1
        try:
            row: list[str] = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise FileInputError(path, start, None, csv_problem(error)) from None
        yield row


def csv_header(reader: csv.DictReader[str], where: str = "") -> list[str]:
    """The column names of ``reader``; a header that is not CSV raises :class:`InvalidInput`
    naming line 1 (after ``where``, e.g. the file's name and a comma)."""
    try:
        return list(reader.fieldnames or [])
    except csv.Error as error:
        raise InvalidInput(f"{where}line 1: {csv_problem(error)}") from None


def csv_dict_rows(reader: csv.DictReader[str], where: str = "") -> Iterator[dict[str, str]]:
    """The rows of ``reader``; a row that is not CSV raises :class:`InvalidInput` naming the
    line it starts on (after ``where``)."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InvalidInput(f"{where}line {start}: {csv_problem(error)}") from None
        yield row


def csv_problem(error: csv.Error) -> str:
    """What a ``csv.Error`` means, in words a person who wrote the file can act on."""
    text = str(error)
    if text == "unexpected end of data":
        return "a quoted field is not closed: its quote runs to the end of the file"
    if text.startswith("field larger than field limit"):
        return f"a field is longer than {csv.field_size_limit():,} characters"
    return f"not valid CSV ({text})"


def _parse_row(
    row: list[str], positions: dict[str, int], rates: RateSet, path: str | Path, line: int
) -> Obligation:
    def cell(name: str) -> str:
        index = positions.get(name)
        return row[index].strip() if index is not None else ""

    def fail(field: str, message: str) -> FileInputError:
        return FileInputError(path, line, field, message)

    values: dict[str, Any] = {}
    for name in ("obligation_id", "debtor_id", "creditor_id"):
        text = cell(name)
        if not _IDENTIFIER.fullmatch(text):
            raise fail(name, "must be 1 to 128 characters with no spaces" if text else "is empty")
        values[name] = text
    for name in ("debtor_jurisdiction", "creditor_jurisdiction"):
        text = cell(name)
        try:
            check_jurisdiction(text, field=name)
        except InvalidInput as error:
            raise fail(name, error.message) from None
        if text not in rates.jurisdictions:
            raise fail(name, f"jurisdiction {text} has no currency in the rates file")
        values[name] = text
    if values["debtor_jurisdiction"] == values["creditor_jurisdiction"]:
        raise fail(
            "creditor_jurisdiction",
            f"debtor and creditor are both in {values['creditor_jurisdiction']}; "
            "only cross-border obligations are netted",
        )
    currency = cell("currency")
    try:
        check_currency(currency)
    except InvalidInput as error:
        raise fail("currency", error.message) from None
    if currency not in rates.rates:
        raise fail("currency", f"{currency} has no rate in the rates file")
    try:
        outstanding = parse_amount(cell("amount"), currency)
    except InvalidInput as error:
        raise fail("amount", error.message) from None
    due_text = cell("due_date")
    try:
        if not _ISO_DATE.fullmatch(due_text):
            raise ValueError
        due = date.fromisoformat(due_text)
    except ValueError:
        raise fail("due_date", f"{due_text!r} is not an ISO date such as 2026-11-20") from None
    integers: dict[str, int] = {}
    for name in ("priority", "sequence"):
        text = cell(name)
        if text == "":
            integers[name] = 0
        elif _INTEGER.fullmatch(text):
            integers[name] = int(text)
        else:
            raise fail(name, f"{text!r} is not an integer")
    return Obligation(
        obligation_id=values["obligation_id"],
        debtor_id=values["debtor_id"],
        debtor_jurisdiction=values["debtor_jurisdiction"],
        creditor_id=values["creditor_id"],
        creditor_jurisdiction=values["creditor_jurisdiction"],
        currency=currency,
        outstanding=outstanding,
        due_date=due,
        priority=integers["priority"],
        sequence=integers["sequence"],
    )


def result_document(
    result: NettingResult, *, with_rows: bool = True, with_lines: bool | None = None
) -> dict[str, Any]:
    """The ``RESULT.json`` object of DESIGN §10 (amounts as decimal strings in major units);
    with empty obligation and position arrays when the caller writes those from columns.

    ``lines`` (each line with what it drew and repaid and its balance after, in its currency)
    is there when ``with_lines`` says so (``clearing net --lines``), by default when the run had
    lines."""
    base = result.base
    jurisdiction_currency = result.rates.jurisdictions
    metrics = result.metrics
    document = {
        "digest": result.digest,
        "base": base,
        "policy": result.policy.value,
        "rates": result.rates.to_json(),
        "submitted_value": format_amount(metrics.submitted_value, base),
        "settled_value": format_amount(metrics.settled_value, base),
        "carried_value": format_amount(metrics.carried_value, base),
        "corridors": [c.to_json(base) for c in result.corridors],
        "jurisdictions": [t.to_json() for t in result.jurisdictions],
        "obligations": []
        if not with_rows
        else [
            {
                "obligation_id": s.obligation.obligation_id,
                "currency": s.obligation.currency,
                "outstanding": format_amount(s.obligation.outstanding, s.obligation.currency),
                "settled": format_amount(s.settled, s.obligation.currency),
                "remaining": format_amount(s.remaining, s.obligation.currency),
                "value": format_amount(s.value, base),
                "settled_value": format_amount(s.settled_value, base),
                "debtor_leg": _leg(
                    s.debtor_leg, jurisdiction_currency[s.obligation.debtor_jurisdiction]
                ),
                "creditor_leg": _leg(
                    s.creditor_leg, jurisdiction_currency[s.obligation.creditor_jurisdiction]
                ),
            }
            for s in result.settlements()
        ],
        "positions": [
            {
                "participant_id": p.participant_id,
                "jurisdiction": p.jurisdiction,
                "currency": p.currency,
                "pay_in": format_amount(p.pay_in, p.currency),
                "pay_out": format_amount(p.pay_out, p.currency),
                "net": format_amount(p.net, p.currency),
            }
            for p in (result.positions if with_rows else ())
        ],
        "metrics": {
            "cross_border_payments_avoided": metrics.obligations_settled,
            "cross_border_value_avoided": format_amount(metrics.settled_value, base),
            "netting_efficiency": metrics.netting_efficiency,
            "domestic_liquidity_saved": metrics.domestic_liquidity_saved,
        },
    }
    if with_lines or (with_lines is None and result.lines):
        document["lines"] = [
            {
                "id": m.line_id,
                "from": m.source,
                "to": m.target,
                "currency": m.currency,
                "drawn": format_amount(m.drawn, m.currency),
                "repaid": format_amount(m.repaid, m.currency),
                "balance": format_amount(m.balance, m.currency),
            }
            for m in result.lines
        ]
    return document


def _leg(amount: int, currency: str) -> dict[str, str]:
    return {"currency": currency, "amount": format_amount(amount, currency)}
