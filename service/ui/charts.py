"""Chart geometry for the operators' pages: the imbalance over cycles as grouped bars per
corridor, with a value axis in round steps, the values on the bars and a legend. Integer
arithmetic only: positions are whole pixels, values are minor units formatted at the edge."""

from __future__ import annotations

from dataclasses import dataclass

from clearing.domain.imbalance import CycleImbalance, ImbalanceReport
from clearing.domain.netting import CorridorTotal
from service.ui.formatting import Formats
from service.ui.i18n import N_

#: The series drawn for each cycle, in order: (key, legend text).
SERIES: tuple[tuple[str, str], ...] = (
    ("submitted", N_("submitted")),
    ("settled", N_("settled")),
    ("carried", N_("carried forward")),
    ("line", N_("line drawn + repaid")),
)
PLOT_HEIGHT = 220
BAR_WIDTH = 16
GROUP_GAP = 18
LEFT = 110
TOP = 16
TICKS = 4


@dataclass(frozen=True, slots=True)
class Bar:
    series: str
    x: int
    y: int
    height: int
    value_text: str


@dataclass(frozen=True, slots=True)
class Tick:
    y: int
    text: str


@dataclass(frozen=True, slots=True)
class CycleGroup:
    number: int
    x: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class CorridorChart:
    title: str
    base: str
    width: int
    height: int
    plot_bottom: int
    ticks: tuple[Tick, ...]
    groups: tuple[CycleGroup, ...]


def nice_step(largest: int, ticks: int = TICKS) -> int:
    """The smallest step of 1, 2 or 5 times a power of ten with ``ticks`` steps covering
    ``largest`` (minor units; at least 1)."""
    target = max(1, -(-largest // ticks))
    power = 1
    while True:
        for multiple in (1, 2, 5):
            if multiple * power >= target:
                return multiple * power
        power *= 10


def _values(cycle: CycleImbalance, source: str, target: str) -> dict[str, int]:
    for c in cycle.corridors:
        if (c.source, c.target) == (source, target):
            return {
                "submitted": c.submitted,
                "settled": c.settled,
                "carried": c.carried,
                "line": c.line_drawn + c.line_repaid,
            }
    return {key: 0 for key, _ in SERIES}


def imbalance_charts(report: ImbalanceReport, fmt: Formats) -> list[CorridorChart]:
    """One chart per corridor over the report's cycles that share the newest cycle's base."""
    if not report.cycles:
        return []
    base = report.cycles[-1].base
    cycles = [c for c in report.cycles if c.base == base]
    corridors = sorted({(c.source, c.target) for cycle in cycles for c in cycle.corridors})
    return [_chart(cycles, source, target, base, fmt) for source, target in corridors]


def _chart(
    cycles: list[CycleImbalance], source: str, target: str, base: str, fmt: Formats
) -> CorridorChart:
    values = [_values(cycle, source, target) for cycle in cycles]
    largest = max((v for row in values for v in row.values()), default=0)
    step = nice_step(largest)
    top_value = step * TICKS
    bottom = TOP + PLOT_HEIGHT
    group_width = BAR_WIDTH * len(SERIES) + GROUP_GAP
    groups = []
    for index, (cycle, row) in enumerate(zip(cycles, values, strict=True)):
        x = LEFT + GROUP_GAP + index * group_width
        bars = []
        for offset, (key, _) in enumerate(SERIES):
            value = row[key]
            height = PLOT_HEIGHT * value // top_value
            bars.append(
                Bar(key, x + offset * BAR_WIDTH, bottom - height, height, fmt.amount(value, base))
            )
        groups.append(CycleGroup(cycle.number, x, tuple(bars)))
    ticks = tuple(
        Tick(bottom - PLOT_HEIGHT * k // TICKS, fmt.amount(step * k, base))
        for k in range(TICKS + 1)
    )
    return CorridorChart(
        title=f"{source} → {target}",
        base=base,
        width=LEFT + GROUP_GAP + len(cycles) * group_width + 20,
        height=bottom + 40,
        plot_bottom=bottom,
        ticks=ticks,
        groups=tuple(groups),
    )


# -- one cycle: submitted against settled per corridor, as horizontal bars ----------------------

#: Pixels: the corridor labels' column, the plot's width, one corridor's band and one bar.
LABEL_WIDTH = 150
PLOT_WIDTH = 480
BAND = 46
BAR_HEIGHT = 18


@dataclass(frozen=True, slots=True)
class CorridorBars:
    label: str
    y: int
    submitted: int
    settled: int
    submitted_text: str
    settled_text: str


@dataclass(frozen=True, slots=True)
class AxisTick:
    x: int
    text: str


@dataclass(frozen=True, slots=True)
class CycleChart:
    bars: tuple[CorridorBars, ...]
    #: The value axis runs along ``axis_y``, from the first tick to the last.
    ticks: tuple[AxisTick, ...]
    axis_y: int
    width: int
    height: int


def corridor_chart(corridors: list[CorridorTotal], base: str, fmt: Formats) -> CycleChart:
    """A cycle's corridors to one scale of round steps, with their values written beside the
    bars."""
    step = nice_step(max((c.submitted for c in corridors), default=0))
    top_value = step * TICKS
    bars = tuple(
        CorridorBars(
            label=f"{corridor.source} → {corridor.target}",
            y=TOP + index * BAND,
            submitted=PLOT_WIDTH * corridor.submitted // top_value,
            settled=PLOT_WIDTH * corridor.settled // top_value,
            submitted_text=fmt.amount(corridor.submitted, base),
            settled_text=fmt.amount(corridor.settled, base),
        )
        for index, corridor in enumerate(corridors)
    )
    axis_y = TOP + BAND * len(bars)
    ticks = tuple(
        AxisTick(LABEL_WIDTH + PLOT_WIDTH * k // TICKS, fmt.amount(step * k, base))
        for k in range(TICKS + 1)
    )
    return CycleChart(bars, ticks, axis_y, LABEL_WIDTH + PLOT_WIDTH + 140, axis_y + 30)
