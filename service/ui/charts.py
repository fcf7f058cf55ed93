"""Chart geometry for the operators' pages: the imbalance over cycles as grouped bars per
corridor, with a value axis in round steps, the values on the bars and a legend. Integer
arithmetic only: positions are whole pixels, values are minor units formatted at the edge."""

from __future__ import annotations

from dataclasses import dataclass

from clearing.domain.imbalance import CycleImbalance, ImbalanceReport
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
