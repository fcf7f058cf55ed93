"""The imbalance report's figures (DESIGN §6a): per cycle and corridor, and the age of what is
still carried."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from clearing.adapters.files.imbalance import imbalance_csv, imbalance_document
from clearing.domain.ageing import CarriedTotal, carried_totals
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.imbalance import corridor_ageing, imbalance_report
from clearing.domain.netting import CorridorTotal, Figures, JurisdictionTotal, Metrics
from clearing.domain.netting.lines import LineMovement
from clearing.domain.obligations import Policy
from clearing.domain.rates import RateSet

RATES = RateSet(
    base="CNY",
    jurisdictions={"CN": "CNY", "RU": "RUB"},
    rates={"CNY": Decimal(1), "RUB": Decimal("0.08")},
)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _cycle(number: int, status: CycleStatus, corridors: list[tuple[str, str, int, int]]) -> Cycle:
    summary = Figures(
        corridors=tuple(CorridorTotal(*c) for c in corridors),
        jurisdictions=(JurisdictionTotal("CN", "CNY", 0, 0), JurisdictionTotal("RU", "RUB", 0, 0)),
        metrics=Metrics(0, 0, 0, "0", "0"),
        obligations=len(corridors),
    )
    return Cycle(
        id=f"cy{number}",
        number=number,
        status=status,
        policy=Policy.FIFO,
        opened_by="op",
        opened_at=NOW,
        rates=RATES,
        summary=summary,
    )


def _carried(currency: str, amount: int, age_days: int, overdue: bool) -> CarriedTotal:
    """One obligation still carried, as the pool's totals give it."""
    due = NOW.date() - timedelta(days=1) if overdue else NOW.date() + timedelta(days=10)
    row = ("CN", "RU", currency, amount, NOW - timedelta(days=age_days), due)
    (total,) = carried_totals([row], NOW)
    return total


def test_a_cycle_carries_what_a_corridor_submitted_and_did_not_settle() -> None:
    report = imbalance_report(
        [_cycle(1, CycleStatus.SETTLED, [("CN", "RU", 2_444, 1_190), ("RU", "CN", 691, 691)])],
        {},
        [],
        NOW,
    )
    (cycle,) = report.cycles
    assert [(c.source, c.target, c.carried) for c in cycle.corridors] == [
        ("CN", "RU", 1_254),
        ("RU", "CN", 0),
    ]


def test_superseded_rejected_and_open_cycles_are_left_out_and_the_rest_come_in_number_order() -> (
    None
):
    cycles = [
        _cycle(4, CycleStatus.PROPOSED, [("CN", "RU", 5, 0)]),
        _cycle(1, CycleStatus.SETTLED, [("CN", "RU", 5, 5)]),
        _cycle(2, CycleStatus.SUPERSEDED, [("CN", "RU", 5, 5)]),
        _cycle(3, CycleStatus.REJECTED, [("CN", "RU", 5, 5)]),
    ]
    report = imbalance_report(cycles, {}, [], NOW)
    assert [c.number for c in report.cycles] == [1, 4]


def test_a_line_draw_and_repayment_are_shown_in_base_on_the_corridor_the_line_funds() -> None:
    # 100.00 RUB drawn, which the netting valued at 8.00 CNY.
    draw = LineMovement(
        "L1", "RU", "CN", "RUB", drawn=10_000, repaid=0, balance=10_000, drawn_value=800
    )
    report = imbalance_report(
        [_cycle(1, CycleStatus.SETTLED, [("CN", "RU", 100, 100)])], {"cy1": [draw]}, [], NOW
    )
    (cycle,) = report.cycles
    funded = next(c for c in cycle.corridors if (c.source, c.target) == ("RU", "CN"))
    assert (funded.submitted, funded.line_drawn, funded.line_repaid) == (0, 800, 0)
    assert cycle.lines == (draw,)


def test_ages_fall_into_the_buckets_of_thirty_days() -> None:
    buckets = [_carried("CNY", 1, d, overdue=False).bucket for d in (0, 30, 31, 60, 61, 90, 91)]
    assert buckets == ["0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "90+"]


def test_the_ageing_values_each_carried_obligation_at_the_newest_rates_and_counts_the_overdue() -> (
    None
):
    ageing, unvalued = corridor_ageing(
        [
            _carried("CNY", 1_000, 5, overdue=False),
            _carried("RUB", 10_000, 45, overdue=True),
            _carried("USD", 7, 200, overdue=True),
        ],
        RATES,
    )
    (row,) = ageing
    assert row.bucket_map() == {"0-30": 1_000, "31-60": 800, "61-90": 0, "90+": 0}
    assert row.overdue == 800
    assert unvalued == ("USD",)


@given(st.lists(st.tuples(st.integers(1, 10**12), st.integers(0, 400), st.booleans()), max_size=30))
def test_the_buckets_partition_the_carried_value_and_the_overdue_is_part_of_it(
    items: list[tuple[int, int, bool]],
) -> None:
    ageing, _ = corridor_ageing(
        [_carried("CNY", amount, age, overdue) for amount, age, overdue in items], RATES
    )
    total = sum(amount for amount, _, _ in items)
    assert sum(sum(row.buckets) for row in ageing) == total
    assert sum(row.overdue for row in ageing) == sum(a for a, _, o in items if o)


def test_the_csv_has_a_row_per_cycle_and_corridor_in_major_units() -> None:
    report = imbalance_report(
        [_cycle(7, CycleStatus.SETTLED, [("CN", "RU", 2_444, 1_190)])], {}, [], NOW
    )
    rows = list(csv.DictReader(io.StringIO(imbalance_csv(report))))
    assert rows == [
        {
            "cycle_id": "cy7",
            "cycle_number": "7",
            "from": "CN",
            "to": "RU",
            "submitted": "24.44",
            "settled": "11.90",
            "carried": "12.54",
            "line_drawn": "0.00",
            "line_repaid": "0.00",
        }
    ]


def test_the_document_names_the_buckets_and_the_base_of_the_ageing() -> None:
    report = imbalance_report(
        [_cycle(1, CycleStatus.SETTLED, [("CN", "RU", 100, 100)])],
        {},
        [_carried("CNY", 250, 95, overdue=True)],
        NOW,
    )
    document = imbalance_document(report)
    assert document["ageing_base"] == "CNY"
    assert document["ageing"] == [
        {
            "from": "CN",
            "to": "RU",
            "buckets": {"0-30": "0.00", "31-60": "0.00", "61-90": "0.00", "90+": "2.50"},
            "overdue": "2.50",
        }
    ]
    assert document["cycles"][0]["corridors"][0]["carried"] == "0.00"


def test_without_any_cycle_the_carried_value_cannot_be_valued_and_is_named() -> None:
    report = imbalance_report([], {}, [_carried("CNY", 250, 1, overdue=False)], NOW)
    assert report.ageing == ()
    assert report.unvalued_currencies == ("CNY",)
