"""Netting cycles: open, rates, cut-off, approval, pay-ins, defaults, and what they settle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from clearing.domain.errors import InvalidInput
from clearing.entrypoints import bootstrap
from clearing.use_cases import cycles, settlement
from clearing.use_cases.validation import MAX_CYCLE_NUMBER, MAX_PAGE
from service.dependencies import CurrentPrincipal, Post, StrictQuery, Uow
from service.schemas import (
    ERROR_RESPONSES,
    ApproveIn,
    CycleOut,
    DefaultIn,
    OpenCycleIn,
    Page,
    PayInIn,
    PayInOut,
    PositionOut,
    RatesIn,
    ReasonIn,
    RefundOut,
    SettlementOut,
    StatementOut,
)
from service.serializers import (
    cycle_json,
    pay_in_json,
    position_json,
    refund_json,
    settlement_json,
)
from service.strict_requests import StrictRoute

router = APIRouter(
    prefix="/v1/cycles",
    tags=["cycles"],
    responses=ERROR_RESPONSES,
    route_class=StrictRoute,
    dependencies=[StrictQuery],
)


@router.post("", status_code=201, response_model=CycleOut)
def open_cycle(body: OpenCycleIn, post: Post) -> JSONResponse:
    """Open a cycle (409 while another is between open and settled)."""
    return post.respond(
        body, lambda uow: cycles.open_cycle(uow, post.principal, body.policy), cycle_json, 201
    )


@router.get("", response_model=Page[CycleOut])
def list_cycles(
    principal: CurrentPrincipal,
    uow: Uow,
    cursor: Annotated[int | None, Query(ge=0, le=MAX_CYCLE_NUMBER)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """Cycles, newest first."""
    found = cycles.list_cycles(uow, principal, cursor, limit)
    return {
        "items": [cycle_json(c) for c in found],
        "next_cursor": str(found[-1].number) if len(found) == limit else None,
    }


@router.get("/{cycle_id}", response_model=CycleOut)
def get_cycle(cycle_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    return cycle_json(cycles.get_cycle(uow, principal, cycle_id))


@router.put("/{cycle_id}/rates", response_model=CycleOut)
def put_rates(
    cycle_id: str, body: RatesIn, principal: CurrentPrincipal, uow: Uow
) -> dict[str, Any]:
    """The cycle's rate set, in the RATES.json shape; the base has rate 1."""
    return cycle_json(cycles.set_rates(uow, principal, cycle_id, body.model_dump()))


@router.post("/{cycle_id}/close", response_model=CycleOut)
def close_cycle(cycle_id: str, post: Post) -> JSONResponse:
    """Cut-off: re-screen, snapshot, net and propose."""
    return post.respond(
        None, lambda uow: cycles.close_cycle(uow, post.principal, cycle_id), cycle_json
    )


@router.post("/{cycle_id}/approve", response_model=CycleOut)
def approve_cycle(cycle_id: str, body: ApproveIn, post: Post) -> JSONResponse:
    """Approve for the caller's entity, naming the digest reviewed (409 if stale)."""
    return post.respond(
        body,
        lambda uow: cycles.approve_cycle(uow, post.principal, cycle_id, body.digest),
        cycle_json,
    )


@router.post("/{cycle_id}/reject", response_model=CycleOut)
def reject_cycle(cycle_id: str, body: ReasonIn, post: Post) -> JSONResponse:
    """Reject the proposal before any pay-in; its obligations return to the pool."""
    return post.respond(
        body,
        lambda uow: cycles.reject_cycle(uow, post.principal, cycle_id, body.reason),
        cycle_json,
    )


@router.post("/{cycle_id}/pay-ins", status_code=201, response_model=CycleOut)
def record_pay_in(cycle_id: str, body: PayInIn, post: Post) -> JSONResponse:
    """Record a received domestic payment; the last one settles the cycle."""
    return post.respond(
        body,
        lambda uow: settlement.record_pay_in(
            uow,
            post.principal,
            cycle_id,
            body.participant_id,
            body.currency,
            body.amount,
            body.bank_reference,
            body.value_date,
        ),
        cycle_json,
        201,
    )


