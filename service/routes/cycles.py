"""Netting cycles: open, rates, cut-off, approval, pay-ins, defaults, and what they settle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StrictStr

from clearing import cycle_services, payments
from clearing.cycles import Cycle, Refund
from clearing.money import format_amount
from clearing.netting import Settlement
from clearing.ports import UnitOfWork
from clearing.services import MAX_PAGE
from service.auth import CurrentPrincipal, IdempotencyKey, Uow, Uows
from service.idempotency import respond_once
from service.schemas import ERROR_RESPONSES, ReasonIn, Strict

router = APIRouter(prefix="/v1/cycles", tags=["cycles"], responses=ERROR_RESPONSES)


class OpenCycleIn(Strict):
    policy: StrictStr = Field(default="fifo", examples=["fifo"])


class RatesIn(Strict):
    base: StrictStr = Field(examples=["CNY"])
    jurisdictions: dict[str, StrictStr] = Field(examples=[{"CN": "CNY", "RU": "RUB"}])
    rates: dict[str, StrictStr] = Field(examples=[{"CNY": "1", "RUB": "0.0781", "USD": "7.10"}])
    source: StrictStr = Field(default="", examples=["PBoC central parity"])
    as_of: StrictStr = Field(default="", examples=["2026-11-20T10:00:00Z"])


class ApproveIn(Strict):
    digest: StrictStr = Field(min_length=64, max_length=64)


class PayInIn(Strict):
    participant_id: StrictStr
    currency: StrictStr = Field(examples=["RUB"])
    amount: StrictStr = Field(examples=["150000.00"])
    bank_reference: StrictStr = Field(min_length=1, max_length=140, examples=["SBER-2026-11-7781"])


class DefaultIn(Strict):
    participant_id: StrictStr
    reason: StrictStr = Field(min_length=1, max_length=2000)


class CycleOut(BaseModel):
    id: str
    number: int
    status: str
    policy: str
    digest: str | None
    base: str | None
    rates: dict[str, Any] | None
    corridors: list[dict[str, Any]]
    jurisdictions: list[dict[str, Any]]
    metrics: dict[str, Any] | None
    approvals: list[dict[str, Any]]
    required_approvals: list[str]
    superseded_by: str | None
    predecessor_id: str | None


def cycle_json(cycle: Cycle) -> dict[str, Any]:
    base = cycle.rates.base if cycle.rates else None
    summary = cycle.summary
    body: dict[str, Any] = {
        "id": cycle.id,
        "number": cycle.number,
        "status": cycle.status.value,
        "policy": cycle.policy.value,
        "digest": cycle.digest,
        "base": base,
        "rates": cycle.rates.to_json() if cycle.rates else None,
        "corridors": [],
        "jurisdictions": [],
        "metrics": None,
        "approvals": [
            {"entity": a.entity, "digest": a.digest, "approved_at": a.approved_at.isoformat()}
            for a in cycle.approvals
        ],
        "required_approvals": list(cycle.required_approvals),
        "missing_approvals": list(cycle.missing_approvals),
        "superseded_by": cycle.superseded_by,
        "predecessor_id": cycle.predecessor_id,
        "defaulted": list(cycle.defaulted),
        "note": cycle.note,
        "opened_at": cycle.opened_at.isoformat(),
        "closed_at": cycle.closed_at.isoformat() if cycle.closed_at else None,
        "settled_at": cycle.settled_at.isoformat() if cycle.settled_at else None,
    }
    if summary is not None and base is not None:
        body["corridors"] = [
            {
                "from": a,
                "to": b,
                "submitted": format_amount(s, base),
                "settled": format_amount(t, base),
                "carried": format_amount(s - t, base),
            }
            for a, b, s, t in summary.corridors
        ]
        body["jurisdictions"] = [
            {
                "jurisdiction": j,
                "currency": c,
                "pay_in": format_amount(i, c),
                "pay_out": format_amount(o, c),
            }
            for j, c, i, o in summary.totals
        ]
        body["metrics"] = {
            "submitted_value": format_amount(summary.submitted_value, base),
            "settled_value": format_amount(summary.settled_value, base),
            "carried_value": format_amount(summary.submitted_value - summary.settled_value, base),
            "obligations": summary.obligations,
            "cross_border_payments_avoided": summary.obligations_settled,
            "cross_border_value_avoided": format_amount(summary.settled_value, base),
            "netting_efficiency": summary.netting_efficiency,
            "domestic_liquidity_saved": summary.domestic_liquidity_saved,
        }
    return body


def position_json(view: cycle_services.PositionView) -> dict[str, Any]:
    p = view.position
    return {
        "participant_id": p.participant_id,
        "entity": p.jurisdiction,
        "currency": p.currency,
        "pay_in": format_amount(p.pay_in, p.currency),
        "pay_out": format_amount(p.pay_out, p.currency),
        "net": format_amount(p.net, p.currency),
        "due": format_amount(view.due, p.currency),
        "received": format_amount(view.received, p.currency),
        "refunded": format_amount(view.refunded, p.currency),
        "outstanding_pay_in": format_amount(
            max(view.due - view.received + view.refunded, 0), p.currency
        ),
    }


def settlement_json(s: Settlement, cycle: Cycle) -> dict[str, Any]:
    o = s.obligation
    jurisdictions = cycle.rates.jurisdictions if cycle.rates else {}
    base = cycle.rates.base if cycle.rates else o.currency
    debtor_currency = jurisdictions.get(o.debtor_jurisdiction, o.currency)
    creditor_currency = jurisdictions.get(o.creditor_jurisdiction, o.currency)
    return {
        "obligation_id": o.obligation_id,
        "debtor_id": o.debtor_id,
        "debtor_entity": o.debtor_jurisdiction,
        "creditor_id": o.creditor_id,
        "creditor_entity": o.creditor_jurisdiction,
        "currency": o.currency,
        "outstanding": format_amount(o.outstanding, o.currency),
        "settled": format_amount(s.settled, o.currency),
        "remaining": format_amount(s.remaining, o.currency),
        "value": format_amount(s.value, base),
        "settled_value": format_amount(s.settled_value, base),
        "debtor_leg": {
            "currency": debtor_currency,
            "amount": format_amount(s.debtor_leg, debtor_currency),
        },
        "creditor_leg": {
            "currency": creditor_currency,
            "amount": format_amount(s.creditor_leg, creditor_currency),
        },
    }


def refund_json(refund: Refund) -> dict[str, Any]:
    return {
        "participant_id": refund.participant_id,
        "entity": refund.entity,
        "currency": refund.currency,
        "amount": format_amount(refund.amount, refund.currency),
        "reason": refund.reason,
    }


def _post(
    request: Request,
    uows: Uows,
    principal: CurrentPrincipal,
    key: str | None,
    body: BaseModel | None,
    action: Any,
    status: int = 200,
) -> JSONResponse:
    def run(uow: UnitOfWork) -> tuple[int, Any]:
        return status, cycle_json(action(uow))

    return respond_once(request, uows, principal, key, body, run)


@router.post("", status_code=201, response_model=CycleOut)
def open_cycle(
    body: OpenCycleIn,
    request: Request,
    principal: CurrentPrincipal,
    uows: Uows,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Open a cycle (409 while another is between open and settled)."""
    return _post(
        request,
        uows,
        principal,
        idempotency_key,
        body,
        lambda uow: cycle_services.open_cycle(uow, principal, body.policy),
        201,
    )


