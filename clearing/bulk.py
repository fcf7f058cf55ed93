"""Bulk operating work for the command line: importing invoices from CSV through the use cases,
and writing an entity's payment file for a cycle. The CLI acts as the entity's operator."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from clearing import cycle_services, payments, services
from clearing.access import Principal, Role
from clearing.errors import ClearingError, InvalidInput, NotFound
from clearing.money import format_amount
from clearing.obligations import Invoice, Status
from clearing.ports import UnitOfWorkFactory
from clearing.services import MAX_BATCH, InvoiceDraft

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


@dataclass
class ImportOutcome:
    accepted: int = 0
    rejected: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)


def read_invoices(path: Path) -> list[InvoiceLine]:
    """Read an invoices CSV (``INVOICE_COLUMNS`` plus an optional ``description``)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in INVOICE_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InvalidInput(
                    f"{path}, line 1: required column {missing[0]} is missing", field=missing[0]
                )
            return [_line(path, reader.line_num, row) for row in reader]
    except OSError as error:
        raise InvalidInput(f"{path}: cannot be read ({error.strerror})") from None


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


def import_invoices(
    uows: UnitOfWorkFactory,
    entity: str,
    lines: list[InvoiceLine],
    *,
    confirm: bool = False,
    advance: Callable[[int], None] = lambda _count: None,
) -> ImportOutcome:
    """Submit the lines as the entity's operator, in batches; optionally confirm each accepted
    invoice as its importer (for loading pilot data both sides have already agreed)."""
    operator = Principal(f"cli:{entity}", Role.OPERATOR, entity)
    outcome = ImportOutcome()
    for start in range(0, len(lines), MAX_BATCH):
        batch = lines[start : start + MAX_BATCH]
        results = services.submit_invoices(uows(), operator, [item.draft for item in batch])
        for item, result in zip(batch, results, strict=True):
            if isinstance(result, ClearingError):
                outcome.failures.append((item.line, str(result)))
            elif result.status is Status.REJECTED:
                outcome.rejected += 1
            else:
                outcome.accepted += 1
                if confirm:
                    _confirm(uows, result)
        advance(len(batch))
    return outcome


def _confirm(uows: UnitOfWorkFactory, invoice: Invoice) -> None:
    importer = Principal(
        f"cli:{invoice.importer_id}", Role.TRADER, invoice.importer_entity, invoice.importer_id
    )
    services.confirm_invoice(
        uows(),
        importer,
        invoice.id,
        invoice.currency,
        format_amount(invoice.amount, invoice.currency),
    )


def payment_file(uows: UnitOfWorkFactory, cycle_id: str, entity: str, file_format: str) -> str:
    """The entity's payment file for a cycle: ``pain001`` (pay-outs and refunds) or ``csv``
    (every instruction, pay-ins expected included)."""
    operator = Principal(f"cli:{entity}", Role.OPERATOR, entity)
    instructions = cycle_services.payment_instructions(uows(), operator, cycle_id, entity)
    if file_format == "csv":
        return payments.instructions_csv(instructions)
    if file_format != "pain001":
        raise InvalidInput(
            f"{file_format!r} is not a payment file format; use pain001 or csv", field="format"
        )
    with uows() as uow:
        found = uow.entities.get(entity)
    if found is None:
        raise NotFound(f"no entity {entity}", field="entity")
    transfers = [
        payments.Transfer(
            i.participant_id, i.name, i.bank_account, i.currency, i.amount, i.reference, i.direction
        )
        for i in instructions
        if i.direction in ("pay_out", "refund")
    ]
    now = datetime.now(UTC)
    document = payments.pain_001(
        message_id=f"{cycle_id}-{entity}",
        debtor=payments.Debtor(entity, found.name, f"{entity}-SETTLEMENT"),
        transfers=transfers,
        created_at=now,
        execution_date=now.date().isoformat(),
    )
    return document.decode("utf-8")
