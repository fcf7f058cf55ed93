"""The imbalance over time (DESIGN §6a): what each cycle settled and carried per corridor, what
the liquidity lines funded, and how old the value still carried is.

Every figure is a value in the base currency's minor units. A cycle's figures use its own rate
set; the age of what is still carried uses the newest rate set a cycle has fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.money import exponent
from clearing.domain.netting.lines import LineMovement
from clearing.domain.rates import RateSet
from clearing.domain.rounding import conversion_factor, value_in_base

if TYPE_CHECKING:
    from clearing.domain.ageing import CarriedTotal

#: Age buckets in days since an obligation first became eligible: (label, first day, last day).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)

#: Cycles whose figures the report shows: settled ones, and the one under way once proposed. A
#: superseded cycle's figures live on in its successor; a rejected proposal settled nothing.
REPORTED_STATES = frozenset(
    {CycleStatus.PROPOSED, CycleStatus.APPROVED, CycleStatus.SETTLING, CycleStatus.SETTLED}
)


@dataclass(frozen=True, slots=True)
class CorridorFigures:
    """One corridor in one cycle (base minor units). Line use is shown on the corridor the line
    funds (``from -> to``), both what it drew and what it repaid: the base value the netting
    moved on the line, which is what the settled value rose by."""

    source: str
    target: str
    submitted: int
    settled: int
    line_drawn: int = 0
    line_repaid: int = 0

    @property
    def carried(self) -> int:
        return self.submitted - self.settled


@dataclass(frozen=True, slots=True)
class CycleImbalance:
    cycle_id: str
    number: int
    status: CycleStatus
    base: str
    corridors: tuple[CorridorFigures, ...]
    #: Minor units of each line's currency; ``balance`` is after the cycle.
    lines: tuple[LineMovement, ...]


@dataclass(frozen=True, slots=True)
class CarriedObligation:
    """What is still carried of one obligation: eligible or in a cycle, not yet settled
    (``outstanding`` in minor units of ``currency``)."""

    source: str
    target: str
    currency: str
    outstanding: int
    first_eligible_at: datetime
    due_date: date


@dataclass(frozen=True, slots=True)
class CorridorAgeing:
    """The value a corridor still carries by age bucket, and how much of it is overdue."""

    source: str
    target: str
    buckets: tuple[int, ...]
    overdue: int

    def bucket_map(self) -> dict[str, int]:
        labels = (label for label, _, _ in AGE_BUCKETS)
        return dict(zip(labels, self.buckets, strict=True))


@dataclass(frozen=True, slots=True)
class ImbalanceReport:
    as_of: datetime
    cycles: tuple[CycleImbalance, ...]
    #: The base currency of the ageing figures ("" when no cycle has fixed rates yet).
    ageing_base: str
    ageing: tuple[CorridorAgeing, ...]
    #: Currencies carried that the newest rate set does not value: left out of the ageing.
    unvalued_currencies: tuple[str, ...] = ()


def base_value(amount: int, currency: str, rates: RateSet) -> int:
    """``amount`` (minor units of ``currency``) in base minor units, rounded as the netting
    values obligations."""
    factor = conversion_factor(rates.rate(currency), exponent(currency), exponent(rates.base))
    return value_in_base(amount, factor)


def cycle_imbalance(cycle: Cycle, lines: Sequence[LineMovement]) -> CycleImbalance:
    """A proposed or settled cycle's corridors, with what its lines drew and repaid."""
    if cycle.summary is None or cycle.rates is None:
        raise ValueError(f"cycle {cycle.id} has no figures yet")
    rates = cycle.rates
    figures = {
        (c.source, c.target): CorridorFigures(c.source, c.target, c.submitted, c.settled)
        for c in cycle.summary.corridors
    }
    for line in lines:
        corridor = figures.get(
            (line.source, line.target), CorridorFigures(line.source, line.target, 0, 0)
        )
        figures[(line.source, line.target)] = CorridorFigures(
            corridor.source,
            corridor.target,
            corridor.submitted,
            corridor.settled,
            corridor.line_drawn + line.drawn_value,
            corridor.line_repaid + line.repaid_value,
        )
    return CycleImbalance(
        cycle.id,
        cycle.number,
        cycle.status,
        rates.base,
        tuple(figures[key] for key in sorted(figures)),
        tuple(sorted(lines, key=lambda line: line.line_id)),
    )


def corridor_ageing(
    carried: Iterable[CarriedTotal], rates: RateSet | None
) -> tuple[tuple[CorridorAgeing, ...], tuple[str, ...]]:
    """Per corridor, the carried value by age bucket and the overdue value, from the pool's
    totals by corridor, currency and bucket (each total valued once, at ``rates``), and the
    currencies ``rates`` cannot value (left out)."""
    index = {label: k for k, (label, _, _) in enumerate(AGE_BUCKETS)}
    sums: dict[tuple[str, str], list[int]] = {}
    unvalued: set[str] = set()
    for total in carried:
        if rates is None or total.currency not in rates.rates:
            unvalued.add(total.currency)
            continue
        row = sums.setdefault((total.source, total.target), [0] * (len(AGE_BUCKETS) + 1))
        row[index[total.bucket]] += base_value(total.outstanding, total.currency, rates)
        row[-1] += base_value(total.overdue, total.currency, rates)
    ageing = tuple(
        CorridorAgeing(source, target, tuple(row[:-1]), row[-1])
        for (source, target), row in sorted(sums.items())
    )
    return ageing, tuple(sorted(unvalued))


def imbalance_report(
    cycles: Iterable[Cycle],
    lines: Mapping[str, Sequence[LineMovement]],
    carried: Iterable[CarriedTotal],
    as_of: datetime,
) -> ImbalanceReport:
    """The report over ``cycles`` (those in :data:`REPORTED_STATES`, in number order), with the
    lines' movements per cycle id and the pool's totals by age at ``as_of``."""
    shown = sorted(
        (c for c in cycles if c.status in REPORTED_STATES and c.summary is not None),
        key=lambda c: c.number,
    )
    newest_rates = next((c.rates for c in reversed(shown) if c.rates is not None), None)
    ageing, unvalued = corridor_ageing(carried, newest_rates)
    return ImbalanceReport(
        as_of=as_of,
        cycles=tuple(cycle_imbalance(c, lines.get(c.id, ())) for c in shown),
        ageing_base=newest_rates.base if newest_rates is not None else "",
        ageing=ageing,
        unvalued_currencies=unvalued,
    )


#: The CSV of §6a: one row per cycle and corridor.
CSV_COLUMNS = (
    "cycle_id",
    "cycle_number",
    "from",
    "to",
    "submitted",
    "settled",
    "carried",
    "line_drawn",
    "line_repaid",
)
