"""The imbalance report (DESIGN §6a) as the API's JSON document and as CSV.

Values are decimal strings in major units of the base currency named beside them (a line's
movements in its own currency); the CSV has one row per cycle and corridor.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from clearing.domain.imbalance import (
    CSV_COLUMNS,
    CorridorFigures,
    CycleImbalance,
    ImbalanceReport,
)
from clearing.domain.money import format_amount
from clearing.domain.netting.lines import LineMovement


def _corridor(figures: CorridorFigures, base: str) -> dict[str, str]:
    return {
        "from": figures.source,
        "to": figures.target,
        "submitted": format_amount(figures.submitted, base),
        "settled": format_amount(figures.settled, base),
        "carried": format_amount(figures.carried, base),
        "line_drawn": format_amount(figures.line_drawn, base),
        "line_repaid": format_amount(figures.line_repaid, base),
    }


def _line(line: LineMovement) -> dict[str, str]:
    return {
        "id": line.line_id,
        "from": line.source,
        "to": line.target,
        "currency": line.currency,
        "drawn": format_amount(line.drawn, line.currency),
        "repaid": format_amount(line.repaid, line.currency),
        "balance": format_amount(line.balance, line.currency),
    }


def _cycle(cycle: CycleImbalance) -> dict[str, Any]:
    return {
        "cycle_id": cycle.cycle_id,
        "number": cycle.number,
        "status": cycle.status.value,
        "base": cycle.base,
        "corridors": [_corridor(c, cycle.base) for c in cycle.corridors],
        "lines": [_line(line) for line in cycle.lines],
    }


def imbalance_document(report: ImbalanceReport) -> dict[str, Any]:
    """The report as the JSON document of ``GET /v1/reports/imbalance``."""
    base = report.ageing_base
    return {
        "as_of": report.as_of.isoformat().replace("+00:00", "Z"),
        "cycles": [_cycle(cycle) for cycle in report.cycles],
        "ageing_base": base or None,
        "ageing": [
            {
                "from": row.source,
                "to": row.target,
                "buckets": {
                    label: format_amount(value, base) for label, value in row.bucket_map().items()
                },
                "overdue": format_amount(row.overdue, base),
            }
            for row in report.ageing
        ],
        "unvalued_currencies": list(report.unvalued_currencies),
    }


def imbalance_csv(report: ImbalanceReport) -> str:
    """One row per cycle and corridor, values in major units of the cycle's base currency."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for cycle in report.cycles:
        for c in cycle.corridors:
            writer.writerow(
                [
                    cycle.cycle_id,
                    cycle.number,
                    c.source,
                    c.target,
                    *(
                        format_amount(value, cycle.base)
                        for value in (
                            c.submitted,
                            c.settled,
                            c.carried,
                            c.line_drawn,
                            c.line_repaid,
                        )
                    ),
                ]
            )
    return buffer.getvalue()
