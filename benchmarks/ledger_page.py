"""Benchmark the ledger pages after one large settled cycle, for an auditor and for an operator.

The script creates its own throwaway database (dropped at the end, whatever happens), builds the
world of ``cycle.py`` (CN/CNY and RU/RUB, ``--participants`` traders), COPYs ``--obligations``
eligible invoices and runs one cycle from cut-off to settled with ``cycle.py``'s own run (setup,
not timed). Then, through a Starlette ``TestClient`` on :func:`service.app.create_app` signed in
at ``/ui/login`` with an auditor's key and with a CN operator's key, it times, each figure the
median of ``--repeat`` rounds:

* **first view** of ``/ui/ledger``: each round builds a fresh app, which has verified nothing
  yet, so the view verifies (the whole journal for the auditor, CN's book for the operator);
* **verify again**: ``POST /ui/ledger/verify``, which re-runs the verification (its redirect to
  the page is not followed);
* **cached view** of ``/ui/ledger``: the same head, so the verification kept is shown;
* **journal page**: ``/ui/ledger/journal`` (its first page: pay-ins), and the page that starts
  at CN's discharge of the cycle (the entry that carries the cycle's record; an operator's
  export of it carries CN's disclosure of the cycle, netted anew);
* the floors: **GET /healthz** through the same client (what any request through the app
  costs) and the bare :func:`clearing.use_cases.audit.head` call (the least a ledger view
  reads).

Each view is also split into the time spent inside the calls it makes (the audit use cases, the
re-netting of a cycle, the participants' names, the template), to show what dominates it; a
nested figure is included in the one it is nested in. One untimed round warms the app up first.

Timings are wall-clock seconds from :func:`time.perf_counter` (floats are fine for timings;
every amount is an integer in minor units).

Usage, from the repository root::

    .venv/bin/python benchmarks/ledger_page.py
    .venv/bin/python benchmarks/ledger_page.py --obligations 10000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from cycle import ADMIN_URL, run_once
from starlette.testclient import TestClient

from clearing.adapters.persistence.cycles import CycleRepository
from clearing.domain.access import Principal
from clearing.use_cases import audit, keys
from clearing.use_cases.ports import UnitOfWorkFactory
from service.app import create_app
from service.ui import common as page_common

from common import Phases, check, stopwatch
from cycle_world import World, build_world, invoice_rows
from database import new_database_name, plain_url, server_version, throwaway_database

#: The figures of a round, in the order the table shows them.
FIRST_VIEW = "first view /ui/ledger (verifies)"
VERIFY_AGAIN = "verify again POST /ui/ledger/verify"
CACHED_VIEW = "cached view /ui/ledger (same head)"
JOURNAL_PAGE = "journal page /ui/ledger/journal"
DISCHARGE_PAGE = "journal page from CN's discharge"
HEALTHZ = "floor: GET /healthz"
HEAD = "floor: audit.head use case"
FIGURES = (FIRST_VIEW, VERIFY_AGAIN, CACHED_VIEW, JOURNAL_PAGE, DISCHARGE_PAGE, HEALTHZ, HEAD)
#: The views split into the calls they make.
SPLIT = (FIRST_VIEW, CACHED_VIEW, JOURNAL_PAGE, DISCHARGE_PAGE)


@dataclass(frozen=True)
class Viewer:
    """Who signs in: a label, the key the sign-in form takes, and its principal."""

    label: str
    key: str
    principal: Principal


@dataclass
class Round:
    """One round for one viewer: seconds per figure, and per view the seconds (and calls)
    spent inside each instrumented call."""

    seconds: dict[str, float] = field(default_factory=dict)
    inside: dict[str, dict[str, float]] = field(default_factory=dict)
    calls: dict[str, dict[str, int]] = field(default_factory=dict)


# --- instrumentation ----------------------------------------------------------------------------


#: The calls a ledger view makes, timed by label; the page module calls them through
#: ``audit.<name>``, ``keys.<name>`` and ``render``, so wrapping those names reaches them.
#: The "nested" ones run inside the calls above them (a verification, or the entries).
INSTRUMENTED = (
    (keys, "authenticate", "sign-in check (keys.authenticate)"),
    (audit, "head", "audit.head"),
    (audit, "verify", "verification (audit.verify)"),
    (audit, "verify_book", "verification (audit.verify_book)"),
    (audit, "ledger_balances", "audit.ledger_balances"),
    (audit, "page_before", "audit.page_before"),
    (audit, "ledger_entries", "audit.ledger_entries"),
    (audit, "settlement_times", "audit.settlement_times"),
    (page_common.Viewer, "names", "participants' names (Viewer.names)"),
    (page_common, "render", "template (render)"),
    (audit, "_as_disclosed", "nested: disclosing an entry (_as_disclosed)"),
    (CycleRepository, "snapshot_columns", "nested: loading a cycle's snapshot"),
    (audit, "net", "nested: re-netting a cycle (net)"),
    (audit, "disclosed_digest", "nested: digest of a disclosure"),
)


@contextmanager
def instrumented() -> Iterator[Phases]:
    """Time the calls of :data:`INSTRUMENTED` by label while the block runs."""
    phases = Phases()
    for owner, name, label in INSTRUMENTED:
        phases.wrap(owner, name, label)
    try:
        yield phases
    finally:
        phases.restore()


# --- one round ----------------------------------------------------------------------------------


def signed_in(client: TestClient, key: str) -> None:
    response = client.post("/ui/login", data={"key": key}, follow_redirects=False)
    check(response.status_code == 303, f"sign-in answered {response.status_code}")


def timed_request(client: TestClient, method: str, path: str, status: int) -> tuple[float, str]:
    """The seconds a request takes, and what it answers (a redirect: where it points)."""
    elapsed = stopwatch()
    response = client.request(method, path, follow_redirects=False)
    seconds = elapsed()
    check(response.status_code == status, f"{method} {path} answered {response.status_code}")
    return seconds, response.headers.get("location") or response.text


def one_round(uows: UnitOfWorkFactory, viewer: Viewer, discharge: int, phases: Phases) -> Round:
    """The figures for ``viewer`` on a fresh app (which has verified nothing yet); ``discharge``
    is the sequence number of CN's discharge entry."""
    found = Round()
    with TestClient(create_app(uows)) as client:
        signed_in(client, viewer.key)
        views: list[tuple[str, str, str, int]] = [
            (FIRST_VIEW, "GET", "/ui/ledger", 200),
            (VERIFY_AGAIN, "POST", "/ui/ledger/verify", 303),
            (CACHED_VIEW, "GET", "/ui/ledger", 200),
            (JOURNAL_PAGE, "GET", "/ui/ledger/journal", 200),
            (DISCHARGE_PAGE, "GET", f"/ui/ledger/journal?after={discharge - 1}", 200),
            (HEALTHZ, "GET", "/healthz", 200),
        ]
        for figure, method, path, status in views:
            phases.reset()
            found.seconds[figure], text = timed_request(client, method, path, status)
            found.inside[figure] = dict(phases.seconds)
            found.calls[figure] = dict(phases.calls)
            if figure == FIRST_VIEW:
                check('data-ok="yes"' in text, f"the {viewer.label} verification failed")
            if figure == VERIFY_AGAIN:
                check("error=" not in text, f"verifying again failed for the {viewer.label}")
    elapsed = stopwatch()
    audit.head(uows(), viewer.principal)
    found.seconds[HEAD] = elapsed()
    return found


