"""Uvicorn, with the limits of :class:`~clearing.entrypoints.server.ServerLimits`.

Uvicorn bounds how long a connection may sit idle between requests, but not how long a client
may take to send a request: its keep-alive timer is reset by every byte, so a client trickling
one byte a second keeps a connection forever. :class:`DeadlineH11Protocol` adds two deadlines,
each for a whole phase rather than for one read: all of a request's headers within
``header_timeout`` of the connection (or of the previous answer), and all of its body within
``body_timeout`` of its headers. :class:`LimitedServer` sets the
worker threads of the event loop it runs in.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import anyio.to_thread
import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from clearing.entrypoints.server import ServerLimits

log = logging.getLogger("clearing.server")

_TOO_MANY = b'{"code": "unavailable", "message": "too many connections, retry later"}'
SERVICE_UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_TOO_MANY), _TOO_MANY)
)


class LimitedConfig(uvicorn.Config):
    """Uvicorn's configuration, carrying the limits its protocol and server enforce."""

    def __init__(self, app: Any, limits: ServerLimits, **options: Any) -> None:
        super().__init__(
            app,
            http=DeadlineH11Protocol,
            **options,
        )
        self.limits = limits


class DeadlineH11Protocol(H11Protocol):
    """Uvicorn's h11 protocol with whole-phase deadlines on the request and a connection cap."""

    _phase: object = None
    _deadline: asyncio.TimerHandle | None = None

    @property
    def limits(self) -> ServerLimits:
        assert isinstance(self.config, LimitedConfig)
        return self.config.limits

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            log.warning("connection refused: %d open", len(self.connections) - 1)
            transport.write(SERVICE_UNAVAILABLE)
            transport.close()
            return
        self._follow_phase()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_phase()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_phase()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _follow_phase(self) -> None:
        """Arm the deadline of the phase the client is in, once per phase: waiting for headers
        (h11's IDLE), sending a body (SEND_BODY), or neither (waiting for our answer)."""
        phase = self.conn.their_state
        if phase is self._phase or self.transport.is_closing():
            return
        self._disarm()
        self._phase = phase
        seconds = {
            h11.IDLE: self.limits.header_timeout,
            h11.SEND_BODY: self.limits.body_timeout,
        }.get(phase)
        if seconds is not None:
            self._deadline = self.loop.call_later(seconds, self._cut_off, phase)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _cut_off(self, phase: object) -> None:
        what = "headers" if phase is h11.IDLE else "body"
        log.warning("closed a connection: the request's %s took too long", what)
        self._deadline = None
        self.transport.close()


class LimitedServer(uvicorn.Server):
    """Uvicorn's server, bounding the worker threads of the event loop it runs in."""

    def __init__(self, config: LimitedConfig) -> None:
        super().__init__(config)
        self.threads = config.limits.threads

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = self.threads
        await super().serve(sockets)
