"""The ledger and its audit: journal export as JSON lines, balances, verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from clearing.domain.ledger import json_line
from clearing.use_cases import audit
from clearing.use_cases.validation import MAX_JOURNAL_SEQ
from service.dependencies import CurrentPrincipal, StrictQuery, Uow
from service.schemas import ERROR_RESPONSES, BalanceOut, Page, VerificationOut
from service.serializers import balance_json
from service.strict_requests import StrictRoute

router = APIRouter(
    tags=["ledger"], responses=ERROR_RESPONSES, route_class=StrictRoute, dependencies=[StrictQuery]
)


@router.get(
    "/v1/ledger/entries",
    response_class=Response,
    responses={
        200: {
            "description": "One journal entry per line: `seq, entity, cycle_id, kind, postings` "
            "(each `account, currency, amount`), `prev_hash, hash`.",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
)
def entries(
    principal: CurrentPrincipal,
    uow: Uow,
    after: Annotated[int, Query(ge=0, le=MAX_JOURNAL_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    """The journal as JSON lines, paged by sequence (``after`` the last ``seq`` you have).

    ``X-Next-After`` names the next page's ``after``, absent on the last page."""
    found = audit.ledger_entries(uow, principal, after, limit)
    headers = {"X-Next-After": str(found[-1]["seq"])} if len(found) == limit else {}
    body = "".join(json_line(document) + "\n" for document in found)
    return Response(body, media_type="application/x-ndjson", headers=headers)


@router.get("/v1/ledger/balances", response_model=Page[BalanceOut])
def balances(principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """Balances derived from postings: every account of the caller's visible books."""
    found = audit.ledger_balances(uow, principal)
    return {
        "items": [balance_json(*key, balance) for key, balance in found.items()],
        "next_cursor": None,
    }


@router.get("/v1/audit/verify", response_model=VerificationOut, response_model_exclude_none=True)
def verify(principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """Re-check the hash chain, the balances and every settled cycle's digest."""
    return audit.verify(uow, principal).to_json()
