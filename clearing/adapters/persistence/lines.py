"""The repository of liquidity lines: the lines, their history, the balance each settled cycle
moved, and per cycle the line terms frozen at its cut-off with what its netting did to each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clearing.adapters.persistence.rows import now, storable
from clearing.adapters.persistence.tables import (
    CycleLineRow,
    LineEventRow,
    LineMovementRow,
    LineRow,
)
from clearing.domain.errors import Conflict
from clearing.domain.lines import (
    LimitChange,
    Line,
    LineAction,
    LineEvent,
    LineStatus,
    Movement,
)
from clearing.domain.netting.lines import LineMovement, LineTerms


class LineRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, line: Line) -> None:
        self.session.add(LineRow(id=line.id, **_line_values(line)))
        try:
            self.session.flush()
        except IntegrityError as error:
            # Another transaction stored the same direction and currency since this one looked.
            raise Conflict(
                f"a line funding {line.source} to {line.target} in {line.currency} was added "
                "meanwhile",
                field="from",
            ) from error

    def save(self, line: Line) -> None:
        self.session.execute(
            update(LineRow).where(LineRow.id == line.id).values(_line_values(line))
        )

    def get(self, line_id: str, *, for_update: bool = False) -> Line | None:
        if not storable(line_id):
            return None
        query = select(LineRow).where(LineRow.id == line_id)
        if for_update:
            query = query.with_for_update()
        row = self.session.scalars(query).first()
        return _line(row) if row else None

    def lock(self, line_ids: Collection[str]) -> dict[str, Line]:
        wanted = sorted({i for i in line_ids if storable(i)})
        if not wanted:
            return {}
        rows = self.session.scalars(
            select(LineRow).where(LineRow.id.in_(wanted)).order_by(LineRow.id).with_for_update()
        )
        return {row.id: _line(row) for row in rows}

    def between(self, source: str, target: str) -> list[Line]:
        if not storable(source, target):
            return []
        rows = self.session.scalars(
            select(LineRow)
            .where(LineRow.source == source, LineRow.target == target)
            .order_by(LineRow.id)
        )
        return [_line(row) for row in rows]

    def active(self) -> list[Line]:
        rows = self.session.scalars(
            select(LineRow).where(LineRow.status == LineStatus.ACTIVE.value).order_by(LineRow.id)
        )
        return [_line(row) for row in rows]

    def add_event(self, event: LineEvent) -> None:
        self.session.execute(
            insert(LineEventRow).values(
                line_id=event.line_id,
                action=event.action.value,
                credit_limit=event.limit,
                entity=event.entity,
                actor=event.actor,
                at=event.at,
            )
        )

    def events(self, line_id: str) -> list[LineEvent]:
        rows = self.session.scalars(
            select(LineEventRow).where(LineEventRow.line_id == line_id).order_by(LineEventRow.id)
        )
        return [
            LineEvent(r.line_id, LineAction(r.action), r.credit_limit, r.entity, r.actor, r.at)
            for r in rows
        ]

    def add_movements(self, movements: Sequence[Movement]) -> None:
        if not movements:
            return
        stamp = now()
        self.session.execute(
            insert(LineMovementRow),
            [
                {
                    "line_id": m.line_id,
                    "cycle_id": m.cycle_id,
                    "drawn": m.drawn,
                    "repaid": m.repaid,
                    "balance": m.balance,
                    "recorded_at": stamp,
                }
                for m in movements
            ],
        )

    def movements(self, line_id: str) -> list[Movement]:
        rows = self.session.scalars(
            select(LineMovementRow)
            .where(LineMovementRow.line_id == line_id)
            .order_by(LineMovementRow.id)
        )
        return [Movement(r.line_id, r.cycle_id, r.drawn, r.repaid, r.balance) for r in rows]

    def store_cycle(
        self, cycle_id: str, terms: Sequence[LineTerms], movements: Sequence[LineMovement]
    ) -> None:
        if not terms:
            return
        by_line = {m.line_id: m for m in movements}
        self.session.execute(
            insert(CycleLineRow),
            [
                {
                    "cycle_id": cycle_id,
                    "line_id": t.line_id,
                    "source": t.source,
                    "target": t.target,
                    "currency": t.currency,
                    "credit_limit": t.limit,
                    "balance_before": t.balance,
                    "drawn": by_line[t.line_id].drawn,
                    "repaid": by_line[t.line_id].repaid,
                    "balance_after": by_line[t.line_id].balance,
                    "source_flow": by_line[t.line_id].source_flow,
                    "target_flow": by_line[t.line_id].target_flow,
                    "drawn_value": by_line[t.line_id].drawn_value,
                    "repaid_value": by_line[t.line_id].repaid_value,
                }
                for t in terms
            ],
        )

    def cycle_terms(self, cycle_id: str) -> list[LineTerms]:
        rows = self.session.scalars(
            select(CycleLineRow)
            .where(CycleLineRow.cycle_id == cycle_id)
            .order_by(CycleLineRow.line_id)
        )
        return [
            LineTerms(r.line_id, r.source, r.target, r.currency, r.credit_limit, r.balance_before)
            for r in rows
        ]

    def movements_of_cycles(self, cycle_ids: Collection[str]) -> dict[str, list[LineMovement]]:
        wanted = sorted({i for i in cycle_ids if storable(i)})
        if not wanted:
            return {}
        found: dict[str, list[LineMovement]] = defaultdict(list)
        rows = self.session.scalars(
            select(CycleLineRow)
            .where(CycleLineRow.cycle_id.in_(wanted))
            .order_by(CycleLineRow.cycle_id, CycleLineRow.line_id)
        )
        for r in rows:
            found[r.cycle_id].append(
                LineMovement(
                    r.line_id,
                    r.source,
                    r.target,
                    r.currency,
                    r.drawn,
                    r.repaid,
                    r.balance_after,
                    r.source_flow,
                    r.target_flow,
                    r.drawn_value,
                    r.repaid_value,
                )
            )
        return dict(found)

    def list(self, entity: str | None, after: str | None, limit: int) -> list[Line]:
        query = select(LineRow).order_by(LineRow.id).limit(limit)
        if entity is not None:
            query = query.where(or_(LineRow.source == entity, LineRow.target == entity))
        if after is not None:
            query = query.where(LineRow.id > after)
        return [_line(row) for row in self.session.scalars(query)]


def _line_values(line: Line) -> dict[str, Any]:
    change = line.pending_change
    return {
        "source": line.source,
        "target": line.target,
        "currency": line.currency,
        "credit_limit": line.limit,
        "balance": line.balance,
        "status": line.status.value,
        "proposer": line.proposer,
        "proposed_by": line.proposed_by,
        "proposed_at": line.proposed_at,
        "confirmed_by": line.confirmed_by,
        "confirmed_at": line.confirmed_at,
        "pending_limit": change.limit if change else None,
        "pending_entity": change.entity if change else None,
        "pending_by": change.proposed_by if change else None,
        "pending_at": change.proposed_at if change else None,
    }


def _line(row: LineRow) -> Line:
    change = (
        LimitChange(
            row.pending_limit, row.pending_entity or "", row.pending_by or "", row.pending_at
        )
        if row.pending_limit is not None and row.pending_at is not None
        else None
    )
    return Line(
        id=row.id,
        source=row.source,
        target=row.target,
        currency=row.currency,
        limit=row.credit_limit,
        balance=row.balance,
        status=LineStatus(row.status),
        proposer=row.proposer,
        proposed_by=row.proposed_by,
        proposed_at=row.proposed_at,
        confirmed_by=row.confirmed_by,
        confirmed_at=row.confirmed_at,
        pending_change=change,
    )
