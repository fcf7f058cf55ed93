"""The contract of the repositories of cycles, the journal and the counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from clearing.domain.access import Scope
from clearing.domain.cycles import Approval, CycleStatus, PayIn, Refund
from clearing.domain.errors import Conflict
from clearing.domain.invoices import Status, snapshot_of
from clearing.domain.ledger import GENESIS_HASH, JournalEntry, Posting, chain
from clearing.domain.netting import net
from clearing.domain.obligations import Policy
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.port_contract.data import (
    OPENED,
    RATES,
    add,
    cycle,
    invoice,
    seed,
    statuses,
    two_way_trade,
)


class CycleContract:
    """What the use cases rely on from the repositories of cycles and the journal."""

    # --- cycles -------------------------------------------------------------------------------

    def test_a_second_active_cycle_is_a_conflict_but_not_after_the_first_is_settled(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        first = cycle(1, CycleStatus.OPEN)
        with contract_uows() as uow:
            assert uow.cycles.active() is None
            assert uow.cycles.next_number() == 1
            uow.cycles.add(first)
            uow.commit()

        with contract_uows() as uow, pytest.raises(Conflict):
            uow.cycles.add(cycle(2, CycleStatus.OPEN))
        with contract_uows() as uow:
            assert uow.cycles.active() == first
            uow.cycles.save(replace(first, status=CycleStatus.SETTLED))
            assert uow.cycles.active() is None
            assert uow.cycles.next_number() == 2
            uow.cycles.add(cycle(2, CycleStatus.OPEN))
            uow.commit()
        with contract_uows() as uow:
            assert uow.cycles.get(first.id) == replace(first, status=CycleStatus.SETTLED)
            assert uow.cycles.get("cyc_missing") is None

    def test_cycles_are_listed_newest_first_and_paged_by_number(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        with contract_uows() as uow:
            for number in range(1, 6):
                uow.cycles.add(cycle(number, CycleStatus.REJECTED))
            uow.commit()

        with contract_uows() as uow:
            assert [c.number for c in uow.cycles.recent(None, 3)] == [5, 4, 3]
            assert [c.number for c in uow.cycles.recent(3, 10)] == [2, 1]
            assert uow.cycles.recent(1, 10) == []

    def test_approvals_are_read_by_time_then_entity_then_operator(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        proposed = replace(
            cycle(1), closed_by="key_cn", approvals_needed=(("CN", 2), ("KZ", 1), ("RU", 1))
        )
        later = OPENED + timedelta(minutes=5)
        approvals = [
            Approval("RU", "d" * 64, "key_ru", later),
            Approval("CN", "d" * 64, "key_cn2", later),
            Approval("KZ", "d" * 64, "key_kz", OPENED),
            Approval("CN", "d" * 64, "key_cn1", later),
        ]
        with contract_uows() as uow:
            uow.cycles.add(proposed)
            for approval in approvals:
                uow.cycles.add_approval(proposed.id, approval)
            uow.commit()

        with contract_uows() as uow:
            found = uow.cycles.get(proposed.id)
            assert found is not None
            assert found.approvals == (approvals[2], approvals[3], approvals[1], approvals[0])
            assert uow.cycles.recent(None, 1)[0].approvals == found.approvals
            assert (found.closed_by, found.approvals_needed) == (
                proposed.closed_by,
                proposed.approvals_needed,
            )

    def test_a_stored_result_reads_back_by_invoice_id_within_the_scope_and_page(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        _invoices, result = two_way_trade(contract_uows)
        proposed = cycle(1)
        with contract_uows() as uow:
            uow.cycles.add(proposed)
            uow.cycles.store_result(proposed.id, result)
            uow.commit()

        everything = list(result.settlements())
        with contract_uows() as uow:
            assert uow.cycles.settlements(proposed.id, Scope(everything=True)) == everything
            assert uow.cycles.snapshot(proposed.id) == list(result.obligations)
            columns = uow.cycles.snapshot_columns(proposed.id)
            assert sorted(columns.obligations(), key=lambda o: o.obligation_id) == list(
                result.obligations
            )
            first_id = everything[0].obligation.obligation_id
            assert (
                uow.cycles.settlements(proposed.id, Scope(everything=True), after=first_id)
                == everything[1:]
            )
            assert (
                uow.cycles.settlements(proposed.id, Scope(everything=True), limit=1)
                == everything[:1]
            )
            assert uow.cycles.settlements(proposed.id, Scope(entity="CN")) == everything
            assert uow.cycles.settlements(proposed.id, Scope(entity="KZ")) == []
            only_cn_b = [
                s
                for s in everything
                if "suifenhe" in (s.obligation.debtor_id, s.obligation.creditor_id)
            ]
            assert (
                uow.cycles.settlements(proposed.id, Scope(participant_id="suifenhe")) == only_cn_b
            )
            expected = sorted(result.positions, key=lambda p: (p.jurisdiction, p.participant_id))
            assert [p.participant_id for p in expected] == ["heihe", "suifenhe", "amur"]
            assert uow.cycles.positions(proposed.id) == expected
            assert uow.cycles.position(proposed.id, expected[0].participant_id) == expected[0]
            assert uow.cycles.position(proposed.id, "astana") is None
            assert uow.cycles.settlements(cycle(2).id, Scope(everything=True)) == []

    def test_the_cycle_time_transitions_move_invoices_as_the_lifecycle_says(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        (first, second, aside), result = two_way_trade(contract_uows)
        proposed, successor = cycle(1), cycle(2, CycleStatus.SUPERSEDED)
        with contract_uows() as uow:
            uow.cycles.add(proposed)
            uow.cycles.add(successor)
            uow.cycles.store_result(proposed.id, result)
            assert [i.id for i in uow.cycles.eligible_invoices()] == [first.id, second.id]
            uow.cycles.take_invoices(proposed.id, "key_op")
            assert uow.cycles.eligible_invoices() == []
            assert statuses(uow, first, second, aside) == [
                ("in_cycle", first.outstanding, proposed.id),
                ("in_cycle", second.outstanding, proposed.id),
                ("awaiting_confirmation", aside.outstanding, None),
            ]
            uow.cycles.return_invoices(proposed.id, "key_op", "defaulted", [second.id])
            uow.cycles.move_invoices(proposed.id, successor.id)
            assert statuses(uow, first, second) == [
                ("in_cycle", first.outstanding, successor.id),
                ("eligible", second.outstanding, proposed.id),
            ]
            uow.cycles.return_invoices(successor.id, "key_op", "rejected")
            assert statuses(uow, first) == [("eligible", first.outstanding, successor.id)]
            uow.commit()

        with contract_uows() as uow:
            history = [
                (e.from_status, e.to_status, e.reason) for e in uow.invoices.history(second.id)
            ]
        assert history == [
            (None, "eligible", None),
            ("eligible", "in_cycle", f"taken by cycle {proposed.id}"),
            ("in_cycle", "eligible", "defaulted"),
        ]

    def test_settling_applies_what_each_invoice_settled_and_records_it(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        (first, second, _aside), result = two_way_trade(contract_uows)
        proposed = cycle(1)
        with contract_uows() as uow:
            uow.cycles.add(proposed)
            uow.cycles.store_result(proposed.id, result)
            uow.cycles.take_invoices(proposed.id, "key_op")
            uow.cycles.settle_invoices(proposed.id, "key_op")
            uow.commit()

        by_id = {s.obligation.obligation_id: s for s in result.settlements()}
        with contract_uows() as uow:
            for stored in (first, second):
                s = by_id[stored.id]
                after = uow.invoices.get(stored.id)
                assert after is not None
                assert after.outstanding == stored.outstanding - s.settled
                assert after.status is (Status.SETTLED if s.remaining == 0 else Status.ELIGIBLE)
                last = uow.invoices.history(stored.id)[-1]
                assert (last.from_status, last.to_status) == ("in_cycle", after.status.value)
                assert last.reason == (
                    f"cycle {proposed.id} settled {s.settled} of {stored.outstanding} minor units"
                )
        assert {s.remaining == 0 for s in by_id.values()} == {True, False}

    def test_a_take_leaves_what_its_snapshot_does_not_hold_as_the_last_cycle_left_it(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        (first, second, _aside), result = two_way_trade(contract_uows)
        (other,) = add(contract_uows, invoice(4, exporter="astana", importer="heihe"))
        settled, later = cycle(1, CycleStatus.SETTLED), cycle(2)
        with contract_uows() as uow:
            uow.cycles.add(settled)
            uow.cycles.store_result(settled.id, result)
            uow.cycles.take_invoices(settled.id, "key_op")
            uow.cycles.settle_invoices(settled.id, "key_op")
            uow.commit()
        with contract_uows() as uow:
            before = [uow.invoices.get(i.id) for i in (first, second)]
            histories = [uow.invoices.history(i.id) for i in (first, second)]
            assert [(i.status, i.cycle_id) for i in before if i is not None] == [
                (Status.ELIGIBLE, settled.id),
                (Status.SETTLED, settled.id),
            ]
            assert [i.id for i in uow.cycles.eligible_invoices()] == [first.id, other.id]

        with contract_uows() as uow:
            uow.cycles.add(later)
            uow.cycles.store_result(later.id, net(snapshot_of([other]), RATES, Policy.FIFO))
            uow.cycles.take_invoices(later.id, "key_op")
            uow.commit()

        with contract_uows() as uow:
            assert [uow.invoices.get(i.id) for i in (first, second)] == before
            assert [uow.invoices.history(i.id) for i in (first, second)] == histories
            assert statuses(uow, other) == [("in_cycle", other.outstanding, later.id)]
            assert [i.id for i in uow.cycles.eligible_invoices()] == [first.id]

    def test_screened_out_invoices_are_rejected_with_their_rule(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        (stored,) = add(contract_uows, invoice(1))
        with contract_uows() as uow:
            uow.cycles.reject_invoices([(stored, "blocked_party:amur", "on the list")], "key_op")
            uow.commit()

        with contract_uows() as uow:
            rejected = uow.invoices.get(stored.id)
            last = uow.invoices.history(stored.id)[-1]
        assert rejected is not None
        assert rejected.status is Status.REJECTED
        assert rejected.rejection is not None
        assert (rejected.rejection.rule, rejected.rejection.reason) == (
            "blocked_party:amur",
            "on the list",
        )
        assert (last.from_status, last.to_status, last.reason) == (
            "eligible",
            "rejected",
            "on the list",
        )

    def test_pay_ins_are_read_in_the_order_recorded_and_refunds_net_off_what_is_held(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        _invoices, result = two_way_trade(contract_uows)
        proposed = cycle(1)
        payer = next(p for p in result.positions if p.pay_in > p.pay_out)
        due = payer.pay_in - payer.pay_out

        def pay_in(ident: str, amount: int, reference: str) -> PayIn:
            return PayIn(
                ident,
                proposed.id,
                payer.participant_id,
                payer.jurisdiction,
                payer.currency,
                amount,
                reference,
                "key_op",
            )

        with contract_uows() as uow:
            uow.cycles.add(proposed)
            uow.cycles.store_result(proposed.id, result)
            assert uow.cycles.pay_ins_missing(proposed.id)
            uow.cycles.add_pay_ins([pay_in("pay_b", 2, "REF-B"), pay_in("pay_a", 3, "REF-A")])
            uow.cycles.add_pay_ins([pay_in("pay_0", due - 5, "REF-0")])
            uow.cycles.add_pay_ins([])
            uow.commit()

        with contract_uows() as uow:
            assert [p.id for p in uow.cycles.pay_ins(proposed.id)] == ["pay_a", "pay_b", "pay_0"]
            assert uow.cycles.received(proposed.id) == {payer.participant_id: due}
            assert not uow.cycles.pay_ins_missing(proposed.id)
            assert uow.cycles.bank_reference_used(proposed.id, payer.jurisdiction, "REF-A")
            assert not uow.cycles.bank_reference_used(proposed.id, "KZ", "REF-A")
            assert not uow.cycles.bank_reference_used(proposed.id, payer.jurisdiction, "REF-C")
            refund = Refund(
                proposed.id, payer.participant_id, payer.jurisdiction, payer.currency, 4, "excess"
            )
            uow.cycles.add_refunds([refund])
            uow.cycles.add_refunds([])
            assert uow.cycles.refunds(proposed.id) == [refund]
            assert uow.cycles.received(proposed.id) == {payer.participant_id: due - 4}
            assert uow.cycles.pay_ins_missing(proposed.id)
            assert uow.cycles.received(cycle(2).id) == {}

    # --- the ledger and the counts ------------------------------------------------------------

    def test_the_journal_starts_empty_at_the_genesis_head(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        with contract_uows() as uow:
            assert uow.ledger.head() == (0, GENESIS_HASH)
            assert uow.ledger.head(for_update=True) == (0, GENESIS_HASH)
            assert uow.ledger.documents() == []
            assert list(uow.ledger.iterate_documents()) == []
            assert uow.ledger.balances() == {}
            assert uow.ledger.count() == 0

    def test_appended_entries_read_back_as_their_documents_by_seq_and_entity(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        record = {"cycle_id": "cyc_1", "digest": "d" * 64, "obligations": [("a", 1)]}
        entries = [
            JournalEntry(
                entity,
                "discharge" if n == 0 else "pay_in",
                (
                    Posting(
                        "participant:heihe" if entity == "CN" else "participant:amur",
                        currency,
                        n + 1,
                    ),
                    Posting("settlement", currency, -(n + 1)),
                ),
                cycle_id="cyc_1",
                cycle=record if n == 0 else None,
            )
            for n, (entity, currency) in enumerate(
                [("CN", "CNY"), ("RU", "RUB"), ("CN", "CNY"), ("CN", "CNY"), ("RU", "RUB")]
            )
        ]
        chained = chain(entries)
        with contract_uows() as uow:
            assert uow.ledger.append([]) == 0
            assert uow.ledger.append(chained[:2]) == 4
            head = uow.ledger.head(for_update=True)
            assert head == (2, chained[1].hash)
            assert uow.ledger.append(chain(entries[2:], after_seq=2, prev_hash=head[1])) == 6
            uow.commit()

        documents = [c.document() for c in chained]
        documents[0]["cycle"] = {**record, "obligations": [["a", 1]]}
        with contract_uows() as uow:
            assert uow.ledger.documents() == documents
            assert uow.ledger.documents(after=1, limit=2) == documents[1:3]
            assert uow.ledger.documents(entity="RU") == [documents[1], documents[4]]
            assert uow.ledger.documents(after=2, limit=1, entity="RU") == [documents[4]]
            assert list(uow.ledger.iterate_documents(batch=2)) == documents
            assert uow.ledger.head() == (5, chained[-1].hash)
            assert uow.ledger.count() == 5
            assert uow.ledger.balances() == {
                ("CN", "participant:heihe", "CNY"): 1 + 3 + 4,
                ("CN", "settlement", "CNY"): -(1 + 3 + 4),
                ("RU", "participant:amur", "RUB"): 2 + 5,
                ("RU", "settlement", "RUB"): -(2 + 5),
            }
            assert list(uow.ledger.balances("RU")) == [
                ("RU", "participant:amur", "RUB"),
                ("RU", "settlement", "RUB"),
            ]

    def test_the_counts_are_of_cycles_and_invoices_by_status(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        add(contract_uows, invoice(1), invoice(2), invoice(3, status=Status.DISPUTED))
        with contract_uows() as uow:
            uow.cycles.add(cycle(1, CycleStatus.SETTLED))
            uow.cycles.add(cycle(2, CycleStatus.OPEN))
            uow.commit()
        with contract_uows() as uow:
            assert uow.stats.invoices_by_status() == {"eligible": 2, "disputed": 1}
            assert uow.stats.cycles_by_status() == {"settled": 1, "open": 1}
