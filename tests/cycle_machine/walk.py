"""The world the cycle state machine walks, and every move in it (DESIGN §4-§6).

Two mirrored entities, an operator each, three traders each. Every move predicts whether the
domain must accept it and, when it must refuse, with which error; every other error fails the
walk. The state is read back through a :class:`~tests.cycle_machine.rows.Reader`, directly
from the store, so the same walk runs on PostgreSQL and on the in-memory fake.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from clearing.domain.access import Principal
from clearing.domain.cycles import ACTIVE_STATES, Cycle, CycleStatus
from clearing.domain.errors import ClearingError, Conflict, Forbidden, InvalidInput, NotFound
from clearing.domain.invoices import Invoice, InvoiceDraft, Status
from clearing.domain.money import format_amount
from clearing.domain.rates import RateSet
from clearing.use_cases import cycles as cycles_use_cases
from clearing.use_cases import invoices, keys, settlement
from clearing.use_cases import participants as participants_use_cases
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.cycle_machine.rows import Reader, SnapshotRow

T = TypeVar("T")

ENTITIES = {"CN": "CNY", "RU": "RUB"}
TRADERS_PER_ENTITY = 3
INVOICE_CURRENCIES = ("CNY", "RUB", "USD")
HS_CODES = ("8471", "1201", "3004", "9018", "7208", "9303")  # 93: arms, blocked by default
ISSUE_DATE = date(2026, 11, 2)
MAX_AMOUNT = 5_000_000  # minor units
ENTITY = st.sampled_from(sorted(ENTITIES))
POLICY = st.sampled_from(["fifo", "pro_rata"])

RATE_DOCUMENTS: dict[str, dict[str, Any]] = {
    "cny_base": {
        "base": "CNY",
        "jurisdictions": dict(ENTITIES),
        "rates": {"CNY": "1", "RUB": "0.0781", "USD": "7.10"},
        "source": "state machine",
        "as_of": "2026-11-20T10:00:00Z",
    },
    "rub_base": {
        "base": "RUB",
        "jurisdictions": dict(ENTITIES),
        "rates": {"RUB": "1", "CNY": "12.8041", "USD": "90.91"},
        "source": "state machine",
        "as_of": "2026-11-20T10:00:00Z",
    },
    # Covers both entities but not USD: closing with an eligible USD invoice is a conflict.
    "no_usd": {
        "base": "CNY",
        "jurisdictions": dict(ENTITIES),
        "rates": {"CNY": "1", "RUB": "0.08"},
    },
    # No rate for the RUB of entity RU: invalid input, whatever the cycle's state.
    "no_rub": {
        "base": "CNY",
        "jurisdictions": dict(ENTITIES),
        "rates": {"CNY": "1", "USD": "7.10"},
    },
}


def expect(error: type[ClearingError] | None, call: Callable[[], T]) -> T | None:
    """Run ``call``; when ``error`` is given it must raise exactly that kind of domain error."""
    if error is None:
        return call()
    with pytest.raises(ClearingError) as raised:
        call()
    assert type(raised.value) is error, f"expected {error.__name__}, got {raised.value!r}"
    return None


def portion(data: st.DataObject, total: int) -> int:
    """A random part of ``total`` (at least 1), drawn independently of ``total`` itself so that
    replaying a walk draws the same choices even if a rounding tie-break moved a minor unit."""
    return max(1, total * data.draw(st.integers(1, 1000), label="per mille") // 1000)


def record(outcome: str) -> None:
    """Count an outcome in Hypothesis's statistics (nothing outside a Hypothesis run)."""
    with contextlib.suppress(InvalidArgument):
        event(outcome)


