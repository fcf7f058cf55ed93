"""The invoices a cycle takes and gives back: the cycle-time transitions of the invoice
lifecycle, a part of :class:`~clearing.adapters.persistence.cycles.CycleRepository`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import DateTime, case, func, insert, literal, select, update
from sqlalchemy.orm import Session, aliased

from clearing.adapters.persistence import invoice_state as state
from clearing.adapters.persistence.copying import copy_rows, fetch_rows
from clearing.adapters.persistence.rows import now
from clearing.adapters.persistence.tables import (
    CycleObligationRow,
    CycleStepRow,
    InvoiceEventRow,
    InvoiceRow,
)
from clearing.domain.invoices import LIFECYCLE, Action, Invoice

#: The sequence of a row of ``invoice_state.COLUMNS``.
_SEQUENCE = itemgetter(next(i for i, c in enumerate(state.COLUMNS) if c is InvoiceRow.sequence))


class CycleInvoices:
    """The invoices a cycle takes and gives back (part of the repository of cycles).

    These are the cycle-time transitions of the invoice lifecycle, each applied to every invoice
    of a cycle at once, never one statement per invoice (a cycle holds up to hundreds of
    thousands: one UPDATE per invoice would dominate the cycle's time). The two steps every
    cycle takes with its whole snapshot go further, because rewriting every invoice row and
    adding an event per invoice, at the cut-off and again at the settlement, was most of a
    cycle's time: each step is recorded once, as a row of ``cycle_steps``, and the invoices'
    states and history events are derived from it and the snapshot (:mod:`.invoice_state`). A
    settlement writes only the invoices it settles in full, once in their life. The rarer
    transitions (a rejection, a default, a screening at cut-off) write the rows they change,
    set-based. The states each statement moves from and to are read from the one declared
    table, ``LIFECYCLE``. The cycles that carried each invoice are kept the same way: derived
    while a settled take carried it, written (set-based, joined with
    :data:`~.invoice_state.CARRIED`) by the statements that write its row anyway.
    """

    session: Session

    def eligible_invoices(self) -> list[Invoice]:
        """Every invoice a cut-off may take, locked until the transaction ends (and with them
        the pool: nothing enters it until then)."""
        state.lock_the_pool(self.session, entering=False)
        rows = fetch_rows(
            self.session,
            select(*state.COLUMNS)
            .select_from(state.overlaid_invoices())
            .where(state.status_in(LIFECYCLE[Action.TAKE].source_values))
            .with_for_update(of=InvoiceRow),
        )
        # In sequence order, sorted here: the database would sort a hundred thousand whole
        # rows (on disk, past its working memory) where Python sorts references.
        rows.sort(key=_SEQUENCE)
        return [state.invoice_of_state(row) for row in rows]

    def reject_invoices(self, rejections: Sequence[tuple[Invoice, str, str]], actor: str) -> None:
        """Invoices that fail screening at cut-off: rejected, with the rule and reason."""
        stamp = now()
        rejected = LIFECYCLE[Action.SCREEN_OUT].target.value
        for invoice, rule, reason in rejections:
            # The row takes the invoice's whole state: what a settled cycle left it may have
            # been derived, not written.
            self.session.execute(
                update(InvoiceRow)
                .where(InvoiceRow.id == invoice.id)
                .values(
                    status=rejected,
                    outstanding=invoice.outstanding,
                    cycle_id=invoice.cycle_id,
                    cycles_carried=invoice.cycles_carried,
                    carried_after_step=state.latest_take_step(),
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
        """The snapshot's invoices are taken into the cycle: one step recorded for them all."""
        left_behind = self._write_left_behind(cycle_id)
        self._record_step(cycle_id, state.TAKE_STEP, actor)
        if left_behind:
            # Not in this take: carried from it on, not by it.
            self.session.execute(
                update(InvoiceRow)
                .where(InvoiceRow.sequence.in_(left_behind))
                .values(carried_after_step=state.latest_take_step()),
                execution_options={"synchronize_session": False},
            )

    def return_invoices(
        self,
        cycle_id: str,
        actor: str,
        reason: str,
        invoice_ids: Sequence[str] | None = None,
        *,
        carried: bool = False,
    ) -> None:
        """Give the cycle's invoices (or those named) back to the pool, unchanged; carried by
        the cycle once more if ``carried`` (a default drops them)."""
        stamp = now()
        back = LIFECYCLE[Action.RETURN]
        ids = list(invoice_ids) if invoice_ids is not None else None
        values: dict[str, Any] = {"status": back.target.value, "cycle_id": cycle_id}
        if carried:
            values["cycles_carried"] = InvoiceRow.cycles_carried + 1
        self._write_held(cycle_id, back.source_values, ids, values)
        if ids is not None:
            self._events(
                ((i, back.source.value, back.target.value, reason) for i in ids), actor, stamp
            )
            return
        co = CycleObligationRow
        snapshot = select(
            co.invoice_id,
            literal(back.source.value),
            literal(back.target.value),
            literal(actor),
            literal(reason),
            literal(stamp, DateTime(timezone=True)),
        ).where(co.cycle_id == cycle_id)
        self.session.execute(
            insert(InvoiceEventRow).from_select(
                ["invoice_id", "from_status", "to_status", "actor", "reason", "at"], snapshot
            )
        )

    def move_invoices(self, from_cycle: str, to_cycle: str) -> None:
        """A successor takes over what its superseded cycle still holds (no status changes)."""
        held = LIFECYCLE[Action.SETTLE]
        self._write_held(from_cycle, held.source_values, None, {"cycle_id": to_cycle})

    def settle_invoices(self, cycle_id: str, actor: str) -> None:
        """Apply the cycle to its invoices: outstanding falls by what was settled; fully settled
        ones become ``settled``, the rest ``eligible`` again."""
        stamp = now()
        settle = LIFECYCLE[Action.SETTLE]
        in_full, in_part = settle.outcome().value, settle.outcome(normal=False).value
        co = CycleObligationRow
        carried = state.CARRIED
        # The count as shown (what settled takes carried them since the row was written: not
        # this cycle, whose settle step comes last), from the latest take on.
        shown = InvoiceRow.cycles_carried + carried.c.settled_since
        after_step = int(self.session.scalar(select(state.latest_take_step())) or 0)
        # Rows stored in the cycle (moved from a superseded one, or taken before cycle steps
        # were recorded): UPDATE ... FROM cycle_obligations, one join, not a subquery each.
        # Those it leaves in the pool it carried once more.
        remaining = InvoiceRow.outstanding - co.settled
        self.session.execute(
            update(InvoiceRow)
            .where(
                InvoiceRow.id == co.invoice_id,
                co.cycle_id == cycle_id,
                InvoiceRow.cycle_id == cycle_id,
                InvoiceRow.status.in_(settle.source_values),
                InvoiceRow.carried_after_step == carried.c.after_step,
            )
            .values(
                outstanding=remaining,
                status=case((remaining == 0, in_full), else_=in_part),
                cycles_carried=shown + case((remaining == 0, 0), else_=1),
                carried_after_step=after_step,
                updated_at=stamp,
            ),
            execution_options={"synchronize_session": False},
        )
        # Those its take holds, settled in full, are written as such, once in their life: a
        # settled invoice leaves the pool the next cut-off scans. The rest take their state
        # from the settle step (and the next cut-off takes them again).
        self.session.execute(
            update(InvoiceRow)
            .where(
                InvoiceRow.id == co.invoice_id,
                co.cycle_id == cycle_id,
                co.cycle_id == state.latest_take(),
                co.settled == co.outstanding,
                state.unwritten_since(state.number_of(cycle_id)),
                InvoiceRow.carried_after_step == carried.c.after_step,
            )
            .values(
                outstanding=co.outstanding - co.settled,
                status=in_full,
                cycle_id=cycle_id,
                cycles_carried=shown,
                carried_after_step=after_step,
                updated_at=stamp,
            ),
            execution_options={"synchronize_session": False},
        )
        self._record_step(cycle_id, state.SETTLE_STEP, actor, stamp)

    def _write_held(
        self,
        cycle_id: str,
        held: Sequence[str],
        ids: Sequence[str] | None,
        values: dict[str, Any],
    ) -> None:
        """Write ``values`` into the rows of the invoices the cycle holds (in a status of
        ``held``), or of those of them named by ``ids``, keeping their whole state. They stay
        in the pool: the cycles that carried them keep being derived from where they were."""
        stamp = now()
        co = CycleObligationRow
        if state.TAKE.target.value in held:
            # Those its take holds: held while the cycle has not settled, and written with the
            # outstanding of the snapshot (their state until now was derived, not written).
            settled = select(CycleStepRow.id).where(
                CycleStepRow.cycle_id == cycle_id, CycleStepRow.step == state.SETTLE_STEP
            )
            query = update(InvoiceRow).where(
                InvoiceRow.id == co.invoice_id,
                co.cycle_id == cycle_id,
                co.cycle_id == state.latest_take(),
                state.unwritten_since(state.number_of(cycle_id)),
                ~settled.exists(),
            )
            if ids is not None:
                query = query.where(co.invoice_id.in_(ids))
            written: dict[str, Any] = {"status": state.TAKE.target.value, **values}
            self.session.execute(
                query.values({**written, "outstanding": co.outstanding, "updated_at": stamp}),
                execution_options={"synchronize_session": False},
            )
        # Those stored in it (moved from a superseded cycle, or taken before cycle steps were
        # recorded).
        stored = update(InvoiceRow).where(
            InvoiceRow.cycle_id == cycle_id, InvoiceRow.status.in_(held)
        )
        if ids is not None:
            stored = stored.where(InvoiceRow.id.in_(ids))
        self.session.execute(
            stored.values({**values, "updated_at": stamp}),
            execution_options={"synchronize_session": False},
        )

    def _write_left_behind(self, cycle_id: str) -> list[int]:
        """Before a take: write the state of every invoice the latest take overlays that the new
        snapshot does not hold, so that only the latest take ever overlays; the sequences of
        those written. (In a cycle's ordinary course there is none: the two snapshots are
        compared first, by id alone.)"""
        co = CycleObligationRow
        taker = self.session.scalar(state.latest_taker())
        if taker is None:
            return []
        held_before = select(co.invoice_id).where(co.cycle_id == taker)
        settled = select(CycleStepRow.id).where(
            CycleStepRow.cycle_id == taker, CycleStepRow.step == state.SETTLE_STEP
        )
        if self.session.scalar(settled) is not None:
            # Those it settled in full were written as they settled.
            held_before = held_before.where(co.settled != co.outstanding)
        held_now = select(co.invoice_id).where(co.cycle_id == cycle_id)
        left = held_before.except_(held_now).subquery()
        if self.session.execute(select(left).limit(1)).first() is None:
            return []
        taken = aliased(CycleObligationRow, name="taken")
        overlaid = (
            select(
                InvoiceRow.sequence.label("sequence"),
                state.status.label("status"),
                state.outstanding.label("outstanding"),
                state.cycle_id.label("cycle_id"),
                state.cycles_carried.label("cycles_carried"),
            )
            .select_from(state.overlaid_invoices())
            .where(
                state.held.invoice_id.is_not(None),
                ~select(taken.invoice_id)
                .where(taken.cycle_id == cycle_id, taken.invoice_id == state.held.invoice_id)
                .exists(),
            )
            .subquery("left_behind")
        )
        written = self.session.scalars(
            update(InvoiceRow)
            .where(InvoiceRow.sequence == overlaid.c.sequence)
            .values(
                status=overlaid.c.status,
                outstanding=overlaid.c.outstanding,
                cycle_id=overlaid.c.cycle_id,
                cycles_carried=overlaid.c.cycles_carried,
                updated_at=now(),
            )
            .returning(InvoiceRow.sequence),
            execution_options={"synchronize_session": False},
        )
        return list(written)

    def _record_step(
        self, cycle_id: str, step: str, actor: str, stamp: datetime | None = None
    ) -> None:
        """Record a step of the whole snapshot, after every invoice event stored so far."""
        after = self.session.scalar(select(func.coalesce(func.max(InvoiceEventRow.id), 0)))
        self.session.execute(
            insert(CycleStepRow).values(
                cycle_id=cycle_id,
                step=step,
                actor=actor,
                at=stamp or now(),
                after_event=int(after or 0),
            )
        )

    def _events(
        self, events: Iterable[tuple[str, str, str, str]], actor: str, stamp: datetime
    ) -> None:
        copy_rows(
            self.session,
            InvoiceEventRow.__table__,  # type: ignore[arg-type]
            ["invoice_id", "from_status", "to_status", "actor", "reason", "at"],
            ((i, before, after, actor, reason, stamp) for i, before, after, reason in events),
        )
