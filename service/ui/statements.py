"""A cycle's files and statements: the entity's payment file (pain.001 or CSV) and payment
instructions of a settled cycle, and a participant's statement (what the cycle discharged, the
amount to pay in with its ``RF…`` reference, or to be paid out, and refunds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from clearing.domain.cycles import (
    CycleStatus,
)
from clearing.domain.errors import ClearingError, InvalidInput
from clearing.domain.netting import Settlement
from clearing.domain.payments import Purpose, cycle_payment_reference
from clearing.entrypoints import bootstrap
from clearing.use_cases import settlement
from service.ui.common import PageRoute, SignedIn
from service.ui.cycles import cycle_url

router = APIRouter(prefix="/ui/cycles", include_in_schema=False, route_class=PageRoute)


# -- downloads ----------------------------------------------------------------------------------


@router.get("/{cycle_id}/payments")
def payment_file(
    viewer: SignedIn,
    cycle_id: str,
    entity: str = "",
    file_format: Annotated[str, Query(alias="format")] = "pain001",
) -> Response:
    """The entity's credit transfers for a settled cycle, as ``GET /v1/cycles/{id}/payments``
    writes them (pain.001 or CSV); nothing to pay comes back as a notice."""
    url = cycle_url(cycle_id)
    payer = entity or viewer.principal.scope.entity
    try:
        bootstrap.check_payment_format(file_format)
        if payer is None:
            raise InvalidInput("name the entity whose payments to write", field="entity")
        order = settlement.payment_order(viewer.uow(), viewer.principal, cycle_id, payer)
    except ClearingError as error:
        return viewer.back(url, error=viewer.explain(error))
    if not order.transfers:
        return viewer.back(
            url,
            message=viewer.gettext(
                "Nothing to pay: %(entity)s makes no pay-out or refund in this cycle, so there "
                "is no file.",
                entity=payer,
            ),
        )
    suffix = "xml" if file_format == "pain001" else "csv"
    return Response(
        bootstrap.payment_file(order, file_format),
        media_type=bootstrap.PAYMENT_FORMATS[file_format],
        headers={
            "Content-Disposition": f'attachment; filename="{cycle_id}-{payer}-payments.{suffix}"'
        },
    )


@router.get("/{cycle_id}/instructions.csv")
def instructions_csv(viewer: SignedIn, cycle_id: str, entity: str = "") -> Response:
    """The payment instructions for an entity's bank, as ``…/instructions.csv`` writes them."""
    try:
        rows = settlement.payment_instructions(
            viewer.uow(), viewer.principal, cycle_id, entity or None
        )
    except ClearingError as error:
        return viewer.back(cycle_url(cycle_id), error=viewer.explain(error))
    return Response(
        bootstrap.instructions_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{cycle_id}.csv"'},
    )


# -- statements ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementRow:
    """One obligation of a statement, from the participant's side: what it owes (``payable``)
    or is owed, and its own leg in its entity's currency."""

    settlement: Settlement
    payable: bool
    counterparty: str
    leg: int
    leg_currency: str


@router.get("/{cycle_id}/statements/{participant_id}", response_class=HTMLResponse)
def statement_page(viewer: SignedIn, cycle_id: str, participant_id: str) -> Response:
    """What the cycle discharged for one participant and its payment instruction: a trader's
    own, or one of an operator's entity's participants (others are not found)."""
    found = settlement.participant_statement(
        viewer.uow(), viewer.principal, cycle_id, participant_id
    )
    cycle = found.cycle
    jurisdictions = cycle.rates.jurisdictions if cycle.rates else {}
    rows = [_statement_row(s, participant_id, jurisdictions) for s in found.settlements]
    view = found.view
    pay_out_reference = (
        cycle_payment_reference(cycle.number, cycle.id, participant_id, Purpose.PAY_OUT)
        if view is not None and view.position.net > 0
        else None
    )
    return viewer.page(
        "cycle_statement.html",
        cycle=cycle,
        participant_id=participant_id,
        view=view,
        rows=rows,
        refunds=found.refunds,
        pay_out_reference=pay_out_reference,
        names=viewer.names(),
        own=viewer.principal.participant_id == participant_id,
        discharged=cycle.status is CycleStatus.SETTLED,
    )


def _statement_row(s: Settlement, participant_id: str, jurisdictions: Any) -> StatementRow:
    o = s.obligation
    payable = o.debtor_id == participant_id
    home = o.debtor_jurisdiction if payable else o.creditor_jurisdiction
    return StatementRow(
        s,
        payable,
        o.creditor_id if payable else o.debtor_id,
        s.debtor_leg if payable else s.creditor_leg,
        jurisdictions.get(home, o.currency),
    )
