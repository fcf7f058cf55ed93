"""Bearer API keys -> the calling principal, and the dependencies routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from clearing import services
from clearing.access import Principal
from clearing.ports import UnitOfWork, UnitOfWorkFactory


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
    principal = services.authenticate(uows(), key.strip())
    if principal is None:
        raise HTTPException(401, "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
