"""The operators' and auditors' pages: server-rendered HTML, every asset shipped in the package.

Signing in stores the API key in an HttpOnly, SameSite=Strict cookie scoped to ``/ui``; each
page and action authenticates with it exactly as the API does with the bearer header, and runs
the same use cases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from clearing.domain.access import Principal, Role
from clearing.domain.cycles import Cycle, check_approver
from clearing.domain.errors import ClearingError
from clearing.domain.imbalance import AGE_BUCKETS, ImbalanceReport
from clearing.domain.money import format_amount
from clearing.domain.netting import CorridorTotal
from clearing.entrypoints import bootstrap
from clearing.use_cases import audit, cycles, keys, reports, settlement
from clearing.use_cases.ports import UnitOfWorkFactory
from service.charts import BAR_WIDTH, LEFT, SERIES, imbalance_charts

HERE = Path(__file__).resolve().parent
COOKIE = "clearing_key"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/ui", include_in_schema=False)

KeyCookie = Annotated[str | None, Cookie(alias=COOKIE)]


def install(app: FastAPI) -> None:
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(router)


def _uows(request: Request) -> UnitOfWorkFactory:
    factory: UnitOfWorkFactory = request.app.state.uows
    return factory


def _principal(request: Request, key: str | None) -> Principal | None:
    if not key:
        return None
    return keys.authenticate(_uows(request)(), key)


def _page(
    request: Request, name: str, principal: Principal | None, status: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"principal": principal, **context}, status_code=status
    )


def _to_login() -> RedirectResponse:
    return RedirectResponse("/ui/login", status_code=303)


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def home(request: Request, key: KeyCookie = None) -> Response:
    principal = _principal(request, key)
    if principal is None:
        return _to_login()
    target = "/ui/ledger" if principal.role is Role.AUDITOR else "/ui/cycles"
    return RedirectResponse(target, status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return _page(request, "login.html", None)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, key: Annotated[str, Form()]) -> Response:
    principal = _principal(request, key.strip())
    if principal is None or principal.role not in (Role.OPERATOR, Role.AUDITOR):
        return _page(
            request,
            "login.html",
            None,
            401,
            error="That key is not an operator's or an auditor's key.",
        )
    response = RedirectResponse("/ui/", status_code=303)
    response.set_cookie(COOKIE, key.strip(), httponly=True, samesite="strict", path="/ui")
    return response


@router.post("/logout")
def logout() -> Response:
    response = _to_login()
    response.delete_cookie(COOKIE, path="/ui")
    return response


@router.get("/cycles", response_class=HTMLResponse)
def cycle_list(request: Request, key: KeyCookie = None) -> Response:
    principal = _principal(request, key)
    if principal is None:
        return _to_login()
    try:
        found = cycles.list_cycles(_uows(request)(), principal, None, 100)
    except ClearingError as error:
        return _page(request, "error.html", principal, 403, error=error.message)
    return _page(request, "cycles.html", principal, cycles=found, format_amount=format_amount)


@router.get("/cycles/{cycle_id}", response_class=HTMLResponse)
def cycle_page(
    request: Request,
    cycle_id: str,
    key: KeyCookie = None,
    message: str | None = None,
    error: str | None = None,
) -> Response:
    principal = _principal(request, key)
    if principal is None:
        return _to_login()
    uows = _uows(request)
    try:
        cycle = cycles.get_cycle(uows(), principal, cycle_id)
        views = settlement.cycle_positions(uows(), principal, cycle_id)
    except ClearingError as failure:
        return _page(request, "error.html", principal, 404, error=failure.message)
    base = cycle.rates.base if cycle.rates else ""
    corridors = list(cycle.summary.corridors) if cycle.summary is not None and base else []
    can_act = (
        principal.role is Role.OPERATOR
        and cycle.status.value == "proposed"
        and _may_approve(cycle, principal)
    )
    return _page(
        request,
        "cycle.html",
        principal,
        cycle=cycle,
        base=base,
        corridors=corridors,
        chart=_imbalance_chart(corridors, base),
        views=views,
        format_amount=format_amount,
        can_approve=can_act,
        can_reject=principal.role is Role.OPERATOR
        and cycle.status.value in ("proposed", "approved"),
        message=message,
        error=error,
    )


def _may_approve(cycle: Cycle, principal: Principal) -> bool:
    try:
        check_approver(cycle, principal.entity or "", principal.id)
    except ClearingError:
        return False
    return True


@router.post("/cycles/{cycle_id}/approve")
def approve(
    request: Request, cycle_id: str, digest: Annotated[str, Form()], key: KeyCookie = None
) -> Response:
    principal = _principal(request, key)
    if principal is None:
        return _to_login()
    try:
        cycles.approve_cycle(_uows(request)(), principal, cycle_id, digest)
    except ClearingError as error:
        return _back(cycle_id, error=error.message)
    return _back(cycle_id, message=f"Approved for {principal.entity}.")


@router.post("/cycles/{cycle_id}/reject")
def reject(
    request: Request, cycle_id: str, reason: Annotated[str, Form()], key: KeyCookie = None
) -> Response:
    principal = _principal(request, key)
    if principal is None:
        return _to_login()
    try:
        cycles.reject_cycle(_uows(request)(), principal, cycle_id, reason)
    except ClearingError as error:
        return _back(cycle_id, error=error.message)
    return _back(cycle_id, message="Proposal rejected; its obligations are back in the pool.")


def _back(cycle_id: str, *, message: str | None = None, error: str | None = None) -> Response:
    query = urlencode({k: v for k, v in (("message", message), ("error", error)) if v})
    return RedirectResponse(f"/ui/cycles/{cycle_id}?{query}", status_code=303)


@router.get("/ledger", response_class=HTMLResponse)
def ledger_page(request: Request, key: KeyCookie = None) -> Response:
    principal = _principal(request, key)
    if principal is None:
        return _to_login()
    uows = _uows(request)
    try:
        report = audit.verify(uows(), principal)
        balances = audit.ledger_balances(uows(), principal)
        entries = audit.ledger_entries(uows(), principal, 0, 50)
    except ClearingError as error:
        return _page(request, "error.html", principal, 403, error=error.message)
    return _page(
        request,
        "ledger.html",
        principal,
        report=report,
        balances=balances,
        entries=entries,
        format_amount=format_amount,
    )


@router.get("/reports/imbalance", response_class=HTMLResponse)
def imbalance_page(request: Request, key: KeyCookie = None) -> Response:
    found = _imbalance_report(request, key)
    if isinstance(found, Response):
        return found
    principal, report = found
    return _page(
        request,
        "imbalance.html",
        principal,
        report=report,
        charts=imbalance_charts(report),
        series=SERIES,
        series_names=dict(SERIES),
        bucket_labels=[label for label, _, _ in AGE_BUCKETS],
        left=LEFT,
        bar_width=BAR_WIDTH,
        format_amount=format_amount,
    )


@router.get("/reports/imbalance.csv")
def imbalance_csv(request: Request, key: KeyCookie = None) -> Response:
    found = _imbalance_report(request, key)
    if isinstance(found, Response):
        return found
    return Response(
        bootstrap.imbalance_csv(found[1]),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="imbalance.csv"'},
    )


def _imbalance_report(
    request: Request, key: str | None
) -> tuple[Principal, ImbalanceReport] | Response:
    """The signed-in caller and the report it may see, or the page to answer instead."""
    principal = _principal(request, key)
    if principal is None:
        return _to_login()
    try:
        return principal, reports.imbalance(_uows(request)(), principal)
    except ClearingError as error:
        return _page(request, "error.html", principal, 403, error=error.message)


def _imbalance_chart(corridors: list[CorridorTotal], base: str) -> dict[str, Any]:
    """Bar geometry for the SVG chart: submitted vs settled per corridor, to one scale."""
    width = 560
    largest = max((c.submitted for c in corridors), default=0) or 1
    bars = [
        {
            "label": f"{corridor.source} → {corridor.target}",
            "y": 20 + index * 46,
            "submitted": width * corridor.submitted // largest,
            "settled": width * corridor.settled // largest,
            "submitted_text": format_amount(corridor.submitted, base),
            "settled_text": format_amount(corridor.settled, base),
        }
        for index, corridor in enumerate(corridors)
    ]
    return {"bars": bars, "height": 40 + 46 * len(bars), "width": width + 160}
