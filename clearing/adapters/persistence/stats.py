"""Counts for monitoring: cycles and invoices by status."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from clearing.adapters.persistence import invoice_state as state
from clearing.adapters.persistence.tables import CycleRow, InvoiceRow


class StatsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def cycles_by_status(self) -> dict[str, int]:
        rows = self.session.execute(select(CycleRow.status, func.count()).group_by(CycleRow.status))
        return {status: int(count) for status, count in rows}

    def invoices_by_status(self) -> dict[str, int]:
        """The stored statuses, corrected by what the latest cut-off's overlay shows instead
        (counted over its snapshot only), in one statement and so one view of the data."""
        stored = select(
            literal(True).label("stored"), InvoiceRow.status, func.count().label("n")
        ).group_by(InvoiceRow.status)
        overlaid = (
            select(literal(False).label("stored"), state.status, func.count().label("n"))
            .select_from(state.overlaid_invoices())
            .where(state.held.invoice_id.is_not(None))
            .group_by(state.status)
        )
        counts: Counter[str] = Counter()
        for is_stored, status, count in self.session.execute(union_all(stored, overlaid)):
            if is_stored:
                counts[status] += int(count)
            else:
                counts[state.OVERLAID] -= int(count)
                counts[status] += int(count)
        return {status: count for status, count in counts.items() if count}
