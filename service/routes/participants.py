"""Participants: traders registered with an entity."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from clearing import services
from clearing.errors import InvalidInput
from clearing.ports import UnitOfWork
from service.auth import CurrentPrincipal, IdempotencyKey, Uow, Uows
from service.idempotency import respond_once
from service.schemas import ERROR_RESPONSES, Page, ParticipantIn, ParticipantOut, participant_json

router = APIRouter(prefix="/v1/participants", tags=["participants"], responses=ERROR_RESPONSES)


@router.post("", status_code=201, response_model=ParticipantOut)
def register_participant(
    body: ParticipantIn,
    request: Request,
    principal: CurrentPrincipal,
    uows: Uows,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a trader with the caller's entity (operators) or the named entity (admins)."""

    def run(uow: UnitOfWork) -> tuple[int, Any]:
        participant = services.register_participant(
            uow,
            principal,
            name=body.name,
            entity=body.entity,
            tax_id=body.tax_id,
            bank_account=body.bank_account,
        )
        return 201, participant_json(participant)

    return respond_once(request, uows, principal, idempotency_key, body, run)


@router.get("", response_model=Page)
def list_participants(
    principal: CurrentPrincipal,
    uow: Uow,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=services.MAX_PAGE)] = 100,
) -> dict[str, Any]:
    if cursor is not None and not (cursor.isprintable() and len(cursor) <= 64):
        raise InvalidInput("is not a cursor from a previous page", field="cursor")
    found = services.list_participants(uow, principal, cursor, limit)
    return {
        "items": [participant_json(p) for p in found],
        "next_cursor": found[-1].id if len(found) == limit else None,
    }


@router.get("/{participant_id}", response_model=ParticipantOut)
def get_participant(participant_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    return participant_json(services.get_participant(uow, principal, participant_id))
