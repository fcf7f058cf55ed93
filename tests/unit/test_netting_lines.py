"""The invariants of DESIGN §4b, liquidity lines in the netting, as Hypothesis properties checked
against independent restatements (``oracles.py``): the optimum of the linear program with the
line arcs, level by level; balances within their limits; the closed loop with the net line flow;
nothing changed by lines that do not move; determinism."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace
from fractions import Fraction
from random import Random
from typing import Any
from unittest.mock import patch

from hypothesis import assume, given
from hypothesis import strategies as st

from clearing.adapters.files.netting import result_document
from clearing.domain import rounding
from clearing.domain.netting import NettingResult, net
from clearing.domain.netting.circulation import LineArc, circulation_with_lines
from clearing.domain.obligations import Policy
from clearing.domain.rates import RateSet
from tests.unit.budget import costly
from tests.unit.line_strategies import (
    MODERATE_LIMIT_SCALES,
    LinedInstance,
    line_terms,
    lined_instances,
)
from tests.unit.oracles import (
    corridor_capacities,
    factor,
    line_room,
    lp_circulation_with_lines,
    to_local,
)
from tests.unit.strategies import MODERATE_SCALES, Instance, instances


def run(lined: LinedInstance) -> NettingResult:
    instance = lined.instance
    return net(instance.obligations, instance.rates, instance.policy, lined.lines)


def without_lines(lined: LinedInstance) -> NettingResult:
    instance = lined.instance
    return net(instance.obligations, instance.rates, instance.policy)


def figures(result: NettingResult) -> dict[str, Any]:
    """Everything a result says, except its lines."""
    return {
        "digest": result.digest,
        "document": result_document(result, with_lines=False),
        "columns": {
            name: getattr(result.columns, name).tolist()
            for name in ("value", "settled_value", "settled", "debtor_leg", "creditor_leg")
        },
        "positions": result.positions,
        "corridors": result.corridors,
        "jurisdictions": result.jurisdictions,
        "metrics": result.metrics,
    }


def base_flow_per_jurisdiction(result: NettingResult) -> dict[str, int]:
    """What each jurisdiction's importers pay in beyond what its exporters receive, in base."""
    flow: dict[str, int] = defaultdict(int)
    for s in result.settlements():
        flow[s.obligation.debtor_jurisdiction] += s.settled_value
        flow[s.obligation.creditor_jurisdiction] -= s.settled_value
    return flow


# --- optimal: the linear program with the line arcs ---------------------------------------------


@costly()
@given(lined_instances(scales=MODERATE_SCALES, limit_scales=MODERATE_LIMIT_SCALES))
def test_the_settled_value_is_the_lp_optimum_with_line_arcs_drawing_least_and_repaying_most(
    lined: LinedInstance,
) -> None:
    result = run(lined)
    rates = lined.instance.rates
    capacities = corridor_capacities(lined.instance.obligations, rates)
    arcs = [
        (
            t.source,
            t.target,
            line_room(t.limit - t.balance, t.currency, rates),
            line_room(t.balance, t.currency, rates),
        )
        for t in lined.lines
    ]
    settled, drawn, repaid = lp_circulation_with_lines(capacities, arcs)
    assert abs(result.metrics.settled_value - settled) < 1e-3
    assert abs(sum(m.drawn_value for m in result.lines) - drawn) < 1e-3
    assert abs(sum(m.repaid_value for m in result.lines) - repaid) < 1e-3
    # The settled value counts what the lines funded.
    assert result.metrics.settled_value == sum(c.settled for c in result.corridors)


@st.composite
def small_graphs_with_lines(
    draw: st.DrawFn,
) -> tuple[dict[tuple[int, int], int], list[LineArc]]:
    nodes = draw(st.integers(2, 5))
    edges = [(a, b) for a in range(nodes) for b in range(nodes) if a != b]
    chosen = draw(st.lists(st.sampled_from(edges), unique=True, max_size=len(edges)))
    capacities = {edge: draw(st.integers(0, 30)) for edge in chosen}
    lines = [
        LineArc(source, target, draw(st.integers(0, 20)), draw(st.integers(0, 20)))
        for source, target in draw(st.lists(st.sampled_from(edges), max_size=4))
    ]
    return capacities, lines