# --- reporting ----------------------------------------------------------------------------------


def report(viewer: Viewer, rounds: Sequence[Round], scope: str) -> None:
    healthz = statistics.median(r.seconds[HEALTHZ] for r in rounds)
    head = statistics.median(r.seconds[HEAD] for r in rounds)
    print(f"\n{viewer.label} ({scope}), median of {len(rounds)} round(s)")
    print(f"  {'figure':<40} {'seconds':>9} {'ms':>9} {'x healthz':>10} {'x head':>8}")
    for figure in FIGURES:
        seconds = statistics.median(r.seconds[figure] for r in rounds)
        print(
            f"  {figure:<40} {seconds:9.4f} {seconds * 1000:9.1f} "
            f"{seconds / healthz:10.1f} {seconds / head:8.1f}"
        )
    for figure in SPLIT:
        seen = {label for r in rounds for label in r.inside[figure]}
        print(f"  inside the {figure}:")
        for _owner, _name, label in INSTRUMENTED:
            if label in seen:
                seconds = statistics.median(r.inside[figure].get(label, 0.0) for r in rounds)
                calls = max(r.calls[figure].get(label, 0) for r in rounds)
                print(f"    {label:<44} {seconds * 1000:9.1f} ms  {calls:4d} call(s)")


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--obligations", type=int, default=50_000)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args(argv)
    if args.obligations < 10 or args.participants < 4 or args.repeat < 1:
        parser.error("need at least 10 obligations, 4 participants and 1 repeat")
    return args


