"""Pay-ins and defaults (DESIGN §6): a participant pays in its one net amount, recorded by its
own entity's operator, never more than is due and never twice under one bank reference; a
debtor that fails to pay is declared in default, and the cycle is re-netted without it."""

from __future__ import annotations

import pytest

from clearing.domain import ledger
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.errors import (
    ClearingError,
    Conflict,
    Forbidden,
    InvalidInput,
    LedgerError,
    NotFound,
)
from clearing.domain.invoices import Status
from clearing.use_cases import audit, cycles, settlement
from tests.unit.use_cases.world import World


def approved_cycle(world: World) -> Cycle:
    """cn0 owes ru0 1,000.00 CNY and ru1 owes cn1 400.00 CNY: once approved, cn0 and ru1 must
    pay in 400.00 CNY's worth each."""
    world.eligible("ru0", "cn0", "1000.00")
    world.eligible("cn1", "ru1", "400.00")
    cycle = world.approve_all(world.propose())
    assert cycle.status is CycleStatus.APPROVED
    assert set(world.due(cycle)) == {"cn0", "ru1"}
    return cycle


def test_a_pay_in_is_refused_before_approval(world: World) -> None:
    world.eligible("ru0", "cn0", "1000.00")
    world.eligible("cn1", "ru1", "400.00")
    proposal = world.propose()
    with pytest.raises(Conflict) as refused:
        world.pay(proposal, "cn0", 100, "EARLY")
    assert refused.value.field == "status"


@pytest.mark.parametrize(
    ("recorder", "payer", "currency", "amount", "error", "field"),
    [
        ("RU", "cn0", "CNY", "400.00", NotFound, "participant_id"),  # another entity's payer
        ("CN", "cn0", "RUB", "400.00", InvalidInput, "currency"),
        ("CN", "cn0", "CNY", "400.01", InvalidInput, "amount"),
        ("CN", "cn0", "CNY", "0.00", InvalidInput, "amount"),
        ("CN", "cn0", "CNY", "-5.00", InvalidInput, "amount"),
        ("CN", "cn0", "CNY", "1.001", InvalidInput, "amount"),
        ("CN", "cn1", "CNY", "1.00", Conflict, "participant_id"),  # a payee owes nothing
        ("KZ", "kz0", "KZT", "1.00", NotFound, "participant_id"),  # no position at all
    ],
)
def test_a_pay_in_is_refused_at_another_entity_above_its_due_in_another_currency_or_by_a_payee(
    world: World,
    recorder: str,
    payer: str,
    currency: str,
    amount: str,
    error: type[ClearingError],
    field: str,
) -> None:
    cycle = approved_cycle(world)
    positions = settlement.cycle_positions(world.uows(), world.auditor, cycle.id)

    with pytest.raises(error) as refused:
        settlement.record_pay_in(
            world.uows(), world.op(recorder), cycle.id, world.id(payer), currency, amount, "REF-1"
        )

    assert refused.value.field == field
    assert settlement.cycle_positions(world.uows(), world.auditor, cycle.id) == positions
    assert cycles.get_cycle(world.uows(), world.auditor, cycle.id) == cycle


def test_only_an_operator_records_a_pay_in(world: World) -> None:
    cycle = approved_cycle(world)
    for caller in (world.traders["cn0"], world.auditor, world.admin):
        with pytest.raises(Forbidden):
            settlement.record_pay_in(
                world.uows(), caller, cycle.id, world.id("cn0"), "CNY", "1.00", "REF-1"
            )


def test_a_bank_reference_is_recorded_once_and_the_last_pay_in_settles_the_cycle(
    world: World,
) -> None:
    cycle = approved_cycle(world)
    due = world.due(cycle)

    paying = world.pay(cycle, "cn0", 1000, "ICBC-1")
    assert paying.status is CycleStatus.SETTLING
    with pytest.raises(Conflict) as twice:
        world.pay(cycle, "cn0", 1000, "ICBC-1")
    assert twice.value.field == "bank_reference"
    with pytest.raises(InvalidInput) as above:
        world.pay(cycle, "cn0", due["cn0"], "ICBC-2")
    assert above.value.field == "amount"
    assert world.due(cycle) == {**due, "cn0": due["cn0"] - 1000}
    world.pay(cycle, "cn0", due["cn0"] - 1000, "ICBC-2")
    with pytest.raises(Conflict, match="owes nothing more"):
        world.pay(cycle, "cn0", 1, "ICBC-3")
    assert world.pay(cycle, "ru1", due["ru1"], "ICBC-1").status is CycleStatus.SETTLED  # RU's own

    report = audit.verify(world.uows(), world.auditor)
    assert (report.ok, report.cycles) == (True, 1)
    assert world.due(cycle) == {}


def test_a_default_is_declared_by_the_debtors_own_entity_for_a_debtor_with_something_due(
    world: World,
) -> None:
    cycle = approved_cycle(world)

    def declare(entity: str, trader: str) -> Cycle:
        return settlement.declare_default(
            world.uows(), world.op(entity), cycle.id, world.id(trader), "no funds"
        )

    with pytest.raises(NotFound):
        declare("RU", "cn0")
    with pytest.raises(Conflict, match="owes no pay-in"):
        declare("CN", "cn1")
    with pytest.raises(Forbidden):
        settlement.declare_default(
            world.uows(), world.traders["ru0"], cycle.id, world.id("cn0"), "no funds"
        )
    assert cycles.get_cycle(world.uows(), world.auditor, cycle.id) == cycle


