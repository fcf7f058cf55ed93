"""Bank reconciliation (DESIGN §5) on the in-memory unit of work: statement credits quoting a
due pay-in's RF reference become pay-ins, others wait in suspense until assigned or returned
(each journaled), re-imports record nothing, and debits confirm released pay-outs."""

from __future__ import annotations

from datetime import date

import pytest

from clearing.adapters.files.bank_statements import read_statement
from clearing.domain.bank import Reconciliation
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.errors import Conflict, InvalidInput, LedgerError, NotFound
from clearing.domain.money import format_amount
from clearing.domain.payments import Purpose, return_reference
from clearing.use_cases import audit, bank, cycles, settlement, suspense
from clearing.use_cases.settlement import PositionView
from tests.bank_files import Line, camt, statement_csv
from tests.pilot import ENTITY_BANKS, Pilot


def approve(pilot: Pilot) -> Cycle:
    cycle = pilot.cycle
    for entity in cycle.required_approvals:
        assert cycle.digest is not None
        cycle = cycles.approve_cycle(
            pilot.uows(), pilot.principals[f"op-{entity}"], cycle.id, cycle.digest
        )
    return cycle


def payers(pilot: Pilot, cycle: Cycle, entity: str) -> list[PositionView]:
    views = settlement.cycle_positions(pilot.uows(), pilot.principals["auditor"], cycle.id)
    return [v for v in views if v.position.jurisdiction == entity and v.due]


def credits(views: list[PositionView], prefix: str) -> list[Line]:
    return [
        Line(
            f"{prefix}-{n}",
            view.outstanding,
            view.position.currency,
            remittance=view.payment_reference or "",
        )
        for n, view in enumerate(views)
    ]


def import_camt(pilot: Pilot, entity: str, lines: list[Line]) -> bank.ImportReport:
    document = camt(lines, account=ENTITY_BANKS[entity][1])
    return bank.import_statement(
        pilot.uows(), pilot.principals[f"op-{entity}"], read_statement(document)
    )


def settle_from_statements(pilot: Pilot) -> Cycle:
    cycle = approve(pilot)
    for entity in ("CN", "RU"):
        report = import_camt(pilot, entity, credits(payers(pilot, cycle, entity), entity))
        assert report.unmatched == 0
    found = cycles.get_cycle(pilot.uows(), pilot.principals["auditor"], cycle.id)
    return found


def test_a_cycle_settles_from_its_entities_bank_notifications_alone(pilot: Pilot) -> None:
    cycle = settle_from_statements(pilot)
    assert cycle.status is CycleStatus.SETTLED
    pay_ins = settlement.cycle_pay_ins(pilot.uows(), pilot.principals["auditor"], cycle.id)
    expected = {
        f"{entity}-{n}"
        for entity in ("CN", "RU")
        for n in range(len(payers(pilot, pilot.cycle, entity)))
    }
    assert {p.bank_reference for p in pay_ins} == expected
    assert all(p.value_date == date(2026, 12, 1) for p in pay_ins)
    assert audit.verify(pilot.uows(), pilot.principals["auditor"]).ok


def test_importing_the_same_notification_again_records_nothing_twice(pilot: Pilot) -> None:
    cycle = approve(pilot)
    lines = credits(payers(pilot, cycle, "CN"), "CN")
    first = import_camt(pilot, "CN", lines)
    entries_after_first = audit.verify(pilot.uows(), pilot.principals["auditor"]).entries
    again = import_camt(pilot, "CN", lines)
    assert (first.matched, first.duplicates) == (len(lines), 0)
    assert (again.matched, again.duplicates, again.unmatched) == (0, len(lines), 0)
    assert audit.verify(pilot.uows(), pilot.principals["auditor"]).entries == entries_after_first


def test_an_unmatched_credit_waits_in_suspense_journaled_until_an_operator_assigns_it(
    pilot: Pilot,
) -> None:
    cycle = approve(pilot)
    views = payers(pilot, cycle, "RU")
    paid = views[0]
    report = import_camt(
        pilot,
        "RU",
        [Line("RU-X", paid.outstanding, "RUB", remittance="for invoice 7", structured=False)],
    )
    assert (report.matched, report.unmatched) == (0, 1)
    operator = pilot.principals["op-RU"]
    [waiting] = bank.bank_entries(pilot.uows(), operator, {Reconciliation.SUSPENSE}, None, 10)
    assert "no RF payment reference" in waiting.note
    assert balance(pilot, "RU", "suspense") == -paid.outstanding
    assigned = suspense.assign_suspense(
        pilot.uows(), operator, waiting.id, cycle.id, paid.position.participant_id
    )
    assert assigned.status is Reconciliation.ASSIGNED
    assert assigned.resolved_by == operator.id
    assert balance(pilot, "RU", "suspense") == 0
    pay_ins = settlement.cycle_pay_ins(pilot.uows(), operator, cycle.id)
    assert [p.bank_reference for p in pay_ins] == ["RU-X"]
    with pytest.raises(Conflict, match="assigned, not in suspense"):
        suspense.assign_suspense(
            pilot.uows(), operator, waiting.id, cycle.id, paid.position.participant_id
        )


