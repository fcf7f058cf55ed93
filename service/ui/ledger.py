"""The ledger's page: verification, balances and the first entries."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from clearing.use_cases import audit
from service.ui.common import PageRoute, SignedIn

router = APIRouter(prefix="/ui/ledger", include_in_schema=False, route_class=PageRoute)


@router.get("", response_class=HTMLResponse)
def ledger_page(viewer: SignedIn) -> Response:
    report = audit.verify(viewer.uow(), viewer.principal)
    balances = audit.ledger_balances(viewer.uow(), viewer.principal)
    entries = audit.ledger_entries(viewer.uow(), viewer.principal, 0, 50)
    return viewer.page("ledger.html", report=report, balances=balances, entries=entries)
