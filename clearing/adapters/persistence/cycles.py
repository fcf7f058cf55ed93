"""The repository of cycles: the cycle, its snapshot and result, pay-ins, refunds, and the invoices
a cycle takes and gives back. Large writes are set-based: COPY on PostgreSQL, one multi-row
statement elsewhere; never one ORM object at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from itertools import repeat
from typing import Any, cast

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clearing.adapters.persistence.copying import copy_rows
from clearing.adapters.persistence.invoices import invoice_of_row
from clearing.adapters.persistence.rows import from_row, in_scope, now, storable
from clearing.adapters.persistence.tables import (
    CycleApprovalRow,
    CycleObligationRow,
    CyclePositionRow,
    CycleRow,
    InvoiceEventRow,
    InvoiceRow,
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
from clearing.domain.invoices import LIFECYCLE, Action, Invoice, Status
from clearing.domain.netting import SNAPSHOT_COLUMNS, NettingResult, Position, Settlement
from clearing.domain.netting.columns import ObligationColumns
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet


class CycleRepository:
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
                .order_by(CycleApprovalRow.approved_at, CycleApprovalRow.entity)
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
        )

    # --- snapshot and results ---

    def store_result(self, cycle_id: str, result: NettingResult) -> None:
        """The snapshot and its per-obligation results, COPYed from the result's columns."""
        snapshot = result.snapshot.to_lists()
        copy_rows(
            self.session,
            CycleObligationRow.__table__,  # type: ignore[arg-type]
            [c.name for c in CycleObligationRow.__table__.columns],
            zip(
                repeat(cycle_id),
                *(snapshot[name] for name in SNAPSHOT_COLUMNS),
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
        """The snapshot straight from the cursor into columns, for re-netting it."""
        table = CycleObligationRow
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
        """Whether any participant has received (pay-ins less refunds) less than it must pay in."""
        paid = (
            select(PayInRow.participant_id, func.sum(PayInRow.amount).label("total"))
            .where(PayInRow.cycle_id == cycle_id)
            .group_by(PayInRow.participant_id)
            .subquery()
        )
        refunded = (
            select(RefundRow.participant_id, func.sum(RefundRow.amount).label("total"))
            .where(RefundRow.cycle_id == cycle_id)
            .group_by(RefundRow.participant_id)
            .subquery()
        )
        p = CyclePositionRow
        held = func.coalesce(paid.c.total, 0) - func.coalesce(refunded.c.total, 0)
        query = (
            select(p.participant_id)
            .outerjoin(paid, paid.c.participant_id == p.participant_id)
            .outerjoin(refunded, refunded.c.participant_id == p.participant_id)
            .where(p.cycle_id == cycle_id, p.pay_in - p.pay_out > held)
            .limit(1)
        )
        return self.session.scalars(query).first() is not None

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
        self.session.execute(
            insert(PayInRow),
            [{**asdict(pay_in), "recorded_at": stamp} for pay_in in pay_ins],
        )

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

    # --- the invoices a cycle takes and gives back ---
    #
    # These are the cycle-time transitions of the invoice lifecycle, each applied to every
    # invoice of a cycle in one set-based statement (a cycle holds up to hundreds of thousands:
    # one UPDATE per invoice would dominate the cycle's time). The states each statement moves
    # from and to are read from the one declared table, ``LIFECYCLE``.

    def eligible_invoices(self) -> list[Invoice]:
        """Every invoice a cut-off may take, locked until the transaction ends."""
        rows = self.session.execute(
            select(*InvoiceRow.__table__.columns)
            .where(InvoiceRow.status.in_(LIFECYCLE[Action.TAKE].source_values))
            .order_by(InvoiceRow.sequence)
            .with_for_update()
        )
        # Plain rows carry the same attributes as InvoiceRow, without the ORM's bookkeeping.
        return [invoice_of_row(cast(InvoiceRow, row)) for row in rows]

    def reject_invoices(self, rejections: Sequence[tuple[Invoice, str, str]], actor: str) -> None:
        """Invoices that fail screening at cut-off: rejected, with the rule and reason."""
        stamp = now()
        rejected = LIFECYCLE[Action.SCREEN_OUT].target.value
        for invoice, rule, reason in rejections:
            self.session.execute(
                update(InvoiceRow)
                .where(InvoiceRow.id == invoice.id)
                .values(
                    status=rejected,
                    rejection_rule=rule,
                    rejection_reason=reason,
                    updated_at=stamp,
                )
            )
        self._events(
            ((i.id, i.status.value, rejected, reason) for i, _, reason in rejections),
            actor,
            stamp,
        )

    def take_invoices(self, cycle_id: str, actor: str) -> None:
        """The snapshot's invoices are taken into the cycle."""
        stamp = now()
        take = LIFECYCLE[Action.TAKE]
        taken = select(CycleObligationRow.invoice_id).where(CycleObligationRow.cycle_id == cycle_id)
        self.session.execute(
            update(InvoiceRow)
            .where(InvoiceRow.id.in_(taken), InvoiceRow.status.in_(take.source_values))
            .values(status=take.target.value, cycle_id=cycle_id, updated_at=stamp),
            execution_options={"synchronize_session": False},
        )
        self._events_for_cycle(
            cycle_id, take.source, take.target, actor, stamp, f"taken by cycle {cycle_id}"
        )

    def return_invoices(
        self, cycle_id: str, actor: str, reason: str, invoice_ids: Sequence[str] | None = None
    ) -> None:
        """Give the cycle's invoices (or those named) back to the pool, unchanged."""
        stamp = now()
        back = LIFECYCLE[Action.RETURN]
        query = update(InvoiceRow).where(
            InvoiceRow.cycle_id == cycle_id, InvoiceRow.status.in_(back.source_values)
        )
        ids = list(invoice_ids) if invoice_ids is not None else None
        if ids is not None:
            query = query.where(InvoiceRow.id.in_(ids))
        self.session.execute(
            query.values(status=back.target.value, updated_at=stamp),
            execution_options={"synchronize_session": False},
        )
        events = ids if ids is not None else [o.obligation_id for o in self.snapshot(cycle_id)]
        self._events(
            ((i, back.source.value, back.target.value, reason) for i in events),
            actor,
            stamp,
        )

    def move_invoices(self, from_cycle: str, to_cycle: str) -> None:
        """A successor takes over what its superseded cycle still holds (no status changes)."""
        held = LIFECYCLE[Action.SETTLE].source_values
        self.session.execute(
            update(InvoiceRow)
            .where(InvoiceRow.cycle_id == from_cycle, InvoiceRow.status.in_(held))
            .values(cycle_id=to_cycle, updated_at=now()),
            execution_options={"synchronize_session": False},
        )

    def settle_invoices(self, cycle_id: str, actor: str) -> None:
        """Apply the cycle to its invoices in one statement: outstanding falls by what was
        settled; fully settled ones become ``settled``, the rest ``eligible`` again."""
        stamp = now()
        settle = LIFECYCLE[Action.SETTLE]
        in_full, in_part = settle.outcome().value, settle.outcome(normal=False).value
        co = CycleObligationRow
        remaining = InvoiceRow.outstanding - co.settled
        # UPDATE ... FROM cycle_obligations: one join, not a subquery per invoice.
        self.session.execute(
            update(InvoiceRow)
            .where(
                InvoiceRow.id == co.invoice_id,
                co.cycle_id == cycle_id,
                InvoiceRow.cycle_id == cycle_id,
                InvoiceRow.status.in_(settle.source_values),
            )
            .values(
                outstanding=remaining,
                status=case((remaining == 0, in_full), else_=in_part),
                updated_at=stamp,
            ),
            execution_options={"synchronize_session": False},
        )
        rows = self.session.execute(
            select(co.invoice_id, co.settled, co.outstanding).where(co.cycle_id == cycle_id)
        )
        self._events(
            (
                (
                    invoice_id,
                    settle.source.value,
                    in_full if settled == outstanding else in_part,
                    f"cycle {cycle_id} settled {settled} of {outstanding} minor units",
                )
                for invoice_id, settled, outstanding in rows
            ),
            actor,
            stamp,
        )

    def _events_for_cycle(
        self, cycle_id: str, before: Status, after: Status, actor: str, stamp: datetime, reason: str
    ) -> None:
        ids = self.session.scalars(
            select(CycleObligationRow.invoice_id).where(CycleObligationRow.cycle_id == cycle_id)
        )
        self._events(((i, before.value, after.value, reason) for i in ids), actor, stamp)

    def _events(
        self, events: Iterable[tuple[str, str, str, str]], actor: str, stamp: datetime
    ) -> None:
        copy_rows(
            self.session,
            InvoiceEventRow.__table__,  # type: ignore[arg-type]
            ["invoice_id", "from_status", "to_status", "actor", "reason", "at"],
            ((i, before, after, actor, reason, stamp) for i, before, after, reason in events),
        )


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
