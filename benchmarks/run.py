"""Benchmark the netting core and `clearing net` against floors, and check optimality with an LP.

For each size (10k, 100k and 1M obligations by default) the script generates a deterministic
CN<->RU instance among 100k participants, shaped like real border trade: most value flows
CN->RU (about 3.5 times RU->CN), invoices are in CNY, RUB, USD and EUR, a few large traders do
most of the business. Then it measures, each figure the median of ``--repeat`` runs, the runs of
a figure and of its floor interleaved so that a busy moment hits both:

* **engine**: :func:`clearing.domain.netting.net` in-process on
  :class:`~clearing.domain.netting.columns.ObligationColumns` built before timing, straight from
  the instance (valuation, sort, circulation, allocation, legs, positions, digest);
* **numpy floor**: the least that netting must do, in bare numpy over the same columns
  (``netting_floor.py``: int64 valuation, one id sort and one lexsort, fifo allocation of the
  corridor flows, largest-remainder legs, a binary digest); its values, settled values and legs
  must equal the engine's;
* **from values**: the engine on the same snapshot as a list of ``Obligation`` values (it builds
  the columns itself); its digest must equal the engine's (``--no-values`` skips it);
* **clearing net**: the wall time and peak memory (max RSS) of
  ``clearing net OBLIGATIONS.csv --rates RATES.json --output ...`` in a subprocess on the same
  instance written to a temporary directory (parse, net, write JSON); it must report the
  engine's digest;
* **file floor**: a subprocess (``file_floor.py``) that reads the same CSV with
  ``pyarrow.csv.read_csv`` (every column as a string) and writes a RESULT.json-shaped document
  of the same size with ``orjson.dumps``; its wall time and peak memory;
* **LP**: the same instance as an invoice-level linear program solved by HiGHS through
  ``scipy.optimize.linprog(method="highs")`` (not ``highspy``: see ``LP_SOLVER_NAME``): a
  variable ``0 <= x_o <= v_o`` per obligation (its value in base minor units, computed here
  independently of the engine), maximise ``sum(x)`` subject to conservation in every
  jurisdiction (what its importers pay equals what its exporters receive). Its optimum must
  equal the engine's settled value; the timing covers building the model and solving it.

It prints time per obligation, the growth between sizes next to what ``n log n`` predicts, and
the ratios to the floors. ``--profile`` profiles one in-process netting from columns at the
largest size with cProfile.

Usage, from the repository root (``make bench`` runs the first line)::

    .venv/bin/python benchmarks/run.py
    .venv/bin/python benchmarks/run.py --quick
    .venv/bin/python benchmarks/run.py --sizes 1000000 --repeat 1 --no-cli --no-lp --profile

Timings are wall-clock seconds from :func:`time.perf_counter` (floats are fine for timings;
every amount is an integer in minor units, in the floors too).
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
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from scipy.optimize import linprog
from scipy.sparse import csc_matrix

from clearing.domain.money import format_amount
from clearing.domain.netting import NettingResult, net
from clearing.domain.netting.columns import ObligationColumns
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet

from common import BASE, JURISDICTIONS, ChildRun, collected, run_child, stopwatch
from netting_floor import FloorRates, FloorResult, floor_net
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
FILE_FLOOR_SCRIPT = Path(__file__).with_name("file_floor.py")
MIB = 2**20

#: The LP optimum (a float) must equal the engine's settled value within this relative
#: tolerance, and never differ by more than one minor unit on small instances.
LP_TOLERANCE_RELATIVE = 1e-9

#: Wide enough for the result tables even when the output goes to a file or a pipe.
CONSOLE = Console(width=None if sys.stdout.isatty() else 170)


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


def _median(samples: list[float] | list[int]) -> float | None:
    return statistics.median(samples) if samples else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


@dataclass
class Measurement:
    """Everything measured for one size (seconds; bytes; values in base minor units)."""

    size: int
    engine_seconds: list[float] = field(default_factory=list)
    floor_seconds: list[float] = field(default_factory=list)
    values_seconds: list[float] = field(default_factory=list)
    cli_seconds: list[float] = field(default_factory=list)
    cli_max_rss: list[int] = field(default_factory=list)
    cli_output_bytes: int | None = None
    file_floor_seconds: list[float] = field(default_factory=list)
    file_floor_max_rss: list[int] = field(default_factory=list)
    file_floor_output_bytes: int | None = None
    file_floor_phases: list[dict[str, float]] = field(default_factory=list)
    lp_seconds: list[float] = field(default_factory=list)
    submitted_value: int = 0
    settled_value: int = 0
    corridors: dict[str, int] = field(default_factory=dict)
    digest: str = ""
    floor_digest: str = ""
    floor_matches: bool | None = None
    values_digest_matches: bool | None = None
    cli_digest_matches: bool | None = None
    lp_optimum: float | None = None
    independent_submitted_value: int | None = None

    @property
    def engine_median(self) -> float:
        return statistics.median(self.engine_seconds)

    @property
    def floor_median(self) -> float | None:
        return _median(self.floor_seconds)

    @property
    def values_median(self) -> float | None:
        return _median(self.values_seconds)

    @property
    def cli_median(self) -> float | None:
        return _median(self.cli_seconds)

    @property
    def cli_max_rss_peak(self) -> int | None:
        return max(self.cli_max_rss) if self.cli_max_rss else None

    @property
    def file_floor_median(self) -> float | None:
        return _median(self.file_floor_seconds)

    @property
    def file_floor_max_rss_peak(self) -> int | None:
        return max(self.file_floor_max_rss) if self.file_floor_max_rss else None

    @property
    def lp_median(self) -> float | None:
        return _median(self.lp_seconds)

    @property
    def engine_over_floor(self) -> float | None:
        return _ratio(self.engine_median, self.floor_median)

    @property
    def cli_over_file_floor(self) -> float | None:
        return _ratio(self.cli_median, self.file_floor_median)

    @property
    def lp_matches(self) -> bool | None:
        if self.lp_optimum is None:
            return None
        tolerance = max(1.0, LP_TOLERANCE_RELATIVE * self.settled_value)
        return abs(self.lp_optimum - self.settled_value) <= tolerance

    @property
    def failed(self) -> bool:
        checks = (
            self.lp_matches,
            self.cli_digest_matches,
            self.floor_matches,
            self.values_digest_matches,
        )
        return any(check is False for check in checks)

    def file_floor_phase_medians(self) -> dict[str, float]:
        names = self.file_floor_phases[0] if self.file_floor_phases else {}
        return {
            name: statistics.median(phases[name] for phases in self.file_floor_phases)
            for name in names
        }

    def record(self) -> dict[str, Any]:
        """The measurement with its medians, ratios and checks, for ``--json``."""
        return {
            **asdict(self),
            "engine_median": self.engine_median,
            "floor_median": self.floor_median,
            "engine_over_floor": self.engine_over_floor,
            "values_median": self.values_median,
            "cli_median": self.cli_median,
            "cli_max_rss_peak": self.cli_max_rss_peak,
            "file_floor_median": self.file_floor_median,
            "file_floor_max_rss_peak": self.file_floor_max_rss_peak,
            "file_floor_phase_medians": self.file_floor_phase_medians(),
            "cli_over_file_floor": self.cli_over_file_floor,
            "lp_median": self.lp_median,
            "lp_matches": self.lp_matches,
        }


def time_engine(
    snapshot: ObligationColumns | list[Obligation], rates: RateSet
) -> tuple[float, NettingResult]:
    with collected():
        elapsed = stopwatch()
        result = net(snapshot, rates, Policy.FIFO)
        return elapsed(), result


def time_floor(columns: ObligationColumns, rates: FloorRates) -> tuple[float, FloorResult]:
    with collected():
        elapsed = stopwatch()
        result = floor_net(columns, rates)
        return elapsed(), result


def floor_rates() -> FloorRates:
    """The benchmark's rates as the numpy floor takes them (exact fractions, computed here)."""
    return FloorRates.of({code: rate_fraction(code) for code in RATES}, JURISDICTIONS)


