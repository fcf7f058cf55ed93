"""Benchmark importing a bank statement on PostgreSQL: every payer of a 100,000-obligation cycle
pays in by statement, and each entity imports its own.

The script creates its own throwaway database (dropped at the end) with the world of
``cycle.py`` (two entities, ``--participants`` traders, ``--obligations`` eligible invoices),
closes and approves a cycle, and then, per run:

* **floor**: the same pay-ins and their journal entries written in one transaction through the
  repositories (``add_pay_ins`` and the posting of one ``pay_in`` entry each), rolled back: what
  an import must write in any case, with no statement to read and nothing to match;
* **import**: a CSV statement per entity holding one credit per payer (quoting the payer's RF
  reference), read and imported through :func:`clearing.use_cases.bank.import_statement`,
  rolled back afterwards by emptying what it wrote. The last payer is left out, so that the
  import measures matching and recording, not the settlement (``cycle.py`` measures that).

The two are run in turns (floor, import, floor, import …); the median of each and of the
per-round ratio are reported. Timings are wall-clock seconds; amounts are integers in minor
units.

Usage, from the repository root::

    .venv/bin/python benchmarks/bank_import.py --repeat 3
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
from collections.abc import Sequence
from datetime import UTC, date, datetime

import psycopg

from clearing.adapters.files.bank_statements import STATEMENT_COLUMNS, read_statement
from clearing.domain import ledger
from clearing.domain.cycles import due_pay_in
from clearing.domain.ledger import GENESIS_HASH
from clearing.domain.money import format_amount
from clearing.domain.netting import Position
from clearing.domain.payments import pay_in_reference
from clearing.use_cases import bank, cycles
from clearing.use_cases.settlement import new_pay_in

from common import check, median, rates_document, stopwatch
from cycle_world import World, build_world, invoice_rows, reset_run
from database import (
    default_admin_url,
    new_database_name,
    plain_url,
    server_version,
    throwaway_database,
)

ADMIN_URL = default_admin_url("CLEARING_BENCH_ADMIN_URL")
RATES = rates_document(
    {"CNY": "1", "RUB": "0.0781", "USD": "7.10"},
    source="benchmark fixing",
    as_of="2026-11-20T10:00:00Z",
)
VALUE_DATE = date(2026, 12, 1)


def statement_csv(payers: Sequence[Position], number: int, cycle_id: str) -> bytes:
    """A CSV statement with one credit per payer, quoting its RF reference."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*STATEMENT_COLUMNS, "remittance"])
    for index, p in enumerate(payers):
        writer.writerow(
            [
                f"B{index:08d}",
                "credit",
                p.currency,
                format_amount(due_pay_in(p), p.currency),
                VALUE_DATE.isoformat(),
                pay_in_reference(number, cycle_id, p.participant_id),
            ]
        )
    return buffer.getvalue().encode()


def floor_seconds(world: World, cycle_id: str, payers: Sequence[Position]) -> float:
    """The pay-ins and their entries written through the repositories, rolled back."""
    elapsed = stopwatch()
    with world.uows() as uow:
        cycle = uow.cycles.get(cycle_id, for_update=True)
        assert cycle is not None
        operator = world.operators["CN"]
        received = [
            new_pay_in(operator, cycle, p, due_pay_in(p), f"B{index:08d}", VALUE_DATE)
            for index, p in enumerate(payers)
        ]
        uow.cycles.add_pay_ins(received)
        recorded_at = datetime.now(UTC)
        cycles.post(uow, [ledger.pay_in_entry(pay_in, recorded_at) for pay_in in received])
        seconds = elapsed()
        uow.rollback()
    return seconds


def import_seconds(world: World, statements: dict[str, bytes]) -> tuple[float, int]:
    """Each entity's statement read and imported; returns seconds and lines matched."""
    elapsed = stopwatch()
    matched = 0
    for entity, content in statements.items():
        report = bank.import_statement(
            world.uows(), world.operators[entity], read_statement(content)
        )
        check(report.unmatched == 0, f"{entity}: {report.unmatched} lines did not match")
        matched += report.matched
    return elapsed(), matched


def undo_import(world: World, cycle_id: str) -> None:
    """Empty what an import wrote (pay-ins, bank entries, journal), so the next run starts
    from the approved cycle again."""
    with psycopg.connect(plain_url(world.url)) as connection, connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # journal triggers off
        cursor.execute("TRUNCATE bank_entries, journal_postings, journal_entries")
        cursor.execute("DELETE FROM pay_ins WHERE cycle_id = %s", (cycle_id,))
        cursor.execute("UPDATE cycles SET status = 'approved' WHERE id = %s", (cycle_id,))
        cursor.execute("UPDATE ledger_head SET seq = 0, hash = %s WHERE id = 1", (GENESIS_HASH,))
        connection.commit()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--obligations", type=int, default=100_000)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    name = new_database_name("clearing_bench")
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"throwaway database {name}"
    )
    print(f"PostgreSQL {server_version(args.admin_url)}")
    with throwaway_database(args.admin_url, name) as url:
        world = build_world(url, args.participants)
        try:
            reset_run(world, invoice_rows(world, args.obligations, args.seed))
            operator = world.operators["CN"]
            cycle = cycles.open_cycle(world.uows(), operator, "fifo")
            cycles.set_rates(world.uows(), operator, cycle.id, RATES)
            proposed = cycles.close_cycle(world.uows(), operator, cycle.id)
            for code in proposed.required_approvals:
                cycles.approve_cycle(
                    world.uows(), world.operators[code], cycle.id, proposed.digest or ""
                )
            with world.uows() as uow:
                positions = uow.cycles.positions(cycle.id)
            payers = sorted(
                (p for p in positions if due_pay_in(p) > 0), key=lambda p: p.participant_id
            )[:-1]
            statements = {
                entity: statement_csv(
                    [p for p in payers if p.jurisdiction == entity], proposed.number, cycle.id
                )
                for entity in ("CN", "RU")
            }
            print(f"setup: {len(payers):,} payers pay in by statement (the last one does not)")
            floors: list[float] = []
            imports: list[float] = []
            for number in range(1, args.repeat + 1):
                floors.append(floor_seconds(world, cycle.id, payers))
                seconds, matched = import_seconds(world, statements)
                check(matched == len(payers), f"{matched} of {len(payers)} matched")
                imports.append(seconds)
                undo_import(world, cycle.id)
                print(
                    f"run {number}: floor {floors[-1]:.2f} s, import {seconds:.2f} s "
                    f"({len(payers) / seconds:,.0f} lines/s; load average "
                    f"{os.getloadavg()[0]:.1f})"
                )
            ratios = [i / f for f, i in zip(floors, imports, strict=True)]
            print(
                f"\nmedians: floor {median(floors, float):.2f} s, import "
                f"{median(imports, float):.2f} s, import ÷ floor {median(ratios, float):.2f} "
                f"({len(payers) / median(imports, float):,.0f} statement lines/s)"
            )
        finally:
            world.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
