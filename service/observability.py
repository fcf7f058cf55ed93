"""Prometheus metrics, JSON logs with request ids, and the readiness check.

Metrics: requests and their latency (by method, route template and status), netting duration
(observed around every cut-off), and, read from the database at each scrape, cycles by status
and invoices by status.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pythonjsonlogger.json import JsonFormatter

from clearing.use_cases.ports import UnitOfWorkFactory

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class Metrics:
    """One registry per app, so that tests can build many apps in one process."""

    def __init__(self, uows: UnitOfWorkFactory) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "clearing_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "clearing_http_request_seconds",
            "HTTP request latency in seconds",
            ["method", "route"],
            registry=self.registry,
        )
        self.netting = Histogram(
            "clearing_netting_seconds",
            "Time to close a cycle (snapshot, netting, proposal)",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.registry.register(_StatusCollector(uows))


class _StatusCollector(Collector):
    def __init__(self, uows: UnitOfWorkFactory) -> None:
        self.uows = uows

    def collect(self) -> Iterator[GaugeMetricFamily]:
        cycles = GaugeMetricFamily("clearing_cycles", "Cycles by status", labels=["status"])
        invoices = GaugeMetricFamily("clearing_invoices", "Invoices by status", labels=["status"])
        try:
            with self.uows() as uow:
                counts = uow.stats.cycles_by_status()
                invoice_counts = uow.stats.invoices_by_status()
        except Exception:  # the scrape must not fail because the database is down
            logging.getLogger("clearing.metrics").warning("status counts unavailable")
            return
        for status, count in sorted(counts.items()):
            cycles.add_metric([status], count)
        for status, count in sorted(invoice_counts.items()):
            invoices.add_metric([status], count)
        yield cycles
        yield invoices


def instrument(
    metrics: Metrics,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        metrics.requests.labels(request.method, template, str(response.status_code)).inc()
        elapsed = time.perf_counter() - started
        metrics.latency.labels(request.method, template).observe(elapsed)
        if template.endswith("/close") and response.status_code == 200:
            metrics.netting.observe(elapsed)
        logging.getLogger("clearing.http").info(
            "%s %s %s",
            request.method,
            request.url.path,
            response.status_code,
            extra={
                "status": response.status_code,
                "route": template,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response

    return middleware


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr, each carrying the request id of the request being served."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = name != "uvicorn.access"


def ready(uows: UnitOfWorkFactory) -> tuple[bool, dict[str, Any]]:
    """Readiness: the database answers and the schema is migrated."""
    try:
        with uows() as uow:
            uow.stats.cycles_by_status()
    except Exception as error:  # any failure means not ready; the reason is reported
        return False, {"status": "unavailable", "database": type(error).__name__}
    return True, {"status": "ready", "database": "ok"}
