"""Benchmark invoice ingest on PostgreSQL: the HTTP API beside a raw COPY into the same table.

The script creates a throwaway PostgreSQL database, builds it with the migrations, registers
two entities (CN, RU), one CN exporter with a trader key and a hundred RU importers, and starts
the real API (``clearing serve``, the production command) in a subprocess on that database.
Then, ``--runs`` times each (medians reported; batch and COPY in turns, a ratio per round):

* **batch**: ``--count`` invoices through ``POST /v1/invoices/batch``, 1,000 per request;
* **single**: ``--singles`` invoices through ``POST /v1/invoices``, one per request;
* **COPY**: ``--count`` rows of the same shape copied straight into the ``invoices`` table
  with psycopg's ``COPY ... FROM STDIN`` (no validation, no history, no API).

Every run starts from empty invoice tables. Request bodies and COPY rows are prepared before
the clock starts; the clock covers sending, validating, screening, writing (with who
submitted each invoice, from which its first history event is read, and, for the API, the
answer) and committing. It prints
invoices per second and the ratio batch/COPY (the target is at least 35%). The database is
dropped at the end, whatever happens.

Usage, from the repository root::

    .venv/bin/python benchmarks/ingest.py
    .venv/bin/python benchmarks/ingest.py --count 50000 --singles 5000 --clients 4

``--admin-url`` (default ``$TEST_DATABASE_ADMIN_URL`` or the local ``postgres`` database)
names a database of a role allowed to create databases. Timings are wall-clock seconds from
:func:`time.perf_counter`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory  # noqa: E402
from clearing.domain.access import Principal, Role  # noqa: E402
from clearing.use_cases import keys, participants  # noqa: E402

from common import check, stopwatch  # noqa: E402
from database import (  # noqa: E402
    INVOICE_COLUMNS,
    default_admin_url,
    new_database_name,
    plain_url,
    throwaway_database,
    timed_copy,
)

DEFAULT_ADMIN_URL = default_admin_url("TEST_DATABASE_ADMIN_URL")
BATCH_SIZE = 1000
IMPORTERS = 100
TARGET_RATIO = 0.35
#: The columns the COPY fills: the invoice, and who submitted it in which status (as the API).
COPY_COLUMNS = (*INVOICE_COLUMNS, "submitted_by", "submitted_as")
#: HS codes of the generated invoices: clean goods only, a third of them priority goods.
HS_CODES = ("120190", "847130", "440710", "300490", "870323", "901890")


@dataclass(frozen=True)
class World:
    url: str
    exporter_id: str
    importer_ids: list[str]
    trader_key: str
    trader_id: str


@dataclass(frozen=True)
class Figure:
    name: str
    invoices: int
    seconds: list[float]

    @property
    def rate(self) -> float:
        """Invoices per second, from the median run."""
        return self.invoices / statistics.median(self.seconds)


# --- the throwaway database and the server --------------------------------------------------


def build_world(url: str) -> World:
    """Entities, one exporter with a trader key and the importers, through the use cases."""
    uows = SqlUnitOfWorkFactory(_engine(url))
    try:
        participants.add_entity(uows(), "CN", "CNY", "China clearing")
        participants.add_entity(uows(), "RU", "RUB", "Russia clearing")
        admin = Principal("bench", Role.ADMIN)
        exporter = participants.register_participant(
            uows(), admin, name="Heihe Export", entity="CN"
        )
        importers = [
            participants.register_participant(uows(), admin, name=f"Amur {n}", entity="RU").id
            for n in range(IMPORTERS)
        ]
        key, trader = keys.create_key(uows(), "trader", participant_id=exporter.id)
    finally:
        uows.engine.dispose()
    return World(url, exporter.id, importers, key, trader.id)


def _engine(url: str) -> Any:
    from clearing.adapters.persistence.database import make_engine

    return make_engine(url)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def api_server(url: str) -> Iterator[str]:
    """The real API in a uvicorn subprocess on ``url``; yields its base URL."""
    port = free_port()
    # The production command, with its server and its limits.
    clearing = str(Path(sys.executable).with_name("clearing"))
    command = [clearing, "serve", "--host", "127.0.0.1", "--port", str(port)]
    environment = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(command, cwd=ROOT, env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):  # not listening yet
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def empty_invoice_tables(url: str) -> None:
    with psycopg.connect(plain_url(url), autocommit=True) as connection:
        connection.execute("TRUNCATE invoice_events, invoices, idempotency_keys CASCADE")
        connection.execute("VACUUM ANALYZE invoices")


def count_invoices(url: str) -> int:
    with psycopg.connect(plain_url(url)) as connection:
        row = connection.execute("SELECT count(*) FROM invoices").fetchone()
    return int(row[0]) if row else 0


# --- the invoices ---------------------------------------------------------------------------


def invoice_bodies(world: World, count: int, run: str) -> list[dict[str, Any]]:
    """``count`` valid, distinct CN->RU invoices (numbers unique within ``run``)."""
    issue = date(2026, 11, 2)
    return [
        {
            "invoice_number": f"{run}-{n:07d}",
            "importer_id": world.importer_ids[n % IMPORTERS],
            "currency": "CNY" if n % 3 else "RUB",
            "amount": f"{1000 + (n * 7919) % 900_000}.{n % 100:02d}",
            "issue_date": issue.isoformat(),
            "due_date": (issue + timedelta(days=30 + n % 60)).isoformat(),
            "hs_code": HS_CODES[n % len(HS_CODES)],
            "description": f"Lot {n}: goods as per contract HH-{n % 977}",
        }
        for n in range(count)
    ]


def copy_rows(world: World, bodies: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows the API would store for ``bodies`` (amounts in minor units: both have 2)."""
    stamp = datetime.now(UTC)
    rows = []
    for body in bodies:
        minor = int(body["amount"].replace(".", ""))
        rows.append(
            (
                f"inv_{uuid.uuid4().hex}",
                body["invoice_number"],
                world.exporter_id,
                "CN",
                body["importer_id"],
                "RU",
                body["currency"],
                minor,
                minor,
                date.fromisoformat(body["issue_date"]),
                date.fromisoformat(body["due_date"]),
                body["hs_code"],
                body["description"],
                "awaiting_confirmation",
                0 if body["hs_code"].startswith(("12", "30", "9018")) else 1,
                stamp,
                stamp,
                world.trader_id,
                "awaiting_confirmation",
            )
        )
    return rows


