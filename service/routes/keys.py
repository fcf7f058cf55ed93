"""API keys, for admins: listed without their secrets, and revoked (DESIGN §7). Keys are
created with ``clearing keys create``, which shows the secret once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from clearing.use_cases import keys
from clearing.use_cases.validation import MAX_PAGE, check_id_cursor
from service.dependencies import CurrentPrincipal, Post, StrictQuery, Uow
from service.schemas import ERROR_RESPONSES, KeyOut, Page
from service.serializers import key_json
from service.strict_requests import StrictRoute

router = APIRouter(
    prefix="/v1/keys",
    tags=["keys"],
    responses=ERROR_RESPONSES,
    route_class=StrictRoute,
    dependencies=[StrictQuery],
)


@router.get("", response_model=Page[KeyOut])
def list_keys(
    principal: CurrentPrincipal,
    uow: Uow,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Every key, revoked ones included, in id order; never a secret."""
    check_id_cursor(cursor)
    found = keys.list_keys(uow, principal, cursor, limit)
    return {
        "items": [key_json(k) for k in found],
        "next_cursor": found[-1].principal.id if len(found) == limit else None,
    }


@router.post("/{key_id}/revoke", response_model=KeyOut)
def revoke_key(key_id: str, post: Post) -> JSONResponse:
    """Revoke a key: the next request made with it is refused with 401. Takes no body;
    revoking a revoked key changes nothing."""
    return post.respond(
        None, lambda uow: keys.revoke_key(uow, post.principal, key_id), key_json, 200
    )