def test_a_returned_suspense_credit_leaves_the_settlement_account_as_it_came(
    pilot: Pilot,
) -> None:
    approve(pilot)
    operator = pilot.principals["op-CN"]
    import_camt(pilot, "CN", [Line("CN-STRAY", 12_345, "CNY", remittance="RF18539007547034")])
    assert balance(pilot, "CN", "settlement") == 12_345
    [waiting] = bank.bank_entries(pilot.uows(), operator, {Reconciliation.SUSPENSE}, None, 10)
    assert "names no" in waiting.note or "not the pay_in reference" in waiting.note
    returned = suspense.return_suspense(pilot.uows(), operator, waiting.id, "not ours")
    assert (returned.status, returned.note) == (Reconciliation.RETURNED, "not ours")
    assert balance(pilot, "CN", "settlement") == 0
    assert balance(pilot, "CN", "suspense") == 0
    kinds = [d["kind"] for d in journal(pilot)]
    assert kinds[-2:] == ["suspense", "suspense_return"]


def test_a_credit_above_what_is_due_goes_to_suspense_not_into_the_cycle(pilot: Pilot) -> None:
    cycle = approve(pilot)
    [view, *_] = payers(pilot, cycle, "CN")
    line = Line("CN-BIG", view.outstanding + 1, "CNY", remittance=view.payment_reference or "")
    report = import_camt(pilot, "CN", [line])
    assert report.unmatched == 1
    assert "exceeds" in report.lines[0].entry.note  # type: ignore[union-attr]
    assert settlement.cycle_pay_ins(pilot.uows(), pilot.principals["auditor"], cycle.id) == []


def test_a_reference_written_in_groups_in_free_text_still_matches(pilot: Pilot) -> None:
    cycle = approve(pilot)
    [view, *_] = payers(pilot, cycle, "CN")
    reference = view.payment_reference or ""
    grouped = " ".join(reference[i : i + 4] for i in range(0, len(reference), 4)).lower()
    line = Line(
        "CN-G", view.outstanding, "CNY", remittance=f"payment {grouped} thanks", structured=False
    )
    assert import_camt(pilot, "CN", [line]).matched == 1


def test_debits_confirm_the_released_pay_outs_once(pilot: Pilot) -> None:
    cycle = settle_from_statements(pilot)
    order = settlement.payment_order(pilot.uows(), pilot.principals["op-CN"], cycle.id, "CN")
    batch = tuple((t.amount, t.reference) for t in order.transfers)
    total = sum(amount for amount, _ in batch)
    debit = Line("CN-OUT", total, "CNY", credit=False, batch=batch)
    report = import_camt(pilot, "CN", [debit])
    assert report.matched == len(batch)
    views = settlement.cycle_positions(pilot.uows(), pilot.principals["op-CN"], cycle.id)
    confirmed = {v.position.participant_id: v.pay_out_confirmed_by for v in views}
    assert {t.participant_id for t in order.transfers} == {
        p for p, by in confirmed.items() if by is not None
    }
    again = Line("CN-OUT2", batch[0][0], "CNY", credit=False, end_to_end_id=batch[0][1])
    [line] = import_camt(pilot, "CN", [again]).lines
    assert line.entry is not None
    assert line.entry.status is Reconciliation.UNMATCHED
    assert "was confirmed by CN-OUT" in line.entry.note


def test_a_debit_that_is_none_of_the_cycles_payments_is_reported_unmatched(pilot: Pilot) -> None:
    approve(pilot)
    report = import_camt(pilot, "CN", [Line("CN-FEE", 500, "CNY", credit=False)])
    assert (report.matched, report.unmatched) == (0, 1)
    assert balance(pilot, "CN", "settlement") == 0


