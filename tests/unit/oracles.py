"""Independent oracles for the netting core: exact valuation with fractions, and the maximum
circulation by networkx (exact, Python ints) and by a linear program (HiGHS through scipy).

Nothing here calls the code under test; each rule of DESIGN §3 and §4 is restated from scratch.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

import networkx as nx
import numpy as np
from scipy.optimize import linprog

from clearing.domain.obligations import Obligation
from clearing.domain.rates import RateSet

#: ISO 4217 minor-unit exponents of the currencies the strategies use, written out here so the
#: oracle does not lean on the code under test.
EXPONENTS = {"CNY": 2, "RUB": 2, "KZT": 2, "JPY": 0, "USD": 2, "EUR": 2, "BHD": 3, "CLF": 4}


def factor(currency: str, rates: RateSet) -> Fraction:
    """Base minor units per minor unit of ``currency``, exactly."""
    return _factor(rates.rates[currency], EXPONENTS[currency], EXPONENTS[rates.base])


@functools.lru_cache(maxsize=4096)
def _factor(rate: Decimal, from_exponent: int, to_exponent: int) -> Fraction:
    return Fraction(rate) * Fraction(10) ** (to_exponent - from_exponent)


def exact_value(amount: int, currency: str, rates: RateSet) -> int:
    """The valuation rule: ``amount`` in base minor units, rounded half up."""
    return math.floor(amount * factor(currency, rates) + Fraction(1, 2))


def to_local(base_value: int, currency: str, rates: RateSet) -> Fraction:
    """The exact conversion of base minor units into minor units of ``currency``."""
    return base_value / factor(currency, rates)


def corridor_capacities(
    obligations: Iterable[Obligation], rates: RateSet
) -> dict[tuple[str, str], int]:
    capacities: dict[tuple[str, str], int] = defaultdict(int)
    for o in obligations:
        key = (o.debtor_jurisdiction, o.creditor_jurisdiction)
        capacities[key] += exact_value(o.outstanding, o.currency, rates)
    return dict(capacities)


def networkx_max_circulation(capacities: Mapping[tuple[Any, Any], int]) -> int:
    """The largest total flow of a circulation within ``capacities``, exactly.

    Solved directly as a min-cost circulation with cost -1 per unit on every arc (no supplies,
    no demands), a different formulation from the engine's.
    """
    graph = nx.DiGraph()
    for (source, target), capacity in capacities.items():
        if capacity > 0:
            graph.add_edge(source, target, capacity=capacity, weight=-1)
    if graph.number_of_edges() == 0:
        return 0
    cost, flows = nx.network_simplex(graph)
    for node in graph:
        inflow = sum(flows[u][node] for u in graph.predecessors(node))
        outflow = sum(flows[node][v] for v in graph.successors(node))
        assert inflow == outflow
    return int(-cost)


def lp_max_circulation(
    capacities: Mapping[tuple[str, str], int], *, scaled: bool = False
) -> tuple[float, list[float]]:
    """The LP optimum of the maximum circulation (HiGHS), with the optimal flows.

    HiGHS works in floating point with absolute tolerances and fails on bounds near 10**17, so
    with ``scaled`` the capacities are divided by a common factor that brings the largest to
    10**6, and the optimum and flows multiplied back (the optimum is linear in the capacities).
    """
    arcs = [(edge, capacity) for edge, capacity in sorted(capacities.items()) if capacity > 0]
    if not arcs:
        return 0.0, []
    scale = max(1.0, max(capacity for _, capacity in arcs) / 1e6) if scaled else 1.0
    if scaled:
        # Bounds below HiGHS's feasibility tolerance (1e-7) beside one of 1e6 make it call the
        # zero circulation infeasible. Such arcs carry under 1e-6 * scale = 1e-12 of the largest
        # capacity each, far inside the tolerance callers compare the scaled optimum with.
        arcs = [(edge, capacity) for edge, capacity in arcs if capacity / scale >= 1e-6]
    nodes = sorted({node for (edge, _) in arcs for node in edge})
    a_eq = np.zeros((len(nodes), len(arcs)))
    for column, ((source, target), _) in enumerate(arcs):
        a_eq[nodes.index(source), column] += 1.0
        a_eq[nodes.index(target), column] -= 1.0
    answer = linprog(
        c=-np.ones(len(arcs)),
        A_eq=a_eq,
        b_eq=np.zeros(len(nodes)),
        bounds=[(0.0, capacity / scale) for _, capacity in arcs],
        method="highs",
    )
    assert answer.status == 0, answer.message
    return -float(answer.fun) * scale, [float(x) * scale for x in answer.x]


def fifo_key(o: Obligation) -> tuple[int, object, int, str]:
    return (o.priority, o.due_date, o.sequence, o.obligation_id)
