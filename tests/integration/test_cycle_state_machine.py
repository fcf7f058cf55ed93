"""A Hypothesis state machine over the invoice and cycle use cases, on real PostgreSQL.

Traders submit, confirm (with a matching or a mismatching echo), dispute and cancel invoices;
operators open cycles, set rates, close, approve, reject, record pay-ins and declare defaults.
Every rule predicts whether the domain must accept the move and, when it must refuse, with
which error; every other error fails the test. After every step the invariants of DESIGN §4-§6
are checked against the database itself:

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
* :func:`clearing.use_cases.cycles.verify` reports ok.

The database is the session's throwaway one (``engine`` fixture), emptied for every example.
"""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, text

from clearing.adapters.persistence.tables import Base
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.domain.access import Principal
from clearing.domain.cycles import ACTIVE_STATES, Cycle, CycleStatus
from clearing.domain.errors import ClearingError, Conflict, Forbidden, InvalidInput, NotFound
from clearing.domain.invoices import OPEN_STATES, Invoice, InvoiceDraft, Status
from clearing.domain.ledger import GENESIS_HASH
from clearing.domain.money import format_amount
from clearing.domain.rates import RateSet
from clearing.use_cases import audit, compliance, invoices, keys, settlement
from clearing.use_cases import cycles as cycles_use_cases
from clearing.use_cases import participants as participants_use_cases

pytestmark = pytest.mark.postgres

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

_CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
MACHINE_SETTINGS = settings(
    max_examples=50 if _CI else 20,
    stateful_step_count=35 if _CI else 25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


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


def empty_database(engine: Engine) -> None:
    """Empty every table as the ``uows`` fixture does, then restore the migrations' data."""
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        # Journal tables refuse TRUNCATE by trigger; a replica session does not fire triggers.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # Migration 0002 seeds the ledger head; TRUNCATE removed it with the rest.
        connection.execute(
            text("INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, :genesis)"),
            {"genesis": GENESIS_HASH},
        )


class CycleMachine(RuleBasedStateMachine):
    """Random walks through the invoice and cycle lifecycles of two mirrored entities."""

    engine: ClassVar[Engine | None] = None

    def __init__(self) -> None:
        super().__init__()
        assert self.engine is not None, "the engine fixture binds CycleMachine.engine"
        self.db: Engine = self.engine
        empty_database(self.db)
        self.uows = SqlUnitOfWorkFactory(self.db)
        self.reader = self.db.connect()
        compliance.reset_rules(self.uows())
        self.invoices: list[str] = []
        self.traders: dict[str, Principal] = {}
        self.participants: dict[str, list[str]] = {}
        self.operators: dict[str, Principal] = {}
        self.counter = 0

    # --- the world ----------------------------------------------------------------------------

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

    def rows(self, sql: str, **params: Any) -> list[Any]:
        """Read committed data; no transaction is left open between steps."""
        try:
            return list(self.reader.execute(text(sql), params))
        finally:
            self.reader.rollback()

    def teardown(self) -> None:
        self.reader.close()

    def invoice(self, invoice_id: str) -> Invoice:
        return invoices.get_invoice(self.uows(), self.auditor, invoice_id)

    def current_cycle(self) -> Cycle | None:
        """The active cycle, else the most recent one, else None."""
        found = self.rows(
            "SELECT id FROM cycles ORDER BY (active_slot IS NULL), number DESC LIMIT 1"
        )
        return cycles_use_cases.get_cycle(self.uows(), self.auditor, found[0].id) if found else None

    def active_status(self) -> CycleStatus | None:
        found = self.rows("SELECT status FROM cycles WHERE active_slot = 1")
        return CycleStatus(found[0].status) if found else None

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

    def snapshot_ids(self, cycle_id: str) -> set[str]:
        rows = self.rows("SELECT invoice_id FROM cycle_obligations WHERE cycle_id = :c", c=cycle_id)
        return {row.invoice_id for row in rows}

    def lacking_importers(self) -> list[str]:
        """Participants of the first entity with fewer than two importers owing on eligible
        invoices who owe nothing yet (so that cycles have several payers per entity)."""
        owing = {
            row.importer_id
            for row in self.rows("SELECT importer_id FROM invoices WHERE status = 'eligible'")
        }
        for code in sorted(ENTITIES):
            if len(owing & set(self.participants[code])) < 2:
                return [p for p in self.participants[code] if p not in owing]
        return []

    def nothing_due(self, cycle_id: str) -> bool:
        return all(held >= due for due, held, _ in self.holdings(cycle_id).values())

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
            for row in self.rows(
                "SELECT id, currency, outstanding FROM invoices WHERE status = :s",
                s=Status.ELIGIBLE.value,
            )
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
            row.invoice_id: (row.currency, row.outstanding)
            for row in self.rows(
                "SELECT invoice_id, currency, outstanding FROM cycle_obligations "
                "WHERE cycle_id = :c",
                c=cycle.id,
            )
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
        paid = self.rows("SELECT count(*) AS n FROM pay_ins WHERE cycle_id = :c", c=cycle.id)[0].n
        allowed = cycle.status in {CycleStatus.PROPOSED, CycleStatus.APPROVED} and paid == 0
        before = {
            row.id: (row.status, row.outstanding)
            for row in self.rows("SELECT id, status, outstanding FROM invoices")
        }
        rejected = expect(
            None if allowed else Conflict,
            lambda: cycles_use_cases.reject_cycle(
                self.uows(), self.operators[entity], cycle.id, "rates look wrong"
            ),
        )
        after = {
            row.id: (row.status, row.outstanding)
            for row in self.rows("SELECT id, status, outstanding FROM invoices")
        }
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

    def declare(self, defaulter: str) -> None:
        """Declare a payer in default, as the domain must accept, and check the re-netting."""
        cycle = self.current_cycle()
        assert cycle is not None
        holdings = self.holdings(cycle.id)
        entity = holdings[defaulter][2]
        old_snapshot = {
            row.invoice_id: (row.debtor_id, row.creditor_id, row.outstanding)
            for row in self.rows(
                "SELECT invoice_id, debtor_id, creditor_id, outstanding FROM cycle_obligations "
                "WHERE cycle_id = :c",
                c=cycle.id,
            )
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
            row.id: (row.status, row.outstanding, row.cycle_id)
            for row in self.rows("SELECT id, status, outstanding, cycle_id FROM invoices")
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
        entries = self.rows("SELECT seq, entity, hash FROM journal_entries ORDER BY seq")
        postings = self.rows("SELECT seq, entity, account, currency, amount FROM journal_postings")
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1)), "seq has gaps"
        head = self.rows("SELECT seq, hash FROM ledger_head")
        assert [(h.seq, h.hash) for h in head] == [
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
        rows = self.rows(
            "SELECT i.id, i.status, i.amount, i.outstanding, i.cycle_id, "
            "  (SELECT coalesce(sum(o.settled), 0) FROM cycle_obligations o "
            "   JOIN cycles c ON c.id = o.cycle_id "
            "   WHERE o.invoice_id = i.id AND c.status = 'settled') AS settled "
            "FROM invoices i"
        )
        for row in rows:
            assert 0 <= row.outstanding <= row.amount, row
            assert row.amount - row.outstanding == row.settled, row
            assert (row.status == Status.SETTLED.value) == (row.outstanding == 0), row
        active = self.rows("SELECT id, status FROM cycles WHERE active_slot = 1")
        in_cycle = {row.id: row.cycle_id for row in rows if row.status == Status.IN_CYCLE.value}
        if active and active[0].status != CycleStatus.OPEN.value:
            cycle_id = active[0].id
            assert set(in_cycle) == self.snapshot_ids(cycle_id)
            assert set(in_cycle.values()) <= {cycle_id}
            snapshot = self.rows(
                "SELECT o.outstanding AS taken, i.outstanding FROM cycle_obligations o "
                "JOIN invoices i ON i.id = o.invoice_id WHERE o.cycle_id = :c",
                c=cycle_id,
            )
            assert all(row.taken == row.outstanding for row in snapshot)
        else:
            assert not in_cycle, f"invoices in no active cycle: {sorted(in_cycle)}"

    @invariant()
    def at_most_one_cycle_is_active(self) -> None:
        cycles = self.rows(
            "SELECT id, status, active_slot, digest, summary, superseded_by, predecessor_id "
            "FROM cycles"
        )
        active = [c for c in cycles if CycleStatus(c.status) in ACTIVE_STATES]
        assert len(active) <= 1, [c.id for c in active]
        assert all((c.active_slot == 1) == (c in active) for c in cycles)
        by_id = {c.id: c for c in cycles}
        for c in cycles:
            if c.status == CycleStatus.SUPERSEDED.value:
                assert by_id[c.superseded_by].predecessor_id == c.id
            if c.status == CycleStatus.SETTLED.value:
                stored = cycles_use_cases.get_cycle(self.uows(), self.auditor, c.id)
                assert not stored.missing_approvals, f"{c.id} settled without every approval"
                assert all(a.digest == stored.digest for a in stored.approvals)

    @invariant()
    def settled_cycles_close_and_pay_out_only_what_came_in(self) -> None:
        postings = self.rows(
            "SELECT e.cycle_id, e.kind, e.entity, p.account, p.amount FROM journal_entries e "
            "JOIN journal_postings p ON p.seq = e.seq"
        )
        status = {c.id: c.status for c in self.rows("SELECT id, status FROM cycles")}
        posted = {p.cycle_id for p in postings}
        assert all(status.get(c) == CycleStatus.SETTLED.value for c in posted), posted
        first_seq = self.rows(
            # An entry without a record may hold JSON null rather than SQL NULL.
            "SELECT cycle_id, count(*) FILTER (WHERE json_typeof(cycle_record) = 'object') "
            "  AS records "
            "FROM journal_entries WHERE cycle_id IS NOT NULL GROUP BY cycle_id"
        )
        assert all(row.records == 1 for row in first_seq), "a cycle posted more than once"
        movement: dict[tuple[str, str, str], int] = defaultdict(int)
        mirrors: dict[tuple[str, str], int] = defaultdict(int)
        settlement_in: dict[tuple[str, str], int] = defaultdict(int)
        settlement_out: dict[tuple[str, str], int] = defaultdict(int)
        paid_in: dict[tuple[str, str], int] = defaultdict(int)
        for p in postings:
            if p.account.startswith("mirror:"):
                mirrors[(p.cycle_id, p.entity)] += p.amount
            else:
                movement[(p.cycle_id, p.entity, p.account)] += p.amount
            if p.account == "settlement":
                side = settlement_in if p.amount > 0 else settlement_out
                side[(p.cycle_id, p.entity)] += abs(p.amount)
            if p.kind == "pay_in" and p.account.startswith("participant:"):
                paid_in[(p.cycle_id, p.account.removeprefix("participant:"))] -= p.amount
        assert all(v == 0 for v in movement.values()), {k: v for k, v in movement.items() if v}
        assert all(v == 0 for v in mirrors.values()), {k: v for k, v in mirrors.items() if v}
        assert settlement_in == settlement_out
        for cycle_id in (c for c, s in status.items() if s == CycleStatus.SETTLED.value):
            holdings = self.holdings(cycle_id)
            money = self.money_held(cycle_id)
            recorded: dict[str, int] = defaultdict(int)
            for participant, amount in money.items():
                recorded[self.entity_of(participant)] += amount
            for entity in ENTITIES:
                paid_out = settlement_out.get((cycle_id, entity), 0)
                assert paid_out <= recorded[entity], (cycle_id, entity, paid_out, recorded)
            for participant in set(holdings) | set(money):
                due = holdings.get(participant, (0, 0, ""))[0]
                held = money.get(participant, 0)
                assert held == due == paid_in.get((cycle_id, participant), 0), (
                    cycle_id,
                    participant,
                    held,
                    due,
                )

    def money_held(self, cycle_id: str) -> dict[str, int]:
        """Pay-ins recorded for a cycle less its refunds, per participant."""
        held: dict[str, int] = defaultdict(int)
        for row in self.rows(
            "SELECT participant_id, amount FROM pay_ins WHERE cycle_id = :c", c=cycle_id
        ):
            held[row.participant_id] += row.amount
        for row in self.rows(
            "SELECT participant_id, amount FROM refunds WHERE cycle_id = :c", c=cycle_id
        ):
            held[row.participant_id] -= row.amount
        return dict(held)

    @invariant()
    def no_money_is_created_or_lost(self) -> None:
        """What each participant paid, less refunds, is posted by settled cycles or held by the
        active one; the active one never holds more than is due."""
        paid: dict[str, int] = defaultdict(int)
        for row in self.rows(
            "SELECT participant_id, amount FROM pay_ins WHERE carried_from IS NULL"
        ):
            paid[row.participant_id] += row.amount
        for row in self.rows("SELECT participant_id, amount FROM refunds"):
            paid[row.participant_id] -= row.amount
        accounted: dict[str, int] = defaultdict(int)
        for row in self.rows(
            "SELECT p.account, p.amount FROM journal_entries e "
            "JOIN journal_postings p ON p.seq = e.seq "
            "WHERE e.kind = 'pay_in' AND p.account LIKE 'participant:%'"
        ):
            accounted[row.account.removeprefix("participant:")] -= row.amount
        active = self.rows("SELECT id FROM cycles WHERE active_slot = 1")
        if active:
            holdings = self.holdings(active[0].id)
            for participant, held in self.money_held(active[0].id).items():
                assert 0 <= held <= holdings.get(participant, (0, 0, ""))[0], (participant, held)
                accounted[participant] += held
        assert {p: v for p, v in paid.items() if v} == {p: v for p, v in accounted.items() if v}

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


@pytest.fixture(autouse=True)
def _bind_engine(engine: Engine) -> Iterator[None]:
    """Hand the session's migrated database to the machine (its fixtures cannot be injected)."""
    CycleMachine.engine = engine
    yield
    CycleMachine.engine = None


def test_cycles_keep_the_ledger_and_the_money_straight() -> None:
    run_state_machine_as_test(CycleMachine, settings=MACHINE_SETTINGS)


def test_a_default_carries_the_pay_ins_of_two_payers_of_one_entity() -> None:
    """Regression scenario, driven by hand through the machine: CN0 and CN1 owe, CN2 is owed;
    both CN payers pay part of their due, then RU0 defaults. Both pay-ins must be carried into
    the successor and refunded there (DESIGN §6: "other pay-ins already received carry over")."""
    machine = CycleMachine()
    try:
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
    finally:
        machine.teardown()
