"""Bank reconciliation: statements in, the imported lines, and the suspense list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from clearing.domain.access import Role
from clearing.domain.bank import OPEN_SUSPENSE, SUSPENSE_STATES, BankStatement, Reconciliation
from clearing.domain.canonical import sha256_hex
from clearing.entrypoints import bootstrap
from clearing.use_cases import bank, suspense
from clearing.use_cases.validation import MAX_PAGE, check_id_cursor
from service.dependencies import CurrentPrincipal, Post, StrictQuery, Uow
from service.schemas import (
    ERROR_RESPONSES,
    AssignIn,
    BankEntryOut,
    BankImportOut,
    MatchIn,
    Page,
    ReasonIn,
    StatementFingerprint,
)
from service.serializers import bank_entry_json
from service.strict_requests import StrictRoute

router = APIRouter(
    tags=["bank"],
    responses=ERROR_RESPONSES,
    route_class=StrictRoute,
    dependencies=[StrictQuery],
)


@dataclass(frozen=True, slots=True)
class Upload:
    """A statement as sent, and its fingerprint for ``Idempotency-Key``."""

    statement: BankStatement
    fingerprint: StatementFingerprint


async def statement_body(request: Request, principal: CurrentPrincipal) -> Upload:
    """The request's body as a statement, read as its ``Content-Type`` says: only for an
    operator, and off the event loop (checking a large camt against its schema takes
    seconds)."""
    principal.require(Role.OPERATOR)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    read = bootstrap.statement_reader(media_type)
    content = await request.body()
    fingerprint = StatementFingerprint(media_type=media_type, sha256=sha256_hex(content))
    return Upload(await run_in_threadpool(read, content), fingerprint)


@router.post(
    "/v1/bank-statements",
    response_model=BankImportOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/xml": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def import_statement(
    upload: Annotated[Upload, Depends(statement_body)], post: Post
) -> JSONResponse:
    """Import the caller's entity's bank statement (camt.053.001.08 or camt.054.001.08, checked
    against the official schema, or CSV): credits quoting a due pay-in's RF reference are
    recorded as pay-ins, the others wait in suspense; debits confirm released pay-outs and
    refunds. A line imported before records nothing (the bank's entry reference is the key)."""
    return post.respond(
        upload.fingerprint,
        lambda uow: bank.import_statement(uow, post.principal, upload.statement),
        lambda report: report.to_json(),
    )


@router.get("/v1/bank-entries", response_model=Page[BankEntryOut])
def list_bank_entries(
    principal: CurrentPrincipal,
    uow: Uow,
    status: Reconciliation | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Imported statement lines and what each was matched to: an operator's entity's, every
    entity's for an auditor."""
    check_id_cursor(cursor)
    found = bank.bank_entries(uow, principal, {status} if status else None, cursor, limit)
    return _page(found, limit)


@router.get("/v1/suspense", response_model=Page[BankEntryOut])
def list_suspense(
    principal: CurrentPrincipal,
    uow: Uow,
    resolved: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Bank credits that matched no due pay-in and wait for an operator (with
    ``resolved=true``: also those assigned or returned)."""
    check_id_cursor(cursor)
    statuses = SUSPENSE_STATES if resolved else OPEN_SUSPENSE
    return _page(bank.bank_entries(uow, principal, statuses, cursor, limit), limit)


@router.post("/v1/suspense/{entry_id}/assign", response_model=BankEntryOut)
def assign_suspense(entry_id: str, body: AssignIn, post: Post) -> JSONResponse:
    """Record a suspense credit as a participant's pay-in for a cycle awaiting it."""
    return post.respond(
        body,
        lambda uow: suspense.assign_suspense(
            uow, post.principal, entry_id, body.cycle_id, body.participant_id
        ),
        bank_entry_json,
        200,
    )


@router.post("/v1/suspense/{entry_id}/match", response_model=BankEntryOut)
def match_suspense(entry_id: str, body: MatchIn, post: Post) -> JSONResponse:
    """Settle a suspense credit as the bank's record of a pay-in recorded by hand under
    another reference (the same money, counted once); the amounts must agree."""
    return post.respond(
        body,
        lambda uow: suspense.match_suspense(uow, post.principal, entry_id, body.pay_in_id),
        bank_entry_json,
        200,
    )


@router.post("/v1/suspense/{entry_id}/return", response_model=BankEntryOut)
def return_suspense(entry_id: str, body: ReasonIn, post: Post) -> JSONResponse:
    """Send a suspense credit back to its payer, with the reason."""
    return post.respond(
        body,
        lambda uow: suspense.return_suspense(uow, post.principal, entry_id, body.reason),
        bank_entry_json,
        200,
    )


def _page(found: list[Any], limit: int) -> dict[str, Any]:
    return {
        "items": [bank_entry_json(e) for e in found],
        "next_cursor": found[-1].id if len(found) == limit else None,
    }