@router.get("/{cycle_id}/pay-ins", response_model=Page[PayInOut])
def pay_ins(cycle_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """The pay-ins recorded for the cycle, in the order they were recorded, with their bank
    reference, value date and who recorded them when: an operator's entity's, or all for an
    auditor (one page)."""
    found = settlement.cycle_pay_ins(uow, principal, cycle_id)
    return {"items": [pay_in_json(p) for p in found], "next_cursor": None}


@router.post("/{cycle_id}/defaults", status_code=201, response_model=CycleOut)
def declare_default(cycle_id: str, body: DefaultIn, post: Post) -> JSONResponse:
    """Declare a debtor in default: the answer is the re-netted successor cycle."""
    return post.respond(
        body,
        lambda uow: settlement.declare_default(
            uow, post.principal, cycle_id, body.participant_id, body.reason
        ),
        cycle_json,
        201,
    )


@router.get("/{cycle_id}/positions", response_model=Page[PositionOut])
def positions(cycle_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """Pay-in / pay-out instructions per participant, with what has been received."""
    views = settlement.cycle_positions(uow, principal, cycle_id)
    return {"items": [position_json(v) for v in views], "next_cursor": None}


@router.get("/{cycle_id}/settlements", response_model=Page[SettlementOut])
def settlements(
    cycle_id: str,
    principal: CurrentPrincipal,
    uow: Uow,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Legs per obligation, paged by obligation id."""
    cycle = cycles.visible_cycle(uow, principal, cycle_id)
    rows = settlement.cycle_settlements(uow, principal, cycle_id, cursor, limit)
    return {
        "items": [settlement_json(s, cycle) for s in rows],
        "next_cursor": rows[-1].obligation.obligation_id if len(rows) == limit else None,
    }


@router.get("/{cycle_id}/refunds", response_model=Page[RefundOut])
def refunds(cycle_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """Money to return to participants after a default."""
    found = settlement.cycle_refunds(uow, principal, cycle_id)
    return {"items": [refund_json(r) for r in found], "next_cursor": None}


@router.get("/{cycle_id}/statements/{participant_id}", response_model=StatementOut)
def statement(
    cycle_id: str, participant_id: str, principal: CurrentPrincipal, uow: Uow
) -> dict[str, Any]:
    """What the cycle discharged for one participant, and its payment instruction."""
    found = settlement.participant_statement(uow, principal, cycle_id, participant_id)
    return {
        "cycle_id": found.cycle.id,
        "cycle_status": found.cycle.status.value,
        "participant_id": found.participant_id,
        "position": position_json(found.view) if found.view else None,
        "obligations": [settlement_json(s, found.cycle) for s in found.settlements],
        "refunds": [refund_json(r) for r in found.refunds],
    }


@router.get(
    "/{cycle_id}/instructions.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def instructions_csv(
    cycle_id: str, principal: CurrentPrincipal, uow: Uow, entity: str | None = None
) -> Response:
    """Payment instructions for an entity's bank, as CSV."""
    rows = settlement.payment_instructions(uow, principal, cycle_id, entity)
    return Response(
        bootstrap.instructions_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{cycle_id}.csv"'},
    )


@router.get(
    "/{cycle_id}/payments",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/xml": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            }
        },
        204: {"description": "Nothing to pay: no file."},
    },
)
def payment_file(
    cycle_id: str,
    principal: CurrentPrincipal,
    uow: Uow,
    entity: str | None = None,
    file_format: Annotated[str, Query(alias="format")] = "pain001",
) -> Response:
    """The credit transfers the entity's bank makes for a settled cycle (its pay-outs and the
    refunds due), as ISO 20022 pain.001.001.09 or CSV: 409 for a cycle not settled, 204 when
    there is nothing to pay. An operator's own entity; an auditor names one."""
    bootstrap.check_payment_format(file_format)
    payer = entity or principal.scope.entity
    if payer is None:
        raise InvalidInput("name the entity whose payments to write", field="entity")
    order = settlement.payment_order(uow, principal, cycle_id, payer)
    if not order.transfers:
        return Response(status_code=204)
    suffix = "xml" if file_format == "pain001" else "csv"
    return Response(
        bootstrap.payment_file(order, file_format),
        media_type=bootstrap.PAYMENT_FORMATS[file_format],
        headers={
            "Content-Disposition": f'attachment; filename="{cycle_id}-{payer}-payments.{suffix}"'
        },
    )
