"""Benchmark the netting core and `clearing net`, and check optimality against an LP solver.

For each size (10k, 100k and 1M obligations by default) the script generates a deterministic
CN<->RU instance among 100k participants, shaped like real border trade: most value flows
CN->RU (about 3.5 times RU->CN), invoices are in CNY, RUB, USD and EUR, a few large traders do
most of the business. Then it measures:

* **engine**: :func:`clearing.domain.netting.net` in-process (core only: valuation, sort,
  circulation, allocation, legs, positions, digest), repeated, median;
* **CLI**: the wall time of ``clearing net OBLIGATIONS.csv --rates RATES.json --output ...`` in
  a subprocess on the same instance written to a temporary directory (parse, net, write JSON),
  and that it reports the same digest as the in-process run;
* **LP**: the same instance as an invoice-level linear program solved by HiGHS through
  ``scipy.optimize.linprog(method="highs")`` (not ``highspy``: see ``LP_SOLVER_NAME``): a
  variable ``0 <= x_o <= v_o`` per obligation (its value in base minor units, computed here
  independently of the engine), maximise ``sum(x)`` subject to conservation in every
  jurisdiction (what its importers pay equals what its exporters receive). Its optimum must
  equal the engine's settled value; the timing covers building the model and solving it,
  median.

It prints time per obligation and the growth between sizes next to what ``n log n`` predicts.
``--profile`` profiles one in-process netting at the largest size with cProfile.

Usage, from the repository root (``make bench`` runs the first line)::

    .venv/bin/python benchmarks/run.py
    .venv/bin/python benchmarks/run.py --quick
    .venv/bin/python benchmarks/run.py --sizes 1000000 --repeat 1 --no-cli --no-lp --profile

Timings are wall-clock seconds from :func:`time.perf_counter` (floats are fine for timings;
every amount is an integer in minor units).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import math
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from scipy.optimize import linprog
from scipy.sparse import csc_matrix

from clearing.domain.money import format_amount
from clearing.domain.netting import NettingResult, net
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet

from common import BASE, JURISDICTIONS, collected, stopwatch
from netting_instance import (
    RATES,
    Instance,
    Int64Array,
    generate_instance,
    rate_fraction,
    rates_document,
    write_files,
)

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
DEFAULT_PARTICIPANTS = 100_000
DEFAULT_SEED = 20261031

#: The LP optimum (a float) must equal the engine's settled value within this relative
#: tolerance, and never differ by more than one minor unit on small instances.
LP_TOLERANCE_RELATIVE = 1e-9

#: Wide enough for the result table even when the output goes to a file or a pipe.
CONSOLE = Console(width=None if sys.stdout.isatty() else 132)


# --- the independent LP -----------------------------------------------------------------------


def independent_values(instance: Instance) -> Int64Array:
    """Each obligation's value in base minor units, half up, computed here (not by the engine)."""
    values = np.empty(instance.size, dtype=np.int64)
    currency = np.asarray(instance.currency, dtype=object)
    for code in RATES:
        mask = currency == code
        factor = rate_fraction(code)
        amounts = instance.amount_minor[mask]
        if amounts.size and int(amounts.max()) * 2 * factor.numerator >= 2**62:
            raise OverflowError("benchmark amounts too large for int64 valuation")
        values[mask] = (2 * amounts * factor.numerator + factor.denominator) // (
            2 * factor.denominator
        )
    return values


@dataclass(frozen=True)
class LinearProgram:
    """The invoice-level LP in column form: column ``o`` has +1 in its debtor's jurisdiction row
    (paid in there) and -1 in its creditor's row (paid out there); rows must sum to zero."""

    upper: npt.NDArray[np.float64]
    column_starts: npt.NDArray[np.int32]
    row_indices: npt.NDArray[np.int32]
    coefficients: npt.NDArray[np.float64]
    rows: int


