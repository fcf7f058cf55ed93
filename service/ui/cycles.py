"""Cycle pages: the operators' workflow from opening a cycle to its settlement (rates, cut-off,
a two-step approval, reject, pay-ins, defaults), the auditors' read-only view of it, and a
trader's list of cycles (its "Statements"); the settled cycle's files and the statements are
in :mod:`service.ui.statements`.

Every action runs the use case the API runs, parsed by the API's own models (``RatesIn``,
``PayInIn``), and comes back to the cycle with a notice or the refusal.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from clearing.domain.access import Principal, Role
from clearing.domain.cycles import (
    Cycle,
    CycleStatus,
    check_approver,
    due_pay_in,
    require_cycle_status,
)
from clearing.domain.errors import ClearingError, InvalidInput
from clearing.domain.money import format_amount, format_rate
from clearing.domain.obligations import Policy
from clearing.use_cases import cycles, settlement
from clearing.use_cases.settlement import AWAITING_PAY_INS, PositionView
from clearing.use_cases.validation import MAX_CYCLE_NUMBER
from service.errors import status_of
from service.schemas import PayInIn, RatesIn
from service.ui.charts import corridor_chart
from service.ui.common import PAGE_SIZE, PageRoute, SignedIn, Viewer
from service.ui.words import WORDS

router = APIRouter(prefix="/ui/cycles", include_in_schema=False, route_class=PageRoute)

#: Blank rows the rate form offers beyond those filled in, for another jurisdiction or rate.
SPARE_ROWS = 2
#: How many recent cycles the rate form looks through for a rate set to start from.
RATES_LOOKBACK = 5
#: A page cursor: the number of the last cycle shown.
Cursor = Annotated[int | None, Query(ge=0, le=MAX_CYCLE_NUMBER)]
#: States whose pay-ins are worth listing (recorded, or carried from a superseded cycle).
WITH_PAY_INS = frozenset(
    {CycleStatus.APPROVED, CycleStatus.SETTLING, CycleStatus.SETTLED, CycleStatus.SUPERSEDED}
)


# -- the list -----------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def cycle_list(viewer: SignedIn, cursor: Cursor = None) -> Response:
    """Operators and auditors: every cycle; a trader: the cycles it has a statement in."""
    if viewer.role is Role.TRADER:
        mine = settlement.participant_cycles(viewer.uow(), viewer.principal, cursor, PAGE_SIZE)
        return viewer.page(
            "cycle_statements.html",
            cycles=mine,
            participant_id=viewer.principal.participant_id,
            next_url=_next_page(mine),
        )
    found = cycles.list_cycles(viewer.uow(), viewer.principal, cursor, PAGE_SIZE)
    return viewer.page(
        "cycles.html",
        cycles=found,
        policies=list(Policy),
        can_open=viewer.role is Role.OPERATOR,
        next_url=_next_page(found),
    )


def _next_page(found: list[Cycle]) -> str | None:
    return f"/ui/cycles?cursor={found[-1].number}" if len(found) == PAGE_SIZE else None


@router.post("")
def open_cycle(viewer: SignedIn, policy: Annotated[str, Form()] = "fifo") -> Response:
    try:
        cycle = cycles.open_cycle(viewer.uow(), viewer.principal, policy)
    except ClearingError as error:
        return viewer.back("/ui/cycles", error=viewer.explain(error))
    return viewer.back(
        cycle_url(cycle.id),
        message=viewer.gettext(
            "Cycle %(number)s opened: set its rates, then close it at cut-off.",
            number=cycle.number,
        ),
    )


# -- one cycle ----------------------------------------------------------------------------------


@router.get("/{cycle_id}", response_class=HTMLResponse)
def cycle_page(viewer: SignedIn, cycle_id: str, payer: str = "") -> Response:
    return _cycle_page(viewer, cycle_id, payer=payer)


def _cycle_page(
    viewer: Viewer,
    cycle_id: str,
    *,
    payer: str = "",
    status: int = 200,
    rate_values: dict[str, Any] | None = None,
    pay_in_values: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """The cycle, what it did, and the forms of the step its state is at (for an operator)."""
    principal = viewer.principal
    cycle = cycles.get_cycle(viewer.uow(), principal, cycle_id)
    views = settlement.cycle_positions(viewer.uow(), principal, cycle_id)
    base = cycle.rates.base if cycle.rates else ""
    corridors = list(cycle.summary.corridors) if cycle.summary is not None and base else []
    operator = principal.role is Role.OPERATOR
    payers = [v for v in views if v.outstanding and v.position.jurisdiction == principal.entity]
    page: dict[str, Any] = {
        "cycle": cycle,
        "base": base,
        "corridors": corridors,
        "chart": corridor_chart(corridors, base, viewer.formats) if corridors else None,
        "views": views,
        "names": viewer.names(),
        "rates": _rate_rows(cycle),
        "operator": operator,
        "may_approve": operator
        and cycle.status is CycleStatus.PROPOSED
        and _refusal_to_approve(viewer, cycle) is None,
        "can_reject": operator and cycle.status in (CycleStatus.PROPOSED, CycleStatus.APPROVED),
        "awaiting_pay_ins": cycle.status in AWAITING_PAY_INS,
        "payers": payers if operator and cycle.status in AWAITING_PAY_INS else [],
        "pay_ins": (
            settlement.cycle_pay_ins(viewer.uow(), principal, cycle_id)
            if cycle.status in WITH_PAY_INS
            else []
        ),
        "refunds": (
            settlement.cycle_refunds(viewer.uow(), principal, cycle_id)
            if cycle.status is not CycleStatus.OPEN
            else []
        ),
        "payment_entities": _payment_entities(cycle, principal),
    }
    if operator and cycle.status is CycleStatus.OPEN:
        page["rate_form"] = _rate_form(rate_values or _rates_to_start_from(viewer, cycle))
    if page["payers"]:
        page["pay_in_form"] = pay_in_values or _pay_in_prefill(payers, payer)
    return viewer.page("cycle.html", status, **page, **context)


def cycle_url(cycle_id: str) -> str:
    return f"/ui/cycles/{cycle_id}"


def _word(viewer: Viewer, value: object) -> str:
    """An enumeration member in the viewer's language, for a message made in Python."""
    text = str(getattr(value, "value", value))
    return viewer.gettext(WORDS.get(text, text))