@costly()
@given(small_graphs_with_lines())
def test_the_staged_circulation_is_the_lexicographic_optimum_of_the_lp(
    graph: tuple[dict[tuple[int, int], int], list[LineArc]],
) -> None:
    capacities, lines = graph
    found = circulation_with_lines(capacities, lines)
    # A circulation once the lines' arcs are counted, within every capacity.
    balance: dict[int, int] = defaultdict(int)
    for (source, target), flow in found.flows.items():
        assert 0 < flow <= capacities[(source, target)]
        balance[source] += flow
        balance[target] -= flow
    for line, drawn, repaid in zip(lines, found.drawn, found.repaid, strict=True):
        assert 0 <= drawn <= line.drawable
        assert 0 <= repaid <= line.repayable
        assert drawn == 0 or repaid == 0
        balance[line.source] += repaid - drawn
        balance[line.target] += drawn - repaid
    assert all(amount == 0 for amount in balance.values())
    # Every line movement is carried by legs at its ends: a jurisdiction collects for lines at
    # most what its importers pay in, and lines pay its exporters at most what they receive.
    for node in {n for edge in capacities for n in edge} | {
        n for t in lines for n in (t.source, t.target)
    }:
        pay_in = sum(f for (source, _), f in found.flows.items() if source == node)
        pay_out = sum(f for (_, target), f in found.flows.items() if target == node)
        arcs = list(zip(lines, found.drawn, found.repaid, strict=True))
        collected = sum(d for t, d, _ in arcs if t.source == node)
        collected += sum(r for t, _, r in arcs if t.target == node)
        paid = sum(d for t, d, _ in arcs if t.target == node)
        paid += sum(r for t, _, r in arcs if t.source == node)
        assert collected <= pay_in
        assert paid <= pay_out
    oracle = [(line.source, line.target, line.drawable, line.repayable) for line in lines]
    settled, drawn, repaid = lp_circulation_with_lines(capacities, oracle)
    assert sum(found.flows.values()) == round(settled)
    assert sum(found.drawn) == round(drawn)
    assert sum(found.repaid) == round(repaid)


# --- bounds -------------------------------------------------------------------------------------


@costly()
@given(lined_instances())
def test_every_balance_stays_within_its_limit_and_moves_by_what_was_drawn_or_repaid(
    lined: LinedInstance,
) -> None:
    result = run(lined)
    terms = sorted(lined.lines, key=lambda t: t.line_id)
    assert [m.line_id for m in result.lines] == [t.line_id for t in terms]
    for t, m in zip(terms, result.lines, strict=True):
        assert (m.source, m.target, m.currency) == (t.source, t.target, t.currency)
        assert 0 <= m.balance <= t.limit
        assert m.balance == t.balance + m.drawn - m.repaid
        assert m.drawn == 0 or m.repaid == 0
        # Base values become amounts of the line's currency rounded down or up, never to zero,
        # so a line that carried value moved.
        line_factor = factor(t.currency, lined.instance.rates)
        for amount, value in ((m.drawn, m.drawn_value), (m.repaid, m.repaid_value)):
            exact = value / line_factor
            assert math.floor(exact) <= amount <= math.ceil(exact)
            assert (amount > 0) == (value > 0)
        assert m.moved == (m.drawn_value > 0 or m.repaid_value > 0)