def build_lp(instance: Instance, values: Int64Array) -> LinearProgram:
    codes = sorted(JURISDICTIONS)
    index_of = {code: index for index, code in enumerate(codes)}
    debtor_row = np.fromiter(
        (index_of[j] for j in instance.debtor_jurisdiction), dtype=np.int32, count=instance.size
    )
    creditor_row = np.fromiter(
        (index_of[j] for j in instance.creditor_jurisdiction), dtype=np.int32, count=instance.size
    )
    # Two non-zeros per column, in increasing row order.
    first = np.minimum(debtor_row, creditor_row)
    second = np.maximum(debtor_row, creditor_row)
    first_sign = np.where(first == debtor_row, 1.0, -1.0)
    row_indices = np.empty(2 * instance.size, dtype=np.int32)
    coefficients = np.empty(2 * instance.size, dtype=np.float64)
    row_indices[0::2], row_indices[1::2] = first, second
    coefficients[0::2], coefficients[1::2] = first_sign, -first_sign
    return LinearProgram(
        upper=values.astype(np.float64),  # exact: values are far below 2**53
        column_starts=np.arange(0, 2 * instance.size + 1, 2, dtype=np.int32),
        row_indices=row_indices,
        coefficients=coefficients,
        rows=len(codes),
    )


def solve_with_scipy(program: LinearProgram) -> float:
    columns = len(program.upper)
    matrix = csc_matrix(
        (program.coefficients, program.row_indices, program.column_starts),
        shape=(program.rows, columns),
    )
    outcome = linprog(
        -np.ones(columns),
        A_eq=matrix,
        b_eq=np.zeros(program.rows),
        bounds=np.column_stack((np.zeros(columns), program.upper)),
        method="highs",
    )
    if outcome.status != 0:
        raise ArithmeticError(f"linprog: {outcome.message}")
    return float(-outcome.fun)


#: The LP solver: HiGHS through SciPy. highspy is deliberately not used: OR-Tools (imported by
#: the engine) bundles its own HiGHS, and in one process the two clash (importing highspy after
#: OR-Tools fails with an undefined symbol, and importing it first breaks OR-Tools).
LP_SOLVER_NAME = "scipy.optimize.linprog(method='highs')"


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Measurement:
    """Everything measured for one size (seconds; values in base minor units)."""

    size: int
    engine_seconds: list[float] = field(default_factory=list)
    cli_seconds: list[float] = field(default_factory=list)
    lp_seconds: list[float] = field(default_factory=list)
    submitted_value: int = 0
    settled_value: int = 0
    corridors: dict[str, int] = field(default_factory=dict)
    digest: str = ""
    cli_digest_matches: bool | None = None
    lp_optimum: float | None = None
    independent_submitted_value: int | None = None

    @property
    def engine_median(self) -> float:
        return statistics.median(self.engine_seconds)

    @property
    def cli_median(self) -> float | None:
        return statistics.median(self.cli_seconds) if self.cli_seconds else None

    @property
    def lp_median(self) -> float | None:
        return statistics.median(self.lp_seconds) if self.lp_seconds else None

    @property
    def lp_matches(self) -> bool | None:
        if self.lp_optimum is None:
            return None
        tolerance = max(1.0, LP_TOLERANCE_RELATIVE * self.settled_value)
        return abs(self.lp_optimum - self.settled_value) <= tolerance


def time_engine(obligations: list[Obligation], rates: RateSet) -> tuple[float, NettingResult]:
    with collected():
        elapsed = stopwatch()
        result = net(obligations, rates, Policy.FIFO)
        return elapsed(), result


def clearing_command() -> list[str]:
    installed = Path(sys.executable).with_name("clearing")
    if installed.exists():
        return [str(installed)]
    return [sys.executable, "-c", "from clearing.entrypoints.cli import main; main()"]


_DIGEST = re.compile(r'"digest":\s*"([0-9a-f]{64})"')


def time_cli(obligations_path: Path, rates_path: Path, output: Path) -> tuple[float, str]:
    command = [
        *clearing_command(),
        "net",
        str(obligations_path),
        "--rates",
        str(rates_path),
        "--output",
        str(output),
    ]
    elapsed = stopwatch()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = elapsed()
    if completed.returncode != 0:
        raise RuntimeError(f"clearing net failed ({completed.returncode}): {completed.stderr}")
    with open(output, encoding="utf-8") as handle:
        found = _DIGEST.search(handle.read(4096))
    return seconds, found.group(1) if found else ""