def _rate_rows(cycle: Cycle) -> list[tuple[str, str]]:
    """The cycle's rates as decimal strings, by currency."""
    if cycle.rates is None:
        return []
    return [(currency, format_rate(rate)) for currency, rate in sorted(cycle.rates.rates.items())]


def _payment_entities(cycle: Cycle, principal: Principal) -> list[str]:
    """Whose payment files the page offers: the operator's entity, or each one for an auditor;
    none before the cycle has pay-outs or refunds to release."""
    releasing = cycle.status is CycleStatus.SETTLED or (
        cycle.status is CycleStatus.REJECTED and cycle.predecessor_id is not None
    )
    if not releasing or cycle.rates is None:
        return []
    if principal.scope.entity is not None:
        return [principal.scope.entity]
    return sorted(cycle.rates.jurisdictions)


# -- rates and cut-off --------------------------------------------------------------------------


def _rates_to_start_from(viewer: Viewer, cycle: Cycle) -> dict[str, Any]:
    """The rate set the form starts from, in the ``RATES.json`` shape: the cycle's own, else
    the latest cycle's, else each entity's currency with its rate to fill in."""
    if cycle.rates is not None:
        return cycle.rates.to_json()
    recent = cycles.list_cycles(viewer.uow(), viewer.principal, None, RATES_LOOKBACK)
    earlier = next((c.rates for c in recent if c.rates is not None), None)
    if earlier is not None:
        return {**earlier.to_json(), "source": "", "as_of": ""}
    currencies = cycles.entity_currencies(viewer.uow(), viewer.principal)
    return {
        "base": "",
        "jurisdictions": currencies,
        "rates": dict.fromkeys(sorted(set(currencies.values())), ""),
        "source": "",
        "as_of": "",
    }


def _rate_form(document: dict[str, Any]) -> dict[str, Any]:
    """A ``RATES.json`` document as the form shows it: rows of pairs, and blank rows to add."""

    def rows(pairs: Any) -> list[tuple[str, str]]:
        filled = [(str(k), str(v)) for k, v in pairs.items()] if isinstance(pairs, dict) else []
        return filled + [("", "")] * SPARE_ROWS

    return {
        "base": str(document.get("base") or ""),
        "jurisdictions": rows(document.get("jurisdictions")),
        "rates": rows(document.get("rates")),
        "source": str(document.get("source") or ""),
        "as_of": str(document.get("as_of") or ""),
    }


def _pairs(keys: list[str], values: list[str]) -> dict[str, str]:
    """Form rows as an object, leaving out the rows left blank."""
    return {
        k.strip(): v.strip() for k, v in zip(keys, values, strict=False) if k.strip() or v.strip()
    }


