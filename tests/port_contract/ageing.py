"""The contract of ageing (DESIGN §6a) in storage: the ageing rules, the first eligibility and
the cycles that carried each invoice through the cycle-time transitions, the stale filter of a
list, and the pool's carried value invoice by invoice and summed by corridor and age."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from clearing.domain.access import Scope
from clearing.domain.ageing import AgeingKind, AgeingRule, CarriedTotal, StaleTest
from clearing.domain.cycles import CycleStatus
from clearing.domain.errors import Conflict
from clearing.domain.imbalance import CarriedObligation
from clearing.domain.invoices import Invoice, InvoiceEvent, InvoiceFilter, Status, snapshot_of
from clearing.domain.netting import net
from clearing.domain.obligations import Policy
from clearing.use_cases.ports import UnitOfWork, UnitOfWorkFactory
from tests.port_contract.data import RATES, add, cycle, invoice, seed, two_way_trade

AS_OF = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def carried(uow: UnitOfWork, *invoices: Invoice) -> list[tuple[str, int]]:
    """Each invoice's status and the cycles that carried it, as read."""
    found = [uow.invoices.get(i.id) for i in invoices]
    return [(i.status.value, i.cycles_carried) for i in found if i is not None]


def stale_ids(uow: UnitOfWork, test: StaleTest, *, stale: bool = True, **more: object) -> list[str]:
    filters = InvoiceFilter(
        **{
            "limit": 100,
            "scope": Scope(everything=True),
            "stale": stale,
            "stale_test": test,
            **more,
        }  # type: ignore[arg-type]
    )
    return [i.id for i in uow.invoices.list(filters)]


