"""Policy ``setoff`` (DESIGN §4a) as Hypothesis properties, checked against independent oracles:
an exact min-cost flow by networkx over one arc per obligation (a different graph and weighting
from the engine's), and a two-stage linear program solved by HiGHS. Every invariant of DESIGN §4
is re-run under ``setoff`` with the core's own properties."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from random import Random
from typing import Any

import networkx as nx
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linprog

from clearing.domain.netting import NettingResult, net, setoff
from clearing.domain.netting.lines import LineTerms
from clearing.domain.obligations import Obligation, Policy
from tests.unit import test_digest_verifier as verifier_properties
from tests.unit import test_netting_properties as core_properties
from tests.unit.budget import costly
from tests.unit.oracles import exact_value, fifo_key
from tests.unit.strategies import MODERATE_SCALES, Instance, instances


def run(instance: Instance, policy: Policy = Policy.SETOFF) -> NettingResult:
    return net(instance.obligations, instance.rates, policy)


def homes(obligations: Sequence[Obligation]) -> dict[str, str]:
    """Each participant's jurisdiction."""
    found: dict[str, str] = {}
    for o in obligations:
        found[o.debtor_id] = o.debtor_jurisdiction
        found[o.creditor_id] = o.creditor_jurisdiction
    return found


def net_pay_ins(obligations: Sequence[Obligation], settled_values: Sequence[int]) -> int:
    """The sum over participants of what they owe minus what they are owed, where positive."""
    balance: dict[str, int] = defaultdict(int)
    for o, value in zip(obligations, settled_values, strict=True):
        balance[o.debtor_id] += value
        balance[o.creditor_id] -= value
    return sum(max(0, amount) for amount in balance.values())


# --- the oracles ------------------------------------------------------------------------------


def networkx_setoff(
    obligations: Sequence[Obligation],
    values: Sequence[int],
    supplies: Mapping[str, int] | None = None,
) -> tuple[int, int]:
    """The most value that can settle and, settling that much, the least sum of net pay-ins:
    exact, as one min-cost flow with an arc per obligation weighted ``-(total value + 1)``
    (any unit settled outweighs every pay-in) and unbounded pay-in (weight 1) and pay-out
    (weight 0) arcs between each participant and its jurisdiction's bank. ``supplies`` are
    what each jurisdiction's pay-ins exceed its pay-outs by."""
    big = sum(values) + 1
    graph = nx.MultiDiGraph()
    for o, value in zip(obligations, values, strict=True):
        if value > 0:
            debtor, creditor = ("participant", o.debtor_id), ("participant", o.creditor_id)
            graph.add_edge(debtor, creditor, capacity=value, weight=-big)
    for participant, home in homes(obligations).items():
        graph.add_edge(("bank", home), ("participant", participant), weight=1)
        graph.add_edge(("participant", participant), ("bank", home), weight=0)
    for code, supply in (supplies or {}).items():
        graph.add_node(("bank", code), demand=-supply)
    if graph.number_of_edges() == 0:
        return 0, 0
    _, flows = nx.network_simplex(graph)
    settled = sum(
        sum(by_key.values())
        for tail, heads in flows.items()
        if tail[0] == "participant"
        for head, by_key in heads.items()
        if head[0] == "participant"
    )
    pay_in = sum(
        sum(by_key.values())
        for tail, heads in flows.items()
        if tail[0] == "bank"
        for by_key in heads.values()
    )
    return settled, pay_in


