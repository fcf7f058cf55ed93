"""Operators' cycle pages: the list of cycles, one cycle with its corridors, approvals and
positions, and approving or rejecting a proposal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response

from clearing.domain.access import Principal
from clearing.domain.cycles import Cycle, check_approver
from clearing.domain.errors import ClearingError
from clearing.domain.netting import CorridorTotal
from clearing.use_cases import cycles, settlement
from service.ui.common import PageRoute, SignedIn
from service.ui.formatting import Formats

router = APIRouter(prefix="/ui/cycles", include_in_schema=False, route_class=PageRoute)


@router.get("", response_class=HTMLResponse)
def cycle_list(viewer: SignedIn) -> Response:
    found = cycles.list_cycles(viewer.uow(), viewer.principal, None, 100)
    return viewer.page("cycles.html", cycles=found)


@router.get("/{cycle_id}", response_class=HTMLResponse)
def cycle_page(viewer: SignedIn, cycle_id: str) -> Response:
    cycle = cycles.get_cycle(viewer.uow(), viewer.principal, cycle_id)
    views = settlement.cycle_positions(viewer.uow(), viewer.principal, cycle_id)
    base = cycle.rates.base if cycle.rates else ""
    corridors = list(cycle.summary.corridors) if cycle.summary is not None and base else []
    principal = viewer.principal
    return viewer.page(
        "cycle.html",
        cycle=cycle,
        base=base,
        corridors=corridors,
        chart=_corridor_chart(corridors, base, viewer.formats),
        views=views,
        names=viewer.names(),
        can_approve=principal.role.value == "operator"
        and cycle.status.value == "proposed"
        and _may_approve(cycle, principal),
        can_reject=principal.role.value == "operator"
        and cycle.status.value in ("proposed", "approved"),
    )


def _may_approve(cycle: Cycle, principal: Principal) -> bool:
    try:
        check_approver(cycle, principal.entity or "", principal.id)
    except ClearingError:
        return False
    return True


@router.post("/{cycle_id}/approve")
def approve(viewer: SignedIn, cycle_id: str, digest: Annotated[str, Form()]) -> Response:
    url = f"/ui/cycles/{cycle_id}"
    try:
        cycles.approve_cycle(viewer.uow(), viewer.principal, cycle_id, digest)
    except ClearingError as error:
        return viewer.back(url, error=error.message)
    entity = viewer.principal.entity or ""
    return viewer.back(url, message=viewer.gettext("Approved for %(entity)s.", entity=entity))


@router.post("/{cycle_id}/reject")
def reject(viewer: SignedIn, cycle_id: str, reason: Annotated[str, Form()]) -> Response:
    url = f"/ui/cycles/{cycle_id}"
    try:
        cycles.reject_cycle(viewer.uow(), viewer.principal, cycle_id, reason)
    except ClearingError as error:
        return viewer.back(url, error=error.message)
    return viewer.back(
        url, message=viewer.gettext("Proposal rejected; its obligations are back in the pool.")
    )


def _corridor_chart(corridors: list[CorridorTotal], base: str, fmt: Formats) -> dict[str, Any]:
    """Bar geometry for the SVG chart: submitted vs settled per corridor, to one scale."""
    width = 560
    largest = max((c.submitted for c in corridors), default=0) or 1
    bars = [
        {
            "label": f"{corridor.source} → {corridor.target}",
            "y": 20 + index * 46,
            "submitted": width * corridor.submitted // largest,
            "settled": width * corridor.settled // largest,
            "submitted_text": fmt.money(corridor.submitted, base),
            "settled_text": fmt.money(corridor.settled, base),
        }
        for index, corridor in enumerate(corridors)
    ]
    return {"bars": bars, "height": 40 + 46 * len(bars), "width": width + 160}
