"""Benchmark a whole netting cycle on PostgreSQL, from cut-off to settled, through the use cases.

The script creates its own throwaway database (migrated with
:func:`clearing.adapters.persistence.database.upgrade`, dropped at the end), registers two entities
(CN/CNY, RU/RUB) and ``--participants`` traders, and COPYs ``--obligations`` eligible
cross-border invoices straight into ``invoices`` (setup, not timed). The trade is skewed like
the Heihe border trade: about three quarters of the invoices are owed by Chinese importers to
Russian exporters, in CNY, RUB and USD, and a few large traders do most of the business.

Each run then times, through :mod:`clearing.use_cases.cycles`:

* ``open`` and ``set_rates`` (negligible);
* ``close``: the cut-off, split into **snapshot** (the close minus netting: loading and locking
  the eligible invoices, re-screening, storing the snapshot and the result, taking the invoices
  into the cycle, committing) and **netting** (the :func:`clearing.domain.netting.net` call
  inside the close);
* ``approve`` by CN, then by RU;
* **pay-ins**: ``record_pay_in`` is called for the first ``--use-case-pay-ins`` payers one by
  one; the other payers but the last are recorded in one transaction through the same
  repository (:meth:`CycleRepository.add_pay_ins`), because each use-case call reads every
  position of the cycle and so costs time proportional to the number of participants (the
  report projects what recording every pay-in one by one would cost);
* **settle**: the last payer's ``record_pay_in``, which re-nets the snapshot, builds and chains
  the journal, posts it (:meth:`LedgerRepository.append`, timed by a wrapper: **posting**),
  applies the result to the invoices and marks the cycle settled, in one transaction.

Beside it, in the same run, the posting rows are COPYed raw into a scratch table with the
columns and indexes of ``journal_postings`` (no foreign key, no chaining): the ratio of posting
throughput to raw COPY throughput is the figure of merit of DESIGN §5. The invoices the cycle
settled in full (the only ones a settlement writes) are written again by one raw UPDATE, rolled
back: the floor of applying the settlement to the invoices. The netting of the same
snapshot is also re-run in-process on its own.

Runs are repeated (``--repeat``, median reported) on freshly recreated invoices. Timings are
wall-clock seconds from :func:`time.perf_counter` (floats are fine for timings; every amount is
an integer in minor units).

Usage, from the repository root::

    .venv/bin/python benchmarks/cycle.py
    .venv/bin/python benchmarks/cycle.py --obligations 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import psycopg

from clearing.adapters.persistence import cycles as cycle_persistence
from clearing.adapters.persistence import ledger as ledger_persistence
from clearing.adapters.persistence.cycles import CycleRepository
from clearing.adapters.persistence.ledger import LedgerRepository
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWork
from clearing.domain import ledger
from clearing.domain.cycles import Cycle, CycleStatus, PayIn, due_pay_in
from clearing.domain.ledger import ChainedEntry
from clearing.domain.money import format_amount
from clearing.domain.netting import Position, net
from clearing.domain.rates import RateSet
from clearing.use_cases import cycles, settlement

from common import Phases, check, median, rates_document, stopwatch
from cycle_world import World, build_world, invoice_rows, reset_run
from database import (
    default_admin_url,
    new_database_name,
    plain_url,
    server_version,
    throwaway_database,
    timed_copy,
)

ADMIN_URL = default_admin_url("BENCH_DATABASE_ADMIN_URL")
RATES = rates_document(
    {"CNY": "1", "RUB": "0.0781", "USD": "7.10"},
    source="benchmark",
    as_of="2026-11-20T10:00:00Z",
)

TARGET_END_TO_END_SECONDS = 8.0
TARGET_POSTING_RATIO = 0.30

POSTING_COLUMNS = ("seq", "line", "entity", "account", "currency", "amount")


# --- instrumentation ----------------------------------------------------------------------------


@contextmanager
def instrumented() -> Iterator[Phases]:
    """Time the steps of a close and a settlement inside the use cases, by label; keep the
    entries posted to the journal."""
    phases = Phases()
    phases.wrap(cycles, "net", "netting")
    phases.wrap(CycleRepository, "eligible_invoices", "load eligible")
    phases.wrap(CycleRepository, "store_result", "store result")
    phases.wrap(CycleRepository, "take_invoices", "take invoices")
    phases.wrap(CycleRepository, "settle_invoices", "settle invoices")
    phases.wrap(ledger, "cycle_entries", "build journal")
    phases.wrap(ledger, "chain", "chain journal")
    phases.wrap(CycleRepository, "snapshot", "load snapshot")
    phases.wrap(CycleRepository, "snapshot_columns", "load snapshot")
    phases.wrap(CycleRepository, "positions", "load positions")
    phases.wrap(SqlUnitOfWork, "commit", "commit")
    phases.wrap(
        LedgerRepository, "append", "posting", capture=lambda _repository, entries, *_: entries
    )
    for persistence in (cycle_persistence, ledger_persistence):
        phases.wrap(persistence, "copy_rows", lambda _session, table, *_: f"COPY {table.name}")
    try:
        yield phases
    finally:
        phases.restore()


# --- one run ------------------------------------------------------------------------------------


@dataclass
class Run:
    obligations: int
    participants: int
    payers: int
    settled_obligations: int
    phases: dict[str, float]
    calls: dict[str, int]
    open_s: float
    close_s: float
    approve_s: float
    pay_in_use_case_s: float
    pay_in_use_case_calls: int
    pay_in_bulk_s: float
    pay_in_bulk_rows: int
    settle_s: float
    netting_alone_s: float
    postings: int
    entries: int
    copy_s: float
    update_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def snapshot_s(self) -> float:
        return self.close_s - self.phases.get("netting_in_close", 0.0)

    @property
    def measured_s(self) -> float:
        """Close to settled, as measured: some pay-ins one by one, the rest in bulk."""
        return (
            self.close_s
            + self.approve_s
            + self.pay_in_use_case_s
            + self.pay_in_bulk_s
            + self.settle_s
        )

    @property
    def bulk_pay_ins_s(self) -> float:
        """Recording every pay-in but the last in one transaction (scaled from the bulk part)."""
        return self.pay_in_bulk_s * (self.payers - 1) / max(self.pay_in_bulk_rows, 1)

    @property
    def end_to_end_s(self) -> float:
        """Close to settled with the pay-ins but the last recorded in one transaction."""
        return self.close_s + self.approve_s + self.bulk_pay_ins_s + self.settle_s

    @property
    def per_pay_in_s(self) -> float:
        return self.pay_in_use_case_s / max(self.pay_in_use_case_calls, 1)

    @property
    def end_to_end_all_use_case_s(self) -> float:
        """Close to settled if every pay-in but the last went through ``record_pay_in``."""
        return self.close_s + self.approve_s + self.per_pay_in_s * (self.payers - 1) + self.settle_s

    @property
    def postings_per_s(self) -> float:
        return self.postings / self.phases["posting"]

    @property
    def copy_rows_per_s(self) -> float:
        return self.postings / self.copy_s


def run_once(world: World, rows: Sequence[tuple[Any, ...]], use_case_pay_ins: int) -> Run:
    reset_run(world, rows)
    uows, operators = world.uows, world.operators
    with instrumented() as phases:
        elapsed = stopwatch()
        cycle = cycles.open_cycle(uows(), operators["CN"], "fifo")
        cycles.set_rates(uows(), operators["CN"], cycle.id, RATES)
        open_s = elapsed()

        phases.reset()
        elapsed = stopwatch()
        proposed = cycles.close_cycle(uows(), operators["CN"], cycle.id)
        close_s = elapsed()
        close_phases = dict(phases.seconds)
        check(proposed.status is CycleStatus.PROPOSED, f"close left it {proposed.status}")
        digest = proposed.digest or ""

        elapsed = stopwatch()
        for code in proposed.required_approvals:
            approved = cycles.approve_cycle(uows(), operators[code], cycle.id, digest)
        approve_s = elapsed()
        check(approved.status is CycleStatus.APPROVED, f"approvals left it {approved.status}")

        with uows() as uow:
            positions = uow.cycles.positions(cycle.id)
        payers = sorted((p for p in positions if due_pay_in(p) > 0), key=lambda p: p.participant_id)
        one_by_one = payers[: max(1, min(use_case_pay_ins, len(payers) - 1))]
        in_bulk = payers[len(one_by_one) : -1]
        last = payers[-1]

        elapsed = stopwatch()
        for position in one_by_one:
            pay_in_full(world, cycle.id, position)
        pay_in_use_case_s = elapsed()

        elapsed = stopwatch()
        with uows() as uow:
            received = [
                PayIn(
                    f"pay_{uuid.uuid4().hex[:16]}",
                    cycle.id,
                    p.participant_id,
                    p.jurisdiction,
                    p.currency,
                    due_pay_in(p),
                    bank_reference(p),
                    operators[p.jurisdiction].id,
                    value_date=date.today(),
                )
                for p in in_bulk
            ]
            uow.cycles.add_pay_ins(received)
            # Each pay-in is journaled as it is recorded, as the use case does.
            recorded_at = datetime.now(UTC)
            cycles.post(uow, [ledger.pay_in_entry(pay_in, recorded_at) for pay_in in received])
            uow.commit()
        pay_in_bulk_s = elapsed()

        phases.reset()
        elapsed = stopwatch()
        settled = pay_in_full(world, cycle.id, last)
        settle_s = elapsed()
        settle_phases = dict(phases.seconds)
        settle_calls = dict(phases.calls)
        appended: list[ChainedEntry] = list(phases.captured)
    check(settled.status is CycleStatus.SETTLED, f"the last pay-in left it {settled.status}")

    with uows() as uow:
        snapshot = uow.cycles.snapshot(cycle.id)
    rates = proposed.rates or RateSet.from_json(RATES)
    elapsed = stopwatch()
    result = net(snapshot, rates, settled.policy)
    netting_alone_s = elapsed()
    check(result.digest == settled.digest, "re-netting the snapshot gives another digest")
    with psycopg.connect(plain_url(world.url)) as connection:
        books = connection.execute(
            "SELECT entity, currency, sum(amount) FROM journal_postings GROUP BY entity, currency"
        ).fetchall()
    check(bool(books) and all(t == 0 for _e, _c, t in books), f"unbalanced books: {books}")

    posting_rows = [
        (c.seq, line, c.entry.entity, p.account, p.currency, p.amount)
        for c in appended
        for line, p in enumerate(c.entry.postings, start=1)
    ]
    copy_s = raw_copy_seconds(world.url, posting_rows)
    update_s = raw_update_seconds(world.url, cycle.id)

    phases_out = {
        "netting_in_close": close_phases.get("netting", 0.0),
        "load eligible": close_phases.get("load eligible", 0.0),
        "store result": close_phases.get("store result", 0.0),
        "take invoices": close_phases.get("take invoices", 0.0),
        "commit_in_close": close_phases.get("commit", 0.0),
        "commit_in_settle": settle_phases.get("commit", 0.0),
        "netting_in_settle": settle_phases.get("netting", 0.0),
        "build journal": settle_phases.get("build journal", 0.0),
        "chain journal": settle_phases.get("chain journal", 0.0),
        "load snapshot": settle_phases.get("load snapshot", 0.0),
        "load positions": settle_phases.get("load positions", 0.0),
        "posting": settle_phases.get("posting", 0.0),
        "posting rows COPY": settle_phases.get("COPY journal_postings", 0.0),
        "settle invoices": settle_phases.get("settle invoices", 0.0),
    }
    record = next((c.entry.cycle for c in appended if c.entry.cycle is not None), None)
    record_bytes = len(json.dumps(dict(record), separators=(",", ":"))) if record else 0
    return Run(
        obligations=len(rows),
        participants=sum(len(v) for v in world.participants.values()),
        payers=len(payers),
        settled_obligations=sum(1 for s in result.settled if s > 0),
        phases=phases_out,
        calls=settle_calls,
        open_s=open_s,
        close_s=close_s,
        approve_s=approve_s,
        pay_in_use_case_s=pay_in_use_case_s,
        pay_in_use_case_calls=len(one_by_one),
        pay_in_bulk_s=pay_in_bulk_s,
        pay_in_bulk_rows=len(in_bulk),
        settle_s=settle_s,
        netting_alone_s=netting_alone_s,
        postings=len(posting_rows),
        entries=len(appended),
        copy_s=copy_s,
        update_s=update_s,
        extra={"settled_value": result.metrics.settled_value, "record_bytes": record_bytes},
    )


def bank_reference(position: Position) -> str:
    return f"BANK/{position.participant_id}"


def pay_in_full(world: World, cycle_id: str, position: Position) -> Cycle:
    """Record the whole pay-in ``position`` owes through the use case, as its entity's operator."""
    return settlement.record_pay_in(
        world.uows(),
        world.operators[position.jurisdiction],
        cycle_id,
        position.participant_id,
        position.currency,
        format_amount(due_pay_in(position), position.currency),
        bank_reference(position),
    )


