"""The HTTP server of ``clearing serve``: its limits, which keep a few clients from holding it,
and how it is run (uvicorn with the protocol of :mod:`clearing.entrypoints.limited_uvicorn`).

A client must send all of a request's headers within ``header_timeout`` of connecting (or of
the previous answer on the connection) and all of its body within ``body_timeout`` of its
headers: whole-phase deadlines, not per read, so that trickling bytes does not extend them.
Past ``max_connections`` open connections a new one is answered 503 at once and closed.
Database-bound requests run on at most ``threads`` worker threads, so that the event loop (and
with it ``/healthz``) is not starved of the interpreter on a small machine.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

#: The database pool's persistent connections (``pool_size`` in the persistence adapter): more
#: threads than connections would only queue on the pool while contending for the interpreter.
DEFAULT_THREADS = 10


@dataclass(frozen=True)
class ServerLimits:
    """How long a client may take and how many may be connected at once."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 500
    threads: int = DEFAULT_THREADS


def run(app: Any, host: str, port: int, limits: ServerLimits) -> None:
    """Serve ``app`` on ``host:port`` until interrupted."""
    from clearing.entrypoints.limited_uvicorn import LimitedConfig, LimitedServer

    # What exists now (modules, the schema, the app) lives as long as the process: it leaves
    # the collector's generations, so the full collections that a batch's thousands of objects
    # trigger do not walk it again each time (about 15 ms of a 1,000-invoice batch).
    gc.freeze()
    LimitedServer(LimitedConfig(app, limits, host=host, port=port, log_config=None)).run()
