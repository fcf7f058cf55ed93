"""The fake repository of cycles: a cycle, its snapshot and result, pay-ins and refunds, and
the cycle-time transitions of the invoice lifecycle (read from ``LIFECYCLE``), with the
semantics of :class:`clearing.adapters.persistence.cycles.CycleRepository`.

The SQL repository records a cut-off and a settlement once per cycle and derives the invoices'
states and history events from that record; the fake applies them to every invoice, as a
rewrite of every row would. What a caller sees is the same (``tests/integration``
``test_invoice_state`` runs one pilot on both and compares every step)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from clearing.domain.access import Scope
from clearing.domain.cycles import (
    ACTIVE_STATES,
    Approval,
    Cycle,
    PayIn,
    Refund,
    summary_from_json,
    summary_to_json,
)
from clearing.domain.errors import Conflict
from clearing.domain.invoices import LIFECYCLE, Action, Invoice, InvoiceEvent, Rejection
from clearing.domain.netting import NettingResult, ObligationColumns, Position, Settlement
from clearing.domain.obligations import Obligation
from clearing.domain.rates import RateSet
from tests.fakes.repositories import as_stored, check_invoice, record_events
from tests.fakes.tables import Repository, Tables, as_json, now, refuse_unless


def _stored_cycle(cycle: Cycle) -> Cycle:
    """The cycle as its row keeps it: rates and figures through JSON, approvals elsewhere."""
    return replace(
        cycle,
        rates=RateSet.from_json(as_json(cycle.rates.to_json())) if cycle.rates else None,
        summary=summary_from_json(as_json(summary_to_json(cycle.summary)))
        if cycle.summary
        else None,
        approvals=(),
        defaulted=tuple(cycle.defaulted),
        lines=(),  # stored beside the result, by the lines' repository
    )


def _stored_settlement(s: Settlement) -> Settlement:
    o = s.obligation
    obligation = Obligation(
        o.obligation_id,
        o.debtor_id,
        o.debtor_jurisdiction,
        o.creditor_id,
        o.creditor_jurisdiction,
        o.currency,
        int(o.outstanding),
        o.due_date,
        int(o.priority),
        int(o.sequence),
    )
    return Settlement(
        obligation,
        int(s.value),
        int(s.settled_value),
        int(s.settled),
        int(s.debtor_leg),
        int(s.creditor_leg),
    )


class FakeCycles(Repository):
    # --- the cycle itself ---

    def add(self, cycle: Cycle) -> None:
        tables = self._write
        taken = any(
            c.id == cycle.id
            or c.number == cycle.number
            or (c.status in ACTIVE_STATES and cycle.status in ACTIVE_STATES)
            for c in tables.cycles.values()
        )
        if taken:
            raise Conflict("another cycle was opened meanwhile; settle or reject it first")
        tables.cycles[cycle.id] = _stored_cycle(cycle)

    def save(self, cycle: Cycle) -> None:
        tables = self._write
        if cycle.id not in tables.cycles:
            return  # an UPDATE of no row
        if cycle.status in ACTIVE_STATES:
            refuse_unless(
                all(
                    c.id == cycle.id or c.status not in ACTIVE_STATES
                    for c in tables.cycles.values()
                ),
                "cycles.active_slot unique",
            )
        tables.cycles[cycle.id] = _stored_cycle(cycle)

    def get(self, cycle_id: str, *, for_update: bool = False) -> Cycle | None:
        stored = self._read.cycles.get(cycle_id)
        return self._with_approvals(stored) if stored else None

    def active(self) -> Cycle | None:
        found = [c for c in self._read.cycles.values() if c.status in ACTIVE_STATES]
        return self._with_approvals(found[0]) if found else None

    def next_number(self) -> int:
        return max((c.number for c in self._read.cycles.values()), default=0) + 1

    def recent(self, before_number: int | None, limit: int) -> list[Cycle]:
        found = sorted(
            (
                c
                for c in self._read.cycles.values()
                if before_number is None or c.number < before_number
            ),
            key=lambda c: c.number,
            reverse=True,
        )
        return [self._with_approvals(c) for c in found[:limit]]

    def add_approval(self, cycle_id: str, approval: Approval) -> None:
        tables = self._write
        refuse_unless(cycle_id in tables.cycles, "cycle_approvals -> cycles")
        key = (cycle_id, approval.entity, approval.principal_id)
        refuse_unless(key not in tables.approvals, "cycle_approvals primary key")
        tables.approvals[key] = approval

    def _with_approvals(self, cycle: Cycle) -> Cycle:
        approvals = sorted(
            (a for (c, _entity, _by), a in self._read.approvals.items() if c == cycle.id),
            key=lambda a: (a.approved_at, a.entity, a.principal_id),
        )
        return replace(cycle, approvals=tuple(approvals))

    # --- snapshot and results ---

    def store_result(self, cycle_id: str, result: NettingResult) -> None:
        tables = self._write
        refuse_unless(cycle_id in tables.cycles, "cycle_obligations -> cycles")
        for settlement in result.settlements():
            key = (cycle_id, settlement.obligation.obligation_id)
            refuse_unless(key not in tables.snapshots, "cycle_obligations primary key")
            tables.snapshots[key] = _stored_settlement(settlement)
        for p in result.positions:
            key = (cycle_id, p.participant_id)
            refuse_unless(key not in tables.positions, "cycle_positions primary key")
            tables.positions[key] = Position(
                p.participant_id,
                p.jurisdiction,
                p.currency,
                int(p.pay_in),
                int(p.pay_out),
                int(p.pay_in_value),
                int(p.pay_out_value),
            )

    def snapshot(self, cycle_id: str) -> list[Obligation]:
        return [s.obligation for s in self.settlements(cycle_id, Scope(everything=True))]

    def snapshot_columns(self, cycle_id: str) -> ObligationColumns:
        return ObligationColumns.of(self.snapshot(cycle_id))

    def settlements(
        self,
        cycle_id: str,
        scope: Scope,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Settlement]:
        found = [
            s
            for (c, invoice_id), s in sorted(self._read.snapshots.items())
            if c == cycle_id
            and (after is None or invoice_id > after)
            and (
                scope.admits(s.obligation.debtor_id, s.obligation.debtor_jurisdiction)
                or scope.admits(s.obligation.creditor_id, s.obligation.creditor_jurisdiction)
            )
        ]
        return found if limit is None else found[:limit]

    def positions(self, cycle_id: str) -> list[Position]:
        return sorted(
            (p for (c, _), p in self._read.positions.items() if c == cycle_id),
            key=lambda p: (p.jurisdiction, p.participant_id),
        )

    def position(self, cycle_id: str, participant_id: str) -> Position | None:
        return self._read.positions.get((cycle_id, participant_id))

    def pay_ins_missing(self, cycle_id: str) -> bool:
        """Whether any participant holds (pay-ins less refunds) less than it must pay in."""
        held = self.received(cycle_id)
        return any(
            p.pay_in - p.pay_out > held.get(p.participant_id, 0) for p in self.positions(cycle_id)
        )

    # --- pay-ins and refunds ---

    def add_pay_ins(self, pay_ins: Sequence[PayIn]) -> None:
        if not pay_ins:
            return
        tables = self._write
        tick = next(self._uow.store.ticks)
        for pay_in in pay_ins:
            refuse_unless(pay_in.id not in tables.pay_ins, "pay_ins primary key")
            refuse_unless(pay_in.cycle_id in tables.cycles, "pay_ins -> cycles")
            refuse_unless(pay_in.amount > 0, "pay_ins.amount_positive")
            refuse_unless(
                not self.bank_reference_used(pay_in.cycle_id, pay_in.entity, pay_in.bank_reference),
                "pay_ins (cycle_id, entity, bank_reference) unique",
            )
            tables.pay_ins[pay_in.id] = (
                tick,
                replace(pay_in, recorded_at=pay_in.recorded_at or now()),
            )

    def pay_ins(self, cycle_id: str) -> list[PayIn]:
        return [
            pay_in
            for _tick, pay_in in sorted(
                self._read.pay_ins.values(), key=lambda found: (found[0], found[1].id)
            )
            if pay_in.cycle_id == cycle_id
        ]

    def bank_reference_used(self, cycle_id: str, entity: str, reference: str) -> bool:
        return any(
            p.cycle_id == cycle_id and p.entity == entity and p.bank_reference == reference
            for _tick, p in self._read.pay_ins.values()
        )

    def pay_ins_by_id(self, pay_in_ids: Sequence[str]) -> list[PayIn]:
        found = self._read.pay_ins
        return [found[i][1] for i in pay_in_ids if i in found]

    def pay_ins_by_reference(self, entity: str, references: Collection[str]) -> list[PayIn]:
        wanted = set(references)
        return [
            pay_in
            for _tick, pay_in in sorted(
                self._read.pay_ins.values(), key=lambda found: (found[0], found[1].id)
            )
            if pay_in.entity == entity
            and pay_in.bank_reference in wanted
            and pay_in.carried_from is None
        ]

    def add_refunds(self, refunds: Sequence[Refund]) -> None:
        tables = self._write
        for refund in refunds:
            refuse_unless(refund.cycle_id in tables.cycles, "refunds -> cycles")
            refuse_unless(refund.amount > 0, "refunds.amount_positive")
            tables.refunds.append(refund)

    def refunds(self, cycle_id: str) -> list[Refund]:
        return [r for r in self._read.refunds if r.cycle_id == cycle_id]

    def received(self, cycle_id: str) -> dict[str, int]:
        """Money held for each participant in this cycle: pay-ins less refunds."""
        totals: dict[str, int] = defaultdict(int)
        for pay_in in self.pay_ins(cycle_id):
            totals[pay_in.participant_id] += pay_in.amount
        for refund in self.refunds(cycle_id):
            totals[refund.participant_id] -= refund.amount
        return dict(totals)

    # --- the invoices a cycle takes and gives back: LIFECYCLE's cycle-time transitions ---

    def eligible_invoices(self) -> list[Invoice]:
        sources = LIFECYCLE[Action.TAKE].sources
        return sorted(
            (i for i in self._read.invoices.values() if i.status in sources),
            key=lambda i: i.sequence,
        )

    def reject_invoices(self, rejections: Sequence[tuple[Invoice, str, str]], actor: str) -> None:
        tables = self._write
        rejected = LIFECYCLE[Action.SCREEN_OUT].target
        for invoice, rule, reason in rejections:
            self._update(tables, invoice.id, status=rejected, rejection=Rejection(rule, reason))
        record_events(
            tables,
            (
                InvoiceEvent(i.id, i.status.value, rejected.value, actor, reason)
                for i, _rule, reason in rejections
            ),
            now(),
        )

    def take_invoices(self, cycle_id: str, actor: str) -> None:
        tables = self._write
        self._step(tables, cycle_id, "take")
        take = LIFECYCLE[Action.TAKE]
        taken = [
            s.obligation.obligation_id for s in self.settlements(cycle_id, Scope(everything=True))
        ]
        for invoice_id in taken:
            found = tables.invoices.get(invoice_id)
            if found is not None and found.status in take.sources:
                self._update(tables, invoice_id, status=take.target, cycle_id=cycle_id)
        reason = f"taken by cycle {cycle_id}"
        record_events(
            tables,
            (InvoiceEvent(i, take.source.value, take.target.value, actor, reason) for i in taken),
            now(),
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
        tables = self._write
        back = LIFECYCLE[Action.RETURN]
        ids = list(invoice_ids) if invoice_ids is not None else None
        for invoice in list(tables.invoices.values()):
            if (
                invoice.cycle_id == cycle_id
                and invoice.status in back.sources
                and (ids is None or invoice.id in ids)
            ):
                self._update(
                    tables,
                    invoice.id,
                    status=back.target,
                    cycles_carried=invoice.cycles_carried + (1 if carried else 0),
                )
        named = ids if ids is not None else [o.obligation_id for o in self.snapshot(cycle_id)]
        record_events(
            tables,
            (InvoiceEvent(i, back.source.value, back.target.value, actor, reason) for i in named),
            now(),
        )

    def move_invoices(self, from_cycle: str, to_cycle: str) -> None:
        tables = self._write
        held = LIFECYCLE[Action.SETTLE].sources
        for invoice in list(tables.invoices.values()):
            if invoice.cycle_id == from_cycle and invoice.status in held:
                self._update(tables, invoice.id, cycle_id=to_cycle)

    def settle_invoices(self, cycle_id: str, actor: str) -> None:
        """Outstanding falls by what was settled; fully settled invoices become ``settled``,
        the rest ``eligible`` again."""
        tables = self._write
        self._step(tables, cycle_id, "settle")
        settle = LIFECYCLE[Action.SETTLE]
        in_full, in_part = settle.outcome(), settle.outcome(normal=False)
        snapshot = self.settlements(cycle_id, Scope(everything=True))
        for s in snapshot:
            invoice = tables.invoices.get(s.obligation.obligation_id)
            if (
                invoice is None
                or invoice.cycle_id != cycle_id
                or invoice.status not in settle.sources
            ):
                continue
            remaining = invoice.outstanding - s.settled
            status = in_full if remaining == 0 else in_part
            # A cycle that leaves it in the pool carried it once more.
            carried = invoice.cycles_carried + (1 if remaining else 0)
            self._update(
                tables, invoice.id, outstanding=remaining, status=status, cycles_carried=carried
            )
        record_events(
            tables,
            (
                InvoiceEvent(
                    s.obligation.obligation_id,
                    settle.source.value,
                    (in_full if s.settled == s.obligation.outstanding else in_part).value,
                    actor,
                    f"cycle {cycle_id} settled {s.settled} of {s.obligation.outstanding} "
                    "minor units",
                )
                for s in snapshot
            ),
            now(),
        )

    @staticmethod
    def _step(tables: Tables, cycle_id: str, step: str) -> None:
        """A cycle takes each step with its whole snapshot once (a row of ``cycle_steps``)."""
        refuse_unless(cycle_id in tables.cycles, "cycle_steps -> cycles")
        refuse_unless((cycle_id, step) not in tables.steps, "cycle_steps (cycle_id, step) unique")
        tables.steps.add((cycle_id, step))

    @staticmethod
    def _update(tables: Tables, invoice_id: str, **changes: Any) -> None:
        """An UPDATE of one invoice row by id (no row, no change)."""
        invoice = tables.invoices.get(invoice_id)
        if invoice is not None:
            changed = replace(invoice, **changes)
            check_invoice(tables, changed)
            tables.invoices[invoice_id] = as_stored(changed)
