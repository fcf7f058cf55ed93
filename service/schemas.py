"""Request and answer shapes (pydantic v2), kept apart from the domain objects.

Requests forbid unknown fields, so clients cannot set server-owned ones (ids, status,
outstanding, timestamps). Amounts are decimal strings; a JSON number is refused.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr

from clearing.money import format_amount
from clearing.obligations import Invoice
from clearing.parties import Participant
from clearing.services import MAX_BATCH, InvoiceDraft

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    """Only a ``YYYY-MM-DD`` string is a date here: not a number, not a timestamp."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date string in the format YYYY-MM-DD")
    return value


#: A calendar date given as ``YYYY-MM-DD`` (validated the same way in JSON and Python mode).
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4000)


class ParticipantIn(Strict):
    name: StrictStr = Field(min_length=1, max_length=200, examples=["Heihe Soybean Trading Co."])
    entity: StrictStr | None = Field(
        default=None, description="Only for admins: the entity to register with.", examples=["CN"]
    )
    tax_id: StrictStr | None = Field(default=None, max_length=64)
    bank_account: StrictStr | None = Field(default=None, max_length=64)


class ParticipantOut(BaseModel):
    id: str
    entity: str
    name: str
    tax_id: str | None
    bank_account: str | None


class InvoiceIn(Strict):
    invoice_number: StrictStr = Field(min_length=1, max_length=64, examples=["HH-2026-0042"])
    importer_id: StrictStr = Field(min_length=1, max_length=64, examples=["RU-4F2A9C01D2"])
    currency: StrictStr = Field(examples=["CNY"])
    amount: StrictStr = Field(description="Decimal string in major units.", examples=["125000.50"])
    issue_date: IsoDate = Field(examples=["2026-11-02"])
    due_date: IsoDate = Field(examples=["2026-12-31"])
    hs_code: StrictStr = Field(description="HS code, 2 to 10 digits.", examples=["120190"])
    description: StrictStr = Field(default="", max_length=2000, examples=["Soybeans, 400 t"])
    exporter_id: StrictStr | None = Field(
        default=None, description="Operators' batch items only: the exporter of their entity."
    )

    def to_draft(self) -> InvoiceDraft:
        return InvoiceDraft(
            invoice_number=self.invoice_number,
            importer_id=self.importer_id,
            currency=self.currency,
            amount=self.amount,
            issue_date=self.issue_date,
            due_date=self.due_date,
            hs_code=self.hs_code,
            description=self.description,
            exporter_id=self.exporter_id,
        )


class InvoiceBatchIn(Strict):
    invoices: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=(
            "Invoices shaped as for `POST /v1/invoices` (`InvoiceIn`); an operator's name "
            "`exporter_id`. Each item is validated on its own: an invalid one gets its own 422."
        ),
    )


class ConfirmIn(Strict):
    currency: StrictStr = Field(examples=["CNY"])
    amount: StrictStr = Field(examples=["125000.50"])


class ReasonIn(Strict):
    reason: StrictStr = Field(min_length=1, max_length=2000, examples=["goods not delivered"])


class DisputeOut(BaseModel):
    fields: dict[str, dict[str, str]]
    reason: str


class RejectionOut(BaseModel):
    rule: str
    reason: str


class InvoiceOut(BaseModel):
    id: str
    invoice_number: str
    exporter_id: str
    exporter_entity: str
    importer_id: str
    importer_entity: str
    currency: str
    amount: str
    outstanding: str
    issue_date: date
    due_date: date
    hs_code: str
    description: str
    status: str
    priority: int
    sequence: int
    cycle_id: str | None
    dispute: DisputeOut | None = None
    rejection: RejectionOut | None = None


class BatchItemOut(BaseModel):
    status: int
    invoice: InvoiceOut | None = None
    error: dict[str, str] | None = None


class BatchOut(BaseModel):
    results: list[BatchItemOut]


class Page(BaseModel):
    items: list[Any]
    next_cursor: str | None


class ErrorOut(BaseModel):
    code: str
    message: str
    field: str | None = None


def participant_json(participant: Participant) -> dict[str, Any]:
    return {
        "id": participant.id,
        "entity": participant.entity,
        "name": participant.name,
        "tax_id": participant.tax_id,
        "bank_account": participant.bank_account,
    }


def invoice_json(invoice: Invoice) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": invoice.id,
        "invoice_number": invoice.invoice_number,
        "exporter_id": invoice.exporter_id,
        "exporter_entity": invoice.exporter_entity,
        "importer_id": invoice.importer_id,
        "importer_entity": invoice.importer_entity,
        "currency": invoice.currency,
        "amount": format_amount(invoice.amount, invoice.currency),
        "outstanding": format_amount(invoice.outstanding, invoice.currency),
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "hs_code": invoice.hs_code,
        "description": invoice.description,
        "status": invoice.status.value,
        "priority": invoice.priority,
        "sequence": invoice.sequence,
        "cycle_id": invoice.cycle_id,
    }
    # Always present (null when not relevant), as in every answer shaped by ``InvoiceOut``.
    body["dispute"] = (
        {"fields": invoice.dispute.fields, "reason": invoice.dispute.reason}
        if invoice.dispute is not None
        else None
    )
    body["rejection"] = (
        {"rule": invoice.rejection.rule, "reason": invoice.rejection.reason}
        if invoice.rejection is not None
        else None
    )
    return body


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No valid API key"},
    403: {"model": ErrorOut, "description": "The key's role may not do this"},
    404: {"model": ErrorOut, "description": "Not found, or not visible to the caller"},
    409: {"model": ErrorOut, "description": "Conflict: duplicate, wrong state, stale digest"},
    422: {"model": ErrorOut, "description": "Invalid input; `field` names the culprit"},
}
