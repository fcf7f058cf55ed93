"""A run's figures as terminal tables, for ``clearing net`` and ``clearing demo`` alike: the
figures come computed from the domain; these tables only format them."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from clearing.domain.imbalance import AGE_BUCKETS, ImbalanceReport
from clearing.domain.money import format_amount
from clearing.domain.netting import Figures


def print_figures(console: Console, figures: Figures, base: str, *, title: str) -> None:
    """Corridors, domestic totals and metrics; values in ``base`` unless a currency is named."""
    corridors = Table(title=f"{title} (values in {base})", title_justify="left")
    for column in ("corridor", "submitted", "settled", "carried forward"):
        corridors.add_column(column, justify="left" if column == "corridor" else "right")
    for c in figures.corridors:
        corridors.add_row(
            f"{c.source} → {c.target}",
            format_amount(c.submitted, base),
            format_amount(c.settled, base),
            format_amount(c.carried, base),
        )
    console.print(corridors)
    balanced = all(t.pay_in == t.pay_out for t in figures.jurisdictions)
    domestic = Table(
        title="Domestic settlement "
        + (
            "(pay-ins = pay-outs)"
            if balanced
            else "(pay-ins and pay-outs differ by the lines' net flow)"
        ),
        title_justify="left",
    )
    for column in ("jurisdiction", "currency", "pay-ins", "pay-outs"):
        domestic.add_column(column, justify="right" if column.startswith("pay") else "left")
    for t in figures.jurisdictions:
        domestic.add_row(
            t.jurisdiction,
            t.currency,
            format_amount(t.pay_in, t.currency),
            format_amount(t.pay_out, t.currency),
        )
    console.print(domestic)
    metrics = figures.metrics
    summary = Table(show_header=False, title="Metrics", title_justify="left")
    summary.add_column(justify="left")
    summary.add_column(justify="right")
    summary.add_row(f"submitted ({base})", format_amount(metrics.submitted_value, base))
    summary.add_row(f"settled ({base})", format_amount(metrics.settled_value, base))
    summary.add_row(f"carried forward ({base})", format_amount(metrics.carried_value, base))
    summary.add_row("netting efficiency", metrics.netting_efficiency)
    summary.add_row(
        "cross-border payments avoided",
        f"{metrics.obligations_settled:,} of {figures.obligations:,} obligations",
    )
    summary.add_row("domestic liquidity saved", metrics.domestic_liquidity_saved)
    console.print(summary)


def print_imbalance(console: Console, report: ImbalanceReport) -> None:
    """The imbalance report of DESIGN §6a: per cycle and corridor, then the age of what is
    still carried."""
    bases = sorted({cycle.base for cycle in report.cycles})
    cycles = Table(
        title=f"Imbalance over cycles (values in {', '.join(bases) or 'base'})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 0),
        show_edge=False,
    )
    for column in (
        "cycle",
        "corridor",
        "submitted",
        "settled",
        "carried",
        "line drawn",
        "line repaid",
    ):
        _add_column(cycles, column)
    for cycle in report.cycles:
        label = str(cycle.number)
        if cycle.status.value != "settled":
            label += f" ({cycle.status.value})"
        for c in cycle.corridors:
            cycles.add_row(
                label,
                f"{c.source}→{c.target}",
                *(
                    format_amount(value, cycle.base)
                    for value in (c.submitted, c.settled, c.carried, c.line_drawn, c.line_repaid)
                ),
            )
    console.print(cycles)
    lines = [(cycle.number, line) for cycle in report.cycles for line in cycle.lines]
    if lines:
        table = Table(
            title="Liquidity lines (balance after each cycle)",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            padding=(0, 0),
            show_edge=False,
        )
        for column in ("cycle", "line", "funds", "drawn", "repaid", "balance", "currency"):
            _add_column(table, column)
        for number, line in lines:
            table.add_row(
                str(number),
                line.line_id,
                f"{line.source} → {line.target}",
                *(
                    format_amount(value, line.currency)
                    for value in (line.drawn, line.repaid, line.balance)
                ),
                line.currency,
            )
        console.print(table)
    base = report.ageing_base
    ageing = Table(
        title=f"Still carried, by age in days (values in {base or 'base'})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 0),
        show_edge=False,
    )
    ageing.add_column("corridor")
    for label, _, _ in AGE_BUCKETS:
        ageing.add_column(label, justify="right", overflow="fold")
    ageing.add_column("overdue", justify="right", overflow="fold")
    for row in report.ageing:
        ageing.add_row(
            f"{row.source} → {row.target}",
            *(format_amount(value, base) for value in (*row.buckets, row.overdue)),
        )
    console.print(ageing)
    if report.unvalued_currencies:
        console.print(
            "Not valued (no rate yet): " + ", ".join(report.unvalued_currencies), highlight=False
        )


def _add_column(table: Table, column: str) -> None:
    """Figures to the right, and folded rather than cut short where the terminal is narrow."""
    if column in _FIGURES:
        table.add_column(column, justify="right", overflow="fold")
    else:
        table.add_column(column)


_FIGURES = frozenset(
    {
        "cycle",
        "submitted",
        "settled",
        "carried",
        "line drawn",
        "line repaid",
        "drawn",
        "repaid",
        "balance",
    }
)
