"""The invariants of DESIGN §4 as Hypothesis properties, each checked against an independent
restatement of the rule (see ``oracles.py``) on generated instances (see ``strategies.py``)."""

from __future__ import annotations

import hashlib
import math
import struct
from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from random import Random
from unittest.mock import patch

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from clearing.domain import rounding
from clearing.domain.canonical import canonical_json, sha256_hex
from clearing.domain.netting import SNAPSHOT_COLUMNS, NettingResult, net
from clearing.domain.netting.digest import root_document
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet
from tests.unit.oracles import (
    corridor_capacities,
    exact_value,
    factor,
    fifo_key,
    lp_max_circulation,
    networkx_max_circulation,
    to_local,
)
from tests.unit.strategies import MODERATE_SCALES, Instance, instances

DUE = date(2026, 12, 31)


def run(instance: Instance) -> NettingResult:
    return net(instance.obligations, instance.rates, instance.policy)


def currency_of(result: NettingResult, jurisdiction: str) -> str:
    return result.rates.jurisdictions[jurisdiction]


# --- closed loop ------------------------------------------------------------------------------


@given(instances())
def test_every_jurisdiction_pays_in_exactly_what_it_pays_out_and_the_corridors_circulate(
    instance: Instance,
) -> None:
    result = run(instance)
    pay_in: dict[str, int] = defaultdict(int)
    pay_out: dict[str, int] = defaultdict(int)
    for s in result.settlements():
        pay_in[s.obligation.debtor_jurisdiction] += s.debtor_leg
        pay_out[s.obligation.creditor_jurisdiction] += s.creditor_leg
    assert sorted(t.jurisdiction for t in result.jurisdictions) == instance.codes
    for total in result.jurisdictions:
        assert total.currency == instance.rates.jurisdictions[total.jurisdiction]
        assert total.pay_in == total.pay_out
        assert pay_in[total.jurisdiction] == total.pay_in
        assert pay_out[total.jurisdiction] == total.pay_out
    # The corridor flows form a circulation within the corridor totals.
    capacities = corridor_capacities(instance.obligations, instance.rates)
    assert {(c.source, c.target): c.submitted for c in result.corridors} == capacities
    balance: dict[str, int] = defaultdict(int)
    settled_by_corridor: dict[tuple[str, str], int] = defaultdict(int)
    for s in result.settlements():
        key = (s.obligation.debtor_jurisdiction, s.obligation.creditor_jurisdiction)
        settled_by_corridor[key] += s.settled_value
    for corridor in result.corridors:
        assert 0 <= corridor.settled <= corridor.submitted
        assert corridor.carried == corridor.submitted - corridor.settled
        assert settled_by_corridor[(corridor.source, corridor.target)] == corridor.settled
        balance[corridor.source] -= corridor.settled
        balance[corridor.target] += corridor.settled
    assert all(amount == 0 for amount in balance.values())


# --- bounds -----------------------------------------------------------------------------------


@given(instances())
def test_nothing_is_settled_beyond_what_is_outstanding_or_valued_other_than_half_up(
    instance: Instance,
) -> None:
    result = run(instance)
    assert sorted(result.obligations, key=lambda o: o.obligation_id) == list(result.obligations)
    assert {o.obligation_id for o in result.obligations} == {
        o.obligation_id for o in instance.obligations
    }
    for s in result.settlements():
        assert s.obligation.outstanding > 0
        assert 0 <= s.settled <= s.obligation.outstanding
        assert 0 <= s.settled_value <= s.value
        assert s.remaining == s.obligation.outstanding - s.settled >= 0
        assert s.debtor_leg >= 0
        assert s.creditor_leg >= 0
    # Step 1: every obligation is valued half up in the base currency.
    for s in result.settlements():
        o = s.obligation
        assert s.value == exact_value(o.outstanding, o.currency, instance.rates)
        assert abs(s.value - o.outstanding * factor(o.currency, instance.rates)) <= Fraction(1, 2)


# --- optimal ----------------------------------------------------------------------------------


@given(instances())
def test_the_settled_volume_is_the_maximum_circulation_of_networkx_and_of_the_lp(
    instance: Instance,
) -> None:
    result = run(instance)
    capacities = corridor_capacities(instance.obligations, instance.rates)
    optimum = networkx_max_circulation(capacities)
    assert result.metrics.settled_value == optimum
    assert sum(s.settled_value for s in result.settlements()) == optimum
    assert sum(c.settled for c in result.corridors) == optimum
    # The LP in floating point, scaled to a range HiGHS handles, agrees within its tolerance.
    lp_optimum, _ = lp_max_circulation(capacities, scaled=True)
    assert abs(lp_optimum - optimum) <= max(1e-6, 1e-9 * sum(capacities.values()))