@router.get("")
def list_cycles(
    principal: CurrentPrincipal,
    uow: Uow,
    cursor: int | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """Cycles, newest first."""
    found = cycle_services.list_cycles(uow, principal, cursor, limit)
    return {
        "items": [cycle_json(c) for c in found],
        "next_cursor": str(found[-1].number) if len(found) == limit else None,
    }


@router.get("/{cycle_id}", response_model=CycleOut)
def get_cycle(cycle_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    return cycle_json(cycle_services.get_cycle(uow, principal, cycle_id))


@router.put("/{cycle_id}/rates", response_model=CycleOut)
def put_rates(
    cycle_id: str, body: RatesIn, principal: CurrentPrincipal, uow: Uow
) -> dict[str, Any]:
    """The cycle's rate set, in the RATES.json shape; the base has rate 1."""
    document = body.model_dump()
    return cycle_json(cycle_services.set_rates(uow, principal, cycle_id, document))


@router.post("/{cycle_id}/close", response_model=CycleOut)
def close_cycle(
    cycle_id: str,
    request: Request,
    principal: CurrentPrincipal,
    uows: Uows,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Cut-off: re-screen, snapshot, net and propose."""
    return _post(
        request,
        uows,
        principal,
        idempotency_key,
        None,
        lambda uow: cycle_services.close_cycle(uow, principal, cycle_id),
    )


@router.post("/{cycle_id}/approve", response_model=CycleOut)
def approve_cycle(
    cycle_id: str,
    body: ApproveIn,
    request: Request,
    principal: CurrentPrincipal,
    uows: Uows,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Approve for the caller's entity, naming the digest reviewed (409 if stale)."""
    return _post(
        request,
        uows,
        principal,
        idempotency_key,
        body,
        lambda uow: cycle_services.approve_cycle(uow, principal, cycle_id, body.digest),
    )


@router.post("/{cycle_id}/reject", response_model=CycleOut)
def reject_cycle(
    cycle_id: str,
    body: ReasonIn,
    request: Request,
    principal: CurrentPrincipal,
    uows: Uows,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Reject the proposal before any pay-in; its obligations return to the pool."""
    return _post(
        request,
        uows,
        principal,
        idempotency_key,
        body,
        lambda uow: cycle_services.reject_cycle(uow, principal, cycle_id, body.reason),
    )


@router.post("/{cycle_id}/pay-ins", status_code=201, response_model=CycleOut)
def record_pay_in(
    cycle_id: str,
    body: PayInIn,
    request: Request,
    principal: CurrentPrincipal,
    uows: Uows,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record a received domestic payment; the last one settles the cycle."""
    return _post(
        request,
        uows,
        principal,
        idempotency_key,
        body,
        lambda uow: cycle_services.record_pay_in(
            uow,
            principal,
            cycle_id,
            body.participant_id,
            body.currency,
            body.amount,
            body.bank_reference,
        ),
        201,
    )


@router.post("/{cycle_id}/defaults", status_code=201, response_model=CycleOut)
def declare_default(
    cycle_id: str,
    body: DefaultIn,
    request: Request,
    principal: CurrentPrincipal,
    uows: Uows,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Declare a debtor in default: the answer is the re-netted successor cycle."""
    return _post(
        request,
        uows,
        principal,
        idempotency_key,
        body,
        lambda uow: cycle_services.declare_default(
            uow, principal, cycle_id, body.participant_id, body.reason
        ),
        201,
    )


@router.get("/{cycle_id}/positions")
def positions(cycle_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """Pay-in / pay-out instructions per participant, with what has been received."""
    views = cycle_services.cycle_positions(uow, principal, cycle_id)
    return {"items": [position_json(v) for v in views], "next_cursor": None}


@router.get("/{cycle_id}/settlements")
def settlements(
    cycle_id: str,
    principal: CurrentPrincipal,
    uow: Uow,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Legs per obligation, paged by obligation id."""
    cycle = cycle_services.get_cycle(uow, principal, cycle_id)
    rows = cycle_services.cycle_settlements(uow, principal, cycle_id, cursor, limit)
    return {
        "items": [settlement_json(s, cycle) for s in rows],
        "next_cursor": rows[-1].obligation.obligation_id if len(rows) == limit else None,
    }


@router.get("/{cycle_id}/refunds")
def refunds(cycle_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """Money to return to participants after a default."""
    found = cycle_services.cycle_refunds(uow, principal, cycle_id)
    return {"items": [refund_json(r) for r in found], "next_cursor": None}


@router.get("/{cycle_id}/statements/{participant_id}")
def statement(
    cycle_id: str, participant_id: str, principal: CurrentPrincipal, uow: Uow
) -> dict[str, Any]:
    """What the cycle discharged for one participant, and its payment instruction."""
    found = cycle_services.participant_statement(uow, principal, cycle_id, participant_id)
    return {
        "cycle_id": found.cycle.id,
        "cycle_status": found.cycle.status.value,
        "participant_id": found.participant_id,
        "position": position_json(found.view) if found.view else None,
        "obligations": [settlement_json(s, found.cycle) for s in found.settlements],
        "refunds": [refund_json(r) for r in found.refunds],
    }


@router.get("/{cycle_id}/instructions.csv", response_class=Response)
def instructions_csv(
    cycle_id: str, principal: CurrentPrincipal, uow: Uow, entity: str | None = None
) -> Response:
    """Payment instructions for an entity's bank, as CSV."""
    rows = cycle_services.payment_instructions(uow, principal, cycle_id, entity)
    text = payments.instructions_csv(rows)
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{cycle_id}.csv"'},
    )