@costly()
@given(lined_instances())
def test_the_lines_in_an_ends_currency_move_within_one_unit_of_their_exact_total(
    lined: LinedInstance,
) -> None:
    result = run(lined)
    rates = lined.instance.rates
    flows: dict[str, int] = defaultdict(int)
    exacts: dict[str, list[Fraction]] = defaultdict(list)
    for m in result.lines:
        for code, sign, flow in ((m.source, 1, m.source_flow), (m.target, -1, m.target_flow)):
            if rates.jurisdictions[code] == m.currency:
                flows[code] += flow
                exacts[code].append(
                    sign * (m.drawn_value - m.repaid_value) / factor(m.currency, rates)
                )
    for code, exact_amounts in exacts.items():
        # A line moving less than one unit still moves one, which may push the total further.
        if all(abs(exact) >= 1 or exact == 0 for exact in exact_amounts):
            assert abs(flows[code] - sum(exact_amounts, Fraction(0))) < 1


def several_below_one_unit(result: NettingResult) -> bool:
    """Whether at some end two or more lines in its currency each move less than one unit of it
    exactly (while carrying value)."""
    rates = result.rates
    tiny: dict[str, int] = defaultdict(int)
    for m in result.lines:
        exact = abs(m.drawn_value - m.repaid_value) / factor(m.currency, rates)
        if 0 < exact < 1:
            for code in {m.source, m.target}:
                if rates.jurisdictions[code] == m.currency:
                    tiny[code] += 1
    return any(count > 1 for count in tiny.values())


# --- the closed loop with lines -----------------------------------------------------------------


@costly()
@given(lined_instances())
def test_each_jurisdiction_pays_in_exactly_its_pay_outs_plus_its_net_line_flow(
    lined: LinedInstance,
) -> None:
    result = run(lined)
    pay_in: dict[str, int] = defaultdict(int)
    pay_out: dict[str, int] = defaultdict(int)
    for s in result.settlements():
        pay_in[s.obligation.debtor_jurisdiction] += s.debtor_leg
        pay_out[s.obligation.creditor_jurisdiction] += s.creditor_leg
    line_flow: dict[str, int] = defaultdict(int)
    base_line_flow: dict[str, int] = defaultdict(int)
    for m in result.lines:
        line_flow[m.source] += m.source_flow
        line_flow[m.target] += m.target_flow
        base_line_flow[m.source] += m.drawn_value - m.repaid_value
        base_line_flow[m.target] -= m.drawn_value - m.repaid_value
        # At an end in the line's currency, the flow is the line's movement to the minor unit.
        jurisdictions = lined.instance.rates.jurisdictions
        if jurisdictions[m.source] == m.currency:
            assert m.source_flow == m.drawn - m.repaid
        if jurisdictions[m.target] == m.currency:
            assert m.target_flow == m.repaid - m.drawn
    base_flow = base_flow_per_jurisdiction(result)
    for total in result.jurisdictions:
        code = total.jurisdiction
        assert (pay_in[code], pay_out[code]) == (total.pay_in, total.pay_out)
        assert total.pay_in - total.pay_out == total.line_flow == line_flow[code]
        assert total.pay_in >= 0
        assert total.pay_out >= 0
        # In base, the corridors and the lines circulate exactly.
        assert base_flow[code] == base_line_flow[code]


@costly()
@given(st.one_of(lined_instances(one_per_jurisdiction=True), lined_instances()))
def test_every_leg_is_within_one_unit_of_its_exact_value_with_one_or_several_lines_an_end(
    lined: LinedInstance,
) -> None:
    result = run(lined)
    # A line moving less than one unit of its currency still moves one; where several such
    # lines meet at one end in that currency, nothing rounds them within one unit together.
    assume(not several_below_one_unit(result))
    rates = result.rates
    paid: dict[str, int] = defaultdict(int)
    received: dict[str, int] = defaultdict(int)
    for s in result.settlements():
        o = s.obligation
        paid[o.debtor_jurisdiction] += s.settled_value
        received[o.creditor_jurisdiction] += s.settled_value
        for leg, code in (
            (s.debtor_leg, o.debtor_jurisdiction),
            (s.creditor_leg, o.creditor_jurisdiction),
        ):
            assert abs(leg - to_local(s.settled_value, rates.jurisdictions[code], rates)) < 1
    for total in result.jurisdictions:
        for amount, value in ((total.pay_in, paid), (total.pay_out, received)):
            exact = to_local(value[total.jurisdiction], total.currency, rates)
            assert math.floor(exact) <= amount <= math.ceil(exact)


