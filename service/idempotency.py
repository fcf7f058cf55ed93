"""Idempotent POSTs: the request's fingerprint, and one typed call into the use-case layer that
runs a use case once per ``Idempotency-Key`` and answers with its JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from clearing.domain.access import Principal
from clearing.domain.canonical import canonical_json, sha256_hex
from clearing.use_cases.idempotency import answer_once
from clearing.use_cases.ports import UnitOfWork, UnitOfWorkFactory

Result = TypeVar("Result")


def request_hash(request: Request, body: BaseModel | None) -> str:
    """SHA-256 of the method, the path and the body as canonical JSON."""
    document = {
        "method": request.method,
        "path": request.url.path,
        "body": body.model_dump(mode="json") if body is not None else None,
    }
    return sha256_hex(canonical_json(document))


@dataclass(frozen=True, slots=True)
class IdempotentPost:
    """A POST by ``principal``, with the ``Idempotency-Key`` it sent (if any)."""

    request: Request
    uows: UnitOfWorkFactory
    principal: Principal
    key: str | None

    def respond(
        self,
        body: BaseModel | None,
        run: Callable[[UnitOfWork], Result],
        serialize: Callable[[Result], Any],
        status_code: int = 200,
    ) -> JSONResponse:
        """Run the use case ``run`` once per key and answer ``serialize(result)``: a repeat
        gets the first answer, with the same (success) status."""
        answer = answer_once(
            self.uows, self.principal, self.key, request_hash(self.request, body), run, serialize
        )
        return JSONResponse(answer, status_code=status_code)