@given(instances(scales=MODERATE_SCALES))
def test_on_moderate_amounts_the_linear_program_optimum_is_integral_and_equal(
    instance: Instance,
) -> None:
    result = run(instance)
    capacities = corridor_capacities(instance.obligations, instance.rates)
    optimum, flows = lp_max_circulation(capacities)
    assert sum(capacities.values()) < 2**40
    assert abs(optimum - round(optimum)) < 1e-6
    assert round(optimum) == result.metrics.settled_value
    assert all(abs(x - round(x)) < 1e-6 for x in flows)


@given(instances(policy=Policy.FIFO))
def test_the_policy_changes_only_the_allocation_within_corridors(instance: Instance) -> None:
    fifo = run(instance)
    pro_rata = run(replace(instance, policy=Policy.PRO_RATA))
    assert fifo.corridors == pro_rata.corridors
    assert fifo.metrics.settled_value == pro_rata.metrics.settled_value
    assert fifo.values == pro_rata.values
    assert {t.jurisdiction: t.pay_in for t in fifo.jurisdictions} == {
        t.jurisdiction: t.pay_in for t in pro_rata.jurisdictions
    }


# --- policy -----------------------------------------------------------------------------------


def by_corridor(result: NettingResult) -> dict[tuple[str, str], list[int]]:
    """Obligation indices per corridor, in the fifo order of DESIGN §4 step 4."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, o in enumerate(result.obligations):
        groups[(o.debtor_jurisdiction, o.creditor_jurisdiction)].append(index)
    for indices in groups.values():
        indices.sort(key=lambda i: fifo_key(result.obligations[i]))
    return groups


@given(instances(policy=Policy.FIFO))
def test_fifo_touches_no_obligation_while_an_earlier_one_in_its_corridor_is_unfilled(
    instance: Instance,
) -> None:
    result = run(instance)
    for corridor, indices in by_corridor(result).items():
        unfilled_before = False
        for i in indices:
            if unfilled_before:
                assert result.settled_values[i] == 0
                assert result.settled[i] == 0
            if result.settled_values[i] < result.values[i]:
                unfilled_before = True
        # Hence at most one obligation per corridor is partly settled ...
        partly = [i for i in indices if 0 < result.settled_values[i] < result.values[i]]
        assert len(partly) <= 1, corridor
        # ... and exactly the prefix whose values fit in the corridor's flow is filled.
        flow = next(c.settled for c in result.corridors if (c.source, c.target) == corridor)
        assert sum(result.settled_values[i] for i in indices) == flow
        running = 0
        for i in indices:
            running += result.values[i]
            if running <= flow:
                assert result.settled_values[i] == result.values[i]


@given(instances(policy=Policy.PRO_RATA))
def test_pro_rata_gives_every_obligation_its_share_within_one_unit(instance: Instance) -> None:
    result = run(instance)
    for corridor in result.corridors:
        members = [
            s
            for s in result.settlements()
            if (s.obligation.debtor_jurisdiction, s.obligation.creditor_jurisdiction)
            == (corridor.source, corridor.target)
        ]
        assert sum(s.settled_value for s in members) == corridor.settled
        for s in members:
            if corridor.submitted == 0:
                assert s.settled_value == 0
                continue
            quota = Fraction(s.value * corridor.settled, corridor.submitted)
            assert abs(s.settled_value - quota) < 1
            assert math.floor(quota) <= s.settled_value <= math.ceil(quota)


# --- positions --------------------------------------------------------------------------------


@given(instances())
def test_participants_nets_sum_to_zero_and_each_position_is_the_sum_of_its_legs(
    instance: Instance,
) -> None:
    result = run(instance)
    nets: dict[str, int] = defaultdict(int)
    for p in result.positions:
        assert p.net == p.pay_out - p.pay_in
        nets[p.jurisdiction] += p.net
    assert all(total == 0 for total in nets.values())
    # Each position's pay-in and pay-out (and their base values) is the sum of its legs.
    expected: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for s in result.settlements():
        if s.settled_value == 0:
            assert s.debtor_leg == s.creditor_leg == 0
            continue
        o = s.obligation
        payer = expected[(o.debtor_jurisdiction, o.debtor_id)]
        payer[0] += s.debtor_leg
        payer[2] += s.settled_value
        payee = expected[(o.creditor_jurisdiction, o.creditor_id)]
        payee[1] += s.creditor_leg
        payee[3] += s.settled_value
    found = {
        (p.jurisdiction, p.participant_id): [p.pay_in, p.pay_out, p.pay_in_value, p.pay_out_value]
        for p in result.positions
    }
    assert found == dict(expected)
    assert len(found) == len(result.positions)
    for p in result.positions:
        assert p.currency == currency_of(result, p.jurisdiction)


# --- legs and the settled amount --------------------------------------------------------------


@given(instances())
def test_each_leg_is_within_one_minor_unit_of_the_exact_conversion(instance: Instance) -> None:
    result = run(instance)
    paid: dict[str, int] = defaultdict(int)
    for s in result.settlements():
        o = s.obligation
        paid[o.debtor_jurisdiction] += s.settled_value
        for leg, jurisdiction in (
            (s.debtor_leg, o.debtor_jurisdiction),
            (s.creditor_leg, o.creditor_jurisdiction),
        ):
            exact = to_local(s.settled_value, currency_of(result, jurisdiction), instance.rates)
            assert abs(leg - exact) < 1
    # Each jurisdiction's total is the half-up conversion of the base value it settles.
    for total in result.jurisdictions:
        exact = to_local(paid[total.jurisdiction], total.currency, instance.rates)
        assert total.pay_in == math.floor(exact + Fraction(1, 2))


@given(instances())
def test_full_matches_settle_in_full_partial_ones_round_down_and_zero_values_settle_nothing(
    instance: Instance,
) -> None:
    result = run(instance)
    for s in result.settlements():
        o = s.obligation
        if s.settled_value == 0:
            assert s.settled == 0
        elif s.settled_value == s.value:
            assert s.settled == o.outstanding
            assert s.remaining == 0
        else:
            exact = s.settled_value / factor(o.currency, instance.rates)
            assert s.settled == math.floor(exact)
            assert s.settled < o.outstanding
    # Obligations that value to zero are never settled for free.
    for s in result.settlements():
        if s.value == 0:
            assert (s.settled_value, s.settled, s.debtor_leg, s.creditor_leg) == (0, 0, 0, 0)
            assert s.remaining == s.obligation.outstanding


# --- metrics ----------------------------------------------------------------------------------


def six_places(numerator: int, denominator: int) -> str:
    if denominator == 0:
        return "0.000000"
    exact = Fraction(numerator, denominator) * 10**6
    return f"{Decimal(math.floor(exact + Fraction(1, 2))).scaleb(-6):.6f}"


@given(instances())
def test_the_metrics_follow_from_the_settlements(instance: Instance) -> None:
    result = run(instance)
    metrics = result.metrics
    submitted = sum(result.values)
    settled = sum(result.settled_values)
    assert metrics.submitted_value == submitted == sum(c.submitted for c in result.corridors)
    assert metrics.settled_value == settled
    assert metrics.carried_value == submitted - settled == sum(c.carried for c in result.corridors)
    assert metrics.obligations_settled == sum(1 for v in result.settled_values if v > 0)
    assert metrics.netting_efficiency == six_places(settled, submitted)
    gross = sum(p.pay_in_value + p.pay_out_value for p in result.positions)
    net_total = sum(abs(p.pay_out_value - p.pay_in_value) for p in result.positions)
    assert gross == 2 * settled
    assert metrics.domestic_liquidity_saved == six_places(gross - net_total, gross)


# --- determinism and the digest ---------------------------------------------------------------


@given(instances(), st.randoms(use_true_random=False))
def test_shuffling_the_snapshot_changes_neither_the_result_nor_the_digest(
    instance: Instance, random: Random
) -> None:
    result = run(instance)
    shuffled = list(instance.obligations)
    random.shuffle(shuffled)
    again = net(reversed(shuffled), instance.rates, instance.policy.value)
    assert again == result
    assert again.digest == result.digest


def _text(value: str) -> bytes:
    encoded = value.encode("utf-8")
    return struct.pack("<I", len(encoded)) + encoded


def _leaf(columns: list[list[object]]) -> str:
    """A leaf restated row by row: each column's values, column after column (docs/digest.md)."""
    encoded = bytearray()
    for column in columns:
        for value in column:
            if isinstance(value, str):
                encoded += _text(value)
            elif isinstance(value, date):
                encoded += _text(value.isoformat())
            else:
                encoded += struct.pack("<q", value)
    return hashlib.sha256(bytes(encoded)).hexdigest()