def floor_matches(floor: FloorResult, result: NettingResult) -> bool:
    """Whether the floor computed what the engine did: values, settled values, legs, flows."""
    order = floor.id_order
    codes = sorted(JURISDICTIONS)
    flows = {(codes[s], codes[t]): flow for (s, t), flow in floor.flows.items() if flow}
    engine_flows = {(c.source, c.target): c.settled for c in result.corridors if c.settled}
    return flows == engine_flows and all(
        np.array_equal(getattr(floor, name)[order], getattr(result.columns, name))
        for name in ("value", "settled_value", "debtor_leg", "creditor_leg")
    )


def clearing_command() -> list[str]:
    installed = Path(sys.executable).with_name("clearing")
    if installed.exists():
        return [str(installed)]
    return [sys.executable, "-c", "from clearing.entrypoints.cli import main; main()"]


_DIGEST = re.compile(r'"digest":\s*"([0-9a-f]{64})"')


def time_cli(obligations_path: Path, rates_path: Path, output: Path) -> tuple[ChildRun, str]:
    command = [
        *clearing_command(),
        "net",
        str(obligations_path),
        "--rates",
        str(rates_path),
        "--output",
        str(output),
    ]
    run = run_child(command)
    if run.returncode != 0:
        raise RuntimeError(f"clearing net failed ({run.returncode}): {run.stderr}")
    with open(output, encoding="utf-8") as handle:
        found = _DIGEST.search(handle.read(4096))
    return run, found.group(1) if found else ""


