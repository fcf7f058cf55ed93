"""What routes share, as ``Annotated`` dependencies: units of work, the calling principal (from
its bearer API key) and idempotent POSTs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clearing.domain.access import Principal
from clearing.domain.idempotency import MAX_KEY_LENGTH
from clearing.use_cases import keys
from clearing.use_cases.ports import UnitOfWork, UnitOfWorkFactory
from service.idempotency import IdempotentPost
from service.strict_requests import refuse_undeclared_query


def get_uows(request: Request) -> UnitOfWorkFactory:
    factory: UnitOfWorkFactory = request.app.state.uows
    return factory


Uows = Annotated[UnitOfWorkFactory, Depends(get_uows)]


def get_uow(uows: Uows) -> UnitOfWork:
    return uows()


Uow = Annotated[UnitOfWork, Depends(get_uow)]


#: The API's one security scheme (``Authorization: Bearer <key>``), named in the OpenAPI spec so
#: clients get an Authorize button; its answer when the header is missing or malformed is ours.
bearer_key = HTTPBearer(
    scheme_name="ApiKey",
    description="An API key made by `clearing keys create`; its role and entity decide access.",
    auto_error=False,
)


def current_principal(
    uows: Uows,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_key)],
) -> Principal:
    if credentials is None or not credentials.credentials.strip():
        raise HTTPException(
            401,
            "an API key is required: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = keys.authenticate(uows(), credentials.credentials.strip())
    if principal is None:
        raise HTTPException(401, "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def idempotent_post(
    request: Request,
    uows: Uows,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description=(
                "Any 1 to 200 printable characters, scoped to the caller's key. Repeating a "
                "POST with the same key and the same body (compared as canonical JSON) returns "
                "the first answer without acting again; the same key with another body is a 409."
            ),
            min_length=1,
            max_length=MAX_KEY_LENGTH,
        ),
    ] = None,
) -> IdempotentPost:
    return IdempotentPost(request, uows, principal, idempotency_key)


Post = Annotated[IdempotentPost, Depends(idempotent_post)]


def strict_query(request: Request, _principal: CurrentPrincipal) -> None:
    """Undeclared query parameters refused, once the caller is known (a 401 comes first)."""
    refuse_undeclared_query(request)


#: The dependency of every API router: see :func:`strict_query`.
StrictQuery = Depends(strict_query)
