"""A Hypothesis state machine over the invoice and cycle use cases, on any store.

Traders submit, confirm (with a matching or a mismatching echo), dispute and cancel invoices;
operators open cycles, set rates, close, approve, reject, record pay-ins and declare defaults.
Every rule predicts whether the domain must accept the move and, when it must refuse, with
which error (:mod:`tests.cycle_machine.walk`); every other error fails the test. After every
step the invariants of DESIGN §4-§6 are checked against the stored state itself, as the
store's :class:`~tests.cycle_machine.rows.Reader` finds it:

* the ledger: every entry balances, every (entity, currency) book sums to zero, ``seq`` is
  gapless and the head matches the last entry;
* invoices: ``0 <= outstanding <= amount``, and what an invoice lost is exactly what settled
  cycles settled of it; ``in_cycle`` invoices are exactly the active cycle's snapshot;
* cycles: at most one is active; a settled cycle was approved by every entity with legs, for
  its digest, and posted once;
* money: per settled cycle and entity, the settlement account paid out what it received and
  no more than the pay-ins recorded; participants' accounts and mirror accounts net to zero;
  every participant's pay-ins less refunds equal what settled cycles posted as its pay-ins plus
  what the active cycle holds for it (no money created, lost or paid out before it arrived);
* :func:`clearing.use_cases.audit.verify` reports ok.

A subclass says where the state is kept (:meth:`CycleMachine.open_store`): PostgreSQL in
``tests/integration``, the in-memory fake in ``tests/unit/use_cases``.
"""

from __future__ import annotations

from collections import defaultdict

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from clearing.domain.cycles import ACTIVE_STATES, CycleStatus
from clearing.domain.errors import Conflict, Forbidden, InvalidInput
from clearing.domain.invoices import OPEN_STATES, InvoiceDraft, Status
from clearing.domain.ledger import GENESIS_HASH
from clearing.domain.money import format_amount
from clearing.use_cases import audit, compliance, invoices
from clearing.use_cases import cycles as cycles_use_cases
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.cycle_machine.rows import Reader
from tests.cycle_machine.walk import (
    ENTITIES,
    ENTITY,
    HS_CODES,
    INVOICE_CURRENCIES,
    ISSUE_DATE,
    MAX_AMOUNT,
    POLICY,
    RATE_DOCUMENTS,
    TRADERS_PER_ENTITY,
    CycleWalk,
    expect,
)


