"""Counts for monitoring: cycles and invoices by status."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clearing.adapters.persistence.tables import CycleRow, InvoiceRow


class StatsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def cycles_by_status(self) -> dict[str, int]:
        rows = self.session.execute(select(CycleRow.status, func.count()).group_by(CycleRow.status))
        return {status: int(count) for status, count in rows}

    def invoices_by_status(self) -> dict[str, int]:
        rows = self.session.execute(
            select(InvoiceRow.status, func.count()).group_by(InvoiceRow.status)
        )
        return {status: int(count) for status, count in rows}