def test_a_statement_of_another_account_is_refused_and_records_nothing(pilot: Pilot) -> None:
    cycle = approve(pilot)
    lines = credits(payers(pilot, cycle, "CN"), "CN")
    with pytest.raises(InvalidInput, match="the statement is for account") as refused:
        bank.import_statement(
            pilot.uows(),
            pilot.principals["op-CN"],
            read_statement(camt(lines, account="999999")),
        )
    assert refused.value.field == "account"
    assert bank.bank_entries(pilot.uows(), pilot.principals["op-CN"], None, None, 10) == []


def test_the_same_lines_as_csv_reconcile_as_the_camt_would(pilot: Pilot) -> None:
    cycle = approve(pilot)
    lines = credits(payers(pilot, cycle, "RU"), "RU")
    report = bank.import_statement(
        pilot.uows(), pilot.principals["op-RU"], read_statement(statement_csv(lines))
    )
    assert report.matched == len(lines)


def test_an_operator_sees_and_works_only_its_own_entitys_suspense(pilot: Pilot) -> None:
    approve(pilot)
    import_camt(pilot, "CN", [Line("CN-S", 100, "CNY", remittance="?", structured=False)])
    [waiting] = bank.bank_entries(
        pilot.uows(), pilot.principals["op-CN"], {Reconciliation.SUSPENSE}, None, 10
    )
    assert bank.bank_entries(pilot.uows(), pilot.principals["op-RU"], None, None, 10) == []
    with pytest.raises(NotFound):
        suspense.return_suspense(pilot.uows(), pilot.principals["op-RU"], waiting.id, "mine")
    assert len(bank.bank_entries(pilot.uows(), pilot.principals["auditor"], None, None, 10)) == 1


def balance(pilot: Pilot, entity: str, account: str) -> int:
    with pilot.uows() as uow:
        found = uow.ledger.balances(entity)
    return sum(amount for (_, name, _), amount in found.items() if name == account)


def journal(pilot: Pilot) -> list[dict[str, object]]:
    with pilot.uows() as uow:
        documents = uow.ledger.documents()
    return documents