def lp_setoff(obligations: Sequence[Obligation], values: Sequence[int]) -> tuple[float, float]:
    """The same two optima by linear programming (HiGHS): first the largest ``sum(x)`` over
    ``0 <= x_o <= v_o`` with every jurisdiction paying in what it pays out; then, holding that
    value, the least ``sum(t)`` with ``t_p >= 0`` and ``t_p >= owes_p(x) - owed_p(x)``."""
    participants = sorted(homes(obligations))
    codes = sorted(set(homes(obligations).values()))
    count, extra = len(obligations), len(participants)
    balance = np.zeros((len(codes), count + extra))
    owes = np.zeros((extra, count + extra))
    for column, o in enumerate(obligations):
        balance[codes.index(o.debtor_jurisdiction), column] += 1.0
        balance[codes.index(o.creditor_jurisdiction), column] -= 1.0
        owes[participants.index(o.debtor_id), column] += 1.0
        owes[participants.index(o.creditor_id), column] -= 1.0
    owes[:, count:] = -np.eye(extra)
    bounds = [(0.0, float(v)) for v in values] + [(0.0, None)] * extra
    first = linprog(
        c=[-1.0] * count + [0.0] * extra,
        A_eq=balance,
        b_eq=np.zeros(len(codes)),
        bounds=bounds,
        method="highs",
    )
    assert first.status == 0, first.message
    most = -float(first.fun)
    settle_that_much = np.concatenate(([[-1.0] * count + [0.0] * extra], owes))
    second = linprog(
        c=[0.0] * count + [1.0] * extra,
        A_ub=settle_that_much,
        b_ub=np.concatenate(([-round(most)], np.zeros(extra))),
        A_eq=balance,
        b_eq=np.zeros(len(codes)),
        bounds=bounds,
        method="highs",
    )
    assert second.status == 0, second.message
    return most, float(second.fun)


def values_of(instance: Instance) -> list[int]:
    return [exact_value(o.outstanding, o.currency, instance.rates) for o in instance.obligations]


# --- optimal ----------------------------------------------------------------------------------


@costly()
@given(instances(policy=Policy.SETOFF))
def test_setoff_settles_what_fifo_settles_and_moves_the_least_money_networkx_finds(
    instance: Instance,
) -> None:
    result = run(instance)
    fifo = run(instance, Policy.FIFO)
    pro_rata = run(instance, Policy.PRO_RATA)
    most, least = networkx_setoff(instance.obligations, values_of(instance))
    assert result.metrics.settled_value == fifo.metrics.settled_value == most
    assert setoff.money_moved(result) == least
    assert net_pay_ins(result.obligations, result.settled_values) == least
    assert setoff.money_moved(result) <= setoff.money_moved(fifo)
    assert setoff.money_moved(result) <= setoff.money_moved(pro_rata)


@costly()
@given(instances(scales=MODERATE_SCALES, policy=Policy.SETOFF))
def test_on_moderate_amounts_the_linear_program_finds_the_same_value_and_least_pay_ins(
    instance: Instance,
) -> None:
    result = run(instance)
    if not instance.obligations:
        assert result.metrics.settled_value == setoff.money_moved(result) == 0
        return
    most, least = lp_setoff(instance.obligations, values_of(instance))
    assert abs(most - result.metrics.settled_value) < 1e-6
    assert abs(least - setoff.money_moved(result)) < 1e-6


# --- the allocation within pairs --------------------------------------------------------------


