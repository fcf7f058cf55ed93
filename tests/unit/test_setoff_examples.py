"""Worked examples of policy ``setoff`` (DESIGN §4a), each named as the sentence it proves."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from clearing.domain.errors import InvalidInput
from clearing.domain.netting import NettingResult, net, setoff
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet

RATES = RateSet(
    base="CNY",
    jurisdictions={"CN": "CNY", "RU": "RUB", "KZ": "KZT", "JP": "JPY"},
    rates={
        "CNY": Decimal(1),
        "RUB": Decimal("0.08"),
        "KZT": Decimal("0.0142"),
        "JPY": Decimal("0.05"),
    },
    source="test",
    as_of="2026-11-20T10:00:00Z",
)


def owes(
    obligation_id: str,
    debtor: str,
    creditor: str,
    amount: int,
    *,
    due: date = date(2026, 11, 30),
    priority: int = 0,
    sequence: int = 0,
) -> Obligation:
    """``debtor`` (``"CN:importer"``) owes ``creditor`` ``amount`` fen."""
    debtor_jurisdiction, debtor_id = debtor.split(":")
    creditor_jurisdiction, creditor_id = creditor.split(":")
    return Obligation(
        obligation_id,
        debtor_id,
        debtor_jurisdiction,
        creditor_id,
        creditor_jurisdiction,
        "CNY",
        amount,
        due,
        priority,
        sequence,
    )


def settled(result: NettingResult) -> dict[str, int]:
    return {s.obligation.obligation_id: s.settled for s in result.settlements()}


def nets(result: NettingResult) -> dict[str, int]:
    return {p.participant_id: p.pay_out_value - p.pay_in_value for p in result.positions}


def corridors(result: NettingResult) -> dict[tuple[str, str], int]:
    return {(c.source, c.target): c.settled for c in result.corridors}


def test_a_trader_that_both_imports_and_exports_has_its_debts_cancelled_before_anyone_pays() -> (
    None
):
    obligations = [
        # An older debt between two others comes first under fifo ...
        owes("older", "CN:harbin-foods", "RU:amur-grain", 100_00, priority=0),
        # ... while heihe-trade and blago-trade owe each other the same 100.00.
        owes("buys", "CN:heihe-trade", "RU:blago-trade", 100_00, priority=1),
        owes("sells", "RU:blago-trade", "CN:heihe-trade", 100_00, priority=1),
    ]
    fifo = net(obligations, RATES, Policy.FIFO)
    result = net(obligations, RATES, Policy.SETOFF)
    assert result.metrics.settled_value == fifo.metrics.settled_value == 200_00
    assert settled(fifo) == {"older": 100_00, "buys": 0, "sells": 100_00}
    assert settled(result) == {"older": 0, "buys": 100_00, "sells": 100_00}
    # Under fifo harbin-foods and blago-trade each pay 100.00 in; under setoff nobody pays.
    assert setoff.money_moved(fifo) == 200_00
    assert setoff.money_moved(result) == 0
    assert nets(result) == {"blago-trade": 0, "heihe-trade": 0}
    assert result.digest != fifo.digest


def test_money_moved_is_the_sum_of_each_participants_net_pay_in_valued_in_base() -> None:
    obligations = [
        owes("a", "CN:cn-1", "RU:ru-1", 300_00),
        owes("b", "RU:ru-1", "CN:cn-1", 100_00),
        owes("c", "RU:ru-2", "CN:cn-2", 200_00),
    ]
    result = net(obligations, RATES, Policy.SETOFF)
    # cn-1 owes 300.00 and is owed 100.00; ru-2 owes 200.00; the others only receive.
    assert nets(result) == {"cn-1": -200_00, "cn-2": 200_00, "ru-1": 200_00, "ru-2": -200_00}
    assert setoff.money_moved(result) == 200_00 + 200_00


def test_with_three_jurisdictions_setoff_may_carry_the_circulation_through_other_corridors() -> (
    None
):
    obligations = [
        owes("cn-ru", "CN:cn-a", "RU:ru-b", 100_00),
        # Back to cn-a through Japan, every participant on both sides ...
        owes("ru-jp", "RU:ru-b", "JP:jp-c", 100_00),
        owes("jp-cn", "JP:jp-c", "CN:cn-a", 100_00),
        # ... or to cn-f through Kazakhstan, between participants who only pay or only receive.
        owes("ru-kz", "RU:ru-d", "KZ:kz-e", 100_00),
        owes("kz-cn", "KZ:kz-e", "CN:cn-f", 100_00),
    ]
    fifo = net(obligations, RATES, Policy.FIFO)
    result = net(obligations, RATES, Policy.SETOFF)
    assert result.metrics.settled_value == fifo.metrics.settled_value == 300_00
    assert settled(result) == {"cn-ru": 100_00, "ru-jp": 100_00, "jp-cn": 100_00} | {
        "ru-kz": 0,
        "kz-cn": 0,
    }
    # The corridor totals are those of the allocation, not of the corridor-level circulation.
    assert corridors(result) == {
        ("CN", "RU"): 100_00,
        ("JP", "CN"): 100_00,
        ("KZ", "CN"): 0,
        ("RU", "JP"): 100_00,
        ("RU", "KZ"): 0,
    }
    assert corridors(fifo) != corridors(result)
    assert setoff.money_moved(result) == 0 < setoff.money_moved(fifo)


def test_within_a_pair_priority_goods_then_due_date_then_sequence_then_id_settle_first() -> None:
    pair = [
        owes("p-4", "CN:cn-a", "RU:ru-b", 50_00, priority=1, due=date(2026, 11, 1)),
        owes("p-3", "CN:cn-a", "RU:ru-b", 50_00, priority=0, due=date(2026, 12, 1), sequence=2),
        owes("p-2", "CN:cn-a", "RU:ru-b", 50_00, priority=0, due=date(2026, 12, 1), sequence=1),
        owes("p-1", "CN:cn-a", "RU:ru-b", 50_00, priority=0, due=date(2026, 11, 15), sequence=9),
    ]
    result = net([*pair, owes("back", "RU:ru-b", "CN:cn-a", 120_00)], RATES, Policy.SETOFF)
    assert settled(result) == {"p-1": 50_00, "p-2": 50_00, "p-3": 20_00, "p-4": 0, "back": 120_00}


def test_where_nobody_is_on_both_sides_setoff_moves_as_much_money_as_fifo() -> None:
    obligations = [
        owes("a", "CN:cn-importer-1", "RU:ru-exporter-1", 70_00, sequence=1),
        owes("b", "CN:cn-importer-2", "RU:ru-exporter-2", 90_00, sequence=2),
        owes("c", "RU:ru-importer", "CN:cn-exporter", 100_00),
    ]
    fifo = net(obligations, RATES, Policy.FIFO)
    result = net(obligations, RATES, Policy.SETOFF)
    assert setoff.money_moved(result) == setoff.money_moved(fifo) == 100_00 + 100_00


def test_setoff_refuses_values_whose_total_the_solver_cannot_hold_naming_the_rates() -> None:
    values = np.array([2**61, 2**61], dtype=np.int64)
    with pytest.raises(InvalidInput) as refused:
        setoff.allocate(
            values,
            pa.array(["cn-a", "ru-b"]),
            np.array([0, 1], dtype=np.intp),
            np.array([1, 0], dtype=np.intp),
            np.array([1, 2], dtype=np.int64),
            np.array([0, 1], dtype=np.intp),
            2,
            {},
        )
    assert refused.value.field == "rates"
    assert "2**62" in str(refused.value)