class CycleMachine(CycleWalk, RuleBasedStateMachine):
    """Random walks through the invoice and cycle lifecycles of two mirrored entities."""

    def __init__(self) -> None:
        super().__init__()
        self.uows, self.reader = self.open_store()
        compliance.reset_rules(self.uows())
        self.invoices = []
        self.traders = {}
        self.participants = {}
        self.operators = {}
        self.counter = 0

    def open_store(self) -> tuple[UnitOfWorkFactory, Reader]:
        """An empty store, its units of work and a reader of its state: each machine (on the
        in-memory store, on PostgreSQL) provides its own."""
        raise NotImplementedError

    def teardown(self) -> None:
        self.reader.close()

    @initialize(
        seed=st.lists(
            st.tuples(
                st.integers(0, TRADERS_PER_ENTITY - 1),
                st.sampled_from(INVOICE_CURRENCIES),
                st.integers(1_000, MAX_AMOUNT),
            ),
            max_size=10,
        )
    )
    def world(self, seed: list[tuple[int, str, int]]) -> None:
        self.build_world(seed)

    # --- invoices -----------------------------------------------------------------------------

    @rule(
        data=st.data(),
        currency=st.sampled_from(INVOICE_CURRENCIES),
        amount=st.integers(1, MAX_AMOUNT),
        hs_code=st.sampled_from(HS_CODES),
        days=st.integers(0, 90),
        then_confirm=st.booleans(),
    )
    def submit(
        self,
        data: st.DataObject,
        currency: str,
        amount: int,
        hs_code: str,
        days: int,
        then_confirm: bool,
    ) -> None:
        """A trader submits an invoice as its exporter (and the importer may confirm it)."""
        exporter = data.draw(st.sampled_from(self.everyone), label="exporter")
        importer = data.draw(st.sampled_from(self.everyone), label="importer")
        if self.entity_of(exporter) == self.entity_of(importer):
            self.counter += 1
            draft = InvoiceDraft(
                f"INV-{self.counter}",
                importer,
                currency,
                format_amount(amount, currency),
                ISSUE_DATE,
                ISSUE_DATE,
                hs_code,
            )
            expect(
                InvalidInput,
                lambda: invoices.submit_invoice(self.uows(), self.traders[exporter], draft),
            )
            return
        invoice = self.submit_as(exporter, importer, currency, amount, hs_code, days)
        if then_confirm and invoice.status is Status.AWAITING_CONFIRMATION:
            confirmed = invoices.confirm_invoice(
                self.uows(),
                self.traders[importer],
                invoice.id,
                currency,
                format_amount(amount, currency),
            )
            assert confirmed.status is Status.ELIGIBLE

    @precondition(lambda self: bool(self.invoices))
    @rule(data=st.data(), matching=st.booleans(), wrong_currency=st.booleans())
    def confirm(self, data: st.DataObject, matching: bool, wrong_currency: bool) -> None:
        """The importer echoes currency and amount; a mismatch disputes the invoice."""
        before = self.invoice(data.draw(st.sampled_from(self.invoices), label="invoice"))
        currency, amount = before.currency, before.amount
        if not matching and wrong_currency:
            currency = next(c for c in INVOICE_CURRENCIES if c != before.currency)
        elif not matching:
            amount += 1
        echoed = format_amount(amount, currency)
        importer = self.traders[before.importer_id]
        allowed = before.status in {Status.AWAITING_CONFIRMATION, Status.DISPUTED}
        after = expect(
            None if allowed else Conflict,
            lambda: invoices.confirm_invoice(self.uows(), importer, before.id, currency, echoed),
        )
        if after is None:
            assert self.invoice(before.id) == before
            return
        if matching:
            assert after.status is Status.ELIGIBLE
            assert after.dispute is None
        else:
            assert after.status is Status.DISPUTED
            assert after.dispute is not None
            assert ("currency" if wrong_currency else "amount") in after.dispute.fields
        assert after.outstanding == before.outstanding
        assert self.invoice(before.id) == after

    @precondition(lambda self: bool(self.invoices))
    @rule(data=st.data())
    def dispute(self, data: st.DataObject) -> None:
        before = self.invoice(data.draw(st.sampled_from(self.invoices), label="invoice"))
        allowed = before.status in {Status.AWAITING_CONFIRMATION, Status.ELIGIBLE}
        after = expect(
            None if allowed else Conflict,
            lambda: invoices.dispute_invoice(
                self.uows(), self.traders[before.importer_id], before.id, "goods not as ordered"
            ),
        )
        expected = Status.DISPUTED if allowed else before.status
        assert after is None or after.status is expected
        assert self.invoice(before.id).status is expected

    @precondition(lambda self: bool(self.invoices))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        before = self.invoice(data.draw(st.sampled_from(self.invoices), label="invoice"))
        allowed = before.status in OPEN_STATES
        expect(
            None if allowed else Conflict,
            lambda: invoices.cancel_invoice(
                self.uows(), self.traders[before.exporter_id], before.id, "order withdrawn"
            ),
        )
        after = self.invoice(before.id)
        assert after.status is (Status.CANCELLED if allowed else before.status)
        assert after.outstanding == before.outstanding

    @precondition(
        lambda self: (
            self.active_status()
            in {CycleStatus.PROPOSED, CycleStatus.APPROVED, CycleStatus.SETTLING}
        )
    )
    @rule(data=st.data())
    def default(self, data: st.DataObject) -> None:
        """A payer that has not paid in full is declared in default: the cycle is re-netted."""
        cycle = self.current_cycle()
        assert cycle is not None
        holdings = self.holdings(cycle.id)
        owing = self.ranked(p for p, (due, held, _) in holdings.items() if held < due)
        if not owing:
            return
        self.declare(data.draw(st.sampled_from(owing), label="defaulter"))

    @precondition(lambda self: self.active_status() is CycleStatus.SETTLING)
    @rule(data=st.data())
    def default_after_pay_ins(self, data: st.DataObject) -> None:
        """The same, once money has arrived: what was paid in is carried or refunded."""
        self.default(data)

    # --- the rules of the cycle's lifecycle ----------------------------------------------------

    @precondition(lambda self: self.active_status() is None)
    @rule(entity=ENTITY, policy=POLICY)
    def open_cycle(self, entity: str, policy: str) -> None:
        self.try_open(entity, policy)

    @precondition(lambda self: self.active_status() is CycleStatus.OPEN)
    @rule(entity=ENTITY, which=st.sampled_from(["cny_base", "rub_base", "no_usd"]))
    def set_rates(self, entity: str, which: str) -> None:
        self.try_set_rates(entity, which)

    @precondition(lambda self: self.active_status() is CycleStatus.OPEN)
    @rule(entity=ENTITY)
    def close(self, entity: str) -> None:
        self.try_close(entity)

    @precondition(lambda self: self.active_status() is CycleStatus.PROPOSED)
    @rule(entity=ENTITY)
    def approve(self, entity: str) -> None:
        self.try_approve(entity, stale=False)

    @precondition(lambda self: self.active_status() in {CycleStatus.PROPOSED, CycleStatus.APPROVED})
    @rule(entity=ENTITY)
    def reject(self, entity: str) -> None:
        self.try_reject(entity)

    @precondition(lambda self: self.active_status() in {CycleStatus.APPROVED, CycleStatus.SETTLING})
    @rule(data=st.data(), full=st.booleans())
    def pay_in(self, data: st.DataObject, full: bool) -> None:
        self.try_pay_in(data, full)

    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        """The next move towards a settled cycle, so that walks reach the deep states: trade
        where the pool lacks payers, open, set rates, close, approve, pay (part of) a due."""
        cycle = self.current_cycle()
        entity = data.draw(ENTITY, label="entity")
        status = cycle.status if cycle is not None else None
        idle = status not in ACTIVE_STATES
        lacking = self.lacking_importers() if idle or status is CycleStatus.OPEN else []
        if lacking:
            importer = data.draw(st.sampled_from(lacking), label="importer")
            exporters = [p for p in self.everyone if self.entity_of(p) != self.entity_of(importer)]
            exporter = data.draw(st.sampled_from(exporters), label="exporter")
            amount = data.draw(st.integers(1_000, MAX_AMOUNT), label="amount")
            invoice = self.submit_as(exporter, importer, "CNY", amount, "8471", 30)
            invoices.confirm_invoice(
                self.uows(), self.traders[importer], invoice.id, "CNY", format_amount(amount, "CNY")
            )
        elif idle or cycle is None:
            self.try_open(entity, data.draw(POLICY, label="policy"))
        elif cycle.status is CycleStatus.OPEN and cycle.rates is None:
            self.try_set_rates(entity, data.draw(st.sampled_from(["cny_base", "rub_base"])))
        elif cycle.status is CycleStatus.OPEN:
            self.try_close(entity)
        elif cycle.status is CycleStatus.PROPOSED:
            self.try_approve(data.draw(st.sampled_from(cycle.missing_approvals)), stale=False)
        else:
            self.try_pay_in(data, full=data.draw(st.booleans(), label="full"))

    @rule(
        data=st.data(),
        move=st.sampled_from(
            [
                "open",
                "set_rates",
                "close",
                "approve",
                "approve_stale",
                "reject",
                "pay_too_much",
                "pay_at_the_wrong_entity",
                "pay_when_paid_up",
                "pay_in_another_currency",
                "open_as_trader",
                "confirm_by_someone_else",
            ]
        ),
    )
    def out_of_order(self, data: st.DataObject, move: str) -> None:
        """Any move in whatever state things are: the domain must refuse the invalid ones."""
        entity = data.draw(ENTITY, label="entity")
        if move == "open":
            self.try_open(entity, data.draw(POLICY, label="policy"))
        elif move == "set_rates":
            self.try_set_rates(entity, data.draw(st.sampled_from(sorted(RATE_DOCUMENTS))))
        elif move == "close":
            self.try_close(entity)
        elif move.startswith("approve"):
            self.try_approve(entity, stale=move == "approve_stale")
        elif move == "reject":
            self.try_reject(entity)
        elif move.startswith("pay_"):
            self.try_bad_pay_in(data, move)
        elif move == "open_as_trader":
            trader = self.traders[data.draw(st.sampled_from(self.everyone), label="trader")]
            expect(Forbidden, lambda: cycles_use_cases.open_cycle(self.uows(), trader, "fifo"))
        elif self.invoices:
            self.try_confirm_by_someone_else(data)

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def the_ledger_balances(self) -> None:
        entries = sorted(self.reader.journal(), key=lambda e: e.seq)
        postings = self.reader.postings()
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1)), "seq has gaps"
        assert self.reader.head() == [
            (entries[-1].seq, entries[-1].hash) if entries else (0, GENESIS_HASH)
        ]
        entity_of = {e.seq: e.entity for e in entries}
        per_entry: dict[tuple[int, str], int] = defaultdict(int)
        per_book: dict[tuple[str, str], int] = defaultdict(int)
        for p in postings:
            assert p.entity == entity_of[p.seq], f"posting of entry {p.seq} in another book"
            assert p.currency == ENTITIES[p.entity], f"{p.entity} books {p.currency}"
            per_entry[(p.seq, p.currency)] += p.amount
            per_book[(p.entity, p.currency)] += p.amount
        assert {seq for seq, _ in per_entry} == set(entity_of), "an entry without postings"
        assert all(total == 0 for total in per_entry.values()), per_entry
        assert all(total == 0 for total in per_book.values()), per_book

    @invariant()
    def invoices_stay_within_bounds(self) -> None:
        cycles = self.reader.cycles()
        settled_cycles = {c.id for c in cycles if c.status == CycleStatus.SETTLED.value}
        settled: dict[str, int] = defaultdict(int)
        for o in self.reader.snapshots():
            if o.cycle_id in settled_cycles:
                settled[o.invoice_id] += o.settled
        rows = self.reader.invoices()
        for row in rows:
            assert 0 <= row.outstanding <= row.amount, row
            assert row.amount - row.outstanding == settled[row.id], row
            assert (row.status == Status.SETTLED.value) == (row.outstanding == 0), row
        active = [c for c in cycles if CycleStatus(c.status) in ACTIVE_STATES]
        in_cycle = {row.id: row.cycle_id for row in rows if row.status == Status.IN_CYCLE.value}
        if active and active[0].status != CycleStatus.OPEN.value:
            cycle_id = active[0].id
            assert set(in_cycle) == self.snapshot_ids(cycle_id)
            assert set(in_cycle.values()) <= {cycle_id}
            outstanding = {row.id: row.outstanding for row in rows}
            taken = self.snapshot(cycle_id)
            assert all(o.outstanding == outstanding[o.invoice_id] for o in taken)
        else:
            assert not in_cycle, f"invoices in no active cycle: {sorted(in_cycle)}"

    @invariant()
    def at_most_one_cycle_is_active(self) -> None:
        cycles = self.reader.cycles()
        active = [c for c in cycles if CycleStatus(c.status) in ACTIVE_STATES]
        assert len(active) <= 1, [c.id for c in active]
        by_id = {c.id: c for c in cycles}
        for c in cycles:
            if c.status == CycleStatus.SUPERSEDED.value:
                assert c.superseded_by is not None
                assert by_id[c.superseded_by].predecessor_id == c.id
            if c.status == CycleStatus.SETTLED.value:
                stored = cycles_use_cases.get_cycle(self.uows(), self.auditor, c.id)
                assert not stored.missing_approvals, f"{c.id} settled without every approval"
                assert all(a.digest == stored.digest for a in stored.approvals)

    @invariant()
    def settled_cycles_close_and_pay_out_only_what_came_in(self) -> None:
        """Money is journaled as it moves: pay-ins as recorded, refunds as due, the discharge
        and pay-outs as a cycle settles. Over a settled cycle and the cycles it superseded,
        every participant and settlement account closes, mirrors sum to zero, and what each
        participant paid in, less refunds, is what it owed."""
        entries = {e.seq: e for e in self.reader.journal()}
        cycles = {c.id: c for c in self.reader.cycles()}
        discharged = {e.cycle_id for e in entries.values() if e.kind == "discharge"}
        assert all(cycles[c or ""].status == CycleStatus.SETTLED.value for c in discharged)
        records: dict[str, int] = defaultdict(int)
        for e in entries.values():
            if e.cycle_id is not None:
                records[e.cycle_id] += e.has_record
        assert all(records[c or ""] == 1 for c in discharged), "a cycle posted more than once"
        assert all(count <= 1 for count in records.values()), "a cycle recorded twice"
        closes_with: dict[str, str] = {}
        for settled in (c for c in cycles.values() if c.status == CycleStatus.SETTLED.value):
            predecessor = settled.predecessor_id
            while predecessor is not None:
                closes_with[predecessor] = settled.id
                predecessor = cycles[predecessor].predecessor_id
        movement: dict[tuple[str, str, str], int] = defaultdict(int)
        mirrors: dict[tuple[str, str], int] = defaultdict(int)
        paid_in: dict[tuple[str, str], int] = defaultdict(int)
        for p in self.reader.postings():
            entry = entries[p.seq]
            assert entry.cycle_id is not None, "every entry here belongs to a cycle"
            group = closes_with.get(entry.cycle_id, entry.cycle_id)
            if p.account.startswith("mirror:"):
                mirrors[(group, p.entity)] += p.amount
            else:
                movement[(group, p.entity, p.account)] += p.amount
            if entry.kind in ("pay_in", "refund") and p.account.startswith("participant:"):
                paid_in[(group, p.account.removeprefix("participant:"))] -= p.amount
        for cycle_id in (c for c, found in cycles.items() if found.status == "settled"):
            open_accounts = {k: v for k, v in movement.items() if k[0] == cycle_id and v}
            assert open_accounts == {}, open_accounts
            assert all(v == 0 for k, v in mirrors.items() if k[0] == cycle_id), mirrors
            holdings = self.holdings(cycle_id)
            money = self.money_held(cycle_id)
            for participant in set(holdings) | set(money):
                due = holdings.get(participant, (0, 0, ""))[0]
                held = money.get(participant, 0)
                assert held == due == paid_in.get((cycle_id, participant), 0), (
                    cycle_id,
                    participant,
                    held,
                    due,
                )

    @invariant()
    def no_money_is_created_or_lost(self) -> None:
        """Every pay-in recorded and every refund due is in the journal as it happened; the
        active cycle never holds more than is due."""
        paid: dict[str, int] = defaultdict(int)
        for row in self.reader.pay_ins():
            if not row.carried:
                paid[row.participant_id] += row.amount
        for row in self.reader.refunds():
            paid[row.participant_id] -= row.amount
        kinds = {e.seq: e.kind for e in self.reader.journal()}
        journaled: dict[str, int] = defaultdict(int)
        for p in self.reader.postings():
            if kinds[p.seq] in ("pay_in", "refund") and p.account.startswith("participant:"):
                journaled[p.account.removeprefix("participant:")] -= p.amount
        active = [c for c in self.reader.cycles() if CycleStatus(c.status) in ACTIVE_STATES]
        if active:
            holdings = self.holdings(active[0].id)
            for participant, held in self.money_held(active[0].id).items():
                assert 0 <= held <= holdings.get(participant, (0, 0, ""))[0], (participant, held)
        assert {p: v for p, v in paid.items() if v} == {p: v for p, v in journaled.items() if v}

    @invariant()
    def the_audit_verifies(self) -> None:
        report = audit.verify(self.uows(), self.auditor)
        assert report.ok, [p.to_json() for p in report.problems]

    def assert_invariants(self) -> None:
        """Every invariant, for scenarios that drive the machine by hand."""
        self.the_ledger_balances()
        self.invoices_stay_within_bounds()
        self.at_most_one_cycle_is_active()
        self.settled_cycles_close_and_pay_out_only_what_came_in()
        self.no_money_is_created_or_lost()
        self.the_audit_verifies()