def by_pair(obligations: Sequence[Obligation]) -> dict[tuple[str, str], list[int]]:
    """Obligation indices per (debtor, creditor) pair, in fifo order."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, o in enumerate(obligations):
        groups[(o.debtor_id, o.creditor_id)].append(index)
    for indices in groups.values():
        indices.sort(key=lambda i: fifo_key(obligations[i]))
    return groups


def assert_fifo_within_pairs(
    obligations: Sequence[Obligation], values: Sequence[int], settled: Sequence[int]
) -> None:
    for pair, indices in by_pair(obligations).items():
        unfilled_before = False
        for i in indices:
            assert 0 <= settled[i] <= values[i]
            if unfilled_before:
                assert settled[i] == 0, pair
            if settled[i] < values[i]:
                unfilled_before = True
        partly = [i for i in indices if 0 < settled[i] < values[i]]
        assert len(partly) <= 1, pair


@costly()
@given(instances(policy=Policy.SETOFF))
def test_within_a_pair_setoff_fills_in_fifo_order_with_at_most_one_obligation_in_part(
    instance: Instance,
) -> None:
    result = run(instance)
    assert_fifo_within_pairs(result.obligations, result.values, result.settled_values)


# --- every invariant of the core, under setoff ------------------------------------------------

INVARIANTS: list[Callable[..., None]] = [
    core_properties.test_every_jurisdiction_pays_in_exactly_what_it_pays_out_and_the_corridors_circulate,
    core_properties.test_nothing_is_settled_beyond_what_is_outstanding_or_valued_other_than_half_up,
    core_properties.test_the_settled_volume_is_the_maximum_circulation_of_networkx_and_of_the_lp,
    core_properties.test_participants_nets_sum_to_zero_and_each_position_is_the_sum_of_its_legs,
    core_properties.test_each_leg_is_within_one_minor_unit_of_the_exact_conversion,
    core_properties.test_full_matches_settle_in_full_partial_ones_round_down_and_zero_values_settle_nothing,
    core_properties.test_the_metrics_follow_from_the_settlements,
    core_properties.test_the_digest_is_the_root_of_its_corridor_and_position_leaves_and_nothing_else,
    core_properties.test_the_64_bit_path_and_the_exact_integers_give_the_same_result,
]


def inner(property_test: Callable[..., None]) -> Callable[..., None]:
    """The body of a Hypothesis property, to run on other examples."""
    body: Callable[..., None] = getattr(property_test, "hypothesis").inner_test  # noqa: B009
    return body


@pytest.mark.parametrize(
    "invariant", INVARIANTS, ids=lambda test: test.__name__.removeprefix("test_")
)
@costly()
@given(instance=instances(policy=Policy.SETOFF))
def test_under_setoff_every_invariant_of_the_netting_core_still_holds(
    invariant: Callable[..., None], instance: Instance
) -> None:
    inner(invariant)(instance)


@costly()
@given(instances(policy=Policy.SETOFF), st.randoms(use_true_random=False))
def test_under_setoff_shuffling_the_snapshot_changes_neither_the_result_nor_the_digest(
    instance: Instance, random: Random
) -> None:
    inner(core_properties.test_shuffling_the_snapshot_changes_neither_the_result_nor_the_digest)(
        instance, random
    )


@costly()
@given(instance=instances(policy=Policy.SETOFF))
def test_under_setoff_the_stand_alone_verifier_agrees_with_the_digest(
    tmp_path_factory: pytest.TempPathFactory, instance: Instance
) -> None:
    inner(verifier_properties.test_the_engine_and_the_verifier_agree_on_every_generated_instance)(
        tmp_path_factory=tmp_path_factory, instance=instance
    )


# --- with line flows: the jurisdictions' supplies ---------------------------------------------


@st.composite
def allocation_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """What the core hands the set-off allocation, built here from an instance: values by the
    oracle, participants coded in a random order, rows grouped by corridor in fifo order, and
    line flows that some choice of fully settled obligations makes feasible."""
    instance = draw(instances(policy=Policy.SETOFF))
    obligations = instance.obligations
    values = values_of(instance)
    names = sorted(homes(obligations))
    Random(draw(st.integers(0, 2**32))).shuffle(names)
    codes = instance.codes
    corridor = [
        codes.index(o.debtor_jurisdiction) * len(codes) + codes.index(o.creditor_jurisdiction)
        for o in obligations
    ]
    fifo_order = sorted(
        range(len(obligations)), key=lambda i: (corridor[i], fifo_key(obligations[i]))
    )
    chosen = draw(st.lists(st.booleans(), min_size=len(obligations), max_size=len(obligations)))
    supply: dict[int, int] = defaultdict(int)
    for o, value, settles in zip(obligations, values, chosen, strict=True):
        if settles:
            supply[codes.index(o.debtor_jurisdiction)] += value
            supply[codes.index(o.creditor_jurisdiction)] -= value
    # Every jurisdiction's net line flow, drawn through the first jurisdiction.
    line_flows = {
        (i, 0) if amount > 0 else (0, i): abs(amount)
        for i, amount in supply.items()
        if i != 0 and amount != 0
    }
    return {
        "obligations": obligations,
        "values": values,
        "names": names,
        "codes": codes,
        "corridor": corridor,
        "fifo_order": fifo_order,
        "supply": {codes[i]: amount for i, amount in supply.items()},
        "line_flows": line_flows,
    }


@costly()
@given(allocation_inputs(), st.booleans())
def test_with_line_flows_setoff_settles_the_most_the_supplies_allow_and_moves_the_least(
    given_inputs: dict[str, Any], wide: bool
) -> None:
    obligations: Sequence[Obligation] = given_inputs["obligations"]
    values: list[int] = given_inputs["values"]
    names: list[str] = given_inputs["names"]
    codes: list[str] = given_inputs["codes"]
    corridor = np.array(given_inputs["corridor"], dtype=np.int64)
    settled, corridor_flows = setoff.allocate(
        np.array(values, dtype=object if wide else np.int64),
        pa.array(names, pa.string()),
        np.array([names.index(o.debtor_id) for o in obligations], dtype=np.intp),
        np.array([names.index(o.creditor_id) for o in obligations], dtype=np.intp),
        corridor,
        np.array(given_inputs["fifo_order"], dtype=np.intp),
        len(codes),
        given_inputs["line_flows"],
    )
    assert settled.dtype == (object if wide else np.int64)
    settled_values = [int(v) for v in settled.tolist()]
    most, least = networkx_setoff(obligations, values, given_inputs["supply"])
    assert sum(settled_values) == most
    assert net_pay_ins(obligations, settled_values) == least
    assert_fifo_within_pairs(obligations, values, settled_values)
    # Each jurisdiction's pay-ins exceed its pay-outs by its net line flow.
    surplus: dict[str, int] = defaultdict(int)
    by_corridor: dict[tuple[int, int], int] = defaultdict(int)
    for o, key, value in zip(obligations, corridor.tolist(), settled_values, strict=True):
        surplus[o.debtor_jurisdiction] += value
        surplus[o.creditor_jurisdiction] -= value
        if value:
            by_corridor[divmod(key, len(codes))] += value
    assert {code: surplus[code] for code in codes} == {
        code: given_inputs["supply"].get(code, 0) for code in codes
    }
    assert corridor_flows == dict(by_corridor)


@costly()
@given(instances(policy=Policy.SETOFF), st.data())
def test_with_a_liquidity_line_setoff_settles_what_fifo_settles_and_moves_the_least(
    instance: Instance, data: st.DataObject
) -> None:
    source, target = data.draw(st.permutations(instance.codes))[:2]
    currency = instance.rates.jurisdictions[data.draw(st.sampled_from([source, target]))]
    limit = data.draw(st.integers(0, 10**12))
    line = LineTerms("L1", source, target, currency, limit, data.draw(st.integers(0, limit)))
    fifo = net(instance.obligations, instance.rates, Policy.FIFO, [line])
    result = net(instance.obligations, instance.rates, Policy.SETOFF, [line])
    assert result.metrics.settled_value == fifo.metrics.settled_value
    assert result.lines == fifo.lines
    # What each jurisdiction's pay-ins exceed its pay-outs by, in base value, is fixed by the
    # line's movement: the oracle finds the least money moved under the same surpluses.
    surplus: dict[str, int] = defaultdict(int)
    for s in fifo.settlements():
        surplus[s.obligation.debtor_jurisdiction] += s.settled_value
        surplus[s.obligation.creditor_jurisdiction] -= s.settled_value
    most, least = networkx_setoff(instance.obligations, values_of(instance), surplus)
    assert result.metrics.settled_value == most
    assert setoff.money_moved(result) == least <= setoff.money_moved(fifo)
    for s in result.settlements():
        surplus[s.obligation.debtor_jurisdiction] -= s.settled_value
        surplus[s.obligation.creditor_jurisdiction] += s.settled_value
    assert set(surplus.values()) <= {0}
