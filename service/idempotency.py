"""Idempotent POSTs: the request fingerprint and the call into the use-case layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from clearing import services
from clearing.access import Principal
from clearing.canonical import canonical_json, sha256_hex
from clearing.ports import UnitOfWork, UnitOfWorkFactory


def request_hash(request: Request, body: BaseModel | None) -> str:
    """SHA-256 of the method, the path and the body as canonical JSON."""
    document = {
        "method": request.method,
        "path": request.url.path,
        "body": body.model_dump(mode="json") if body is not None else None,
    }
    return sha256_hex(canonical_json(document))


def respond_once(
    request: Request,
    uows: UnitOfWorkFactory,
    principal: Principal,
    key: str | None,
    body: BaseModel | None,
    run: Callable[[UnitOfWork], tuple[int, Any]],
) -> JSONResponse:
    status, payload = services.answer_once(uows, principal, key, request_hash(request, body), run)
    return JSONResponse(payload, status_code=status)
