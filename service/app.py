"""The application factory: routes, error mapping, limits, metrics, logs and health checks."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from clearing import __version__
from clearing.use_cases.ports import UnitOfWorkFactory
from service import errors, observability, pages
from service.routes import cycles, invoices, ledger, participants

MAX_BODY_BYTES = 2 * 1024 * 1024

log = logging.getLogger("clearing.service")


def create_app(uows: UnitOfWorkFactory | None = None) -> FastAPI:
    """Build the API on ``uows`` (default: the database named by ``DATABASE_URL``)."""
    if uows is None:
        from clearing.entrypoints.bootstrap import unit_of_work_factory

        uows = unit_of_work_factory()
    # The API docs (Swagger UI) are served from assets shipped in a package: no CDN, which is
    # often unreachable from the networks the entities run on. ReDoc is off: even its packaged
    # page fetches a logo from its vendor's CDN.
    app = FastAPIOffline(
        static_url="/docs-assets",
        redoc_url=None,
        title="Clearing engine API",
        version=__version__,
        description=(
            "Mirrored clearing entities match cross-border invoices so that money settles only "
            "at home. Authenticate with `Authorization: Bearer <key>`. Amounts are decimal "
            "strings in major units. POSTs accept an `Idempotency-Key` header."
        ),
    )
    app.state.uows = uows
    metrics = observability.Metrics(uows)
    app.state.metrics = metrics
    errors.install(app)
    app.middleware("http")(observability.instrument(metrics))
    app.middleware("http")(_limit_body_and_tag_request)
    app.include_router(participants.router)
    app.include_router(invoices.router)
    app.include_router(cycles.router)
    app.include_router(ledger.router)
    pages.install(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """Readiness: the database answers and is migrated."""
        is_ready, body = observability.ready(uows)
        return JSONResponse(body, status_code=200 if is_ready else 503)

    @app.get("/metrics", tags=["health"], response_class=Response)
    def prometheus_metrics() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


async def _limit_body_and_tag_request(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    token = observability.request_id_var.set(request_id[:64])
    try:
        if "\x00" in request.url.path or "%00" in str(request.url.query):
            # No stored identifier contains NUL (PostgreSQL text cannot hold it).
            return JSONResponse({"code": "not_found", "message": "no such object"}, 404)
        length = request.headers.get("content-length")
        too_large = JSONResponse(
            {"code": "too_large", "message": f"the body exceeds {MAX_BODY_BYTES} bytes"}, 413
        )
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return too_large
        unsized = length is None and request.method in ("POST", "PUT", "PATCH")
        if unsized and len(await request.body()) > MAX_BODY_BYTES:
            return too_large
        response = await call_next(request)
        response.headers["X-Request-ID"] = request_id[:64]
        return response
    finally:
        observability.request_id_var.reset(token)
