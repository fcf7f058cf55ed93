"""What routes share, as ``Annotated`` dependencies: units of work, the calling principal (from
its bearer API key) and idempotent POSTs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from clearing.domain.access import Principal
from clearing.use_cases import keys
from clearing.use_cases.ports import UnitOfWork, UnitOfWorkFactory
from service.idempotency import IdempotentPost


def get_uows(request: Request) -> UnitOfWorkFactory:
    factory: UnitOfWorkFactory = request.app.state.uows
    return factory


Uows = Annotated[UnitOfWorkFactory, Depends(get_uows)]


def get_uow(uows: Uows) -> UnitOfWork:
    return uows()


Uow = Annotated[UnitOfWork, Depends(get_uow)]


def current_principal(
    uows: Uows, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise HTTPException(
            401,
            "an API key is required: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = keys.authenticate(uows(), key.strip())
    if principal is None:
        raise HTTPException(401, "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def idempotent_post(
    request: Request,
    uows: Uows,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> IdempotentPost:
    return IdempotentPost(request, uows, principal, idempotency_key)


Post = Annotated[IdempotentPost, Depends(idempotent_post)]
