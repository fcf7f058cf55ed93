"""A Hypothesis state machine in which pay-ins (by hand and by statement), stray credits,
suspense assignments and returns, re-imports, defaults and the bank's execution of each payment
file interleave, with a simulated bank account per entity beside the books.

After every step the invariants of DESIGN §5 hold (``audit verify``: every entry balances, the
chain holds, every settled cycle closes with the cycles it superseded) and the journal
reconciles with the bank: each entity's ``settlement`` account equals what the bank holds less
the refunds journaled as due but not yet paid out, and ``suspense`` holds exactly the credits
waiting there.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import replace

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from clearing.adapters.files.bank_statements import read_statement
from clearing.domain.bank import OPEN_SUSPENSE, Reconciliation
from clearing.domain.cycles import Cycle, CycleStatus, Refund
from clearing.domain.money import format_amount
from clearing.domain.payments import Purpose, return_reference
from clearing.use_cases import audit, bank, cycles, settlement, suspense
from clearing.use_cases.settlement import PositionView
from tests.bank_files import Line, camt, statement_csv
from tests.pilot import ENTITY_BANKS, make_pilot
from tests.unit.use_cases.world import new_store

ENTITIES = ("CN", "RU")
CURRENCY = {"CN": "CNY", "RU": "RUB"}
ENTITY = st.sampled_from(ENTITIES)


class BankMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.pilot = make_pilot(new_store())
        self.cycle = self._approve(self.pilot.cycle)
        self.chain: list[Cycle] = [self.cycle]
        #: What each entity's bank account holds, in minor units.
        self.bank: dict[str, int] = defaultdict(int)
        #: Refunds journaled as due that the bank has not paid yet.
        self.refunds_unpaid: dict[str, int] = defaultdict(int)
        self.refunds_seen: set[Refund] = set()
        #: The lines each entity imported, for re-imports.
        self.imported: dict[str, list[Line]] = defaultdict(list)
        self.paid_files: set[str] = set()
        self.numbers = itertools.count(1)

    # --- helpers ---

    def _approve(self, cycle: Cycle) -> Cycle:
        for entity in cycle.required_approvals:
            assert cycle.digest is not None
            cycle = cycles.approve_cycle(
                self.pilot.uows(), self.pilot.principals[f"op-{entity}"], cycle.id, cycle.digest
            )
        return cycle

    def _refresh(self) -> Cycle:
        self.cycle = cycles.get_cycle(
            self.pilot.uows(), self.pilot.principals["auditor"], self.cycle.id
        )
        return self.cycle

    def _awaiting(self) -> bool:
        return self._refresh().status in (CycleStatus.APPROVED, CycleStatus.SETTLING)

    def _owing(self, entity: str) -> list[PositionView]:
        views = settlement.cycle_positions(
            self.pilot.uows(), self.pilot.principals["auditor"], self.cycle.id
        )
        owing = [v for v in views if v.position.jurisdiction == entity and v.outstanding > 0]
        # Ids are random per run: draw in an order that depends on the trade alone.
        return sorted(owing, key=lambda v: (v.position.pay_in, v.position.pay_out))

    def _import(self, entity: str, lines: list[Line], as_csv: bool) -> bank.ImportReport:
        content = (
            statement_csv(lines)
            if as_csv
            else camt(lines, account=ENTITY_BANKS[entity][1], message_id=f"M{next(self.numbers)}")
        )
        report = bank.import_statement(
            self.pilot.uows(), self.pilot.principals[f"op-{entity}"], read_statement(content)
        )
        self.imported[entity].extend(line for line in lines if line not in self.imported[entity])
        self._pay_what_settled()
        return report

    def _book(self, entity: str, line: Line) -> Line:
        """The bank books the line on the entity's account."""
        self.bank[entity] += line.amount if line.credit else -line.amount
        return line

    def _pay_what_settled(self) -> None:
        """The bank executes each settled cycle's payment file, and its statement comes back."""
        cycle = self._refresh()
        if cycle.status is not CycleStatus.SETTLED or cycle.id in self.paid_files:
            return
        self.paid_files.add(cycle.id)
        event(f"a cycle settled after {len(self.chain) - 1} defaults")
        for entity in ENTITIES:
            order = settlement.payment_order(
                self.pilot.uows(), self.pilot.principals[f"op-{entity}"], cycle.id, entity
            )
            if not order.transfers:
                continue
            for transfer in order.transfers:
                if transfer.purpose == Purpose.REFUND:
                    self.refunds_unpaid[entity] -= transfer.amount
            batch = tuple((t.amount, t.reference) for t in order.transfers)
            debit = self._book(
                entity,
                Line(
                    f"{entity}-OUT-{next(self.numbers)}",
                    sum(amount for amount, _ in batch),
                    CURRENCY[entity],
                    credit=False,
                    batch=batch,
                ),
            )
            report = self._import(entity, [debit], as_csv=False)
            assert (report.matched, report.unmatched) == (len(batch), 0)

    # --- rules ---

    @precondition(lambda self: self._awaiting())
    @rule(
        entity=ENTITY,
        data=st.data(),
        share=st.sampled_from(["all", "part", "too_much"]),
        as_csv=st.booleans(),
        reimport=st.booleans(),
    )
    def a_payer_pays_and_the_statement_is_imported(
        self, entity: str, data: st.DataObject, share: str, as_csv: bool, reimport: bool
    ) -> None:
        owing = self._owing(entity)
        if not owing:
            return
        view = data.draw(st.sampled_from(owing))
        amount = {
            "all": view.outstanding,
            "part": max(view.outstanding // 3, 1),
            "too_much": view.outstanding + 1,
        }[share]
        line = self._book(
            entity,
            Line(
                f"{entity}-IN-{next(self.numbers)}",
                amount,
                CURRENCY[entity],
                remittance=view.payment_reference or "",
            ),
        )
        lines = [*self.imported[entity], line] if reimport else [line]
        report = self._import(entity, lines, as_csv)
        assert report.duplicates == len(lines) - 1
        [fresh] = [x for x in report.lines if x.entry is not None]
        expected = Reconciliation.SUSPENSE if share == "too_much" else Reconciliation.MATCHED
        assert fresh.entry is not None
        assert fresh.entry.status is expected, fresh.entry.note

    @precondition(lambda self: self._awaiting())
    @rule(
        entity=ENTITY,
        data=st.data(),
        statement=st.sampled_from(["not yet", "same reference", "typed another reference"]),
    )
    def an_operator_records_a_pay_in_by_hand(
        self, entity: str, data: st.DataObject, statement: str
    ) -> None:
        owing = self._owing(entity)
        if not owing:
            return
        view = data.draw(st.sampled_from(owing))
        operator = self.pilot.principals[f"op-{entity}"]
        line = self._book(
            entity,
            Line(
                f"{entity}-HAND-{next(self.numbers)}",
                view.outstanding,
                CURRENCY[entity],
                remittance=view.payment_reference or "",
            ),
        )
        cycle_id = self.cycle.id
        typed = (
            f"TYPED-{next(self.numbers)}"
            if statement == "typed another reference"
            else line.reference
        )
        settlement.record_pay_in(
            self.pilot.uows(),
            operator,
            cycle_id,
            view.position.participant_id,
            view.position.currency,
            format_amount(line.amount, line.currency),
            typed,
            line.value_date,
        )
        self._pay_what_settled()
        if statement == "not yet":
            return
        [found] = self._import(entity, [line], as_csv=False).lines
        assert found.entry is not None
        if statement == "same reference":
            assert found.entry.status is Reconciliation.MATCHED, found.entry.note
            return
        # The same money under another reference: it waits in suspense until the operator
        # says which pay-in it is.
        assert found.entry.status is Reconciliation.SUSPENSE, found.entry.note
        pay_ins = settlement.cycle_pay_ins(self.pilot.uows(), operator, cycle_id)
        [by_hand] = [p for p in pay_ins if p.bank_reference == typed]
        suspense.match_suspense(self.pilot.uows(), operator, found.entry.id, by_hand.id)

    @rule(entity=ENTITY, amount=st.integers(2, 10**7))
    def a_batch_credit_is_notified_whole_then_stated_split(self, entity: str, amount: int) -> None:
        reference = f"{entity}-BATCH-{next(self.numbers)}"
        whole = self._book(entity, Line(reference, amount, CURRENCY[entity]))
        split = replace(whole, batch=((1, "first"), (amount - 1, "second")))
        notified = self._import(entity, [whole], as_csv=False)
        stated = bank.import_statement(
            self.pilot.uows(),
            self.pilot.principals[f"op-{entity}"],
            read_statement(
                camt(
                    [split],
                    account=ENTITY_BANKS[entity][1],
                    message="camt.053.001.08",
                    message_id=f"S{next(self.numbers)}",
                )
            ),
        )
        assert (notified.unmatched, stated.duplicates, stated.unmatched) == (1, 2, 0)

    @rule(entity=ENTITY, amount=st.integers(1, 10**7), stale=st.booleans())
    def a_credit_nobody_expects_arrives(self, entity: str, amount: int, stale: bool) -> None:
        reference = ""
        if stale and len(self.chain) > 1:
            superseded = self.chain[0]
            views = settlement.cycle_positions(
                self.pilot.uows(), self.pilot.principals["auditor"], superseded.id
            )
            reference = next((v.payment_reference or "" for v in views if v.due), "")
        line = self._book(
            entity,
            Line(
                f"{entity}-X-{next(self.numbers)}", amount, CURRENCY[entity], remittance=reference
            ),
        )
        [found] = self._import(entity, [line], as_csv=False).lines
        assert found.entry is not None
        assert found.entry.status is Reconciliation.SUSPENSE

    @rule(entity=ENTITY, data=st.data())
    def an_operator_returns_a_suspense_credit(self, entity: str, data: st.DataObject) -> None:
        waiting = self._suspense(entity)
        if not waiting:
            return
        entry = data.draw(st.sampled_from(waiting))
        suspense.return_suspense(
            self.pilot.uows(), self.pilot.principals[f"op-{entity}"], entry.id, "unknown payer"
        )
        debit = self._book(
            entity,
            Line(
                f"{entity}-RET-{next(self.numbers)}",
                entry.line.amount,
                CURRENCY[entity],
                credit=False,
                end_to_end_id=return_reference(entry.id),
            ),
        )
        [found] = self._import(entity, [debit], as_csv=False).lines
        assert found.entry is not None
        assert found.entry.status is Reconciliation.CONFIRMED, found.entry.note

    @precondition(lambda self: self._awaiting())
    @rule(entity=ENTITY, data=st.data())
    def an_operator_assigns_a_suspense_credit(self, entity: str, data: st.DataObject) -> None:
        waiting = self._suspense(entity)
        owing = self._owing(entity)
        fits = [
            (entry, view)
            for entry in waiting
            for view in owing
            if entry.line.amount <= view.outstanding
        ]
        if not fits:
            return
        entry, view = data.draw(st.sampled_from(fits))
        suspense.assign_suspense(
            self.pilot.uows(),
            self.pilot.principals[f"op-{entity}"],
            entry.id,
            self.cycle.id,
            view.position.participant_id,
        )
        self._pay_what_settled()

    @precondition(lambda self: self._awaiting() and len(self.chain) < 3)
    @rule(entity=ENTITY, data=st.data())
    def a_payer_defaults(self, entity: str, data: st.DataObject) -> None:
        owing = self._owing(entity)
        if not owing:
            return
        view = data.draw(st.sampled_from(owing))
        superseded = self.cycle
        successor = settlement.declare_default(
            self.pilot.uows(),
            self.pilot.principals[f"op-{entity}"],
            superseded.id,
            view.position.participant_id,
            "did not pay",
        )
        # The defaulter's pay-ins go back from the superseded cycle, others' excess from the
        # successor: both fall due now.
        for cycle_id in (superseded.id, successor.id):
            for refund in settlement.cycle_refunds(
                self.pilot.uows(), self.pilot.principals["auditor"], cycle_id
            ):
                if refund not in self.refunds_seen:
                    self.refunds_seen.add(refund)
                    self.refunds_unpaid[refund.entity] += refund.amount
        self.cycle = successor
        self.chain.append(successor)
        if successor.status is CycleStatus.PROPOSED:
            self.cycle = self._approve(successor)
        self._pay_what_settled()

    def _suspense(self, entity: str) -> list[bank.BankEntry]:
        waiting = bank.bank_entries(
            self.pilot.uows(), self.pilot.principals[f"op-{entity}"], OPEN_SUSPENSE, None, 500
        )
        return sorted(waiting, key=lambda e: e.line.key)

    # --- invariants ---

    @invariant()
    def the_journal_verifies(self) -> None:
        report = audit.verify(self.pilot.uows(), self.pilot.principals["auditor"])
        assert report.ok, report.problems

    @invariant()
    def the_journal_reconciles_with_the_bank_account(self) -> None:
        with self.pilot.uows() as uow:
            balances = uow.ledger.balances()
        for entity in ENTITIES:
            settlement_account = balances.get((entity, "settlement", CURRENCY[entity]), 0)
            suspense = balances.get((entity, "suspense", CURRENCY[entity]), 0)
            assert settlement_account == self.bank[entity] - self.refunds_unpaid[entity]
            assert -suspense == sum(e.line.amount for e in self._suspense(entity))


BankMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_pay_ins_statements_suspense_and_defaults_interleave_and_the_books_match_the_bank = (
    BankMachine.TestCase
)