def time_file_floor(obligations_path: Path, output: Path) -> tuple[ChildRun, dict[str, Any]]:
    run = run_child([sys.executable, str(FILE_FLOOR_SCRIPT), str(obligations_path), str(output)])
    if run.returncode != 0:
        raise RuntimeError(f"file floor failed ({run.returncode}): {run.stderr}")
    report: dict[str, Any] = json.loads(run.stdout)
    return run, report


def measure(
    size: int, arguments: argparse.Namespace, progress: Progress, directory: Path
) -> Measurement:
    label = f"{size:>9,}"
    steps = 2 + arguments.repeat + (1 + arguments.cli_repeat if arguments.cli else 0)
    steps += arguments.repeat if arguments.lp else 0
    task = progress.add_task(f"{label}: generating", total=steps)
    instance = generate_instance(size, arguments.participants, arguments.seed)
    rates = RateSet.from_json(rates_document())
    columns = instance.columns()
    prepared = floor_rates()
    prepared.check_bounds(columns)
    progress.advance(task)
    progress.update(task, description=f"{label}: building Obligation values")
    obligations = instance.obligations() if arguments.values else None
    progress.advance(task)
    measurement = Measurement(size)

    result: NettingResult | None = None
    for attempt in range(arguments.repeat):
        progress.update(task, description=f"{label}: netting {attempt + 1}/{arguments.repeat}")
        result = None
        elapsed, result = time_engine(columns, rates)
        measurement.engine_seconds.append(elapsed)
        if arguments.floor:
            elapsed, floor = time_floor(columns, prepared)
            measurement.floor_seconds.append(elapsed)
            if measurement.floor_matches is None:
                measurement.floor_matches = floor_matches(floor, result)
                measurement.floor_digest = floor.digest
            del floor
        if obligations is not None:
            values_result: NettingResult | None = None
            elapsed, values_result = time_engine(obligations, rates)
            measurement.values_seconds.append(elapsed)
            matches = values_result.digest == result.digest
            measurement.values_digest_matches = (
                matches and measurement.values_digest_matches is not False
            )
            del values_result
        progress.advance(task)
    assert result is not None
    measurement.submitted_value = result.metrics.submitted_value
    measurement.settled_value = result.metrics.settled_value
    measurement.corridors = {f"{c.source}->{c.target}": c.submitted for c in result.corridors}
    measurement.digest = result.digest
    del result, obligations, columns
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
            run, digest = time_cli(obligations_path, rates_path, output)
            measurement.cli_seconds.append(run.seconds)
            measurement.cli_max_rss.append(run.max_rss)
            measurement.cli_output_bytes = output.stat().st_size
            matches = digest == measurement.digest
            measurement.cli_digest_matches = matches and measurement.cli_digest_matches is not False
            output.unlink()
            if arguments.floor:
                progress.update(
                    task, description=f"{label}: file floor {attempt + 1}/{arguments.cli_repeat}"
                )
                floor_output = directory / f"floor-{size}.json"
                run, floor_report = time_file_floor(obligations_path, floor_output)
                measurement.file_floor_seconds.append(run.seconds)
                measurement.file_floor_max_rss.append(run.max_rss)
                measurement.file_floor_output_bytes = floor_output.stat().st_size
                measurement.file_floor_phases.append(floor_report["phases"])
                floor_output.unlink()
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


