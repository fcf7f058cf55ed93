"""An invoice's state as the cycles left it, derived in SQL from its row and the latest cut-off.

A cut-off and a settlement are each recorded once per cycle (a ``cycle_steps`` row, beside the
snapshot the cycle stored in ``cycle_obligations``) instead of rewriting every invoice of the
snapshot and adding an event for each: on a cycle of a hundred thousand invoices those two
rewrites took most of the cycle's time. The row of an invoice is *overlaid* by the latest
``take`` step when

* the row is in the state a cycle takes invoices from (``LIFECYCLE[TAKE].source``),
* the snapshot of that take's cycle holds the invoice, and
* the row was not written since that take: it names no cycle, or one numbered before the
  take's (a row written since, returned to the pool, moved to a successor, settled in full or
  changed by its parties, names that cycle or a successor of it, and carries its whole state).

An overlaid invoice is ``TAKE.target`` with the snapshot's outstanding until the cycle's
``settle`` step is recorded; then it is the settlement's outcome, ``SETTLE.target`` when the
snapshot settled all that was outstanding, else ``SETTLE.otherwise`` with the outstanding
reduced by what settled; its cycle is the take's cycle. Every other row is its own state.

The cycles that carried an invoice (snapshotted it without settling it in full) are derived
alike: a row keeps ``cycles_carried`` as it was written and the latest take step then
(``carried_after_step``); while the row is in the pool (stored ``eligible`` or ``in_cycle``), the
pool was in every take since, so every later take whose cycle has settled (and left the
invoice in the pool: one that settles it in full writes it) carried it once more. The count per
take is read from the few rows of ``cycle_steps`` (:data:`CARRIED`), not from the snapshots.
Every statement that writes a row writes its count as shown and the latest take, or (set-based,
where a cycle writes many) adds what it knows to the count and leaves the take as it was. That
the pool was in every later take needs a cut-off to read the whole pool, and an invoice that
enters the pool while a cut-off runs to be written after its take: the two exclude each other
(:func:`lock_the_pool`).

Only the latest take overlays: :class:`~clearing.adapters.persistence.cycles.CycleRepository`
writes to its row whatever a take leaves overlaid and the next take does not hold, before it
records the next take (in a cycle's ordinary course, nothing: every invoice that a settled cycle
leaves eligible is taken by the next cut-off, and those settled in full are written as they
settle).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Label,
    ScalarSelect,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.selectable import Join, Subquery

from clearing.adapters.persistence.tables import (
    CycleObligationRow,
    CycleRow,
    CycleStepRow,
    InvoiceRow,
)
from clearing.domain.ageing import StaleTest
from clearing.domain.invoices import (
    LIFECYCLE,
    POOL,
    Action,
    Dispute,
    Invoice,
    Rejection,
    Status,
)

TAKE = LIFECYCLE[Action.TAKE]
SETTLE = LIFECYCLE[Action.SETTLE]

#: The steps a cycle records once for its whole snapshot (``cycle_steps.step``).
TAKE_STEP = "take"
SETTLE_STEP = "settle"

#: The stored status an overlay applies to, and the statuses an overlay can show.
OVERLAID = TAKE.source.value
OVERLAY_OUTCOMES = frozenset(
    {TAKE.target.value, SETTLE.outcome().value, SETTLE.outcome(normal=False).value}
)
#: The pool as stored: the rows whose count of cycles carried grows with every settled take.
POOL_VALUES = tuple(sorted(status.value for status in POOL))


def latest_taker() -> Select[str]:
    """The cycle of the latest ``take`` step (no row before any)."""
    return (
        select(CycleStepRow.cycle_id)
        .where(CycleStepRow.step == TAKE_STEP)
        .order_by(CycleStepRow.id.desc())
        .limit(1)
    )


def _carried() -> Subquery:
    """Per take step (``after_step``, and 0 for before any), how many later takes have a settle
    step (``settled_since``): what a row written after that take and still in the pool was
    carried since. One row per cycle at most, read with each statement."""
    take, settle = aliased(CycleStepRow, name="carrier"), aliased(CycleStepRow, name="settler")
    settled = case((settle.id.is_(None), 0), else_=1)
    since = func.coalesce(func.sum(settled).over(order_by=take.id.desc(), rows=(None, -1)), 0)
    takes = (
        select(take.id.label("after_step"), since.label("settled_since"))
        .select_from(take)
        .outerjoin(settle, and_(settle.cycle_id == take.cycle_id, settle.step == SETTLE_STEP))
        .where(take.step == TAKE_STEP)
    )
    ever = (
        select(literal(0, BigInteger), func.count(settle.id))
        .select_from(take)
        .join(settle, and_(settle.cycle_id == take.cycle_id, settle.step == SETTLE_STEP))
        .where(take.step == TAKE_STEP)
    )
    return union_all(takes, ever).subquery("carried")


#: See :func:`_carried`.
CARRIED = _carried()


def latest_take_step() -> ScalarSelect[int]:
    """The id of the latest ``take`` step (0 before any): where a row written now is carried
    from."""
    return (
        select(func.coalesce(func.max(CycleStepRow.id), 0))
        .where(CycleStepRow.step == TAKE_STEP)
        .scalar_subquery()
    )


#: The advisory lock of the pool (PostgreSQL's two-key form, whose keys are apart from the
#: one-key form's): ``clea``, 1.
POOL_LOCK = {"space": 0x636C6561, "key": 1}


def lock_the_pool(session: Session, *, entering: bool) -> None:
    """Until the transaction ends, a cut-off's read of the pool (``entering=False``) excludes
    invoices entering the pool (``entering=True``, which share the lock): an invoice confirmed
    while a cut-off runs is written after its take step or read by it, never between, so the
    count of cycles that carried it starts from the right take. PostgreSQL only: SQLite
    serialises writers itself, and refuses a writer whose reads another has changed."""
    if session.get_bind().dialect.name != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if entering else "pg_advisory_xact_lock"
    session.execute(text(f"SELECT {function}(:space, :key)"), POOL_LOCK)


def latest_take() -> ScalarSelect[str]:
    """The cycle of the latest ``take`` step, within a statement (NULL before any)."""
    return latest_taker().scalar_subquery()


def number_of(cycle: Any) -> ScalarSelect[int]:
    """The number of the cycle ``cycle`` (a value, or a column of an enclosing row)."""
    return (
        select(CycleRow.number)
        .where(CycleRow.id == cycle)
        .correlate_except(CycleRow)
        .scalar_subquery()
    )


def unwritten_since(taker: ScalarSelect[int]) -> ColumnElement[bool]:
    """The row is in the state a cycle takes invoices from and was not written since the cycle
    numbered ``taker`` took it: it names no cycle, or one numbered before."""
    return and_(
        InvoiceRow.status == OVERLAID,
        or_(InvoiceRow.cycle_id.is_(None), number_of(InvoiceRow.cycle_id) < taker),
    )


def _holds(snapshot: Any) -> ColumnElement[bool]:
    """The snapshot row is the latest take's, of this invoice, and overlays its row."""
    return and_(
        snapshot.invoice_id == InvoiceRow.id,
        snapshot.cycle_id == latest_take(),
        unwritten_since(number_of(latest_take())),
    )