def test_a_default_re_nets_without_the_defaulter_refunds_it_and_carries_the_others_money(
    world: World,
) -> None:
    """cn0 owes ru0 600.00 and cn1 owes ru1 400.00; ru0 owes cn1 1,000.00 (CNY). cn0 pays part
    of its due; ru0 never pays and defaults. Without ru0 nothing matches, so the successor
    settles at once and what cn0 paid in goes back."""
    a = world.eligible("ru0", "cn0", "600.00")
    b = world.eligible("ru1", "cn1", "400.00")
    c = world.eligible("cn1", "ru0", "1000.00")
    cycle = world.approve_all(world.propose())
    due = world.due(cycle)
    assert set(due) == {"cn0", "ru0"}
    world.pay(cycle, "cn0", 200_00, "ICBC-1")

    successor = settlement.declare_default(
        world.uows(), world.op("RU"), cycle.id, world.id("ru0"), "no funds arrived"
    )

    old = cycles.get_cycle(world.uows(), world.auditor, cycle.id)
    assert (old.status, old.superseded_by) == (CycleStatus.SUPERSEDED, successor.id)
    assert (successor.predecessor_id, successor.defaulted) == (cycle.id, (world.id("ru0"),))
    assert (successor.rates, successor.policy) == (cycle.rates, cycle.policy)
    kept = settlement.cycle_settlements(world.uows(), world.auditor, successor.id, None, 100)
    assert [s.obligation.obligation_id for s in kept] == [b.id]
    assert successor.status is CycleStatus.SETTLED  # nothing left to match or approve
    for invoice in (a, b, c):
        stored = world.invoice(invoice.id)
        assert (stored.status, stored.outstanding) == (Status.ELIGIBLE, invoice.outstanding)
    refunds = settlement.cycle_refunds(world.uows(), world.auditor, successor.id)
    assert [(r.participant_id, r.amount) for r in refunds] == [(world.id("cn0"), 200_00)]
    assert settlement.cycle_positions(world.uows(), world.auditor, successor.id) == []
    assert settlement.cycle_refunds(world.uows(), world.op("RU"), successor.id) == []
    assert audit.verify(world.uows(), world.auditor).ok


def test_a_successor_that_holds_carried_money_cannot_be_rejected(world: World) -> None:
    """ru0 owes cn0 1,000.00; cn0 owes ru1 600.00 and cn1 owes ru1 400.00 (CNY). ru0 pays in
    part, then cn1 defaults: the successor still needs ru0's money, which it carries, so it can
    no longer be rejected."""
    world.eligible("cn0", "ru0", "1000.00")
    world.eligible("ru1", "cn0", "600.00")
    world.eligible("ru1", "cn1", "400.00")
    cycle = world.approve_all(world.propose())
    assert set(world.due(cycle)) == {"ru0", "cn1"}
    world.pay(cycle, "ru0", 100_00, "SBER-1")

    successor = settlement.declare_default(
        world.uows(), world.op("CN"), cycle.id, world.id("cn1"), "no funds arrived"
    )

    assert successor.status is CycleStatus.PROPOSED
    views = settlement.cycle_positions(world.uows(), world.auditor, successor.id)
    held = {world.trader_of(v.position.participant_id): v.received for v in views if v.received}
    assert held == {"ru0": 100_00}
    with pytest.raises(Conflict, match="declare a default instead"):
        cycles.reject_cycle(world.uows(), world.op("CN"), successor.id, "start over")


def test_a_settlement_that_would_leave_the_books_open_is_refused_and_changes_nothing(
    world: World,
) -> None:
    world.eligible("ru0", "cn0", "1000.00")
    world.eligible("cn1", "ru1", "400.00")
    cycle = world.approve_all(world.propose())
    (first, last) = sorted(world.due(cycle).items())
    cycle = world.pay(cycle, first[0], first[1], "BANK-1")
    # Money that never moved, journaled against the cycle (as a forged entry would be).
    forged = ledger.JournalEntry(
        entity="CN",
        kind="pay_in",
        postings=(
            ledger.Posting("settlement", "CNY", 1),
            ledger.Posting(f"participant:{world.id('cn1')}", "CNY", -1),
        ),
        cycle_id=cycle.id,
    )
    with world.uows() as uow:
        cycles.post(uow, [forged])
        uow.commit()
    entries_before = len(audit.ledger_entries(world.uows(), world.auditor, 0, 1000))

    with pytest.raises(LedgerError, match="books open"):
        world.pay(cycle, last[0], last[1], "BANK-2")

    assert cycles.get_cycle(world.uows(), world.auditor, cycle.id).status is CycleStatus.SETTLING
    assert len(audit.ledger_entries(world.uows(), world.auditor, 0, 1000)) == entries_before
