"""Liquidity lines (DESIGN §4b, §10): proposed by an operator of either entity and confirmed by
an operator of the other, as is a new limit; their balance and every draw and repayment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from clearing.use_cases import lines
from clearing.use_cases.validation import MAX_PAGE, check_id_cursor
from service.dependencies import CurrentPrincipal, Post, StrictQuery, Uow
from service.schemas import ERROR_RESPONSES, LimitIn, LineIn, LineOut, Page
from service.serializers import line_json
from service.strict_requests import StrictRoute

router = APIRouter(
    prefix="/v1/lines",
    tags=["lines"],
    responses=ERROR_RESPONSES,
    route_class=StrictRoute,
    dependencies=[StrictQuery],
)


@router.post("", status_code=201, response_model=LineOut, response_model_by_alias=True)
def propose_line(body: LineIn, post: Post) -> JSONResponse:
    """Propose a line between the caller's entity and another, funding the corridor
    ``from -> to``: it is ``pending`` (no cycle nets with it) until an operator of the other
    entity confirms it."""
    return post.respond(
        body,
        lambda uow: lines.propose_line(
            uow, post.principal, body.source, body.target, body.currency, body.limit
        ),
        line_json,
        201,
    )


@router.post("/{line_id}/confirm", response_model=LineOut, response_model_by_alias=True)
def confirm_line(line_id: str, post: Post) -> JSONResponse:
    """Confirm, as an operator of the other entity, the pending line or its pending limit
    (no body): the line is then active, or the new limit its limit."""
    return post.respond(
        None, lambda uow: lines.confirm_line(uow, post.principal, line_id), line_json
    )


@router.patch("/{line_id}", response_model=LineOut, response_model_by_alias=True)
def change_limit(
    line_id: str, body: LimitIn, principal: CurrentPrincipal, uow: Uow
) -> dict[str, Any]:
    """Propose a new limit (never below the balance): it waits in ``pending_limit`` until an
    operator of the other entity confirms it."""
    return line_json(lines.change_limit(uow, principal, line_id, body.limit))


@router.get("", response_model=Page[LineOut], response_model_by_alias=True)
def list_lines(
    principal: CurrentPrincipal,
    uow: Uow,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """The lines the caller's entity is party to (an auditor's: all), by id."""
    check_id_cursor(cursor)
    found = lines.list_lines(uow, principal, cursor, limit)
    return {
        "items": [line_json(view) for view in found],
        "next_cursor": found[-1].line.id if len(found) == limit else None,
    }


@router.get("/{line_id}", response_model=LineOut, response_model_by_alias=True)
def get_line(line_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """The line, its history and every draw and repayment by cycle."""
    return line_json(lines.get_line(uow, principal, line_id))