def raw_update_seconds(url: str, cycle_id: str) -> float:
    """One raw UPDATE of the invoices the cycle settled in full, writing what the settlement
    writes to them (status, outstanding, cycle, time), in a transaction rolled back after: the
    floor of applying a settlement to the invoices."""
    with psycopg.connect(plain_url(url)) as connection:
        elapsed = stopwatch()
        connection.execute(
            "UPDATE invoices SET status = 'settled', outstanding = 0, cycle_id = %(cycle)s, "
            "updated_at = now() FROM cycle_obligations co WHERE co.cycle_id = %(cycle)s "
            "AND co.invoice_id = invoices.id AND co.settled = co.outstanding",
            {"cycle": cycle_id},
        )
        seconds = elapsed()
        connection.rollback()
    return seconds


def raw_copy_seconds(url: str, rows: Sequence[tuple[Any, ...]]) -> float:
    """COPY ``rows`` into a scratch table with the columns and indexes of journal_postings, in
    one transaction (commit included), and return the time; the table is dropped after."""
    with psycopg.connect(plain_url(url)) as connection:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_postings")
            cursor.execute(
                "CREATE TABLE bench_postings "
                "(LIKE journal_postings INCLUDING CONSTRAINTS INCLUDING INDEXES)"
            )
            cursor.execute("CREATE SEQUENCE bench_postings_id_seq OWNED BY bench_postings.id")
            cursor.execute(
                "ALTER TABLE bench_postings "
                "ALTER COLUMN id SET DEFAULT nextval('bench_postings_id_seq')"
            )
        connection.commit()
        seconds = timed_copy(connection, "bench_postings", POSTING_COLUMNS, rows)
        connection.execute("DROP TABLE bench_postings")
        connection.commit()
    return seconds


