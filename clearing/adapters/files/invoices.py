"""Invoices as CSV for bulk submission (``clearing import``): one draft per line, each named by
its line so that a refusal can point at it."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from clearing.adapters.files.netting import csv_dict_rows, csv_header
from clearing.domain.errors import InvalidInput
from clearing.domain.invoices import InvoiceDraft

INVOICE_COLUMNS = (
    "exporter_id",
    "invoice_number",
    "importer_id",
    "currency",
    "amount",
    "issue_date",
    "due_date",
    "hs_code",
)


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    line: int
    draft: InvoiceDraft


def read_invoices(path: Path) -> list[InvoiceLine]:
    """Read an invoices CSV (``INVOICE_COLUMNS`` plus an optional ``description``)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, strict=True)
            missing = [c for c in INVOICE_COLUMNS if c not in csv_header(reader, f"{path}, ")]
            if missing:
                raise InvalidInput(
                    f"{path}, line 1: required column {missing[0]} is missing", field=missing[0]
                )
            return [_line(path, reader.line_num, row) for row in csv_dict_rows(reader, f"{path}, ")]
    except OSError as error:
        raise InvalidInput(f"{path}: cannot be read ({error.strerror})") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: is not UTF-8 text") from None


def _line(path: Path, number: int, row: dict[str, str]) -> InvoiceLine:
    dates: dict[str, date] = {}
    for name in ("issue_date", "due_date"):
        try:
            dates[name] = date.fromisoformat(row[name].strip())
        except ValueError:
            raise InvalidInput(
                f"{path}, line {number}: {name}: {row[name]!r} is not an ISO date", field=name
            ) from None
    return InvoiceLine(
        number,
        InvoiceDraft(
            invoice_number=row["invoice_number"].strip(),
            importer_id=row["importer_id"].strip(),
            currency=row["currency"].strip(),
            amount=row["amount"].strip(),
            issue_date=dates["issue_date"],
            due_date=dates["due_date"],
            hs_code=row["hs_code"].strip(),
            description=(row.get("description") or "").strip(),
            exporter_id=row["exporter_id"].strip(),
        ),
    )