class Overlay:
    """``invoices``, each with the latest take's snapshot row that overlays it (``held``; none
    when nothing does) and that cycle's settle step (``settling``, if recorded), and the
    invoice's visible status, outstanding and cycle over them.

    :data:`JOINED` joins the snapshot as a whole, which suits reading a whole pool or
    snapshot; :data:`PROBED` (PostgreSQL) looks the snapshot row up invoice by invoice, which
    suits a page: it stops with the page instead of joining a hundred thousand rows first.
    """

    def __init__(self, joined: Join, held: Any) -> None:
        settling = aliased(CycleStepRow, name="settling")
        self.held = held
        self.invoices = joined.outerjoin(
            settling, and_(settling.cycle_id == held.cycle_id, settling.step == SETTLE_STEP)
        ).outerjoin(CARRIED, InvoiceRow.carried_after_step == CARRIED.c.after_step)
        self.status: ColumnElement[str] = case(
            (held.invoice_id.is_(None), InvoiceRow.status),
            (settling.id.is_(None), TAKE.target.value),
            (held.settled == held.outstanding, SETTLE.outcome().value),
            else_=SETTLE.outcome(normal=False).value,
        )
        self.outstanding: ColumnElement[int] = case(
            (held.invoice_id.is_(None), InvoiceRow.outstanding),
            (settling.id.is_(None), held.outstanding),
            else_=held.outstanding - held.settled,
        )
        self.cycle_id: ColumnElement[str | None] = func.coalesce(held.cycle_id, InvoiceRow.cycle_id)
        self.cycles_carried: ColumnElement[int] = InvoiceRow.cycles_carried + case(
            (
                InvoiceRow.status.in_(POOL_VALUES),
                func.coalesce(CARRIED.c.settled_since, 0),
            ),
            else_=0,
        )
        #: The columns of :func:`invoice_of_state`, in the order of the fields of ``Invoice``.
        self.columns: tuple[Label[Any] | Any, ...] = (
            InvoiceRow.id,
            InvoiceRow.invoice_number,
            InvoiceRow.exporter_id,
            InvoiceRow.exporter_entity,
            InvoiceRow.importer_id,
            InvoiceRow.importer_entity,
            InvoiceRow.currency,
            InvoiceRow.amount,
            self.outstanding.label("outstanding"),
            InvoiceRow.issue_date,
            InvoiceRow.due_date,
            InvoiceRow.hs_code,
            InvoiceRow.description,
            self.status.label("status"),
            InvoiceRow.priority,
            InvoiceRow.sequence,
            self.cycle_id.label("cycle_id"),
            InvoiceRow.dispute_fields,
            InvoiceRow.dispute_reason,
            InvoiceRow.rejection_rule,
            InvoiceRow.rejection_reason,
            InvoiceRow.first_eligible_at,
            self.cycles_carried.label("cycles_carried"),
        )

    def status_in(
        self, values: Collection[str], shown: Collection[str] = OVERLAY_OUTCOMES
    ) -> ColumnElement[bool]:
        """The visible status is one of ``values``; written so that the index on the stored
        status finds the candidates: an overlay only ever applies to rows stored as
        :data:`OVERLAID`, and only shows the statuses ``shown`` (at most
        :data:`OVERLAY_OUTCOMES`; see :func:`shown_now`)."""
        wanted = set(values)
        stored = wanted | ({OVERLAID} if wanted & set(shown) else set())
        return and_(InvoiceRow.status.in_(sorted(stored)), self.status.in_(sorted(wanted)))

    def stale(
        self, test: StaleTest, shown: Collection[str] = OVERLAY_OUTCOMES
    ) -> ColumnElement[bool]:
        """The invoice is stale by ``test`` (:meth:`StaleTest.flags`): in the pool, and carried
        at least its cycles or due on or before its day."""
        reasons: list[ColumnElement[bool]] = []
        if test.cycles is not None:
            reasons.append(self.cycles_carried >= test.cycles)
        if test.due_by is not None:
            reasons.append(InvoiceRow.due_date <= test.due_by)
        if not reasons:
            return false()
        return and_(self.status_in(POOL_VALUES, shown), or_(*reasons))


