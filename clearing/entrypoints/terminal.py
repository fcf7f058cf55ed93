"""A run's figures as terminal tables, for ``clearing net`` and ``clearing demo`` alike: the
figures come computed from the domain; these tables only format them."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

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
    domestic = Table(title="Domestic settlement (pay-ins = pay-outs)", title_justify="left")
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
