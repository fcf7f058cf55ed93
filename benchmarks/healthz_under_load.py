"""How fast ``/healthz`` answers while a flood of database-bound requests hits the server.

The script seeds a throwaway PostgreSQL database (CN and RU, an auditor, a few hundred
confirmed invoices), starts ``clearing serve`` on it in a subprocess, and then, for
``--seconds``, runs ``--clients`` keep-alive clients (in a child process of their own, so that
they do not share an interpreter with the probe) that each ask ``GET /v1/invoices?limit=100``
as the auditor, one request after another. Meanwhile the probe asks ``GET /healthz`` every
``--interval`` seconds on a fresh connection, as an orchestrator's liveness check does. It
prints the probe's median and 95th percentile, the same median with no flood, and the flood's
throughput.

``--source DIR`` runs the server from another checkout of the repository (e.g. ``git archive
HEAD | tar -x -C DIR`` for a before/after comparison); ``--serve-arg`` passes options to
``clearing serve`` (e.g. ``--serve-arg=--threads=40``)::

    .venv/bin/python benchmarks/healthz_under_load.py
    .venv/bin/python benchmarks/healthz_under_load.py --source /tmp/before
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from clearing.domain.invoices import InvoiceDraft
from clearing.entrypoints.bootstrap import unit_of_work_factory
from clearing.use_cases import invoices, keys, participants

from common import stopwatch
from database import default_admin_url, new_database_name, throwaway_database

INVOICES = 400
FLOOD_PATH = "/v1/invoices?limit=100"


def main() -> None:
    options = _arguments()
    admin_url = default_admin_url("BENCHMARK_DATABASE_ADMIN_URL")
    with throwaway_database(admin_url, new_database_name("healthz_bench")) as url:
        key = _seed(url)
        with _server(url, options.source, options.serve_arg) as port:
            quiet = _probe(port, options.interval, seconds=3.0)
            flood = multiprocessing.get_context("spawn").Queue()
            flooder = multiprocessing.get_context("spawn").Process(
                target=_flood, args=(port, key, options.clients, options.seconds, flood)
            )
            flooder.start()
            time.sleep(1.0)  # let every client be connected and busy
            loaded = _probe(port, options.interval, seconds=options.seconds - 2.0)
            answered, failed = flood.get()
            flooder.join()
    _report(options, quiet, loaded, answered, failed)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--source", type=Path, help="run the server from this checkout")
    parser.add_argument("--serve-arg", action="append", default=[], help="option of serve")
    return parser.parse_args()


def _seed(url: str) -> str:
    """CN and RU, two traders each, confirmed invoices between them; the auditor's key."""
    uows = unit_of_work_factory(url, pooled=False)
    participants.add_entity(uows(), "CN", "CNY", "China clearing entity")
    participants.add_entity(uows(), "RU", "RUB", "Russia clearing entity")
    admin = keys.create_key(uows(), "admin")[1]
    auditor_key = keys.create_key(uows(), "auditor")[0]
    traders = {
        entity: [
            participants.register_participant(
                uows(), admin, name=f"{entity} trader {n}", entity=entity
            ).id
            for n in range(2)
        ]
        for entity in ("CN", "RU")
    }
    drafts = [
        InvoiceDraft(
            invoice_number=f"B-{n:05d}",
            importer_id=traders["RU"][n % 2],
            currency="CNY",
            amount=f"{1000 + n}.00",
            issue_date=date(2026, 11, 1),
            due_date=date(2026, 12, 1),
            hs_code="120190",
            description="soybeans",
            exporter_id=traders["CN"][n % 2],
        )
        for n in range(INVOICES)
    ]
    invoices.import_invoices(uows, "CN", drafts, confirm=True)
    return auditor_key


@contextmanager
def _server(url: str, source: Path | None, serve_args: list[str]) -> Iterator[int]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    if source is not None:
        env["PYTHONPATH"] = str(source)
    command = [sys.executable, "-c", "from clearing.entrypoints.cli import main; main()"]
    command += ["serve", "--port", str(port), *serve_args]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, env=env, cwd=source, stderr=log, stdout=log)
        try:
            _wait_until_up(port, server)
            yield port
        finally:
            server.terminate()
            server.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            _healthz(port)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer within 30 s")


def _healthz(port: int) -> float:
    """Seconds for one ``GET /healthz`` on a fresh connection (an error unless 200)."""
    elapsed = stopwatch()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    if not answer.startswith(b"HTTP/1.1 200"):
        raise OSError(f"healthz answered {answer[:40]!r}")
    return elapsed()


def _probe(port: int, interval: float, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        latencies.append(_healthz(port))
        time.sleep(interval)
    return latencies


def _flood(
    port: int, key: str, clients: int, seconds: float, results: multiprocessing.Queue[object]
) -> None:
    results.put(asyncio.run(_flood_for(port, key, clients, seconds)))


async def _flood_for(port: int, key: str, clients: int, seconds: float) -> tuple[int, int]:
    request = (
        f"GET {FLOOD_PATH} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n\r\n"
    ).encode()
    deadline = time.monotonic() + seconds
    counts = await asyncio.gather(*(_client(port, request, deadline) for _ in range(clients)))
    return sum(ok for ok, _ in counts), sum(failed for _, failed in counts)


async def _client(port: int, request: bytes, deadline: float) -> tuple[int, int]:
    """Requests one after another on one keep-alive connection; (answered 200, other)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ok = failed = 0
    while time.monotonic() < deadline:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        if head.startswith(b"HTTP/1.1 200"):
            ok += 1
        else:
            failed += 1
    writer.close()
    return ok, failed


def _report(
    options: argparse.Namespace,
    quiet: list[float],
    loaded: list[float],
    answered: int,
    failed: int,
) -> None:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f} ms"

    source = options.source or "this checkout"
    print(f"server: {source} {' '.join(options.serve_arg)}".rstrip())
    print(f"/healthz p50 with no flood:        {ms(statistics.median(quiet))}")
    print(f"/healthz p50 under the flood:      {ms(statistics.median(loaded))}")
    print(f"/healthz p95 under the flood:      {ms(statistics.quantiles(loaded, n=20)[-1])}")
    print(f"/healthz worst under the flood:    {ms(max(loaded))} ({len(loaded)} probes)")
    print(
        f"flood: {options.clients} clients, {answered / options.seconds:.0f} answers/s "
        f"({failed} not 200)"
    )


if __name__ == "__main__":
    main()