@router.post("/{cycle_id}/rates", response_class=HTMLResponse)
def set_rates(
    viewer: SignedIn,
    cycle_id: str,
    base: Annotated[str, Form()] = "",
    jurisdiction: Annotated[list[str] | None, Form()] = None,
    jurisdiction_currency: Annotated[list[str] | None, Form()] = None,
    currency: Annotated[list[str] | None, Form()] = None,
    rate: Annotated[list[str] | None, Form()] = None,
    source: Annotated[str, Form()] = "",
    as_of: Annotated[str, Form()] = "",
) -> Response:
    """The rate set typed into the form, exactly as ``PUT /v1/cycles/{id}/rates`` takes it."""
    document = {
        "base": base.strip(),
        "jurisdictions": _pairs(jurisdiction or [], jurisdiction_currency or []),
        "rates": _pairs(currency or [], rate or []),
        "source": source.strip(),
        "as_of": as_of.strip(),
    }
    try:
        cycle = _store_rates(viewer, cycle_id, document)
    except ClearingError as error:
        return _cycle_page(
            viewer,
            cycle_id,
            status=status_of(error),
            rate_values=document,
            error=viewer.explain(error),
        )
    return viewer.back(cycle_url(cycle_id), message=_rates_set(viewer, cycle))


@router.post("/{cycle_id}/rates/upload")
def upload_rates(viewer: SignedIn, cycle_id: str, file: Annotated[UploadFile, File()]) -> Response:
    """A ``RATES.json`` file, the body ``PUT /v1/cycles/{id}/rates`` takes."""
    try:
        document = json.loads(file.file.read().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return viewer.back(
            cycle_url(cycle_id),
            error=viewer.gettext("The file is not a RATES.json document (UTF-8 JSON)."),
        )
    try:
        cycle = _store_rates(viewer, cycle_id, document)
    except ClearingError as error:
        return viewer.back(cycle_url(cycle_id), error=viewer.explain(error))
    return viewer.back(cycle_url(cycle_id), message=_rates_set(viewer, cycle))


def _store_rates(viewer: Viewer, cycle_id: str, document: Any) -> Cycle:
    """Validate as the API does (``RatesIn``: a bad field is invalid input), then set."""
    try:
        body = RatesIn.model_validate(document)
    except ValidationError as invalid:
        raise InvalidInput(_fields_of(invalid)) from None
    return cycles.set_rates(viewer.uow(), viewer.principal, cycle_id, body.model_dump())


def _fields_of(invalid: ValidationError) -> str:
    """The fields a validation error names, as ``rates.USD: message; …``."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in invalid.errors()
    )


def _rates_set(viewer: Viewer, cycle: Cycle) -> str:
    assert cycle.rates is not None
    return viewer.ngettext(
        "Rates set: %(count)s currency against the base %(base)s.",
        "Rates set: %(count)s currencies against the base %(base)s.",
        len(cycle.rates.rates),
        base=cycle.rates.base,
    )


@router.post("/{cycle_id}/close")
def close_cycle(viewer: SignedIn, cycle_id: str) -> Response:
    try:
        cycle = cycles.close_cycle(viewer.uow(), viewer.principal, cycle_id)
    except ClearingError as error:
        return viewer.back(cycle_url(cycle_id), error=viewer.explain(error))
    return viewer.back(
        cycle_url(cycle_id),
        message=viewer.gettext(
            "Cut-off done: cycle %(number)s is %(status)s.",
            number=cycle.number,
            status=_word(viewer, cycle.status),
        ),
    )


# -- approval (two steps) and rejection ---------------------------------------------------------


def _refusal_to_approve(viewer: Viewer, cycle: Cycle) -> str | None:
    """Why this operator may not approve the cycle now (explained), or ``None``."""
    principal = viewer.principal
    try:
        require_cycle_status(cycle, {CycleStatus.PROPOSED}, "approve")
        check_approver(cycle, principal.entity or "", principal.id)
    except ClearingError as refusal:
        return viewer.explain(refusal)
    return None


@router.get("/{cycle_id}/approve", response_class=HTMLResponse)
def approval_page(viewer: SignedIn, cycle_id: str) -> Response:
    """What the operator's entity approves, the digest in full, and under four eyes who has
    approved already: the confirmation sends the digest shown."""
    viewer.require(Role.OPERATOR)
    cycle = cycles.get_cycle(viewer.uow(), viewer.principal, cycle_id)
    entity = viewer.principal.entity or ""
    views = settlement.cycle_positions(viewer.uow(), viewer.principal, cycle_id)
    own = [v.position for v in views if v.position.jurisdiction == entity]
    return viewer.page(
        "cycle_approve.html",
        cycle=cycle,
        entity=entity,
        currency=own[0].currency if own else "",
        pay_in=sum(due_pay_in(p) for p in own),
        pay_out=sum(max(p.net, 0) for p in own),
        payers=sum(1 for p in own if p.net < 0),
        payees=sum(1 for p in own if p.net > 0),
        needed=cycle.approvals_needed_by(entity),
        given=[a for a in cycle.approvals if a.entity == entity],
        refusal=_refusal_to_approve(viewer, cycle),
    )


@router.post("/{cycle_id}/approve")
def approve(viewer: SignedIn, cycle_id: str, digest: Annotated[str, Form()]) -> Response:
    url = cycle_url(cycle_id)
    try:
        cycle = cycles.approve_cycle(viewer.uow(), viewer.principal, cycle_id, digest)
    except ClearingError as error:
        return viewer.back(url, error=viewer.explain(error))
    entity = viewer.principal.entity or ""
    needed = cycle.approvals_needed_by(entity)
    given = sum(1 for a in cycle.approvals if a.entity == entity)
    if given < needed:
        message = viewer.gettext(
            "Approved for %(entity)s (%(given)s of %(needed)s): another operator of "
            "%(entity)s must approve too.",
            entity=entity,
            given=given,
            needed=needed,
        )
    else:
        message = viewer.gettext("Approved for %(entity)s.", entity=entity)
    return viewer.back(url, message=message)


@router.post("/{cycle_id}/reject")
def reject(viewer: SignedIn, cycle_id: str, reason: Annotated[str, Form()] = "") -> Response:
    url = cycle_url(cycle_id)
    try:
        cycles.reject_cycle(viewer.uow(), viewer.principal, cycle_id, reason)
    except ClearingError as error:
        return viewer.back(url, error=viewer.explain(error))
    return viewer.back(
        url, message=viewer.gettext("Proposal rejected; its obligations are back in the pool.")
    )


# -- pay-ins and defaults -----------------------------------------------------------------------


def _pay_in_prefill(payers: list[PositionView], chosen: str) -> dict[str, str]:
    """The pay-in form for ``chosen`` (else the first payer): what it still owes."""
    view = next((v for v in payers if v.position.participant_id == chosen), payers[0])
    position = view.position
    return {
        "participant_id": position.participant_id,
        "currency": position.currency,
        "amount": format_amount(view.outstanding, position.currency),
        "bank_reference": "",
        "value_date": "",
    }


@router.post("/{cycle_id}/pay-ins", response_class=HTMLResponse)
def record_pay_in(
    viewer: SignedIn,
    cycle_id: str,
    participant_id: Annotated[str, Form()] = "",
    currency: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    bank_reference: Annotated[str, Form()] = "",
    value_date: Annotated[str, Form()] = "",
) -> Response:
    """A domestic payment received, as ``POST /v1/cycles/{id}/pay-ins`` takes it."""
    typed = {
        "participant_id": participant_id.strip(),
        "currency": currency.strip(),
        "amount": amount.strip(),
        "bank_reference": bank_reference.strip(),
        "value_date": value_date.strip(),
    }
    try:
        body = _pay_in(typed)
        cycle = settlement.record_pay_in(
            viewer.uow(),
            viewer.principal,
            cycle_id,
            body.participant_id,
            body.currency,
            body.amount,
            body.bank_reference,
            body.value_date,
        )
    except ClearingError as error:
        return _cycle_page(
            viewer,
            cycle_id,
            status=status_of(error),
            pay_in_values=typed,
            error=viewer.explain(error),
        )
    if cycle.status is CycleStatus.SETTLED:
        message = viewer.gettext(
            "Pay-in recorded. Every pay-in is in: cycle %(number)s is settled and its pay-outs "
            "are released.",
            number=cycle.number,
        )
    else:
        message = viewer.gettext(
            "Pay-in of %(participant)s recorded.", participant=body.participant_id
        )
    return viewer.back(cycle_url(cycle_id), message=message)


def _pay_in(typed: dict[str, str]) -> PayInIn:
    try:
        return PayInIn.model_validate({**typed, "value_date": typed["value_date"] or None})
    except ValidationError as invalid:
        raise InvalidInput(_fields_of(invalid)) from None


@router.post("/{cycle_id}/defaults")
def declare_default(
    viewer: SignedIn,
    cycle_id: str,
    participant_id: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        successor = settlement.declare_default(
            viewer.uow(), viewer.principal, cycle_id, participant_id, reason
        )
    except ClearingError as error:
        return viewer.back(cycle_url(cycle_id), error=viewer.explain(error))
    return viewer.back(
        cycle_url(successor.id),
        message=viewer.gettext(
            "%(participant)s declared in default. Cycle %(number)s re-nets without it and "
            "must be approved again.",
            participant=participant_id,
            number=successor.number,
        ),
    )