def warm_up(arguments: argparse.Namespace) -> None:
    """Net a small instance once through every in-process path, so that no size pays for the
    first call of anything (lazy imports, compute kernels looked up on first use)."""
    instance = generate_instance(1_000, arguments.participants, arguments.seed)
    rates = RateSet.from_json(rates_document())
    net(instance.columns(), rates, Policy.FIFO)
    net(instance.obligations(), rates, Policy.FIFO)
    floor_net(instance.columns(), floor_rates())


def profile_netting(size: int, arguments: argparse.Namespace, top: int) -> None:
    """Profile one in-process netting of ``size`` obligations from columns with cProfile (the
    columns are built before profiling); print the hot spots."""
    CONSOLE.print(
        f"\n[bold]Profile[/] of one in-process netting of {size:,} obligations from columns"
    )
    instance = generate_instance(size, arguments.participants, arguments.seed)
    columns = instance.columns()
    rates = RateSet.from_json(rates_document())
    del instance
    gc.collect()
    profiler = cProfile.Profile()
    elapsed = stopwatch()
    profiler.enable()
    net(columns, rates, Policy.FIFO)
    profiler.disable()
    CONSOLE.print(f"{elapsed():.2f} s under the profiler", highlight=False)
    if arguments.profile_output:
        profiler.dump_stats(arguments.profile_output)
        CONSOLE.print(f"raw profile written to {arguments.profile_output}")
    for order in ("cumulative", "tottime"):
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


def format_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_mib(size: int | None) -> str:
    return "-" if size is None else f"{size / MIB:,.0f}"


def format_check(value: bool | None) -> str:
    return {None: "-", True: "yes", False: "NO"}[value]


def growth(later: float | None, earlier: float | None) -> str:
    return "-" if later is None or not earlier else f"x{later / earlier:.1f}"


def report(
    measurements: list[Measurement], solver_name: str, arguments: argparse.Namespace
) -> None:
    repeats = f"median of {arguments.repeat} run(s)"
    core = Table(
        title=f"Netting core: CN<->RU, {arguments.participants:,} participants, fifo, {repeats}; "
        f"engine and floor on the same ObligationColumns",
        title_justify="left",
    )
    for column in (
        "obligations",
        "engine s",
        "µs/oblig.",
        "growth",
        "n log n",
        "numpy floor s",
        "engine/floor",
        "floor = engine",
        "from values s",
        "LP s",
        "LP/engine",
        "LP = settled",
    ):
        core.add_column(column, justify="right", no_wrap=True)
    previous: Measurement | None = None
    for m in measurements:
        expected = "-"
        if previous is not None:
            expected = f"x{n_log_n(m.size) / n_log_n(previous.size):.1f}"
        core.add_row(
            f"{m.size:,}",
            format_seconds(m.engine_median),
            f"{m.engine_median / m.size * 1e6:.1f}",
            growth(m.engine_median, previous.engine_median if previous else None),
            expected,
            format_seconds(m.floor_median),
            format_ratio(m.engine_over_floor),
            format_check(m.floor_matches),
            format_seconds(m.values_median),
            format_seconds(m.lp_median),
            format_ratio(_ratio(m.lp_median, m.engine_median)),
            format_check(m.lp_matches),
        )
        previous = m
    CONSOLE.print(core)

    if any(m.cli_seconds for m in measurements):
        cli_repeats = f"median of {arguments.cli_repeat} run(s)"
        files = Table(
            title=f"clearing net vs file floor (pyarrow.csv.read_csv + orjson.dumps, its own "
            f"subprocess), {cli_repeats}; peak RSS = max over runs, MiB",
            title_justify="left",
        )
        for column in (
            "obligations",
            "clearing net s",
            "peak RSS",
            "file floor s",
            "floor peak RSS",
            "net/floor",
            "growth net",
            "growth floor",
            "RESULT.json MiB",
            "floor file MiB",
            "CLI digest",
        ):
            files.add_column(column, justify="right", no_wrap=True)
        previous = None
        for m in measurements:
            files.add_row(
                f"{m.size:,}",
                format_seconds(m.cli_median),
                format_mib(m.cli_max_rss_peak),
                format_seconds(m.file_floor_median),
                format_mib(m.file_floor_max_rss_peak),
                format_ratio(m.cli_over_file_floor),
                growth(m.cli_median, previous.cli_median if previous else None),
                growth(m.file_floor_median, previous.file_floor_median if previous else None),
                format_mib(m.cli_output_bytes),
                format_mib(m.file_floor_output_bytes),
                {None: "-", True: "matches", False: "DIFFERS"}[m.cli_digest_matches],
            )
            previous = m
        CONSOLE.print(files)

    for earlier, later in pairwise(measurements):
        figures = [
            f"engine {growth(later.engine_median, earlier.engine_median)}",
            f"numpy floor {growth(later.floor_median, earlier.floor_median)}",
            f"from values {growth(later.values_median, earlier.values_median)}",
            f"clearing net {growth(later.cli_median, earlier.cli_median)}",
            f"file floor {growth(later.file_floor_median, earlier.file_floor_median)}",
        ]
        predicted = n_log_n(later.size) / n_log_n(earlier.size)
        CONSOLE.print(
            f"growth {earlier.size:,} -> {later.size:,}: {', '.join(figures)} "
            f"(n log n predicts x{predicted:.1f}, n x{later.size / earlier.size:.1f})",
            highlight=False,
            soft_wrap=True,
        )
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
        if m.values_digest_matches is not None:
            same = "matches" if m.values_digest_matches else "DIFFERS"
            notes.append(f"from-values digest {same}")
        if m.cli_digest_matches is not None:
            notes.append(f"CLI digest {'matches' if m.cli_digest_matches else 'DIFFERS'}")
        runs = ", ".join(format_seconds(s) for s in m.engine_seconds)
        notes.append(f"engine runs {runs} s")
        if m.floor_seconds:
            notes.append(f"floor runs {', '.join(format_seconds(s) for s in m.floor_seconds)} s")
        if m.cli_seconds:
            notes.append(
                f"clearing net runs {', '.join(format_seconds(s) for s in m.cli_seconds)} s"
            )
        phases = m.file_floor_phase_medians()
        if phases:
            parts = ", ".join(f"{name} {seconds:.3f}" for name, seconds in phases.items())
            notes.append(f"file floor phases (medians, s): {parts}")
        CONSOLE.print(
            f"{m.size:>9,}: {corridors}; {'; '.join(notes)}", highlight=False, soft_wrap=True
        )


