"""Participants: traders registered with an entity."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from clearing.use_cases import participants
from clearing.use_cases.validation import MAX_PAGE, check_id_cursor
from service.dependencies import CurrentPrincipal, Post, StrictQuery, Uow
from service.schemas import (
    ERROR_RESPONSES,
    Page,
    ParticipantIn,
    ParticipantOut,
    ParticipantPatchIn,
    ParticipantVersionOut,
)
from service.serializers import participant_json, participant_version_json
from service.strict_requests import StrictRoute

router = APIRouter(
    prefix="/v1/participants",
    tags=["participants"],
    responses=ERROR_RESPONSES,
    route_class=StrictRoute,
    dependencies=[StrictQuery],
)


@router.post("", status_code=201, response_model=ParticipantOut)
def register_participant(body: ParticipantIn, post: Post) -> JSONResponse:
    """Register a trader with the caller's entity (operators) or the named entity (admins)."""
    return post.respond(
        body,
        lambda uow: participants.register_participant(
            uow,
            post.principal,
            name=body.name,
            entity=body.entity,
            tax_id=body.tax_id,
            bank_account=body.bank_account,
            bank_code=body.bank_code,
        ),
        participant_json,
        201,
    )


@router.get("", response_model=Page[ParticipantOut])
def list_participants(
    principal: CurrentPrincipal,
    uow: Uow,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    check_id_cursor(cursor)
    found = participants.list_participants(uow, principal, cursor, limit)
    return {
        "items": [participant_json(p) for p in found],
        "next_cursor": found[-1].id if len(found) == limit else None,
    }


@router.get("/{participant_id}", response_model=ParticipantOut)
def get_participant(participant_id: str, principal: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    return participant_json(participants.get_participant(uow, principal, participant_id))


@router.patch("/{participant_id}", response_model=ParticipantOut)
def update_participant(
    participant_id: str, body: ParticipantPatchIn, principal: CurrentPrincipal, uow: Uow
) -> dict[str, Any]:
    """Change a participant's name, bank account or bank code (its entity's operators and
    admins); what is not given stays, and every earlier version is kept (see its history)."""
    changed = participants.update_participant(
        uow,
        principal,
        participant_id,
        name=body.name,
        bank_account=body.bank_account,
        bank_code=body.bank_code,
    )
    return participant_json(changed)


@router.get("/{participant_id}/history", response_model=Page[ParticipantVersionOut])
def participant_history(
    participant_id: str, principal: CurrentPrincipal, uow: Uow
) -> dict[str, Any]:
    """Every version of the participant's details, the registration first, with who set it
    and when (one page: a participant's details change rarely)."""
    versions = participants.participant_history(uow, principal, participant_id)
    return {"items": [participant_version_json(v) for v in versions], "next_cursor": None}
