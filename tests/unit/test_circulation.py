"""The maximum circulation on the corridor graph, against networkx and brute force."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.domain.errors import InvalidInput
from clearing.domain.netting.circulation import MAX_TOTAL_CAPACITY, maximum_circulation
from tests.unit.oracles import networkx_max_circulation


@st.composite
def corridor_graphs(draw: st.DrawFn) -> dict[tuple[int, int], int]:
    nodes = draw(st.integers(2, 6))
    edges = [(a, b) for a in range(nodes) for b in range(nodes) if a != b]
    chosen = draw(st.lists(st.sampled_from(edges), unique=True, max_size=len(edges)))
    capacity = st.one_of(st.integers(0, 10), st.integers(0, 10**6), st.integers(0, 2**55))
    return {edge: draw(capacity) for edge in chosen}


def check_circulation(
    capacities: dict[tuple[int, int], int], flows: dict[tuple[int, int], int]
) -> None:
    balance: dict[int, int] = defaultdict(int)
    for edge, flow in flows.items():
        assert isinstance(flow, int)
        assert 0 < flow <= capacities[edge]
        balance[edge[0]] -= flow
        balance[edge[1]] += flow
    assert all(amount == 0 for amount in balance.values())


@given(corridor_graphs())
def test_the_circulation_is_feasible_integral_and_maximal(
    capacities: dict[tuple[int, int], int],
) -> None:
    flows = maximum_circulation(capacities)
    check_circulation(capacities, flows)
    assert sum(flows.values()) == networkx_max_circulation(capacities)


@given(st.dictionaries(st.sampled_from([(0, 1), (1, 0), (1, 2), (2, 0)]), st.integers(0, 4)))
def test_on_small_graphs_no_circulation_is_larger(capacities: dict[tuple[int, int], int]) -> None:
    flows = maximum_circulation(capacities)
    check_circulation(capacities, flows)
    edges = sorted(capacities)
    best = 0
    for candidate in itertools.product(*(range(capacities[e] + 1) for e in edges)):
        balance: dict[int, int] = defaultdict(int)
        for edge, flow in zip(edges, candidate, strict=True):
            balance[edge[0]] -= flow
            balance[edge[1]] += flow
        if all(amount == 0 for amount in balance.values()):
            best = max(best, sum(candidate))
    assert sum(flows.values()) == best


def test_two_corridors_settle_the_smaller_in_both_directions() -> None:
    assert maximum_circulation({(0, 1): 691, (1, 0): 2444}) == {(0, 1): 691, (1, 0): 691}


def test_a_three_way_loop_settles_although_no_pair_balances() -> None:
    flows = maximum_circulation({(0, 1): 100, (1, 2): 80, (2, 0): 120})
    assert flows == {(0, 1): 80, (1, 2): 80, (2, 0): 80}


def test_an_empty_or_zero_graph_circulates_nothing() -> None:
    assert maximum_circulation({}) == {}
    assert maximum_circulation({(0, 1): 0, (1, 0): 5}) == {}


def test_totals_beyond_the_solver_range_are_refused() -> None:
    with pytest.raises(InvalidInput, match="check the rates"):
        maximum_circulation({(0, 1): MAX_TOTAL_CAPACITY, (1, 0): 1})
