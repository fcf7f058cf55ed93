"""Liquidity line pages (DESIGN §4b): the lines an operator's entity is party to (an auditor's:
all), proposing one, and one line with its balance, every draw and repayment by cycle, its
history, and the actions waiting on the viewer's entity (confirming the line or a new limit,
proposing a new limit).

Every action runs the use case the API runs, parsed by the API's own models (``LineIn``,
``LimitIn``); a refusal comes back to the page it was asked from, in the reader's language.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from clearing.domain.access import Role
from clearing.domain.errors import ClearingError, InvalidInput
from clearing.domain.lines import LineAction, LineStatus
from clearing.use_cases import cycles, lines
from clearing.use_cases.lines import LineView
from service.errors import status_of
from service.schemas import LimitIn, LineIn
from service.ui.common import PAGE_SIZE, PageRoute, SignedIn, Viewer

router = APIRouter(prefix="/ui/lines", include_in_schema=False, route_class=PageRoute)

Body = TypeVar("Body", LineIn, LimitIn)
#: A page cursor: the id of the last line shown.
Cursor = Annotated[str | None, Query(max_length=64)]


@router.get("", response_class=HTMLResponse)
def line_list(viewer: SignedIn, cursor: Cursor = None) -> Response:
    return _list_page(viewer, cursor)


@router.post("", response_class=HTMLResponse)
def propose_line(
    viewer: SignedIn,
    source: Annotated[str, Form()] = "",
    target: Annotated[str, Form()] = "",
    currency: Annotated[str, Form()] = "",
    limit: Annotated[str, Form()] = "",
) -> Response:
    """Propose a line funding ``source -> target``; a refusal shows the form again, filled in."""
    typed = {"from": source.strip(), "to": target.strip(), "currency": currency.strip()}
    typed["limit"] = limit.strip()
    try:
        body = _parsed(LineIn, typed)
        view = lines.propose_line(
            viewer.uow(), viewer.principal, body.source, body.target, body.currency, body.limit
        )
    except ClearingError as error:
        return _list_page(
            viewer, None, status=status_of(error), error=viewer.explain(error), typed=typed
        )
    return viewer.back(
        _url(view.line.id),
        message=viewer.gettext(
            "Line %(id)s proposed: it waits for an operator of %(entity)s to confirm it.",
            id=view.line.id,
            entity=view.line.awaiting or "",
        ),
    )


@router.get("/{line_id}", response_class=HTMLResponse)
def line_page(viewer: SignedIn, line_id: str) -> Response:
    view = lines.get_line(viewer.uow(), viewer.principal, line_id)
    return viewer.page("line.html", **_line_context(viewer, view))


@router.post("/{line_id}/confirm")
def confirm_line(viewer: SignedIn, line_id: str) -> Response:
    """Confirm what waits for the viewer's entity: the pending line, or its new limit."""
    try:
        view = lines.confirm_line(viewer.uow(), viewer.principal, line_id)
    except ClearingError as error:
        return viewer.back(_url(line_id), error=viewer.explain(error))
    line = view.line
    if view.history[-1].action is LineAction.CONFIRMED:
        message = viewer.gettext("Line %(id)s confirmed: it is active.", id=line.id)
    else:
        message = viewer.gettext(
            "The new limit of line %(id)s is confirmed: %(limit)s.",
            id=line.id,
            limit=viewer.formats.money(line.limit, line.currency),
        )
    return viewer.back(_url(line_id), message=message)


@router.post("/{line_id}/limit")
def change_limit(viewer: SignedIn, line_id: str, limit: Annotated[str, Form()] = "") -> Response:
    """Propose a new limit: it waits for an operator of the other entity."""
    try:
        body = _parsed(LimitIn, {"limit": limit.strip()})
        view = lines.change_limit(viewer.uow(), viewer.principal, line_id, body.limit)
    except ClearingError as error:
        return viewer.back(_url(line_id), error=viewer.explain(error))
    line = view.line
    assert line.pending_change is not None
    return viewer.back(
        _url(line_id),
        message=viewer.gettext(
            "New limit of %(limit)s proposed: it waits for an operator of %(entity)s.",
            limit=viewer.formats.money(line.pending_change.limit, line.currency),
            entity=line.awaiting or "",
        ),
    )


def _list_page(
    viewer: Viewer,
    cursor: str | None,
    *,
    status: int = 200,
    error: str | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    found = lines.list_lines(viewer.uow(), viewer.principal, cursor, PAGE_SIZE)
    next_url = (
        f"/ui/lines?{urlencode({'cursor': found[-1].line.id})}" if len(found) == PAGE_SIZE else None
    )
    context: dict[str, Any] = {"views": found, "next_url": next_url, "paged": cursor is not None}
    if viewer.role is Role.OPERATOR:
        context["form"] = _proposal_form(viewer, typed)
    if error is not None:
        context["error"] = error
    return viewer.page("lines.html", status, **context)


def _proposal_form(viewer: Viewer, typed: dict[str, str] | None) -> dict[str, Any]:
    """The choices of the proposal form (entities, their currencies) and what it shows filled
    in: what was typed, or the viewer's entity funding the first other one, in its currency."""
    currencies = cycles.entity_currencies(viewer.uow(), viewer.principal)
    own = viewer.principal.entity or ""
    others = [code for code in currencies if code != own]
    values = typed or {
        "from": own,
        "to": others[0] if others else "",
        "currency": currencies.get(own, ""),
        "limit": "",
    }
    return {
        "entities": list(currencies),
        "currencies": sorted(set(currencies.values())),
        "typed": values,
    }


def _line_context(viewer: Viewer, view: LineView) -> dict[str, Any]:
    line = view.line
    own = viewer.principal.entity
    operator = viewer.role is Role.OPERATOR
    return {
        "view": view,
        "line": line,
        "movements": list(reversed(view.movements)),
        "history": list(reversed(view.history)),
        "may_confirm": operator and own is not None and line.awaiting == own,
        "may_change_limit": operator and line.status is LineStatus.ACTIVE,
    }


def _parsed(model: type[Body], typed: dict[str, str]) -> Body:
    """The form as the API's model reads its body: a field it refuses is invalid input."""
    try:
        return model.model_validate(typed)
    except ValidationError as invalid:
        fields = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in invalid.errors()
        )
        raise InvalidInput(fields) from None


def _url(line_id: str) -> str:
    return f"/ui/lines/{quote(line_id, safe='')}"