def default_after_two_partial_pay_ins(machine: CycleMachine) -> None:
    """Regression scenario, driven by hand through the machine: CN0 and CN1 owe, CN2 is owed;
    both CN payers pay part of their due, then RU0 defaults. Both pay-ins must be carried into
    the successor and refunded there (DESIGN §6: "other pay-ins already received carry over")."""
    # CN0 owes RU0 100.00 CNY, RU0 owes CN2 200.00 CNY, CN1 owes RU1 100.00 CNY.
    machine.build_world(seed=[(0, "CNY", 10_000), (2, "CNY", 20_000), (1, "CNY", 10_000)])
    machine.try_open("CN", "fifo")
    machine.try_set_rates("CN", "cny_base")
    machine.try_close("CN")
    machine.try_approve("CN", stale=False)
    machine.try_approve("RU", stale=False)
    cycle = machine.current_cycle()
    assert cycle is not None
    assert cycle.status is CycleStatus.APPROVED
    cn0, cn1, _cn2 = machine.participants["CN"]
    ru0, _ru1, _ru2 = machine.participants["RU"]
    holdings = machine.holdings(cycle.id)
    assert (holdings[cn0][0], holdings[cn1][0]) == (10_000, 10_000)
    assert holdings[ru0][0] > 0
    machine.pay(cn0, 4_000)
    machine.pay(cn1, 6_000)
    machine.assert_invariants()
    machine.declare(ru0)
    machine.assert_invariants()