def test_a_rejected_successor_still_pays_back_what_the_defaulter_had_paid_in(
    pilot: Pilot,
) -> None:
    cycle = approve(pilot)
    [view, *_] = payers(pilot, cycle, "CN")
    operator = pilot.principals["op-CN"]
    import_camt(
        pilot,
        "CN",
        [Line("CN-P", view.outstanding // 2, "CNY", remittance=view.payment_reference or "")],
    )
    successor = settlement.declare_default(
        pilot.uows(), operator, cycle.id, view.position.participant_id, "stopped paying"
    )
    assert successor.status is CycleStatus.PROPOSED
    rejected = cycles.reject_cycle(pilot.uows(), operator, successor.id, "rates are stale")
    order = settlement.payment_order(pilot.uows(), operator, rejected.id, "CN")
    assert [(t.participant_id, t.amount, t.purpose) for t in order.transfers] == [
        (view.position.participant_id, view.outstanding // 2, "refund")
    ]
    debit = Line(
        "CN-R",
        view.outstanding // 2,
        "CNY",
        credit=False,
        end_to_end_id=order.transfers[0].reference,
    )
    assert import_camt(pilot, "CN", [debit]).matched == 1


def test_a_settlement_that_fails_inside_an_import_records_nothing_of_the_statement(
    pilot: Pilot, monkeypatch: pytest.MonkeyPatch
) -> None:
    cycle = approve(pilot)
    import_camt(pilot, "RU", credits(payers(pilot, cycle, "RU"), "RU"))
    entries_before = len(journal(pilot))

    def books_stay_open(*_args: object) -> None:
        raise LedgerError("a book stays open")

    monkeypatch.setattr(cycles, "check_closed", books_stay_open)
    with pytest.raises(LedgerError):
        import_camt(pilot, "CN", credits(payers(pilot, cycle, "CN"), "CN"))
    assert len(journal(pilot)) == entries_before
    assert bank.bank_entries(pilot.uows(), pilot.principals["op-CN"], None, None, 10) == []
    assert balance(pilot, "CN", "suspense") == 0


def test_a_credit_for_a_pay_in_recorded_by_hand_under_another_reference_is_matched_once(
    pilot: Pilot,
) -> None:
    cycle = approve(pilot)
    [view, *_] = payers(pilot, cycle, "CN")
    operator = pilot.principals["op-CN"]
    owed = view.outstanding
    settlement.record_pay_in(
        pilot.uows(),
        operator,
        cycle.id,
        view.position.participant_id,
        "CNY",
        format_amount(owed, "CNY"),
        "TYPED-BY-HAND",
    )
    [pay_in] = settlement.cycle_pay_ins(pilot.uows(), operator, cycle.id)
    line = Line("CN-BANK-1", owed, "CNY", remittance=view.payment_reference or "")
    [imported] = import_camt(pilot, "CN", [line]).lines
    assert imported.entry is not None
    assert imported.entry.status is Reconciliation.SUSPENSE
    assert "owes nothing more" in imported.entry.note
    assert balance(pilot, "CN", "settlement") == 2 * owed  # counted twice until matched
    too_little = Line("CN-BANK-2", owed - 1, "CNY", remittance="?", structured=False)
    [other] = import_camt(pilot, "CN", [too_little]).lines
    assert other.entry is not None
    with pytest.raises(InvalidInput, match="the bank credited") as refused:
        suspense.match_suspense(pilot.uows(), operator, other.entry.id, pay_in.id)
    assert refused.value.field == "pay_in_id"
    matched = suspense.match_suspense(pilot.uows(), operator, imported.entry.id, pay_in.id)
    assert (matched.status, matched.pay_in_id) == (Reconciliation.ASSIGNED, pay_in.id)
    assert balance(pilot, "CN", "settlement") == owed + owed - 1
    assert balance(pilot, "CN", "suspense") == -(owed - 1)
    assert [d["kind"] for d in journal(pilot)][-1] == "suspense_matched"
    again = Line("CN-BANK-3", owed, "CNY", remittance="dup", structured=False)
    [third] = import_camt(pilot, "CN", [again]).lines
    assert third.entry is not None
    with pytest.raises(Conflict, match="the bank's CN-BANK-1 already"):
        suspense.match_suspense(pilot.uows(), operator, third.entry.id, pay_in.id)
    assert audit.verify(pilot.uows(), pilot.principals["auditor"]).ok


def test_a_booking_seen_whole_then_split_into_its_transactions_is_recorded_once(
    pilot: Pilot,
) -> None:
    approve(pilot)
    whole = Line("CN-B", 300, "CNY", remittance="?", structured=False)
    split = Line("CN-B", 300, "CNY", batch=((100, "a"), (200, "b")))
    first = import_camt(pilot, "CN", [whole])
    again = import_camt(pilot, "CN", [split])
    assert first.unmatched == 1
    assert (again.duplicates, again.unmatched) == (2, 0)
    assert balance(pilot, "CN", "settlement") == 300
    split_first = import_camt(pilot, "CN", [Line("CN-C", 30, "CNY", batch=((10, "a"), (20, "b")))])
    whole_later = import_camt(pilot, "CN", [Line("CN-C", 30, "CNY")])
    assert (split_first.unmatched, whole_later.duplicates) == (2, 1)


def test_a_return_is_confirmed_once_by_the_debit_quoting_its_reference(pilot: Pilot) -> None:
    approve(pilot)
    operator = pilot.principals["op-RU"]
    [stray] = import_camt(
        pilot, "RU", [Line("RU-S", 700, "RUB", remittance="?", structured=False)]
    ).lines
    assert stray.entry is not None
    returned = suspense.return_suspense(pilot.uows(), operator, stray.entry.id, "unknown payer")
    reference = return_reference(returned.id)
    debit = Line("RU-D1", 700, "RUB", credit=False, end_to_end_id=reference)
    [confirmed] = import_camt(pilot, "RU", [debit]).lines
    assert confirmed.entry is not None
    assert (confirmed.entry.status, confirmed.entry.purpose) == (
        Reconciliation.CONFIRMED,
        Purpose.RETURN,
    )
    twice = Line("RU-D2", 700, "RUB", credit=False, end_to_end_id=reference)
    [again] = import_camt(pilot, "RU", [twice]).lines
    assert again.entry is not None
    assert again.entry.status is Reconciliation.UNMATCHED
    assert "confirmed already" in again.entry.note


def test_statement_text_with_control_or_bidirectional_characters_is_refused_naming_it(
    pilot: Pilot,
) -> None:
    approve(pilot)
    hostile = statement_csv([Line("RU-1", 5, "RUB", counterparty="Evil\u202eCorp")])
    with pytest.raises(InvalidInput, match="bidirectional") as refused:
        bank.import_statement(pilot.uows(), pilot.principals["op-RU"], read_statement(hostile))
    assert refused.value.field == "counterparty_name"