@given(instances())
def test_the_digest_is_the_root_of_its_corridor_and_position_leaves_and_nothing_else(
    instance: Instance,
) -> None:
    result = run(instance)
    leaves: dict[str, str] = {}
    for corridor in result.corridors:
        rows = [
            index
            for index, o in enumerate(result.obligations)
            if (o.debtor_jurisdiction, o.creditor_jurisdiction)
            == (corridor.source, corridor.target)
        ]
        snapshot = [
            [getattr(result.obligations[i], name) for i in rows] for name in SNAPSHOT_COLUMNS
        ]
        outcome = [
            [column[i] for i in rows]
            for column in (
                result.values,
                result.settled_values,
                result.settled,
                result.debtor_legs,
                result.creditor_legs,
            )
        ]
        leaves[f"corridor:{corridor.source}>{corridor.target}"] = _leaf(snapshot + outcome)
    for code in sorted(result.rates.jurisdictions):
        own = sorted(
            (p for p in result.positions if p.jurisdiction == code),
            key=lambda p: p.participant_id.encode("utf-8"),
        )
        if own:
            leaves[f"positions:{code}"] = _leaf(
                [
                    [getattr(p, name) for p in own]
                    for name in ("participant_id", "currency", "pay_in", "pay_out")
                ]
            )
    document = root_document(
        result.policy, result.rates, result.corridors, result.jurisdictions, result.metrics, leaves
    )
    assert document["version"] == 2
    assert result.digest == sha256_hex(canonical_json(document))
    assert len(result.digest) == 64
    # Free-text metadata (source, as_of) and rates of currencies nobody uses are not digested.
    rates = instance.rates
    extra = RateSet(
        base=rates.base,
        jurisdictions=rates.jurisdictions,
        rates={**rates.rates, "CLF": Decimal("263.1")},
        source="another source",
        as_of="2030-01-01T00:00:00Z",
    )
    assert net(instance.obligations, extra, instance.policy).digest == result.digest


