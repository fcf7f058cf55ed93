"""Invoices: submission by exporters, confirmation by importers, and their side exits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from clearing import services
from clearing.errors import ClearingError, InvalidInput
from clearing.ports import UnitOfWork
from service.auth import CurrentPrincipal, IdempotencyKey, Uow, Uows
from service.errors import error_body, status_of, validation_error_body
from service.idempotency import respond_once
from service.schemas import (
    ERROR_RESPONSES,
    BatchOut,
    ConfirmIn,
    InvoiceBatchIn,
    InvoiceIn,
    InvoiceOut,
    Page,
    ReasonIn,
    invoice_json,
)

router = APIRouter(prefix="/v1/invoices", tags=["invoices"], responses=ERROR_RESPONSES)


@router.post("", status_code=201, response_model=InvoiceOut)
def submit_invoice(
    body: InvoiceIn,
    request: Request,
    principal: CurrentPrincipal,
    uows: Uows,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Submit one invoice as its exporter. A compliance rejection is recorded and answered at
    once with status ``rejected`` and the rule and reason."""

    def run(uow: UnitOfWork) -> tuple[int, Any]:
        return 201, invoice_json(services.submit_invoice(uow, principal, body.to_draft()))

    return respond_once(request, uows, principal, idempotency_key, body, run)


@router.post("/batch", status_code=200, response_model=BatchOut)
def submit_batch(
    body: InvoiceBatchIn,
    request: Request,
    principal: CurrentPrincipal,
    uows: Uows,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Submit up to 1,000 invoices; each result carries the status that item alone would get."""

    def run(uow: UnitOfWork) -> tuple[int, Any]:
        results: list[dict[str, Any]] = [{} for _ in body.invoices]
        drafts, places = [], []
        for place, item in enumerate(body.invoices):
            try:
                drafts.append(InvoiceIn.model_validate(item).to_draft())
                places.append(place)
            except ValidationError as error:
                results[place] = {"status": 422, "error": validation_error_body(error.errors())}
        outcomes = services.submit_invoices(uow, principal, drafts)
        for place, outcome in zip(places, outcomes, strict=True):
            if isinstance(outcome, ClearingError):
                results[place] = {"status": status_of(outcome), "error": error_body(outcome)}
            else:
                results[place] = {"status": 201, "invoice": invoice_json(outcome)}
        return 200, {"results": results}

    return respond_once(request, uows, principal, idempotency_key, body, run)


@router.get("", response_model=Page)
def list_invoices(
    principal: CurrentPrincipal,
    uow: Uow,
    status: str | None = None,
    cycle: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=services.MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Invoices the caller may see, oldest first; filter by ``status`` and ``cycle``."""
    if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise InvalidInput("is not a cursor from a previous page", field="cursor")
    found = services.list_invoices(
        uow,
        principal,
        status=status,
        cycle_id=cycle,
        after_sequence=int(cursor) if cursor else None,
        limit=limit,
    )
    return {
        "items": [invoice_json(i) for i in found],
        "next_cursor": str(found[-1].sequence) if len(found) == limit else None,
    }


@router.get("/{invoice_id}", response_model=InvoiceOut)
def get_invoice(invoice_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    return invoice_json(services.get_invoice(uow, principal, invoice_id))


@router.get("/{invoice_id}/history")
def invoice_history(invoice_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """The invoice's status history, oldest first."""
    events = services.invoice_history(uow, principal, invoice_id)
    return {
        "items": [
            {
                "from": e.from_status,
                "to": e.to_status,
                "actor": e.actor,
                "reason": e.reason,
                "details": e.details,
                "at": e.at,
            }
            for e in events
        ],
        "next_cursor": None,
    }


@router.post("/{invoice_id}/confirm", response_model=InvoiceOut)
def confirm_invoice(
    invoice_id: str,
    body: ConfirmIn,
    request: Request,
    principal: CurrentPrincipal,
    uows: Uows,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The importer confirms, echoing currency and amount; a mismatch makes it ``disputed``."""

    def run(uow: UnitOfWork) -> tuple[int, Any]:
        invoice = services.confirm_invoice(uow, principal, invoice_id, body.currency, body.amount)
        return 200, invoice_json(invoice)

    return respond_once(request, uows, principal, idempotency_key, body, run)


def _transition(action: str):  # type: ignore[no-untyped-def]
    use_case = {
        "dispute": services.dispute_invoice,
        "cancel": services.cancel_invoice,
        "release": services.release_invoice,
    }[action]

    def endpoint(
        invoice_id: str,
        body: ReasonIn,
        request: Request,
        principal: CurrentPrincipal,
        uows: Uows,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        def run(uow: UnitOfWork) -> tuple[int, Any]:
            return 200, invoice_json(use_case(uow, principal, invoice_id, body.reason))

        return respond_once(request, uows, principal, idempotency_key, body, run)

    return endpoint


for _action, _summary in (
    ("dispute", "The importer disputes the invoice, with a reason."),
    ("cancel", "The exporter cancels the invoice before a cycle takes it."),
    ("release", "An operator sends the invoice to conventional settlement outside the engine."),
):
    router.add_api_route(
        f"/{{invoice_id}}/{_action}",
        _transition(_action),
        methods=["POST"],
        response_model=InvoiceOut,
        summary=_summary,
        name=f"{_action}_invoice",
    )