def measure(
    size: int, arguments: argparse.Namespace, progress: Progress, directory: Path
) -> Measurement:
    label = f"{size:>9,}"
    steps = 1 + arguments.repeat + (1 + arguments.cli_repeat if arguments.cli else 0)
    steps += arguments.repeat if arguments.lp else 0
    task = progress.add_task(f"{label}: generating", total=steps)
    instance = generate_instance(size, arguments.participants, arguments.seed)
    obligations = instance.obligations()
    rates = RateSet.from_json(rates_document())
    progress.advance(task)
    measurement = Measurement(size)

    result: NettingResult | None = None
    for attempt in range(arguments.repeat):
        progress.update(task, description=f"{label}: netting {attempt + 1}/{arguments.repeat}")
        result = None
        elapsed, result = time_engine(obligations, rates)
        measurement.engine_seconds.append(elapsed)
        progress.advance(task)
    assert result is not None
    measurement.submitted_value = result.metrics.submitted_value
    measurement.settled_value = result.metrics.settled_value
    measurement.corridors = {f"{c.source}->{c.target}": c.submitted for c in result.corridors}
    measurement.digest = result.digest
    del result, obligations
    gc.collect()

    if arguments.cli:
        progress.update(task, description=f"{label}: writing CSV")
        obligations_path, rates_path = write_files(instance, directory)
        progress.advance(task)
        for attempt in range(arguments.cli_repeat):
            progress.update(
                task, description=f"{label}: clearing net {attempt + 1}/{arguments.cli_repeat}"
            )
            output = directory / f"result-{size}.json"
            elapsed, digest = time_cli(obligations_path, rates_path, output)
            measurement.cli_seconds.append(elapsed)
            matches = digest == measurement.digest
            measurement.cli_digest_matches = matches and measurement.cli_digest_matches is not False
            output.unlink()
            progress.advance(task)
        if not arguments.keep_data:
            obligations_path.unlink()

    if arguments.lp:
        values = independent_values(instance)
        measurement.independent_submitted_value = int(values.sum())
        for attempt in range(arguments.repeat):
            progress.update(task, description=f"{label}: LP {attempt + 1}/{arguments.repeat}")
            with collected():
                lp_elapsed = stopwatch()
                optimum = solve_with_scipy(build_lp(instance, values))
                measurement.lp_seconds.append(lp_elapsed())
            measurement.lp_optimum = optimum
            progress.advance(task)
    progress.update(task, description=f"{label}: done", completed=steps)
    return measurement


def profile_netting(size: int, arguments: argparse.Namespace, top: int) -> None:
    """Profile one in-process netting of ``size`` obligations with cProfile; print hot spots."""
    CONSOLE.print(f"\n[bold]Profile[/] of one in-process netting of {size:,} obligations")
    instance = generate_instance(size, arguments.participants, arguments.seed)
    obligations = instance.obligations()
    rates = RateSet.from_json(rates_document())
    del instance
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    net(obligations, rates, Policy.FIFO)
    profiler.disable()
    if arguments.profile_output:
        profiler.dump_stats(arguments.profile_output)
        CONSOLE.print(f"raw profile written to {arguments.profile_output}")
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        statistics_ = pstats.Stats(profiler, stream=text)
        statistics_.strip_dirs().sort_stats(order).print_stats(top)
        CONSOLE.print(f"[bold]by {order}[/]")
        CONSOLE.print(_trim_pstats(text.getvalue()), highlight=False, markup=False, soft_wrap=True)


def _trim_pstats(report: str) -> str:
    lines = report.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(line for line in lines[start:] if line.strip())


# --- reporting --------------------------------------------------------------------------------


