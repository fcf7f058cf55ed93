"""Benchmark policy ``setoff`` against ``fifo`` on the netting benchmark's instance (DESIGN §4a).

The instance is ``netting_instance.py``'s deterministic CN<->RU snapshot (1M obligations among
100k participants by default), built as the core's input columns before any timing. The script
nets it with :func:`clearing.domain.netting.net` under ``fifo`` and under ``setoff`` in turn,
A B A B ..., ``--repeat`` times each (3 by default), so that a busy moment hits both; it prints
each policy's median and runs, the ratio of the medians (the target: ``setoff`` within 3 times
``fifo``), the part of ``setoff``'s time spent in its allocation (pairing, min-cost flow, fill),
and the money each makes participants move (the sum of their net pay-ins, in base currency).
Both must settle the same value.

Usage, from the repository root::

    .venv/bin/python benchmarks/setoff.py
    .venv/bin/python benchmarks/setoff.py --obligations 100000 --participants 10000

Timings are wall-clock seconds from :func:`time.perf_counter` (floats are fine for timings;
every amount is an integer in minor units).
"""

from __future__ import annotations

import argparse
import platform
import statistics
from collections.abc import Sequence

import ortools

from clearing.domain.money import format_amount
from clearing.domain.netting import NettingResult, net, setoff
from clearing.domain.netting.columns import ObligationColumns
from clearing.domain.obligations import Policy
from clearing.domain.rates import RateSet

from common import BASE, Phases, check, collected, stopwatch
from netting_instance import generate_instance, rates_document

POLICIES = (Policy.FIFO, Policy.SETOFF)


def timed_run(
    columns: ObligationColumns, rates: RateSet, policy: Policy
) -> tuple[float, NettingResult]:
    with collected():
        elapsed = stopwatch()
        result = net(columns, rates, policy)
        return elapsed(), result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--obligations", type=int, default=1_000_000)
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"setoff vs fifo: {args.obligations:,} obligations, {args.participants:,} participants, "
        f"{args.repeat} runs each, alternating"
    )
    print(f"Python {platform.python_version()}, OR-Tools {ortools.__version__}")
    instance = generate_instance(args.obligations, args.participants, args.seed)
    rates = RateSet.from_json(rates_document())
    phases = Phases()
    phases.wrap(setoff, "allocate", "setoff allocation")
    seconds: dict[Policy, list[float]] = {policy: [] for policy in POLICIES}
    results: dict[Policy, NettingResult] = {}
    allocation: list[float] = []
    try:
        for _ in range(args.repeat):
            for policy in POLICIES:
                columns = instance.columns()
                phases.reset()
                took, results[policy] = timed_run(columns, rates, policy)
                seconds[policy].append(took)
                if policy is Policy.SETOFF:
                    allocation.append(phases.seconds["setoff allocation"])
    finally:
        phases.restore()

    fifo, result = results[Policy.FIFO], results[Policy.SETOFF]
    check(
        result.metrics.settled_value == fifo.metrics.settled_value,
        "setoff and fifo settle different values",
    )
    medians = {policy: statistics.median(runs) for policy, runs in seconds.items()}
    for policy in POLICIES:
        runs = ", ".join(f"{s:.3f}" for s in seconds[policy])
        print(f"  {policy.value:<8} median {medians[policy]:7.3f} s   runs: {runs}")
    ratio = medians[Policy.SETOFF] / medians[Policy.FIFO]
    print(f"  ratio setoff / fifo: {ratio:.2f} (target: within 3)")
    print(f"  of which the set-off allocation: median {statistics.median(allocation):.3f} s")
    settled = format_amount(fifo.metrics.settled_value, BASE)
    print(f"  settled by both: {settled} {BASE}")
    moved = {policy: setoff.money_moved(results[policy]) for policy in POLICIES}
    for policy in POLICIES:
        print(f"  money moved, {policy.value:<8} {format_amount(moved[policy], BASE):>22} {BASE}")
    saved = moved[Policy.FIFO] - moved[Policy.SETOFF]
    share = saved / moved[Policy.FIFO] if moved[Policy.FIFO] else 0.0
    print(f"  set-off saves {format_amount(saved, BASE)} {BASE} ({share:.1%} of fifo's)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