# --- reporting ----------------------------------------------------------------------------------


def report(runs: Sequence[Run]) -> bool:
    first = runs[0]
    print(
        f"\n{first.obligations:,} eligible invoices, {first.participants:,} participants, "
        f"{first.payers:,} payers, {first.settled_obligations:,} obligations settled "
        f"(at least partly), {first.entries} journal entries, {first.postings:,} postings"
    )
    print(
        f"median of {len(runs)} run(s), seconds (each run: "
        + ", ".join(f"{run.end_to_end_s:.2f}" for run in runs)
        + " end to end)\n"
    )
    lines: list[tuple[str, Callable[[Run], float]]] = [
        ("open + set rates", lambda r: r.open_s),
        ("close (cut-off)", lambda r: r.close_s),
        ("  snapshot (close minus netting)", lambda r: r.snapshot_s),
        ("    load + lock eligible invoices", lambda r: r.phases["load eligible"]),
        ("    store snapshot and result (COPY)", lambda r: r.phases["store result"]),
        ("    take the invoices into the cycle", lambda r: r.phases["take invoices"]),
        ("    commit", lambda r: r.phases["commit_in_close"]),
        ("  netting (net() inside close)", lambda r: r.phases["netting_in_close"]),
        ("approve CN + approve RU", lambda r: r.approve_s),
        ("pay-ins recorded in one transaction (all)", lambda r: r.bulk_pay_ins_s),
        ("settle (last record_pay_in)", lambda r: r.settle_s),
        ("  load the snapshot back", lambda r: r.phases["load snapshot"]),
        ("  load positions (twice, ORM)", lambda r: r.phases["load positions"]),
        ("  re-netting to prove the digest", lambda r: r.phases["netting_in_settle"]),
        ("  build journal entries", lambda r: r.phases["build journal"]),
        ("  chain (hash) entries", lambda r: r.phases["chain journal"]),
        ("  posting (LedgerRepository.append)", lambda r: r.phases["posting"]),
        ("    of which COPY of the posting rows", lambda r: r.phases["posting rows COPY"]),
        (
            "    of which entries + cycle record",
            lambda r: r.phases["posting"] - r.phases["posting rows COPY"],
        ),
        ("  apply the settlement to the invoices", lambda r: r.phases["settle invoices"]),
        ("  commit", lambda r: r.phases["commit_in_settle"]),
        (
            "  the rest (locks, reads)",
            lambda r: (
                r.settle_s
                - sum(
                    r.phases[k]
                    for k in (
                        "load snapshot",
                        "load positions",
                        "netting_in_settle",
                        "build journal",
                        "chain journal",
                        "posting",
                        "settle invoices",
                        "commit_in_settle",
                    )
                )
            ),
        ),
        ("END TO END (close -> settled)", lambda r: r.end_to_end_s),
        ("as measured (some pay-ins one by one)", lambda r: r.measured_s),
        ("netting alone, same snapshot", lambda r: r.netting_alone_s),
        ("raw COPY of the posting rows", lambda r: r.copy_s),
        ("raw UPDATE of the invoices settled in full", lambda r: r.update_s),
    ]
    for label, value in lines:
        print(f"  {label:<42} {median(runs, value):9.3f}")

    per_call = median(runs, lambda r: r.per_pay_in_s)
    projected = median(runs, lambda r: r.end_to_end_all_use_case_s)
    print(
        f"\n  record_pay_in, measured separately: {per_call * 1000:.1f} ms per call over "
        f"{first.pay_in_use_case_calls} calls; recording all {first.payers:,} pay-ins one by one"
        f" would take ~{per_call * (first.payers - 1):.0f} s (end to end ~{projected:.0f} s)"
    )
    e2e = median(runs, lambda r: r.end_to_end_s)
    postings_rate = median(runs, lambda r: r.postings_per_s)
    copy_rate = median(runs, lambda r: r.copy_rows_per_s)
    rows_only = median(runs, lambda r: r.postings / r.phases["posting rows COPY"])
    print(
        f"  the first entry carries the cycle record: {first.extra['record_bytes'] / 1e6:.1f} MB "
        f"of JSON; the posting rows alone go in at {rows_only:,.0f} rows/s"
    )
    ratio = postings_rate / copy_rate
    e2e_ok = e2e <= TARGET_END_TO_END_SECONDS
    ratio_ok = ratio >= TARGET_POSTING_RATIO
    print(
        f"\n  end to end:   {e2e:8.2f} s        target <= {TARGET_END_TO_END_SECONDS:.0f} s   "
        f"{'ok' if e2e_ok else 'MISSED'}"
    )
    print(f"  posting:      {postings_rate:8,.0f} postings/s")
    print(f"  raw COPY:     {copy_rate:8,.0f} rows/s")
    print(
        f"  ratio:        {ratio:8.1%}          target >= {TARGET_POSTING_RATIO:.0%}   "
        f"{'ok' if ratio_ok else 'MISSED'}"
    )
    return e2e_ok and ratio_ok


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--obligations", type=int, default=100_000)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--use-case-pay-ins",
        type=int,
        default=25,
        help="payers recorded one by one through record_pay_in (the rest in one transaction)",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args(argv)
    if args.obligations < 10 or args.participants < 4 or args.repeat < 1:
        parser.error("need at least 10 obligations, 4 participants and 1 repeat")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    name = new_database_name("clearing_bench")
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"throwaway database {name}"
    )
    print(f"PostgreSQL {server_version(args.admin_url)}")
    with throwaway_database(args.admin_url, name) as url:
        world: World | None = None
        try:
            elapsed = stopwatch()
            world = build_world(url, args.participants)
            rows = invoice_rows(world, args.obligations, args.seed)
            print(
                f"setup: {args.participants:,} participants, "
                f"invoices generated in {elapsed():.1f} s"
            )
            runs: list[Run] = []
            for number in range(1, args.repeat + 1):
                run = run_once(world, rows, args.use_case_pay_ins)
                runs.append(run)
                print(
                    f"run {number}: close {run.close_s:.2f} s, settle {run.settle_s:.2f} s, "
                    f"end to end {run.end_to_end_s:.2f} s, "
                    f"{run.postings_per_s:,.0f} postings/s vs "
                    f"{run.copy_rows_per_s:,.0f} COPY rows/s "
                    f"(load average {os.getloadavg()[0]:.1f})"
                )
            met = report(runs)
        finally:
            if world is not None:
                world.engine.dispose()
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
