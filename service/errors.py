"""The one place that turns errors into HTTP answers: JSON ``{code, message, field?}``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from clearing.domain.errors import ClearingError, Conflict, Forbidden, InvalidInput, NotFound

log = logging.getLogger("clearing.service")

STATUS_OF = {InvalidInput: 422, NotFound: 404, Forbidden: 403, Conflict: 409}


def status_of(error: ClearingError) -> int:
    for kind, status in STATUS_OF.items():
        if isinstance(error, kind):
            return status
    return 500


def error_body(error: ClearingError) -> dict[str, str]:
    body = {"code": error.code, "message": error.message}
    if error.field:
        body["field"] = error.field
    return body


def validation_error_body(errors: Sequence[Any]) -> dict[str, str]:
    """The first of pydantic's validation errors as ``{code, message, field}``."""
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    field = ".".join(location) or "body"
    message = str(first.get("msg", "invalid request"))
    return {"code": "invalid_input", "message": message, "field": field}


def install(app: FastAPI) -> None:
    @app.exception_handler(ClearingError)
    async def domain_error(_request: Request, error: ClearingError) -> JSONResponse:
        status = status_of(error)
        if status == 500:
            log.error("unexpected engine error: %s", error)
            return JSONResponse({"code": "internal", "message": "internal error"}, 500)
        return JSONResponse(error_body(error), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_error_body(error.errors()), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:  # a body that cannot be parsed at all is invalid input
            return JSONResponse(
                {"code": "invalid_input", "message": str(error.detail), "field": "body"}, 422
            )
        codes = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
        }
        return JSONResponse(
            {"code": codes.get(error.status_code, "error"), "message": str(error.detail)},
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=error)
        return JSONResponse({"code": "internal", "message": "internal error"}, status_code=500)
