"""The one place that turns errors into HTTP answers: JSON ``{code, message, field?}``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from clearing.domain.errors import ClearingError, Conflict, Forbidden, InvalidInput, NotFound
from service.strict_requests import NO_POSITION

log = logging.getLogger("clearing.service")

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")

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
    if first.get("type") == "json_invalid":
        # Its location is a character offset into the body, not a field.
        reason = first.get("ctx", {}).get("error", "cannot be parsed")
        position = first["loc"][-1]
        where = f" at character {position}" if position != NO_POSITION else ""
        return {
            "code": "invalid_input",
            "message": f"is not valid JSON: {reason}{where}",
            "field": "body",
        }
    location = [
        str(part)
        for part in first.get("loc", ())
        if part not in ("body", "query", "header", "path", "cookie")
    ]
    field = ".".join(location) or "body"
    message = str(first.get("msg", "invalid request"))
    return {"code": "invalid_input", "message": message, "field": field}


def allowed_methods(request: Request) -> str:
    """Every method some route answers at the request's path (Starlette names only the first
    route's, and FastAPI makes one route per method), found by asking each route."""
    allowed = [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


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
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
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
        headers = dict(getattr(error, "headers", None) or {})
        if error.status_code == 405:
            # Under a mount (the docs' assets) no top-level route matches: keep its own Allow.
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        return JSONResponse(
            {"code": codes.get(error.status_code, "error"), "message": str(error.detail)},
            status_code=error.status_code,
            headers=headers or None,
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=error)
        return JSONResponse({"code": "internal", "message": "internal error"}, status_code=500)