def n_log_n(size: int) -> float:
    return size * math.log(size)


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def report(
    measurements: list[Measurement], solver_name: str, arguments: argparse.Namespace
) -> None:
    table = Table(
        title=f"Netting benchmark: CN<->RU, {arguments.participants:,} participants, fifo, "
        f"median of {arguments.repeat} run(s); LP by {solver_name}",
        title_justify="left",
    )
    for column in (
        "obligations",
        "engine s",
        "µs/oblig.",
        "growth",
        "n log n",
        "clearing net s",
        "LP s",
        "LP/engine",
        "LP = settled",
    ):
        table.add_column(column, justify="right")
    previous: Measurement | None = None
    for m in measurements:
        growth = expected = "-"
        if previous is not None:
            growth = f"x{m.engine_median / previous.engine_median:.1f}"
            expected = f"x{n_log_n(m.size) / n_log_n(previous.size):.1f}"
        lp_ratio = f"{m.lp_median / m.engine_median:.2f}" if m.lp_median is not None else "-"
        matches = {None: "-", True: "yes", False: "NO"}[m.lp_matches]
        table.add_row(
            f"{m.size:,}",
            format_seconds(m.engine_median),
            f"{m.engine_median / m.size * 1e6:.1f}",
            growth,
            expected,
            format_seconds(m.cli_median),
            format_seconds(m.lp_median),
            lp_ratio,
            matches,
        )
        previous = m
    CONSOLE.print(table)
    for m in measurements:
        corridors = ", ".join(
            f"{name} {format_amount(value, BASE)}" for name, value in m.corridors.items()
        )
        notes = [
            f"settled {format_amount(m.settled_value, BASE)} {BASE} "
            f"of {format_amount(m.submitted_value, BASE)}"
        ]
        if m.lp_optimum is not None:
            gap = m.lp_optimum - m.settled_value  # the LP's optimum is a float by nature
            notes.append(f"LP optimum - settled = {gap:+.1f} minor units")
        if m.independent_submitted_value is not None:
            agree = m.independent_submitted_value == m.submitted_value
            notes.append(f"independent valuation {'agrees' if agree else 'DIFFERS'}")
        if m.cli_digest_matches is not None:
            notes.append(f"CLI digest {'matches' if m.cli_digest_matches else 'DIFFERS'}")
        runs = ", ".join(format_seconds(s) for s in m.engine_seconds)
        CONSOLE.print(
            f"{m.size:>9,}: {corridors}; {'; '.join(notes)}; engine runs {runs} s",
            highlight=False,
            soft_wrap=True,
        )


def machine_description() -> str:
    import numpy
    import ortools

    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {numpy.__version__}, "
        f"OR-Tools {ortools.__version__}"
    )


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "--sizes",
        default=",".join(str(size) for size in DEFAULT_SIZES),
        help="comma-separated numbers of obligations (default: %(default)s)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="engine and LP runs per size (default: 3)"
    )
    parser.add_argument(
        "--cli-repeat", type=int, default=1, help="`clearing net` runs per size (default: 1)"
    )
    parser.add_argument(
        "--participants",
        type=int,
        default=DEFAULT_PARTICIPANTS,
        help="traders, half in each jurisdiction (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"sizes {','.join(map(str, QUICK_SIZES))} and one run each (a smoke test)",
    )
    parser.add_argument("--no-cli", dest="cli", action="store_false", help="skip `clearing net`")
    parser.add_argument("--no-lp", dest="lp", action="store_false", help="skip the LP")
    parser.add_argument(
        "--profile", action="store_true", help="profile one netting at the largest size"
    )
    parser.add_argument(
        "--profile-top", type=int, default=25, help="functions to list (default: 25)"
    )
    parser.add_argument("--profile-output", type=Path, help="also dump the raw cProfile stats")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="write the generated files here (e.g. benchmarks/.data) instead of a temp dir",
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the generated CSV files (with --data-dir)"
    )
    parser.add_argument("--json", type=Path, help="also write the measurements as JSON")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.sizes = ",".join(map(str, QUICK_SIZES))
        arguments.repeat = 1
        arguments.cli_repeat = 1
    arguments.size_list = [int(text.replace("_", "")) for text in arguments.sizes.split(",")]
    if arguments.repeat < 1 or arguments.cli_repeat < 1 or min(arguments.size_list) < 1:
        parser.error("sizes and repeats must be positive")
    return arguments


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    solver_name = LP_SOLVER_NAME
    CONSOLE.print(f"machine: {machine_description()}", highlight=False)
    CONSOLE.print(f"LP solver: {solver_name}", highlight=False)
    measurements: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="clearing-bench-") as temporary:
        directory = arguments.data_dir or Path(temporary)
        directory.mkdir(parents=True, exist_ok=True)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=CONSOLE,
            transient=True,
        ) as progress:
            for size in arguments.size_list:
                measurements.append(measure(size, arguments, progress, directory))
    report(measurements, solver_name, arguments)
    if arguments.json:
        records = [
            {
                **asdict(m),
                "engine_median": m.engine_median,
                "cli_median": m.cli_median,
                "lp_median": m.lp_median,
                "lp_matches": m.lp_matches,
            }
            for m in measurements
        ]
        document = {"machine": machine_description(), "solver": solver_name, "sizes": records}
        arguments.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if arguments.profile:
        profile_netting(max(arguments.size_list), arguments, arguments.profile_top)
    failures = [
        m.size for m in measurements if m.lp_matches is False or m.cli_digest_matches is False
    ]
    if failures:
        CONSOLE.print(f"[bold red]mismatch[/] at sizes {failures}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
