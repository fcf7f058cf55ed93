"""The repository of cycles: the cycle, its snapshot and result, pay-ins, refunds, and the invoices
a cycle takes and gives back. Large writes are set-based: COPY on PostgreSQL, one multi-row
statement elsewhere; never one ORM object at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import asdict, fields
from itertools import repeat
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
from sqlalchemy import func, insert, literal, or_, select, text, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clearing.adapters.persistence.copying import copy_columns, copy_rows
from clearing.adapters.persistence.cycle_invoices import CycleInvoices
from clearing.adapters.persistence.rows import from_row, in_scope, now, storable
from clearing.adapters.persistence.tables import (
    CycleApprovalRow,
    CycleObligationRow,
    CyclePositionRow,
    CycleRow,
    PayInRow,
    RefundRow,
)
from clearing.domain.access import Scope
from clearing.domain.cycles import (
    ACTIVE_STATES,
    Approval,
    Cycle,
    CycleStatus,
    PayIn,
    Refund,
    summary_from_json,
    summary_to_json,
)
from clearing.domain.errors import Conflict
from clearing.domain.netting import SNAPSHOT_COLUMNS, NettingResult, Position, Settlement
from clearing.domain.netting.columns import TEXT_COLUMNS, ObligationColumns
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet

_PAY_IN_FIELDS = tuple(field.name for field in fields(PayIn))


class CycleRepository(CycleInvoices):
    """A cycle and what it stores (the invoices it takes and gives back: :class:`CycleInvoices`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- the cycle itself ---

    def add(self, cycle: Cycle) -> None:
        self.session.add(CycleRow(**_cycle_values(cycle)))
        try:
            self.session.flush()
        except IntegrityError as error:
            # Another transaction stored an active cycle (or took its number) since this one
            # looked: the unique constraints decide, and the loser gets a conflict, not a 500.
            message = "another cycle was opened meanwhile; settle or reject it first"
            raise Conflict(message) from error

    def save(self, cycle: Cycle) -> None:
        values = _cycle_values(cycle)
        del values["id"]
        self.session.execute(update(CycleRow).where(CycleRow.id == cycle.id).values(values))

    def get(self, cycle_id: str, *, for_update: bool = False) -> Cycle | None:
        query = select(CycleRow).where(CycleRow.id == cycle_id)
        if for_update:
            query = query.with_for_update()
        row = self.session.scalars(query).first()
        return self._cycle(row) if row else None

    def active(self) -> Cycle | None:
        row = self.session.scalars(select(CycleRow).where(CycleRow.active_slot == 1)).first()
        return self._cycle(row) if row else None

    def next_number(self) -> int:
        return (
            int(self.session.scalar(select(func.coalesce(func.max(CycleRow.number), 0))) or 0) + 1
        )

    def recent(self, before_number: int | None, limit: int) -> list[Cycle]:
        query = select(CycleRow).order_by(CycleRow.number.desc()).limit(limit)
        if before_number is not None:
            query = query.where(CycleRow.number < before_number)
        return [self._cycle(row) for row in self.session.scalars(query)]

    def add_approval(self, cycle_id: str, approval: Approval) -> None:
        self.session.add(
            CycleApprovalRow(
                cycle_id=cycle_id,
                entity=approval.entity,
                digest=approval.digest,
                principal_id=approval.principal_id,
                approved_at=approval.approved_at,
            )
        )
        self.session.flush()

    def _cycle(self, row: CycleRow) -> Cycle:
        approvals = tuple(
            Approval(a.entity, a.digest, a.principal_id, a.approved_at)
            for a in self.session.scalars(
                select(CycleApprovalRow)
                .where(CycleApprovalRow.cycle_id == row.id)
                .order_by(
                    CycleApprovalRow.approved_at,
                    CycleApprovalRow.entity,
                    CycleApprovalRow.principal_id,
                )
            )
        )
        return Cycle(
            id=row.id,
            number=row.number,
            status=CycleStatus(row.status),
            policy=Policy(row.policy),
            opened_by=row.opened_by,
            opened_at=row.opened_at,
            rates=RateSet.from_json(row.rates) if row.rates else None,
            digest=row.digest,
            summary=summary_from_json(row.summary) if row.summary else None,
            approvals=approvals,
            predecessor_id=row.predecessor_id,
            superseded_by=row.superseded_by,
            closed_at=row.closed_at,
            settled_at=row.settled_at,
            note=row.note,
            defaulted=tuple(row.defaulted or ()),
            closed_by=row.closed_by,
            approvals_needed=tuple(sorted((row.approvals_needed or {}).items())),
        )

    # --- snapshot and results ---

    def store_result(self, cycle_id: str, result: NettingResult) -> None:
        """The snapshot and its per-obligation results, COPYed from the result's columns: as
        CSV written from them on PostgreSQL when every amount is a 64-bit integer."""
        table = CycleObligationRow.__table__
        names = [c.name for c in table.columns]
        results = (
            result.columns.value,
            result.columns.settled_value,
            result.columns.settled,
            result.columns.debtor_leg,
            result.columns.creditor_leg,
        )
        snapshot = result.snapshot
        if self.session.connection().dialect.name == "postgresql" and all(
            column.dtype == np.int64 for column in (snapshot.outstanding, *results)
        ):
            columns = [
                pa.array(np.full(len(snapshot), cycle_id, dtype=object), pa.string()),
                *(getattr(snapshot, name) for name in TEXT_COLUMNS),
                pa.array(snapshot.outstanding),
                pa.array(snapshot.due_date.astype(np.int32), pa.int32()).cast(pa.date32()),
                pa.array(snapshot.priority),
                pa.array(snapshot.sequence),
                *(pa.array(column) for column in results),
            ]
            copy_columns(
                self.session,
                table,  # type: ignore[arg-type]
                pa.Table.from_arrays(columns, names=names),
            )
        else:
            lists = snapshot.to_lists()
            copy_rows(
                self.session,
                table,  # type: ignore[arg-type]
                names,
                zip(
                    repeat(cycle_id),
                    *(lists[name] for name in SNAPSHOT_COLUMNS),
                    result.values,
                    result.settled_values,
                    result.settled,
                    result.debtor_legs,
                    result.creditor_legs,
                    strict=False,
                ),
            )
        position_columns = [c.name for c in CyclePositionRow.__table__.columns]
        copy_rows(
            self.session,
            CyclePositionRow.__table__,  # type: ignore[arg-type]
            position_columns,
            (
                (
                    cycle_id,
                    p.participant_id,
                    p.jurisdiction,
                    p.currency,
                    p.pay_in,
                    p.pay_out,
                    p.pay_in_value,
                    p.pay_out_value,
                )
                for p in result.positions
            ),
        )

    def snapshot(self, cycle_id: str) -> list[Obligation]:
        return [s.obligation for s in self.settlements(cycle_id, Scope(everything=True))]

    def snapshot_columns(self, cycle_id: str) -> ObligationColumns:
        """The snapshot straight from the database into columns, for re-netting it: on
        PostgreSQL one row holding each column as a JSON array (parsed in C, no Python object
        per obligation but its texts and numbers), elsewhere from the rows."""
        table = CycleObligationRow
        if self.session.connection().dialect.name == "postgresql":
            return _snapshot_from_arrays(self.session, cycle_id)
        rows = self.session.execute(
            select(
                table.invoice_id,
                table.debtor_id,
                table.debtor_entity,
                table.creditor_id,
                table.creditor_entity,
                table.currency,
                table.outstanding,
                table.due_date,
                table.priority,
                table.sequence,
            ).where(table.cycle_id == cycle_id)
        ).all()
        return ObligationColumns.from_lists(
            dict(zip(SNAPSHOT_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))
            if rows
            else {name: [] for name in SNAPSHOT_COLUMNS}
        )

    def settlements(
        self,
        cycle_id: str,
        scope: Scope,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Settlement]:
        table = CycleObligationRow
        # Plain rows, not ORM objects: a snapshot can hold a hundred thousand obligations.
        query = (
            select(*CycleObligationRow.__table__.columns)
            .where(table.cycle_id == cycle_id)
            .order_by(table.invoice_id)
        )
        visible = in_scope(
            scope,
            (table.debtor_id, table.debtor_entity),
            (table.creditor_id, table.creditor_entity),
        )
        if visible is not None:
            query = query.where(visible)
        if after is not None:
            query = query.where(table.invoice_id > after)
        if limit is not None:
            query = query.limit(limit)
        return [
            Settlement(
                Obligation(
                    r.invoice_id,
                    r.debtor_id,
                    r.debtor_entity,
                    r.creditor_id,
                    r.creditor_entity,
                    r.currency,
                    r.outstanding,
                    r.due_date,
                    r.priority,
                    r.sequence,
                ),
                r.value,
                r.settled_value,
                r.settled,
                r.debtor_leg,
                r.creditor_leg,
            )
            for r in self.session.execute(query)
        ]

    def position(self, cycle_id: str, participant_id: str) -> Position | None:
        if not storable(participant_id):
            return None
        row = self.session.get(CyclePositionRow, (cycle_id, participant_id))
        return _position(row) if row is not None else None

    def pay_ins_missing(self, cycle_id: str) -> bool:
        """Whether any participant has received (pay-ins less refunds) less than it must pay in.

        Set-based either way, never a join of the positions with the grouped pay-ins: that was
        planned as a loop over both right after a cycle's pay-ins were written (seconds, on a
        cycle of ten thousand participants).
        """
        p = CyclePositionRow
        # Most often a payer has paid nothing yet: found by a hashed NOT IN, at the first one.
        paid = select(PayInRow.participant_id).where(PayInRow.cycle_id == cycle_id)
        unpaid = select(p.participant_id).where(
            p.cycle_id == cycle_id, p.pay_in > p.pay_out, p.participant_id.not_in(paid)
        )
        if self.session.execute(unpaid.limit(1)).first() is not None:
            return True
        refunded = select(RefundRow.participant_id).where(RefundRow.cycle_id == cycle_id)
        owed = union_all(
            # Only a payer, or one refunded more than it paid, can hold less than it owes.
            select(
                p.participant_id.label("participant_id"),
                (p.pay_in - p.pay_out).label("owed"),
                literal(1).label("positions"),
            ).where(
                p.cycle_id == cycle_id,
                or_(p.pay_in > p.pay_out, p.participant_id.in_(refunded)),
            ),
            select(PayInRow.participant_id, -PayInRow.amount, literal(0)).where(
                PayInRow.cycle_id == cycle_id
            ),
            select(RefundRow.participant_id, RefundRow.amount, literal(0)).where(
                RefundRow.cycle_id == cycle_id
            ),
        ).subquery()
        short = (
            select(owed.c.participant_id)
            .group_by(owed.c.participant_id)
            .having(func.sum(owed.c.positions) > 0, func.sum(owed.c.owed) > 0)
            .limit(1)
        )
        return self.session.execute(short).first() is not None

    def positions(self, cycle_id: str) -> list[Position]:
        rows = self.session.scalars(
            select(CyclePositionRow)
            .where(CyclePositionRow.cycle_id == cycle_id)
            .order_by(CyclePositionRow.entity, CyclePositionRow.participant_id)
        )
        return [_position(row) for row in rows]

    # --- pay-ins and refunds ---

    def add_pay_ins(self, pay_ins: Sequence[PayIn]) -> None:
        if not pay_ins:
            return
        stamp = now()
        # Field by field: dataclasses.asdict deep-copies every value, a third of a bulk insert.
        rows = [{name: getattr(pay_in, name) for name in _PAY_IN_FIELDS} for pay_in in pay_ins]
        for row in rows:
            row["recorded_at"] = row["recorded_at"] or stamp
        self.session.execute(insert(PayInRow), rows)

    def pay_ins(self, cycle_id: str) -> list[PayIn]:
        rows = self.session.scalars(
            select(PayInRow)
            .where(PayInRow.cycle_id == cycle_id)
            .order_by(PayInRow.recorded_at, PayInRow.id)
        )
        return [from_row(PayIn, row) for row in rows]

    def bank_reference_used(self, cycle_id: str, entity: str, reference: str) -> bool:
        return (
            self.session.scalar(
                select(func.count()).where(
                    PayInRow.cycle_id == cycle_id,
                    PayInRow.entity == entity,
                    PayInRow.bank_reference == reference,
                )
            )
            != 0
        )

    def pay_ins_by_id(self, pay_in_ids: Sequence[str]) -> list[PayIn]:
        wanted = [i for i in pay_in_ids if storable(i)]
        if not wanted:
            return []
        rows = self.session.scalars(select(PayInRow).where(PayInRow.id.in_(wanted)))
        return [from_row(PayIn, row) for row in rows]

    def pay_ins_by_reference(self, entity: str, references: Collection[str]) -> list[PayIn]:
        wanted = [r for r in set(references) if storable(r)]
        if not wanted:
            return []
        rows = self.session.scalars(
            select(PayInRow)
            .where(
                PayInRow.entity == entity,
                PayInRow.bank_reference.in_(wanted),
                PayInRow.carried_from.is_(None),
            )
            .order_by(PayInRow.recorded_at, PayInRow.id)
        )
        return [from_row(PayIn, row) for row in rows]

    def add_refunds(self, refunds: Sequence[Refund]) -> None:
        if not refunds:
            return
        stamp = now()
        self.session.execute(
            insert(RefundRow),
            [{**asdict(refund), "created_at": stamp} for refund in refunds],
        )

    def refunds(self, cycle_id: str) -> list[Refund]:
        rows = self.session.scalars(
            select(RefundRow).where(RefundRow.cycle_id == cycle_id).order_by(RefundRow.id)
        )
        return [from_row(Refund, row) for row in rows]

    def received(self, cycle_id: str) -> dict[str, int]:
        """Money held for each participant in this cycle: pay-ins less refunds."""
        totals: dict[str, int] = defaultdict(int)
        for participant, amount in self.session.execute(
            select(PayInRow.participant_id, func.sum(PayInRow.amount))
            .where(PayInRow.cycle_id == cycle_id)
            .group_by(PayInRow.participant_id)
        ):
            totals[participant] += int(amount)
        for participant, amount in self.session.execute(
            select(RefundRow.participant_id, func.sum(RefundRow.amount))
            .where(RefundRow.cycle_id == cycle_id)
            .group_by(RefundRow.participant_id)
        ):
            totals[participant] -= int(amount)
        return dict(totals)


def _cycle_values(cycle: Cycle) -> dict[str, Any]:
    return {
        "id": cycle.id,
        "number": cycle.number,
        "status": cycle.status.value,
        "policy": cycle.policy.value,
        "active_slot": 1 if cycle.status in ACTIVE_STATES else None,
        "rates": cycle.rates.to_json() if cycle.rates else None,
        "digest": cycle.digest,
        "summary": summary_to_json(cycle.summary) if cycle.summary else None,
        "predecessor_id": cycle.predecessor_id,
        "superseded_by": cycle.superseded_by,
        "defaulted": list(cycle.defaulted) or None,
        "note": cycle.note,
        "opened_by": cycle.opened_by,
        "opened_at": cycle.opened_at,
        "closed_by": cycle.closed_by,
        "approvals_needed": dict(cycle.approvals_needed) or None,
        "closed_at": cycle.closed_at,
        "settled_at": cycle.settled_at,
    }


def _position(row: CyclePositionRow) -> Position:
    return Position(
        row.participant_id,
        row.entity,
        row.currency,
        row.pay_in,
        row.pay_out,
        row.pay_in_value,
        row.pay_out_value,
    )


#: The snapshot's columns as one JSON array of arrays (PostgreSQL), due dates as days since
#: 1970-01-01: what :class:`ObligationColumns` holds.
_SNAPSHOT_ARRAYS = text(
    "SELECT json_build_array(array_agg(invoice_id), array_agg(debtor_id), "
    "array_agg(debtor_entity), array_agg(creditor_id), array_agg(creditor_entity), "
    "array_agg(currency), array_agg(outstanding), array_agg(due_date - DATE '1970-01-01'), "
    "array_agg(priority), array_agg(sequence))::text "
    "FROM cycle_obligations WHERE cycle_id = :cycle_id"
)


def _snapshot_from_arrays(session: Session, cycle_id: str) -> ObligationColumns:
    document = session.scalar(_SNAPSHOT_ARRAYS, {"cycle_id": cycle_id})
    arrays = orjson.loads(document) if document else []
    if not arrays or arrays[0] is None:  # no row: array_agg gives NULL
        arrays = [[] for _ in SNAPSHOT_COLUMNS]
    lists = dict(zip(SNAPSHOT_COLUMNS, arrays, strict=True))
    return ObligationColumns(
        **{name: pa.array(lists[name], pa.string()) for name in TEXT_COLUMNS},
        outstanding=np.array(lists["outstanding"], dtype=np.int64),
        due_date=np.array(lists["due_date"], dtype=np.int64),
        priority=np.array(lists["priority"], dtype=np.int64),
        sequence=np.array(lists["sequence"], dtype=np.int64),
    )
