"""Invoices: submission by exporters, confirmation by importers, and their side exits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from clearing.domain.access import Principal
from clearing.domain.errors import ClearingError, InvalidInput
from clearing.domain.invoices import Invoice, Status
from clearing.use_cases import invoices
from clearing.use_cases.idempotency import answer_once
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.validation import MAX_PAGE
from service.dependencies import CurrentPrincipal, Post, StrictQuery, Uow
from service.errors import error_body, status_of, validation_error_body
from service.idempotency import request_hash
from service.schemas import (
    ERROR_RESPONSES,
    BatchOut,
    ConfirmIn,
    EventOut,
    InvoiceBatchIn,
    InvoiceIn,
    InvoiceOut,
    Page,
    ReasonIn,
    ReleaseIn,
)
from service.serializers import event_json, invoice_json
from service.strict_requests import StrictRoute

router = APIRouter(
    prefix="/v1/invoices",
    tags=["invoices"],
    responses=ERROR_RESPONSES,
    route_class=StrictRoute,
    dependencies=[StrictQuery],
)


@router.post("", status_code=201, response_model=InvoiceOut)
def submit_invoice(body: InvoiceIn, post: Post) -> JSONResponse:
    """Submit one invoice as its exporter. A compliance rejection is recorded and answered at
    once with status ``rejected`` and the rule and reason."""
    return post.respond(
        body,
        lambda uow: invoices.submit_invoice(uow, post.principal, body.to_draft()),
        invoice_json,
        201,
    )


class _BulkJSONResponse(JSONResponse):
    """The bytes of :class:`JSONResponse` (compact, UTF-8, no NaN), encoded by orjson: an
    answer to a batch holds up to a thousand invoices."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@router.post("/batch", status_code=200, response_model=BatchOut)
def submit_batch(body: InvoiceBatchIn, post: Post) -> JSONResponse:
    """Submit up to 1,000 invoices; each result carries the status that item alone would get."""

    def run(uow: UnitOfWork) -> dict[str, Any]:
        results: list[dict[str, Any]] = [{} for _ in body.invoices]
        drafts, places = [], []
        for place, item in enumerate(body.invoices):
            try:
                drafts.append(InvoiceIn.model_validate(item).to_draft())
                places.append(place)
            except ValidationError as error:
                results[place] = {"status": 422, "error": validation_error_body(error.errors())}
        outcomes = invoices.submit_invoices(uow, post.principal, drafts)
        for place, outcome in zip(places, outcomes, strict=True):
            if isinstance(outcome, ClearingError):
                results[place] = {"status": status_of(outcome), "error": error_body(outcome)}
            else:
                results[place] = {"status": 201, "invoice": invoice_json(outcome)}
        return {"results": results}

    # As ``post.respond``, but the bulk path fingerprints the request (a thousand items as
    # canonical JSON) only when an Idempotency-Key asks for it.
    fingerprint = request_hash(post.request, body) if post.key is not None else ""
    answer = answer_once(post.uows, post.principal, post.key, fingerprint, run, lambda a: a)
    return _BulkJSONResponse(answer)


@router.post("/release", status_code=200, response_model=BatchOut)
def release_invoices(body: ReleaseIn, post: Post) -> JSONResponse:
    """An operator sends up to 1,000 invoices to conventional settlement at once (from the
    stale queue, say), with one reason; each result carries the status that invoice alone
    would get."""

    def answer(outcomes: list[Invoice | ClearingError]) -> dict[str, Any]:
        return {
            "results": [
                {"status": status_of(o), "error": error_body(o)}
                if isinstance(o, ClearingError)
                else {"status": 200, "invoice": invoice_json(o)}
                for o in outcomes
            ]
        }

    return post.respond(
        body,
        lambda uow: invoices.release_invoices(uow, post.principal, body.invoice_ids, body.reason),
        answer,
    )


@router.get("", response_model=Page[InvoiceOut])
def list_invoices(
    principal: CurrentPrincipal,
    uow: Uow,
    status: Status | None = None,
    cycle: str | None = None,
    stale: Annotated[
        Literal["true", "false"] | None,
        Query(
            description="`true`: only the stale queue (flagged by the ageing rules); "
            "`false`: only the others."
        ),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Invoices the caller may see, oldest first; filter by ``status``, ``cycle`` and
    ``stale``. Each carries ``stale``, flagged by the ageing rules as of now."""
    if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise InvalidInput("is not a cursor from a previous page", field="cursor")
    found = invoices.list_invoices(
        uow,
        principal,
        status=status,
        cycle_id=cycle,
        stale=None if stale is None else stale == "true",
        after_sequence=int(cursor) if cursor else None,
        limit=limit,
    )
    return {
        "items": [invoice_json(i) for i in found],
        "next_cursor": str(found[-1].sequence) if len(found) == limit else None,
    }


@router.get("/{invoice_id}", response_model=InvoiceOut)
def get_invoice(invoice_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    return invoice_json(invoices.get_invoice(uow, principal, invoice_id))


@router.get("/{invoice_id}/history", response_model=Page[EventOut])
def invoice_history(invoice_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """The invoice's status history, oldest first."""
    events = invoices.invoice_history(uow, principal, invoice_id)
    return {"items": [event_json(e) for e in events], "next_cursor": None}


@router.post("/{invoice_id}/confirm", response_model=InvoiceOut)
def confirm_invoice(invoice_id: str, body: ConfirmIn, post: Post) -> JSONResponse:
    """The importer confirms, echoing currency and amount; a mismatch makes it ``disputed``."""
    return post.respond(
        body,
        lambda uow: invoices.confirm_invoice(
            uow, post.principal, invoice_id, body.currency, body.amount
        ),
        invoice_json,
    )


#: The side exits, each taking a reason: ``use_case(uow, principal, invoice_id, reason)``.
SideExit = Callable[[UnitOfWork, Principal, str, str], Invoice]


def _side_exit(use_case: SideExit) -> Callable[[str, ReasonIn, Post], JSONResponse]:
    def endpoint(invoice_id: str, body: ReasonIn, post: Post) -> JSONResponse:
        return post.respond(
            body,
            lambda uow: use_case(uow, post.principal, invoice_id, body.reason),
            invoice_json,
        )

    return endpoint


for _action, _use_case, _summary in (
    ("dispute", invoices.dispute_invoice, "The importer disputes the invoice, with a reason."),
    (
        "cancel",
        invoices.cancel_invoice,
        "The exporter cancels the invoice before a cycle takes it.",
    ),
    (
        "release",
        invoices.release_invoice,
        "An operator sends the invoice to conventional settlement outside the engine.",
    ),
):
    router.add_api_route(
        f"/{{invoice_id}}/{_action}",
        _side_exit(_use_case),
        methods=["POST"],
        response_model=InvoiceOut,
        summary=_summary,
        name=f"{_action}_invoice",
    )