# --- nothing changes without movement -----------------------------------------------------------


@costly()
@given(instances(), st.data())
def test_lines_that_cannot_lend_or_be_repaid_change_neither_result_nor_digest(
    instance: Instance, data: st.DataObject
) -> None:
    lines = data.draw(
        line_terms(instance.codes, dict(instance.rates.jurisdictions), scales=((0, 0),))
    )
    lined = LinedInstance(instance, lines)
    result = run(lined)
    assert figures(result) == figures(without_lines(lined))
    assert all(not m.moved for m in result.lines)


@costly()
@given(lined_instances())
def test_a_run_whose_lines_moved_nothing_is_the_run_without_lines(lined: LinedInstance) -> None:
    result = run(lined)
    plain = without_lines(lined)
    if any(m.moved for m in result.lines):
        assert result.digest != plain.digest
        assert result.metrics.settled_value > plain.metrics.settled_value or any(
            m.repaid for m in result.lines
        )
    else:
        assert figures(result) == figures(plain)


def between_two(instance: Instance) -> Instance:
    """The instance's obligations between its first two jurisdictions, and only those two."""
    first, second = instance.codes[:2]
    rates = instance.rates
    two = RateSet(rates.base, {c: rates.jurisdictions[c] for c in (first, second)}, rates.rates)
    kept = tuple(
        o
        for o in instance.obligations
        if {o.debtor_jurisdiction, o.creditor_jurisdiction} == {first, second}
    )
    return replace(instance, rates=two, obligations=kept)


@costly()
@given(instances(), st.data())
def test_between_two_jurisdictions_lines_only_add_to_what_the_circulation_settles(
    instance: Instance, data: st.DataObject
) -> None:
    two = between_two(instance)
    lines = data.draw(line_terms(two.codes, dict(two.rates.jurisdictions)))
    for policy in (Policy.FIFO, Policy.PRO_RATA):
        lined = LinedInstance(replace(two, policy=policy), lines)
        result, plain = run(lined), without_lines(lined)
        # What the lines fund is their net flow between the two (lines owed in opposite
        # directions are set off against each other first, which settles nothing).
        first = two.codes[0]
        funded = sum(
            (m.drawn_value - m.repaid_value) * (1 if m.source == first else -1)
            for m in result.lines
        )
        assert result.metrics.settled_value == plain.metrics.settled_value + abs(funded)
        before = {(c.source, c.target): c.settled for c in plain.corridors}
        for corridor in result.corridors:
            assert corridor.settled >= before[(corridor.source, corridor.target)]
        if policy is Policy.FIFO:
            for with_lines, alone in zip(result.settled_values, plain.settled_values, strict=True):
                assert with_lines >= alone


# --- determinism --------------------------------------------------------------------------------


@costly()
@given(lined_instances(), st.randoms(use_true_random=False))
def test_shuffling_obligations_and_lines_changes_neither_result_nor_digest(
    lined: LinedInstance, random: Random
) -> None:
    result = run(lined)
    obligations, lines = list(lined.instance.obligations), list(lined.lines)
    random.shuffle(obligations)
    random.shuffle(lines)
    instance = lined.instance
    again = net(obligations, instance.rates, instance.policy.value, lines)
    assert again == result
    assert again.lines == result.lines


@costly()
@given(lined_instances())
def test_the_64_bit_path_and_the_exact_integers_agree_with_lines(lined: LinedInstance) -> None:
    fast = run(lined)
    with patch.object(rounding, "SAFE_INT64", 1):
        wide = run(lined)
    assert figures(wide) == figures(fast)
    assert wide.lines == fast.lines