def growth_records(measurements: list[Measurement]) -> list[dict[str, Any]]:
    """Each figure's growth between consecutive sizes, for ``--json``."""
    records = []
    for earlier, later in pairwise(measurements):
        records.append(
            {
                "from": earlier.size,
                "to": later.size,
                "n_log_n": n_log_n(later.size) / n_log_n(earlier.size),
                "engine": _ratio(later.engine_median, earlier.engine_median),
                "floor": _ratio(later.floor_median, earlier.floor_median),
                "values": _ratio(later.values_median, earlier.values_median),
                "cli": _ratio(later.cli_median, earlier.cli_median),
                "file_floor": _ratio(later.file_floor_median, earlier.file_floor_median),
            }
        )
    return records


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
        "--repeat",
        type=int,
        default=3,
        help="runs per size of the engine, the numpy floor, from values and the LP (default: 3)",
    )
    parser.add_argument(
        "--cli-repeat",
        type=int,
        help="runs per size of `clearing net` and the file floor (default: --repeat)",
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
        "--no-floor",
        dest="floor",
        action="store_false",
        help="skip the numpy floor and the file floor",
    )
    parser.add_argument(
        "--no-values",
        dest="values",
        action="store_false",
        help="skip the engine from a list of Obligation values",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile one netting from columns at the largest size",
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
    if arguments.cli_repeat is None:
        arguments.cli_repeat = arguments.repeat
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
    warm_up(arguments)
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
        document = {
            "machine": machine_description(),
            "solver": solver_name,
            "repeat": arguments.repeat,
            "cli_repeat": arguments.cli_repeat,
            "growth": growth_records(measurements),
            "sizes": [m.record() for m in measurements],
        }
        arguments.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if arguments.profile:
        profile_netting(max(arguments.size_list), arguments, arguments.profile_top)
    failures = [m.size for m in measurements if m.failed]
    if failures:
        CONSOLE.print(f"[bold red]mismatch[/] at sizes {failures}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
