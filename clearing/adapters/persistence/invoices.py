"""The repository of invoices and their status history; new invoices are COPYed in on PostgreSQL.
The pool's carried value by corridor and age is summed here too (DESIGN §6a)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from datetime import datetime
from operator import attrgetter
from typing import Any

import psycopg
from sqlalchemy import and_, case, exists, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clearing.adapters.persistence import invoice_state as state
from clearing.adapters.persistence.copying import copy_rows
from clearing.adapters.persistence.rows import in_scope, now, storable, text_array
from clearing.adapters.persistence.tables import (
    CycleObligationRow,
    CycleStepRow,
    InvoiceEventRow,
    InvoiceRow,
)
from clearing.domain.ageing import CarriedTotal, bucket_starts
from clearing.domain.errors import Conflict
from clearing.domain.imbalance import CarriedObligation
from clearing.domain.invoices import (
    LIFECYCLE,
    POOL,
    Action,
    Invoice,
    InvoiceEvent,
    InvoiceFilter,
)


class InvoiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_many(self, invoices: Sequence[Invoice], actor: str) -> list[Invoice]:
        """Insert new invoices (their ``sequence`` is assigned here). Each row keeps who
        submitted it and into which status: its first history event is read from there. One
        stored straight into the pool is eligible from now unless it says since when."""
        if not invoices:
            return []
        stamp = now()
        invoices = [_as_stored(invoice, stamp) for invoice in invoices]
        if any(invoice.status in POOL for invoice in invoices):
            state.lock_the_pool(self.session, entering=True)
        after_step = int(self.session.scalar(select(state.latest_take_step())) or 0)
        if self.session.get_bind().dialect.name == "postgresql":
            return self._copy_many(invoices, actor, stamp, after_step)
        return self._insert_many(invoices, actor, stamp, after_step)

    def _insert_many(
        self, invoices: Sequence[Invoice], actor: str, stamp: datetime, after_step: int
    ) -> list[Invoice]:
        rows = [_invoice_values(invoice, stamp) for invoice in invoices]
        for row, invoice in zip(rows, invoices, strict=True):
            del row["sequence"]
            row["submitted_by"], row["submitted_as"] = actor, invoice.status.value
            row["carried_after_step"] = after_step
        try:
            returned = self.session.execute(
                insert(InvoiceRow).returning(InvoiceRow.id, InvoiceRow.sequence), rows
            )
            sequences: dict[str, int] = {row[0]: row[1] for row in returned}
        except IntegrityError as error:
            raise Conflict(_integrity_message(error), field="invoice_number") from error
        return [_with_sequence(invoice, sequences[invoice.id]) for invoice in invoices]

    def _copy_many(
        self, invoices: Sequence[Invoice], actor: str, stamp: datetime, after_step: int
    ) -> list[Invoice]:
        """PostgreSQL: take the sequence numbers first, then COPY the rows in."""
        sequences = list(
            self.session.scalars(
                # The sequence is looked up once for the statement, not once per number.
                text(
                    "SELECT nextval((SELECT CAST(pg_get_serial_sequence('invoices', 'sequence') "
                    "AS regclass))) FROM generate_series(1, :count)"
                ),
                {"count": len(invoices)},
            )
        )
        try:
            copy_rows(
                self.session,
                InvoiceRow.__table__,  # type: ignore[arg-type]
                _COPY_COLUMNS,
                (
                    _copy_row(i, n, actor, stamp, after_step)
                    for i, n in zip(invoices, sequences, strict=True)
                ),
            )
        except psycopg.errors.UniqueViolation as error:
            raise Conflict(
                "an invoice with this number from this exporter exists already",
                field="invoice_number",
            ) from error
        return [_with_sequence(i, n) for i, n in zip(invoices, sequences, strict=True)]

    def get(self, invoice_id: str, *, for_update: bool = False) -> Invoice | None:
        if not storable(invoice_id):
            return None
        if for_update:
            # Lock the row first, then read its state in a statement of its own: one that
            # waited for a cut-off's lock must see what that cut-off recorded (a statement's
            # joins keep the view from before the wait, and the take leaves the row as it was).
            locked = select(InvoiceRow.sequence).where(InvoiceRow.id == invoice_id)
            if self.session.scalar(locked.with_for_update()) is None:
                return None
        overlay = state.for_pages(self.session)
        row = self.session.execute(
            select(*overlay.columns)
            .select_from(overlay.invoices)
            .where(InvoiceRow.id == invoice_id)
        ).first()
        return state.invoice_of_state(row) if row else None

    def existing_numbers(self, exporter_id: str, numbers: Iterable[str]) -> set[str]:
        wanted = sorted(set(numbers))
        if not wanted:
            return set()
        if self.session.get_bind().dialect.name == "postgresql":
            # One array parameter, not a thousand, each number looked for on its own (by the
            # unique index when the exporter has many invoices): a filter of the exporter's
            # invoices by a list of a thousand grows with every invoice the exporter has.
            each = (
                func.unnest(text_array(wanted)).table_valued("number").render_derived(name="wanted")
            )
            stored = exists().where(
                InvoiceRow.exporter_id == exporter_id,
                InvoiceRow.invoice_number == each.c.number,
            )
            return set(self.session.scalars(select(each.c.number).where(stored))) & set(wanted)
        return set(
            self.session.scalars(
                select(InvoiceRow.invoice_number).where(
                    InvoiceRow.exporter_id == exporter_id, InvoiceRow.invoice_number.in_(wanted)
                )
            )
        )

    def save(self, invoice: Invoice, event: InvoiceEvent) -> None:
        """Store a transition: the invoice's new state and the event that records it (with the
        cycles that carried it as shown, counted from the latest take on)."""
        stamp = now()
        values = _invoice_values(replace(invoice, stale=False), stamp)
        for key in ("sequence", "id", "created_at"):
            del values[key]
        if invoice.status in POOL:
            state.lock_the_pool(self.session, entering=True)
        values["carried_after_step"] = state.latest_take_step()
        self.session.execute(update(InvoiceRow).where(InvoiceRow.id == invoice.id).values(values))
        self.add_events([event], stamp)

    def add_events(self, events: Sequence[InvoiceEvent], stamp: datetime | None = None) -> None:
        if not events:
            return
        at = stamp or now()
        self.session.execute(
            insert(InvoiceEventRow),
            [
                {
                    "invoice_id": e.invoice_id,
                    "from_status": e.from_status,
                    "to_status": e.to_status,
                    "actor": e.actor,
                    "reason": e.reason,
                    "details": e.details,
                    "at": at,
                }
                for e in events
            ],
        )

    def history(self, invoice_id: str) -> list[InvoiceEvent]:
        """The stored events and those of the cycle steps that took and settled the invoice
        (recorded once per cycle), in the order they happened."""
        if not storable(invoice_id):
            return []
        found: list[tuple[tuple[int, int, int], InvoiceEvent]] = []
        submitted = self.session.execute(
            select(
                InvoiceRow.submitted_by,
                InvoiceRow.submitted_as,
                InvoiceRow.rejection_reason,
                InvoiceRow.created_at,
            ).where(InvoiceRow.id == invoice_id)
        ).first()
        if submitted is not None and submitted.submitted_by and submitted.submitted_as:
            # The submission, kept on the row: the first event of every invoice.
            rejected = submitted.submitted_as == _SUBMITTED_REJECTED
            event = InvoiceEvent(
                invoice_id,
                None,
                submitted.submitted_as,
                submitted.submitted_by,
                submitted.rejection_reason if rejected else None,
                None,
                submitted.created_at.isoformat(),
            )
            found.append(((-1, 0, 0), event))
        found += [
            (
                (r.id, 0, 0),
                InvoiceEvent(
                    r.invoice_id,
                    r.from_status,
                    r.to_status,
                    r.actor,
                    r.reason,
                    r.details,
                    r.at.isoformat(),
                ),
            )
            for r in self.session.scalars(
                select(InvoiceEventRow).where(InvoiceEventRow.invoice_id == invoice_id)
            )
        ]
        steps = self.session.execute(
            select(
                CycleStepRow.id,
                CycleStepRow.step,
                CycleStepRow.actor,
                CycleStepRow.at,
                CycleStepRow.after_event,
                CycleObligationRow.cycle_id,
                CycleObligationRow.settled,
                CycleObligationRow.outstanding,
            ).join(
                CycleObligationRow,
                and_(
                    CycleObligationRow.cycle_id == CycleStepRow.cycle_id,
                    CycleObligationRow.invoice_id == invoice_id,
                ),
            )
        )
        for step_id, step, actor, at, after_event, cycle, settled, owed in steps:
            event = _step_event(invoice_id, step, actor, at, cycle, settled, owed)
            # A step's events come after every event stored before it, and before any later.
            found.append(((after_event, 1, step_id), event))
        return [event for _order, event in sorted(found, key=lambda item: item[0])]

    def carried(self) -> list[CarriedObligation]:
        """The pool, invoice by invoice: debtor's and creditor's jurisdictions, currency, what
        is still outstanding, first eligibility and due date (DESIGN §6a)."""
        rows = self.session.execute(
            select(
                InvoiceRow.importer_entity,
                InvoiceRow.exporter_entity,
                InvoiceRow.currency,
                state.outstanding,
                InvoiceRow.first_eligible_at,
                InvoiceRow.due_date,
            )
            .select_from(state.overlaid_invoices())
            .where(state.status_in(state.POOL_VALUES))
            .order_by(InvoiceRow.sequence)
        )
        return [
            CarriedObligation(source, target, currency, int(left), _first_eligible(first), due)
            for source, target, currency, left, first, due in rows
        ]

    def carried_by_age(self, as_of: datetime) -> list[CarriedTotal]:
        """The pool's totals by corridor (debtor's jurisdiction to creditor's), currency and age
        bucket at ``as_of``, in that order: outstanding, overdue (due before ``as_of``'s day)
        and how many invoices, summed in one statement."""
        starts = bucket_starts(as_of)
        *younger, (oldest, _never) = starts
        bucket = case(
            *(
                (InvoiceRow.first_eligible_at > start, label)
                for label, start in younger
                if start is not None
            ),
            else_=oldest,
        )
        outstanding = state.outstanding
        pool = (
            select(
                InvoiceRow.importer_entity.label("source"),
                InvoiceRow.exporter_entity.label("target"),
                InvoiceRow.currency.label("currency"),
                bucket.label("bucket"),
                outstanding.label("outstanding"),
                case((InvoiceRow.due_date < as_of.date(), outstanding), else_=0).label("overdue"),
            )
            .select_from(state.overlaid_invoices())
            .where(state.status_in(state.POOL_VALUES))
            .subquery("pool")
        )
        keys = (pool.c.source, pool.c.target, pool.c.currency, pool.c.bucket)
        rows = self.session.execute(
            select(
                *keys,
                func.sum(pool.c.outstanding),
                func.sum(pool.c.overdue),
                func.count(),
            ).group_by(*keys)
        )
        order = {label: index for index, (label, _start) in enumerate(starts)}
        totals = [
            CarriedTotal(source, target, currency, label, int(left), int(overdue), int(count))
            for source, target, currency, label, left, overdue, count in rows
        ]
        return sorted(totals, key=lambda t: (t.source, t.target, t.currency, order[t.bucket]))

    def list(self, filters: InvoiceFilter) -> list[Invoice]:
        if not storable(filters.cycle_id):
            return []
        # A page is read invoice by invoice in sequence order and stops when full; but one that
        # only an overlay's absence lets through (the pool while a cycle holds it) joins the
        # snapshot as a whole.
        shown = state.shown_now(self.session)
        overlay = state.for_pages(self.session)
        if filters.status == state.OVERLAID and state.OVERLAID not in shown:
            overlay = state.JOINED
        query = (
            select(*overlay.columns)
            .select_from(overlay.invoices)
            .order_by(InvoiceRow.sequence)
            .limit(filters.limit)
        )
        if filters.after_sequence is not None:
            query = query.where(InvoiceRow.sequence > filters.after_sequence)
        if filters.status is not None:
            query = query.where(overlay.status_in([filters.status], shown))
        if filters.cycle_id is not None:
            query = query.where(overlay.cycle_id == filters.cycle_id)
            if filters.cycle_id != self.session.scalar(state.latest_taker()):
                # No overlay shows another cycle than the latest take's: its row must name it.
                query = query.where(InvoiceRow.cycle_id == filters.cycle_id)
        if filters.stale is not None:
            if filters.stale_test is None:
                raise ValueError("a filter by staleness needs the test to apply")
            stale = overlay.stale(filters.stale_test, shown)
            query = query.where(stale if filters.stale else ~stale)
        visible = in_scope(
            filters.scope,
            (InvoiceRow.exporter_id, InvoiceRow.exporter_entity),
            (InvoiceRow.importer_id, InvoiceRow.importer_entity),
        )
        if visible is not None:
            query = query.where(visible)
        return [state.invoice_of_state(row) for row in self.session.execute(query)]


def _step_event(
    invoice_id: str, step: str, actor: str, at: datetime, cycle: str, settled: int, owed: int
) -> InvoiceEvent:
    """The event a cycle step records for one invoice of its snapshot, as it reads in the
    invoice's history (the same transition and reason for every invoice the step moved)."""
    if step == state.TAKE_STEP:
        take = state.TAKE
        return InvoiceEvent(
            invoice_id,
            take.source.value,
            take.target.value,
            actor,
            f"taken by cycle {cycle}",
            None,
            at.isoformat(),
        )
    settle = state.SETTLE
    return InvoiceEvent(
        invoice_id,
        settle.source.value,
        settle.outcome(normal=settled == owed).value,
        actor,
        f"cycle {cycle} settled {settled} of {owed} minor units",
        None,
        at.isoformat(),
    )


def _integrity_message(error: IntegrityError) -> str:
    text = str(error.orig)
    if "invoice_number" in text:
        return "an invoice with this number from this exporter exists already"
    return "the invoice conflicts with stored data"


def _first_eligible(moment: datetime | None) -> datetime:
    found = state.as_utc(moment)
    if found is None:  # confirming gives one, and so does storing an invoice into the pool
        raise ValueError("an invoice in the pool has no first eligibility")
    return found


def _as_stored(invoice: Invoice, stamp: datetime) -> Invoice:
    """The invoice as its row keeps it: never stale (that is a reading), and eligible since
    ``stamp`` when it is stored into the pool without a first eligibility."""
    if invoice.status in POOL and invoice.first_eligible_at is None:
        return replace(invoice, first_eligible_at=stamp, stale=False)
    return replace(invoice, stale=False) if invoice.stale else invoice


#: The invoice's fields kept as they are, each in the column of the same name (``stale`` is
#: read, not kept).
_PLAIN_FIELDS = tuple(
    f.name for f in fields(Invoice) if f.name not in ("status", "dispute", "rejection", "stale")
)


def _invoice_values(invoice: Invoice, stamp: datetime) -> dict[str, Any]:
    return {
        **{name: getattr(invoice, name) for name in _PLAIN_FIELDS},
        "status": invoice.status.value,
        "dispute_fields": invoice.dispute.fields if invoice.dispute else None,
        "dispute_reason": invoice.dispute.reason if invoice.dispute else None,
        "rejection_rule": invoice.rejection.rule if invoice.rejection else None,
        "rejection_reason": invoice.rejection.reason if invoice.rejection else None,
        "created_at": stamp,
        "updated_at": stamp,
    }


#: Every field of an invoice but its sequence, read at once; and where the sequence goes back.
_UNNUMBERED = attrgetter(*(f.name for f in fields(Invoice) if f.name != "sequence"))
_SEQUENCE_AT = [f.name for f in fields(Invoice)].index("sequence")
_PLAIN_UNNUMBERED = tuple(name for name in _PLAIN_FIELDS if name != "sequence")
_PLAIN_VALUES = attrgetter(*_PLAIN_UNNUMBERED)

#: The columns of a new invoice's row, in the order of :func:`_copy_row`.
_COPY_COLUMNS = (
    *_PLAIN_UNNUMBERED,
    "sequence",
    "status",
    "dispute_fields",
    "dispute_reason",
    "rejection_rule",
    "rejection_reason",
    "submitted_by",
    "submitted_as",
    "carried_after_step",
    "created_at",
    "updated_at",
)

#: The status of an invoice rejected as it was submitted: its first event gives the reason
#: (a rejection is final, so the row's reason is still that one).
_SUBMITTED_REJECTED = LIFECYCLE[Action.SUBMIT].outcome(normal=False).value


def _with_sequence(invoice: Invoice, sequence: int) -> Invoice:
    values: tuple[Any, ...] = _UNNUMBERED(invoice)
    return Invoice(*(*values[:_SEQUENCE_AT], sequence, *values[_SEQUENCE_AT:]))


def _copy_row(
    invoice: Invoice, sequence: int, actor: str, stamp: datetime, after_step: int
) -> tuple[Any, ...]:
    """The row of :data:`_COPY_COLUMNS` of a new invoice (as :func:`_invoice_values`)."""
    dispute, rejection, status = invoice.dispute, invoice.rejection, invoice.status.value
    return (
        *_PLAIN_VALUES(invoice),
        sequence,
        status,
        dispute.fields if dispute else None,
        dispute.reason if dispute else None,
        rejection.rule if rejection else None,
        rejection.reason if rejection else None,
        actor,
        status,
        after_step,
        stamp,
        stamp,
    )