class CycleWalk:
    """The world and the moves of the machine; :class:`~tests.cycle_machine.machine.CycleMachine`
    draws which move to make."""

    uows: UnitOfWorkFactory
    reader: Reader
    invoices: list[str]
    traders: dict[str, Principal]
    participants: dict[str, list[str]]
    operators: dict[str, Principal]
    auditor: Principal
    counter: int

    # --- the world ----------------------------------------------------------------------------

    def build_world(self, seed: list[tuple[int, str, int]]) -> None:
        """Two entities, an operator each, three traders each, and a few eligible invoices:
        alternately owed by CN and RU importers, taking each trader in turn, so that cycles
        have something to match and several payers in each entity."""
        for code, currency in ENTITIES.items():
            participants_use_cases.add_entity(self.uows(), code, currency)
            _key, operator = keys.create_key(self.uows(), "operator", entity=code)
            self.operators[code] = operator
            self.participants[code] = []
            for index in range(TRADERS_PER_ENTITY):
                participant = participants_use_cases.register_participant(
                    self.uows(), operator, name=f"{code} trader {index}"
                )
                _key, trader = keys.create_key(self.uows(), "trader", participant_id=participant.id)
                self.traders[participant.id] = trader
                self.participants[code].append(participant.id)
        _key, self.auditor = keys.create_key(self.uows(), "auditor")
        for number, (exporter_index, currency, amount) in enumerate(seed):
            home, abroad = ("CN", "RU") if number % 2 == 0 else ("RU", "CN")
            importer = self.participants[home][number // 2 % TRADERS_PER_ENTITY]
            exporter = self.participants[abroad][exporter_index]
            invoice = self.submit_as(exporter, importer, currency, amount, "8471", number)
            confirmed = invoices.confirm_invoice(
                self.uows(),
                self.traders[importer],
                invoice.id,
                invoice.currency,
                format_amount(invoice.amount, invoice.currency),
            )
            assert confirmed.status is Status.ELIGIBLE

    @property
    def everyone(self) -> list[str]:
        return [p for code in sorted(self.participants) for p in self.participants[code]]

    def ranked(self, participants: Iterable[str]) -> list[str]:
        """Participants in the order they were registered. Their ids are random, so sorting by
        id would make Hypothesis's draws depend on more than the draws before them."""
        return sorted(participants, key=self.everyone.index)

    def entity_of(self, participant_id: str) -> str:
        return next(code for code, ids in self.participants.items() if participant_id in ids)

    def submit_as(
        self, exporter: str, importer: str, currency: str, amount: int, hs_code: str, days: int
    ) -> Invoice:
        self.counter += 1
        draft = InvoiceDraft(
            invoice_number=f"INV-{self.counter}",
            importer_id=importer,
            currency=currency,
            amount=format_amount(amount, currency),
            issue_date=ISSUE_DATE,
            due_date=ISSUE_DATE + timedelta(days=days),
            hs_code=hs_code,
        )
        invoice = invoices.submit_invoice(self.uows(), self.traders[exporter], draft)
        self.invoices.append(invoice.id)
        assert invoice.amount == invoice.outstanding == amount
        assert invoice.exporter_id == exporter
        assert invoice.importer_id == importer
        blocked = hs_code.startswith("93")
        assert invoice.status is (Status.REJECTED if blocked else Status.AWAITING_CONFIRMATION)
        assert (invoice.rejection is not None) == blocked
        return invoice

    # --- reading the current state ------------------------------------------------------------

    def invoice(self, invoice_id: str) -> Invoice:
        return invoices.get_invoice(self.uows(), self.auditor, invoice_id)

    def current_cycle(self) -> Cycle | None:
        """The active cycle, else the most recent one, else None."""
        found = sorted(
            self.reader.cycles(),
            key=lambda c: (CycleStatus(c.status) not in ACTIVE_STATES, -c.number),
        )
        return cycles_use_cases.get_cycle(self.uows(), self.auditor, found[0].id) if found else None

    def active_status(self) -> CycleStatus | None:
        found = [CycleStatus(c.status) for c in self.reader.cycles()]
        return next((status for status in found if status in ACTIVE_STATES), None)

    def holdings(self, cycle_id: str) -> dict[str, tuple[int, int, str]]:
        """Per participant with a position: (due pay-in, money held for it, entity)."""
        return {
            view.position.participant_id: (
                view.due,
                view.received - view.refunded,
                view.position.jurisdiction,
            )
            for view in settlement.cycle_positions(self.uows(), self.auditor, cycle_id)
        }

    def snapshot(self, cycle_id: str) -> list[SnapshotRow]:
        return [row for row in self.reader.snapshots() if row.cycle_id == cycle_id]

    def snapshot_ids(self, cycle_id: str) -> set[str]:
        return {row.invoice_id for row in self.snapshot(cycle_id)}

    def lacking_importers(self) -> list[str]:
        """Participants of the first entity with fewer than two importers owing on eligible
        invoices who owe nothing yet (so that cycles have several payers per entity)."""
        owing = {row.importer_id for row in self.reader.invoices() if row.status == "eligible"}
        for code in sorted(ENTITIES):
            if len(owing & set(self.participants[code])) < 2:
                return [p for p in self.participants[code] if p not in owing]
        return []

    def nothing_due(self, cycle_id: str) -> bool:
        return all(held >= due for due, held, _ in self.holdings(cycle_id).values())

    def money_held(self, cycle_id: str) -> dict[str, int]:
        """Pay-ins recorded for a cycle less its refunds, per participant."""
        held: dict[str, int] = defaultdict(int)
        for row in self.reader.pay_ins():
            if row.cycle_id == cycle_id:
                held[row.participant_id] += row.amount
        for row in self.reader.refunds():
            if row.cycle_id == cycle_id:
                held[row.participant_id] -= row.amount
        return dict(held)

    # --- invoices -----------------------------------------------------------------------------

    def try_confirm_by_someone_else(self, data: st.DataObject) -> None:
        """Only the importer confirms: the exporter is forbidden, a stranger sees nothing."""
        before = self.invoice(data.draw(st.sampled_from(self.invoices), label="invoice"))
        others = [p for p in self.everyone if p != before.importer_id]
        who = data.draw(st.sampled_from(others), label="caller")
        error = Forbidden if who == before.exporter_id else NotFound
        expect(
            error,
            lambda: invoices.confirm_invoice(
                self.uows(),
                self.traders[who],
                before.id,
                before.currency,
                format_amount(before.amount, before.currency),
            ),
        )
        assert self.invoice(before.id) == before

    # --- cycles -------------------------------------------------------------------------------

    def try_open(self, entity: str, policy: str) -> None:
        active = self.active_status()
        opened = expect(
            None if active is None else Conflict,
            lambda: cycles_use_cases.open_cycle(self.uows(), self.operators[entity], policy),
        )
        if opened is not None:
            record("cycle opened")
            assert opened.status is CycleStatus.OPEN
            assert opened.policy.value == policy
        assert self.active_status() is (CycleStatus.OPEN if active is None else active)

    def try_set_rates(self, entity: str, which: str) -> None:
        cycle = self.current_cycle()
        if cycle is None:
            return
        if which == "no_rub":
            error: type[ClearingError] | None = InvalidInput
        else:
            error = None if cycle.status is CycleStatus.OPEN else Conflict
        changed = expect(
            error,
            lambda: cycles_use_cases.set_rates(
                self.uows(), self.operators[entity], cycle.id, RATE_DOCUMENTS[which]
            ),
        )
        stored = cycles_use_cases.get_cycle(self.uows(), self.auditor, cycle.id)
        if changed is None:
            assert stored.rates == cycle.rates
            assert stored.status is cycle.status
        else:
            assert stored.rates == RateSet.from_json(RATE_DOCUMENTS[which])

    def try_close(self, entity: str) -> None:
        cycle = self.current_cycle()
        if cycle is None:
            return
        eligible = {
            row.id: (row.currency, row.outstanding)
            for row in self.reader.invoices()
            if row.status == Status.ELIGIBLE.value
        }
        priced = set(cycle.rates.rates) if cycle.rates is not None else set()
        unpriced = {currency for currency, _ in eligible.values()} - priced
        refused = cycle.status is not CycleStatus.OPEN or cycle.rates is None or bool(unpriced)
        error = Conflict if refused else None
        closed = expect(
            error,
            lambda: cycles_use_cases.close_cycle(self.uows(), self.operators[entity], cycle.id),
        )
        if closed is None:
            assert cycles_use_cases.get_cycle(self.uows(), self.auditor, cycle.id) == cycle
            return
        record("cycle closed")
        assert self.snapshot_ids(cycle.id) == set(eligible)
        snapshot = {
            row.invoice_id: (row.currency, row.outstanding) for row in self.snapshot(cycle.id)
        }
        assert snapshot == eligible
        if closed.required_approvals:
            assert closed.status is CycleStatus.PROPOSED
        else:
            record("cycle settled at cut-off")
            assert closed.status is CycleStatus.SETTLED
        assert closed.digest is not None

    def try_approve(self, entity: str, stale: bool) -> None:
        cycle = self.current_cycle()
        if cycle is None:
            return
        digest = "0" * 64 if stale or cycle.digest is None else cycle.digest
        allowed = (
            cycle.status is CycleStatus.PROPOSED
            and digest == cycle.digest
            and entity in cycle.missing_approvals
        )
        approved = expect(
            None if allowed else Conflict,
            lambda: cycles_use_cases.approve_cycle(
                self.uows(), self.operators[entity], cycle.id, digest
            ),
        )
        stored = cycles_use_cases.get_cycle(self.uows(), self.auditor, cycle.id)
        if approved is None:
            assert stored == cycle
            return
        assert {a.entity: a.digest for a in stored.approvals} == {
            **{a.entity: a.digest for a in cycle.approvals},
            entity: cycle.digest,
        }
        record("cycle approved by an entity")
        if stored.missing_approvals:
            assert stored.status is CycleStatus.PROPOSED
        elif self.nothing_due(cycle.id):
            record("cycle settled on its last approval")
            assert stored.status is CycleStatus.SETTLED
        else:
            assert stored.status is CycleStatus.APPROVED
        assert approved.status is stored.status

    def try_reject(self, entity: str) -> None:
        cycle = self.current_cycle()
        if cycle is None:
            return
        paid = sum(1 for row in self.reader.pay_ins() if row.cycle_id == cycle.id)
        allowed = cycle.status in {CycleStatus.PROPOSED, CycleStatus.APPROVED} and paid == 0
        before = {row.id: (row.status, row.outstanding) for row in self.reader.invoices()}
        rejected = expect(
            None if allowed else Conflict,
            lambda: cycles_use_cases.reject_cycle(
                self.uows(), self.operators[entity], cycle.id, "rates look wrong"
            ),
        )
        after = {row.id: (row.status, row.outstanding) for row in self.reader.invoices()}
        if rejected is None:
            assert after == before
            return
        record("cycle rejected")
        assert rejected.status is CycleStatus.REJECTED
        snapshot = self.snapshot_ids(cycle.id)
        for invoice_id, (status, outstanding) in after.items():
            if invoice_id in snapshot:
                assert (status, outstanding) == (Status.ELIGIBLE.value, before[invoice_id][1])
            else:
                assert (status, outstanding) == before[invoice_id]
        assert self.active_status() is None

    # --- money --------------------------------------------------------------------------------

    def try_pay_in(self, data: st.DataObject, full: bool) -> None:
        """A participant with something still due pays (part of) it; its operator records it."""
        cycle = self.current_cycle()
        assert cycle is not None
        holdings = self.holdings(cycle.id)
        owing = self.ranked(p for p, (due, held, _) in holdings.items() if held < due)
        assert owing, f"cycle {cycle.id} is {cycle.status.value} but nobody owes anything"
        payer = data.draw(st.sampled_from(owing), label="payer")
        due, held, _entity = holdings[payer]
        amount = due - held if full else portion(data, due - held)
        self.pay(payer, amount)

    def pay(self, payer: str, amount: int) -> None:
        """Record a pay-in the domain must accept, and check what it did."""
        cycle = self.current_cycle()
        assert cycle is not None
        _due, held, entity = self.holdings(cycle.id)[payer]
        self.counter += 1
        changed = settlement.record_pay_in(
            self.uows(),
            self.operators[entity],
            cycle.id,
            payer,
            ENTITIES[entity],
            format_amount(amount, ENTITIES[entity]),
            f"BANK-{self.counter}",
        )
        record("pay-in recorded")
        assert self.holdings(cycle.id)[payer][1] == held + amount
        if self.nothing_due(cycle.id):
            record("cycle settled on its last pay-in")
            assert changed.status is CycleStatus.SETTLED
        else:
            assert changed.status is CycleStatus.SETTLING

    def try_bad_pay_in(self, data: st.DataObject, mistake: str) -> None:
        """Pay-ins above what is due, recorded by another entity, in another currency than the
        entity's, or from a payer paid up: each refused, and nothing recorded."""
        cycle = self.current_cycle()
        if cycle is None or cycle.status not in {CycleStatus.APPROVED, CycleStatus.SETTLING}:
            return
        holdings = self.holdings(cycle.id)
        if mistake == "pay_when_paid_up":
            candidates = self.ranked(p for p, (due, held, _) in holdings.items() if held >= due)
        else:
            candidates = self.ranked(p for p, (due, held, _) in holdings.items() if held < due)
        if not candidates:
            return
        payer = data.draw(st.sampled_from(candidates), label="payer")
        due, held, entity = holdings[payer]
        error = {
            "pay_too_much": InvalidInput,
            "pay_when_paid_up": Conflict,
            "pay_in_another_currency": InvalidInput,
        }.get(mistake)
        recorder, currency = entity, ENTITIES[entity]
        if mistake == "pay_in_another_currency":
            currency = next(c for c in INVOICE_CURRENCIES if c != currency)
        amount = due - held + 1 if mistake == "pay_too_much" else 1
        if mistake == "pay_at_the_wrong_entity":
            recorder = next(code for code in ENTITIES if code != entity)
            error = NotFound
        self.counter += 1
        expect(
            error,
            lambda: settlement.record_pay_in(
                self.uows(),
                self.operators[recorder],
                cycle.id,
                payer,
                currency,
                format_amount(amount, currency),
                f"BANK-{self.counter}",
            ),
        )
        assert self.holdings(cycle.id) == holdings
        assert self.current_cycle() == cycle

    def declare(self, defaulter: str) -> None:
        """Declare a payer in default, as the domain must accept, and check the re-netting."""
        cycle = self.current_cycle()
        assert cycle is not None
        holdings = self.holdings(cycle.id)
        entity = holdings[defaulter][2]
        old_snapshot = {
            row.invoice_id: (row.debtor_id, row.creditor_id, row.outstanding)
            for row in self.snapshot(cycle.id)
        }
        successor = settlement.declare_default(
            self.uows(), self.operators[entity], cycle.id, defaulter, "no funds arrived"
        )
        record("default declared")
        old = cycles_use_cases.get_cycle(self.uows(), self.auditor, cycle.id)
        assert old.status is CycleStatus.SUPERSEDED
        assert old.superseded_by == successor.id
        assert successor.predecessor_id == cycle.id
        assert successor.rates == cycle.rates
        assert successor.policy is cycle.policy
        kept = {i for i, (d, c, _) in old_snapshot.items() if defaulter not in (d, c)}
        assert self.snapshot_ids(successor.id) == kept
        statuses = {
            row.id: (row.status, row.outstanding, row.cycle_id) for row in self.reader.invoices()
        }
        for invoice_id in set(old_snapshot) - kept:
            assert statuses[invoice_id][:2] == (Status.ELIGIBLE.value, old_snapshot[invoice_id][2])
        # The defaulter gets back all it paid; every other payer keeps no more than its new due.
        refunded = sum(
            r.amount
            for r in settlement.cycle_refunds(self.uows(), self.auditor, cycle.id)
            if r.participant_id == defaulter
        )
        assert refunded == holdings[defaulter][1]
        new_holdings = self.holdings(successor.id)
        for participant, (_due, held, _entity) in holdings.items():
            if participant == defaulter:
                continue
            new_due = new_holdings.get(participant, (0, 0, entity))[0]
            now_held = new_holdings.get(participant, (0, 0, entity))[1]
            assert now_held == min(held, new_due), (participant, held, new_due, now_held)
        if successor.required_approvals:
            assert successor.status is CycleStatus.PROPOSED
            assert all(statuses[i][0] == Status.IN_CYCLE.value for i in kept)
            assert all(statuses[i][2] == successor.id for i in kept)
        else:
            assert successor.status is CycleStatus.SETTLED