@given(instances(min_obligations=1), st.data())
def test_changing_any_obligation_changes_the_digest(
    instance: Instance, data: st.DataObject
) -> None:
    result = run(instance)
    index = data.draw(st.integers(0, len(instance.obligations) - 1))
    original = instance.obligations[index]
    changed = data.draw(
        st.sampled_from(
            [
                replace(original, outstanding=original.outstanding + 1),
                replace(original, priority=original.priority + 1),
                replace(original, sequence=original.sequence + 1),
                replace(original, debtor_id=original.debtor_id + "x"),
                replace(original, creditor_id=original.creditor_id + "x"),
                replace(original, obligation_id=original.obligation_id + "\x00"),
            ]
        )
    )
    obligations = list(instance.obligations)
    obligations[index] = changed
    assert net(obligations, instance.rates, instance.policy).digest != result.digest


@given(instances())
def test_the_64_bit_path_and_the_exact_integers_give_the_same_result(instance: Instance) -> None:
    fast = run(instance)
    # No bound can be proven under a limit of 1: every column goes through exact integers.
    with patch.object(rounding, "SAFE_INT64", 1):
        wide = run(instance)
    assert wide.digest == fast.digest
    assert wide.positions == fast.positions
    for name in ("value", "settled_value", "settled", "debtor_leg", "creditor_leg"):
        assert getattr(wide.columns, name).tolist() == getattr(fast.columns, name).tolist()


def test_amounts_of_the_edge_limit_at_an_eight_place_rate_net_alike_both_ways() -> None:
    rates = RateSet(
        "CNY",
        {"CN": "CNY", "RU": "RUB"},
        {"CNY": Decimal(1), "RUB": Decimal("0.07812345")},
    )
    obligations = [
        Obligation(f"o{n}", f"RU-{n % 3}", "RU", f"CN-{n % 2}", "CN", "RUB", 10**14 - n, DUE)
        for n in range(5)
    ] + [Obligation("back", "CN-9", "CN", "RU-9", "RU", "CNY", 10**14, DUE)]
    fast = net(obligations, rates)
    with patch.object(rounding, "SAFE_INT64", 1):
        wide = net(obligations, rates)
    assert wide.digest == fast.digest
    assert fast.columns.value.dtype == np.int64
    assert wide.columns.value.dtype == object