class AgeingContract:
    """What the use cases rely on from storage for ageing and the stale queue."""

    # --- the rules -------------------------------------------------------------------------

    def test_ageing_rules_are_listed_by_kind_and_threshold_and_one_alike_is_a_conflict(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        rules = [
            AgeingRule(AgeingKind.DAYS_OVERDUE, 30, "a month overdue"),
            AgeingRule(AgeingKind.CYCLES_CARRIED, 6),
            AgeingRule(AgeingKind.CYCLES_CARRIED, 2, "two cycles"),
        ]
        with contract_uows() as uow:
            assert uow.ageing_rules.list() == []
            for rule in rules:
                uow.ageing_rules.add(rule)
            uow.commit()

        with contract_uows() as uow:
            assert uow.ageing_rules.list() == [rules[2], rules[1], rules[0]]
            with pytest.raises(Conflict) as refused:
                uow.ageing_rules.add(AgeingRule(AgeingKind.CYCLES_CARRIED, 6, "again"))
        assert refused.value.field == "threshold"

    def test_a_removed_ageing_rule_is_gone_and_removing_it_again_removes_nothing(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        kept = AgeingRule(AgeingKind.DAYS_OVERDUE, 30)
        gone = AgeingRule(AgeingKind.DAYS_OVERDUE, 10)
        with contract_uows() as uow:
            uow.ageing_rules.add(kept)
            uow.ageing_rules.add(gone)
            uow.commit()

        with contract_uows() as uow:
            assert uow.ageing_rules.remove(gone)
            assert not uow.ageing_rules.remove(gone)
            assert not uow.ageing_rules.remove(AgeingRule(AgeingKind.CYCLES_CARRIED, 30))
            uow.commit()
        with contract_uows() as uow:
            assert uow.ageing_rules.list() == [kept]

    # --- the first eligibility and the cycles carried ----------------------------------------

    def test_an_invoice_stored_into_the_pool_is_eligible_from_then_unless_it_says_since_when(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        since = datetime(2026, 11, 2, 8, 15, 30, 123456, tzinfo=UTC)
        before = datetime.now(UTC)
        pooled, waiting, dated = add(
            contract_uows,
            invoice(1),
            invoice(2, status=Status.AWAITING_CONFIRMATION),
            invoice(3, first_eligible_at=since, cycles_carried=2),
        )
        confirmed = replace(waiting, status=Status.ELIGIBLE, first_eligible_at=since)
        with contract_uows() as uow:
            uow.invoices.save(
                confirmed, InvoiceEvent(waiting.id, "awaiting_confirmation", "eligible", "k")
            )
            uow.commit()
        after = datetime.now(UTC)

        with contract_uows() as uow:
            found = {i.id: uow.invoices.get(i.id) for i in (pooled, waiting, dated)}
        assert found[pooled.id] == pooled
        assert pooled.first_eligible_at is not None
        assert before <= pooled.first_eligible_at <= after
        assert waiting.first_eligible_at is None
        assert found[waiting.id] == confirmed
        assert found[dated.id] == dated
        assert (dated.first_eligible_at, dated.cycles_carried) == (since, 2)

    def test_a_cycle_that_settles_carries_what_it_leaves_in_the_pool_once(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        (first, second, _aside), result = two_way_trade(contract_uows)
        proposed = cycle(1)
        with contract_uows() as uow:
            uow.cycles.add(proposed)
            uow.cycles.store_result(proposed.id, result)
            uow.cycles.take_invoices(proposed.id, "key_op")
            # Taken, not yet carried: the cycle may still settle it in full.
            assert carried(uow, first, second) == [("in_cycle", 0), ("in_cycle", 0)]
            uow.cycles.settle_invoices(proposed.id, "key_op")
            uow.cycles.save(replace(proposed, status=CycleStatus.SETTLED))
            uow.commit()

        # The first is settled in part (carried), the second in full (not).
        with contract_uows() as uow:
            assert carried(uow, first, second) == [("eligible", 1), ("settled", 0)]
            left = uow.invoices.get(first.id)
            assert left is not None
            later = cycle(2)
            uow.cycles.add(later)
            uow.cycles.store_result(later.id, net(snapshot_of([left]), RATES, Policy.FIFO))
            uow.cycles.take_invoices(later.id, "key_op")
            assert carried(uow, first) == [("in_cycle", 1)]
            uow.cycles.settle_invoices(later.id, "key_op")
            uow.commit()

        with contract_uows() as uow:
            assert carried(uow, first, second) == [("eligible", 2), ("settled", 0)]
            # Written by another transition, the count stays what it was.
            shown = uow.invoices.get(first.id)
            assert shown is not None
            released = replace(shown, status=Status.RELEASED)
            uow.invoices.save(released, InvoiceEvent(first.id, "eligible", "released", "k"))
            uow.commit()
        with contract_uows() as uow:
            assert carried(uow, first) == [("released", 2)]

    def test_a_cycle_that_does_not_hold_an_invoice_does_not_carry_it(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        (first, second, _aside), result = two_way_trade(contract_uows)
        settled, later = cycle(1), cycle(2)
        with contract_uows() as uow:
            uow.cycles.add(settled)
            uow.cycles.store_result(settled.id, result)
            uow.cycles.take_invoices(settled.id, "key_op")
            uow.cycles.settle_invoices(settled.id, "key_op")
            uow.cycles.save(replace(settled, status=CycleStatus.SETTLED))
            uow.commit()
        # Eligible after the first cut-off: not in it, and not carried by it.
        (other,) = add(contract_uows, invoice(4, exporter="astana", importer="suifenhe"))
        with contract_uows() as uow:
            left = uow.invoices.get(first.id)
            assert carried(uow, first, other) == [("eligible", 1), ("eligible", 0)]

        # The next cut-off leaves the first behind (its snapshot holds the other only).
        with contract_uows() as uow:
            uow.cycles.add(later)
            uow.cycles.store_result(later.id, net(snapshot_of([other]), RATES, Policy.FIFO))
            uow.cycles.take_invoices(later.id, "key_op")
            uow.cycles.settle_invoices(later.id, "key_op")
            uow.commit()

        with contract_uows() as uow:
            assert carried(uow, first, second, other) == [
                ("eligible", 1),
                ("settled", 0),
                ("eligible", 1),
            ]
            assert uow.invoices.get(first.id) == left

    def test_a_rejected_proposal_carries_nothing_and_a_default_carries_what_it_drops(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        (first, second, _aside), result = two_way_trade(contract_uows)
        rejected, defaulted, successor = cycle(1), cycle(2), cycle(3)
        with contract_uows() as uow:
            uow.cycles.add(rejected)
            uow.cycles.store_result(rejected.id, result)
            uow.cycles.take_invoices(rejected.id, "key_op")
            uow.cycles.return_invoices(rejected.id, "key_op", "rates disputed")
            uow.cycles.save(replace(rejected, status=CycleStatus.REJECTED))
            assert carried(uow, first, second) == [("eligible", 0), ("eligible", 0)]

            uow.cycles.add(defaulted)
            uow.cycles.store_result(defaulted.id, result)
            uow.cycles.take_invoices(defaulted.id, "key_op")
            uow.cycles.save(replace(defaulted, status=CycleStatus.SUPERSEDED))
            uow.cycles.add(replace(successor, predecessor_id=defaulted.id))
            kept = uow.invoices.get(first.id)
            assert kept is not None
            uow.cycles.store_result(successor.id, net(snapshot_of([kept]), RATES, Policy.FIFO))
            uow.cycles.return_invoices(
                defaulted.id, "key_op", "defaulted", [second.id], carried=True
            )
            uow.cycles.move_invoices(defaulted.id, successor.id)
            assert carried(uow, first, second) == [("in_cycle", 0), ("eligible", 1)]
            uow.commit()

        # The successor carries what it holds, once for the superseded cycle and itself.
        with contract_uows() as uow:
            uow.cycles.settle_invoices(successor.id, "key_op")
            uow.commit()
        with contract_uows() as uow:
            assert carried(uow, first, second) == [("eligible", 1), ("eligible", 1)]

    # --- the stale filter --------------------------------------------------------------------

    def test_the_stale_filter_lists_the_pool_by_the_test_within_scope_and_page(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        issued = date(2025, 12, 1)
        stored = add(
            contract_uows,
            invoice(1, issue_date=issued, due_date=date(2026, 10, 31)),
            invoice(2, cycles_carried=3),
            invoice(3, cycles_carried=2, issue_date=issued, due_date=date(2026, 11, 1)),
            invoice(
                4,
                status=Status.RELEASED,
                cycles_carried=5,
                issue_date=issued,
                due_date=date(2026, 1, 1),
            ),
            invoice(
                5,
                status=Status.IN_CYCLE,
                cycle_id="cyc_1",
                issue_date=issued,
                due_date=date(2026, 1, 1),
            ),
            invoice(6, exporter="astana", importer="suifenhe", cycles_carried=9),
            invoice(
                7, status=Status.AWAITING_CONFIRMATION, issue_date=issued, due_date=date(2026, 1, 1)
            ),
        )
        ids = [i.id for i in stored]
        test = StaleTest(cycles=3, due_by=date(2026, 10, 31))

        with contract_uows() as uow:
            assert stale_ids(uow, test) == [ids[0], ids[1], ids[4], ids[5]]
            assert stale_ids(uow, test, stale=False) == [ids[2], ids[3], ids[6]]
            assert stale_ids(uow, test, limit=2) == [ids[0], ids[1]]
            assert stale_ids(uow, test, after_sequence=stored[1].sequence) == [ids[4], ids[5]]
            assert stale_ids(uow, test, scope=Scope(entity="KZ")) == [ids[5]]
            assert stale_ids(uow, test, status="in_cycle") == [ids[4]]
            assert stale_ids(uow, StaleTest(None, date(2026, 10, 31))) == [ids[0], ids[4]]
            assert stale_ids(uow, StaleTest(2, None)) == [ids[1], ids[2], ids[5]]
            assert stale_ids(uow, StaleTest(None, None)) == []
            assert stale_ids(uow, StaleTest(None, None), stale=False) == ids

    def test_the_stale_filter_counts_the_cycles_that_carried_an_invoice_as_it_reads_them(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        (first, second, _aside), result = two_way_trade(contract_uows)
        proposed = cycle(1)
        once = StaleTest(cycles=1, due_by=None)
        with contract_uows() as uow:
            uow.cycles.add(proposed)
            uow.cycles.store_result(proposed.id, result)
            uow.cycles.take_invoices(proposed.id, "key_op")
            assert stale_ids(uow, once) == []
            uow.cycles.settle_invoices(proposed.id, "key_op")
            uow.commit()

        with contract_uows() as uow:
            assert stale_ids(uow, once) == [first.id]
            assert second.id in stale_ids(uow, once, stale=False)

    # --- the carried value -------------------------------------------------------------------

    def test_the_pool_is_carried_with_what_each_invoice_still_owes(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        (first, second, _aside), result = two_way_trade(contract_uows)
        proposed = cycle(1)
        with contract_uows() as uow:
            assert uow.invoices.carried() == [
                CarriedObligation(
                    i.importer_entity,
                    i.exporter_entity,
                    i.currency,
                    i.outstanding,
                    i.first_eligible_at,  # type: ignore[arg-type]
                    i.due_date,
                )
                for i in (first, second)
            ]
            uow.cycles.add(proposed)
            uow.cycles.store_result(proposed.id, result)
            uow.cycles.take_invoices(proposed.id, "key_op")
            assert [c.outstanding for c in uow.invoices.carried()] == [
                first.outstanding,
                second.outstanding,
            ]
            uow.cycles.settle_invoices(proposed.id, "key_op")
            uow.commit()

        settled = {s.obligation.obligation_id: s.settled for s in result.settlements()}
        with contract_uows() as uow:
            (left,) = uow.invoices.carried()
        assert (left.source, left.target, left.currency) == ("RU", "CN", "CNY")
        assert left.outstanding == first.outstanding - settled[first.id]

    def test_the_pool_is_summed_by_corridor_currency_and_age_with_its_overdue_part(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        old, young = AS_OF - timedelta(days=95), AS_OF - timedelta(days=31, seconds=1)
        overdue, due_today = AS_OF.date() - timedelta(days=1), AS_OF.date()
        add(
            contract_uows,
            invoice(1, first_eligible_at=old, due_date=overdue),
            invoice(2, first_eligible_at=old, due_date=due_today),
            invoice(3, first_eligible_at=young, due_date=overdue, currency="RUB"),
            invoice(
                4, exporter="amur", importer="heihe", first_eligible_at=AS_OF, due_date=due_today
            ),
            invoice(
                5,
                status=Status.IN_CYCLE,
                cycle_id="cyc_1",
                first_eligible_at=old,
                due_date=due_today,
            ),
            invoice(6, status=Status.SETTLED, outstanding=0, first_eligible_at=old),
            invoice(7, status=Status.AWAITING_CONFIRMATION),
        )
        amounts = {n: invoice(n).amount for n in range(1, 8)}

        with contract_uows() as uow:
            totals = uow.invoices.carried_by_age(AS_OF)

        assert totals == [
            CarriedTotal("CN", "RU", "CNY", "0-30", amounts[4], 0, 1),
            CarriedTotal(
                "RU", "CN", "CNY", "90+", amounts[1] + amounts[2] + amounts[5], amounts[1], 3
            ),
            CarriedTotal("RU", "CN", "RUB", "31-60", amounts[3], amounts[3], 1),
        ]