def _joined() -> Overlay:
    held = aliased(CycleObligationRow, name="held")
    invoices: Any = InvoiceRow.__table__
    return Overlay(invoices.outerjoin(held, _holds(held)), held)


def _probed() -> Overlay:
    snapshot = aliased(CycleObligationRow, name="snapshot")
    held = (
        select(snapshot.invoice_id, snapshot.cycle_id, snapshot.outstanding, snapshot.settled)
        .where(_holds(snapshot))
        .limit(1)  # a subquery of its own, looked up for each invoice (not merged into a join)
        .lateral("held")
    )
    invoices: Any = InvoiceRow.__table__
    return Overlay(invoices.outerjoin(held, true()), held.c)


JOINED = _joined()
PROBED = _probed()


def for_pages(session: Session) -> Overlay:
    """The overlay for reading a few invoices or a page of them."""
    return PROBED if session.get_bind().dialect.name == "postgresql" else JOINED


def shown_now(session: Session) -> frozenset[str]:
    """The statuses the latest take's overlay shows now: ``TAKE.target`` until its cycle's
    settle step, then the settlement's outcomes (none before any take). Read on its own, it
    only narrows where a query looks: a settlement writes, in its transaction, every invoice
    it settles in full."""
    take, settle = aliased(CycleStepRow), aliased(CycleStepRow)
    found = session.execute(
        select(take.cycle_id, settle.id)
        .outerjoin(settle, and_(settle.cycle_id == take.cycle_id, settle.step == SETTLE_STEP))
        .where(take.step == TAKE_STEP)
        .order_by(take.id.desc())
        .limit(1)
    ).first()
    if found is None:
        return frozenset()
    if found[1] is None:
        return frozenset({TAKE.target.value})
    return frozenset({SETTLE.outcome().value, SETTLE.outcome(normal=False).value})


#: The joined overlay's parts, for statements over whole pools and snapshots.
held = JOINED.held
status = JOINED.status
outstanding = JOINED.outstanding
cycle_id = JOINED.cycle_id
cycles_carried = JOINED.cycles_carried
COLUMNS = JOINED.columns
status_in = JOINED.status_in


def overlaid_invoices() -> Join:
    """``invoices`` with what overlays each (see :class:`Overlay`), joined as a whole."""
    return JOINED.invoices


_STATUSES = {s.value: s for s in Status}
_DISPUTED = Status.DISPUTED.value


def invoice_of_state(row: Iterable[Any]) -> Invoice:
    """The invoice of a row of :data:`COLUMNS`."""
    (
        ident,
        number,
        exporter_id,
        exporter_entity,
        importer_id,
        importer_entity,
        currency,
        amount,
        left,
        issue_date,
        due_date,
        hs_code,
        description,
        state,
        priority,
        sequence,
        cycle,
        dispute_fields,
        dispute_reason,
        rejection_rule,
        rejection_reason,
        first_eligible_at,
        carried,
    ) = row
    return Invoice(
        ident,
        number,
        exporter_id,
        exporter_entity,
        importer_id,
        importer_entity,
        currency,
        amount,
        left,
        issue_date,
        due_date,
        hs_code,
        description,
        _STATUSES[state],
        priority,
        sequence,
        cycle,
        Dispute(dispute_fields or {}, dispute_reason or "") if state == _DISPUTED else None,
        Rejection(rejection_rule, rejection_reason or "") if rejection_rule else None,
        as_utc(first_eligible_at),
        int(carried),
    )


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored moment as an aware UTC datetime (SQLite gives back the UTC moment stored,
    naive)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