def settled_cycle(world: World, obligations: int, seed: int) -> None:
    """One cycle of ``obligations`` invoices from cut-off to settled, as ``cycle.py`` runs it."""
    elapsed = stopwatch()
    run = run_once(world, invoice_rows(world, obligations, seed), use_case_pay_ins=5)
    print(
        f"setup: one cycle of {run.obligations:,} invoices settled in {elapsed():.1f} s "
        f"({run.payers:,} payers, {run.entries:,} entries posted at settlement)"
    )


def discharge_seq(url: str, entity: str) -> int:
    """The sequence number of ``entity``'s (first) discharge entry."""
    with psycopg.connect(plain_url(url)) as connection:
        found = connection.execute(
            "SELECT min(seq) FROM journal_entries WHERE entity = %s AND kind = 'discharge'",
            (entity,),
        ).fetchone()
    check(found is not None and found[0] is not None, f"{entity} discharged nothing")
    assert found is not None
    return int(found[0])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    name = new_database_name("clearing_bench")
    print(
        f"Python {platform.python_version()} on {platform.platform()} ({platform.machine()}, "
        f"{os.cpu_count()} CPUs); throwaway database {name}"
    )
    print(f"PostgreSQL {server_version(args.admin_url)}")
    with throwaway_database(args.admin_url, name) as url:
        world: World | None = None
        try:
            world = build_world(url, args.participants)
            settled_cycle(world, args.obligations, args.seed)
            uows = world.uows
            viewers = [
                Viewer("auditor", *keys.create_key(uows(), "auditor")),
                Viewer("operator CN", *keys.create_key(uows(), "operator", entity="CN")),
            ]
            whole = audit.verify(uows(), viewers[0].principal)
            book = audit.verify_book(uows(), viewers[1].principal)
            check(whole.ok and book.ok, "the journal does not verify")
            print(
                f"journal: {whole.entries:,} entries ({whole.cycles} settled cycle); "
                f"CN's book: {book.entries:,} entries"
            )
            discharge = discharge_seq(url, "CN")
            print(f"CN's discharge of the cycle: entry {discharge:,}")
            scopes = {
                "auditor": f"whole journal, {whole.entries:,} entries",
                "operator CN": f"CN's book, {book.entries:,} entries",
            }
            rounds: dict[str, list[Round]] = {viewer.label: [] for viewer in viewers}
            with instrumented() as phases:
                for viewer in viewers:
                    one_round(uows, viewer, discharge, phases)  # warm-up, not counted
                for number in range(1, args.repeat + 1):
                    for viewer in viewers:
                        found = one_round(uows, viewer, discharge, phases)
                        rounds[viewer.label].append(found)
                        print(
                            f"round {number}, {viewer.label}: first view "
                            f"{found.seconds[FIRST_VIEW]:.3f} s, cached view "
                            f"{found.seconds[CACHED_VIEW] * 1000:.1f} ms "
                            f"(load average {os.getloadavg()[0]:.1f})"
                        )
            for viewer in viewers:
                report(viewer, rounds[viewer.label], scopes[viewer.label])
        finally:
            if world is not None:
                world.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