# --- the measurements -----------------------------------------------------------------------


def post_all(
    base: str, key: str, path: str, payloads: list[bytes], clients: int
) -> list[httpx.Response]:
    """POST every payload, spread over ``clients`` keep-alive connections; in order."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    shares = [payloads[i::clients] for i in range(clients)]

    def send(share: list[bytes]) -> list[httpx.Response]:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            return [client.post(path, content=payload) for payload in share]

    with ThreadPoolExecutor(clients) as pool:
        answered = list(pool.map(send, shares))
    return [response for share in answered for response in share]


def measure_api(
    world: World, base: str, *, batch: bool, count: int, clients: int, run: str
) -> float:
    bodies = invoice_bodies(world, count, run)
    if batch:
        payloads = [
            json.dumps({"invoices": bodies[i : i + BATCH_SIZE]}).encode()
            for i in range(0, count, BATCH_SIZE)
        ]
    else:
        payloads = [json.dumps(body).encode() for body in bodies]
    path = "/v1/invoices/batch" if batch else "/v1/invoices"
    empty_invoice_tables(world.url)
    elapsed = stopwatch()
    responses = post_all(base, world.trader_key, path, payloads, clients)
    seconds = elapsed()
    check_answers(responses, batch=batch)
    stored = count_invoices(world.url)
    check(stored == count, f"{stored} invoices stored, {count} expected")
    return seconds


def check_answers(responses: list[httpx.Response], *, batch: bool) -> None:
    for response in responses:
        expected = 200 if batch else 201
        if response.status_code != expected:
            raise RuntimeError(f"answer {response.status_code}: {response.text[:300]}")
        if batch and any(item["status"] != 201 for item in response.json()["results"]):
            raise RuntimeError(f"an item was refused: {response.text[:300]}")


def measure_copy(world: World, count: int, run: str) -> float:
    rows = copy_rows(world, invoice_bodies(world, count, run))
    empty_invoice_tables(world.url)
    with psycopg.connect(plain_url(world.url)) as connection:
        seconds = timed_copy(connection, "invoices", COPY_COLUMNS, rows)
    stored = count_invoices(world.url)
    check(stored == count, f"{stored} rows copied, {count} expected")
    return seconds


def repeat(name: str, invoices: int, runs: int, once: Callable[[str], float]) -> Figure:
    seconds = []
    for run in range(runs):
        took = once(f"{name[:1].upper()}{run}")
        seconds.append(took)
        print(f"  {name:<7} run {run + 1}: {invoices:>7,} in {took:7.3f} s", flush=True)
    return Figure(name, invoices, seconds)


def paired(
    runs: int, invoices: int, batch: Callable[[str], float], copy: Callable[[str], float]
) -> tuple[Figure, Figure]:
    """Batch and COPY in turns (B C B C ...): each round's ratio is taken from two runs side by
    side, so a machine whose speed drifts during the benchmark skews no ratio."""
    batch_seconds: list[float] = []
    copy_seconds: list[float] = []
    for run in range(runs):
        batch_seconds.append(batch(f"B{run}"))
        copy_seconds.append(copy(f"C{run}"))
        share = copy_seconds[-1] / batch_seconds[-1]
        print(
            f"  round {run + 1}: batch {batch_seconds[-1]:7.3f} s, COPY {copy_seconds[-1]:7.3f} s,"
            f" batch/COPY {share:6.1%}",
            flush=True,
        )
    return Figure("batch", invoices, batch_seconds), Figure("copy", invoices, copy_seconds)


# --- the report -----------------------------------------------------------------------------


def report(figures: dict[str, Figure], clients: int) -> None:
    batch, single, copy = figures["batch"], figures["single"], figures["copy"]
    print()
    print(f"{'path':<34}{'invoices':>10}{'median s':>11}{'invoices/s':>13}")
    rows = [
        (f"POST /v1/invoices/batch ({BATCH_SIZE}/req)", batch),
        ("POST /v1/invoices (one per request)", single),
        ("COPY into invoices (psycopg)", copy),
    ]
    for label, figure in rows:
        median = statistics.median(figure.seconds)
        print(f"{label:<34}{figure.invoices:>10,}{median:>11.3f}{figure.rate:>13,.0f}")
    shares = sorted(c / b for b, c in zip(batch.seconds, copy.seconds, strict=True))
    ratio = statistics.median(shares)
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print()
    print(f"clients: {clients}; medians of {len(batch.seconds)} runs, batch and COPY in turns")
    print(f"batch / single: {batch.rate / single.rate:.1f}x")
    print(
        f"batch / COPY:   {ratio:.1%} median of the rounds' ratios,"
        f" {shares[0]:.1%}-{shares[-1]:.1%}"
        f" ({verdict} the target of {TARGET_RATIO:.0%})"
    )


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=20_000, help="invoices per batch/COPY run")
    parser.add_argument("--singles", type=int, default=2_000, help="invoices per single run")
    parser.add_argument("--runs", type=int, default=3, help="runs per path (median reported)")
    parser.add_argument("--clients", type=int, default=1, help="concurrent HTTP clients")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL, help="may CREATE DATABASE")
    arguments = parser.parse_args(argv)
    if arguments.count < 1 or arguments.singles < 1 or arguments.runs < 1:
        parser.error("--count, --singles and --runs must be positive")
    if arguments.clients < 1:
        parser.error("--clients must be positive")
    return arguments


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    with throwaway_database(arguments.admin_url, new_database_name("clearing_ingest")) as url:
        world = build_world(url)
        with api_server(url) as base:
            print(f"ingest on {make_url(url).render_as_string(hide_password=True)}", flush=True)
            batch, copy = paired(
                arguments.runs,
                arguments.count,
                lambda run: measure_api(
                    world,
                    base,
                    batch=True,
                    count=arguments.count,
                    clients=arguments.clients,
                    run=run,
                ),
                lambda run: measure_copy(world, arguments.count, run),
            )
            single = repeat(
                "single",
                arguments.singles,
                arguments.runs,
                lambda run: measure_api(
                    world,
                    base,
                    batch=False,
                    count=arguments.singles,
                    clients=arguments.clients,
                    run=run,
                ),
            )
            figures = {"batch": batch, "single": single, "copy": copy}
        report(figures, arguments.clients)


if __name__ == "__main__":
    main()
