"""The application factory: routes, error mapping, limits, metrics, logs and health checks."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearing import __version__
from clearing.use_cases.ports import UnitOfWorkFactory
from service import errors, observability, ui
from service.routes import bank, cycles, invoices, keys, ledger, lines, participants, reports

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
    app.add_middleware(_LimitBodyAndTagRequest)
    app.include_router(participants.router)
    app.include_router(invoices.router)
    app.include_router(cycles.router)
    app.include_router(ledger.router)
    app.include_router(keys.router)
    app.include_router(bank.router)
    app.include_router(reports.router)
    app.include_router(lines.router)
    ui.install(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers. On the event loop, touching neither the database nor
        the worker threads, so that it answers while they are all busy."""
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


class _BodyTooLarge(Exception):
    """The body read so far exceeds the limit (the 413 is already answered)."""


class _LimitBodyAndTagRequest:
    """Tags each request with an id, and refuses a body over :data:`MAX_BODY_BYTES` (413) as
    soon as the bytes read exceed it, with or without a ``Content-Length``; nothing is buffered
    here. Pure ASGI, so that it sees the body's chunks as they stream in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        request_id = (request.headers.get("X-Request-ID") or uuid.uuid4().hex)[:64]
        token = observability.request_id_var.set(request_id)
        try:
            await self._answer(request, _Exchange(scope, receive, send, request_id))
        finally:
            observability.request_id_var.reset(token)

    async def _answer(self, request: Request, exchange: _Exchange) -> None:
        scope = request.scope
        if "\x00" in request.url.path or "%00" in str(request.url.query):
            # No stored identifier contains NUL (PostgreSQL text cannot hold it).
            not_found = JSONResponse({"code": "not_found", "message": "no such object"}, 404)
            await not_found(scope, exchange.receive, exchange.send)
            return
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            await exchange.refuse()
            return
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception:
            # The app sees the refused read fail, perhaps wrapped in a group by a middleware.
            if not exchange.refused:
                raise


class _Exchange:
    """One request's receive and send: counts the body's bytes as they come, answers 413 once
    they exceed the limit, and tags the answer with the request's id."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        self._request_id = request_id.encode("latin-1", "replace")
        self._received = 0
        self.started = False
        self.refused = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > MAX_BODY_BYTES:
                await self.refuse()
                raise _BodyTooLarge()
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the app's own answer to the failed read; the 413 is already sent
        if message["type"] == "http.response.start":
            self.started = True
            headers = [*message.get("headers", []), (b"x-request-id", self._request_id)]
            message = {**message, "headers": headers}
        await self._send(message)

    async def refuse(self) -> None:
        """Answer 413 (unless an answer has begun) and close the connection after it, rather
        than read the rest of the body."""
        if not self.started:
            too_large = JSONResponse(
                {"code": "too_large", "message": f"the body exceeds {MAX_BODY_BYTES} bytes"},
                413,
                headers={"Connection": "close"},
            )
            await too_large(self._scope, self._receive, self.send)
        self.refused = True
