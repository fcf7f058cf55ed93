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


def line_room(amount: int, currency: str, rates: RateSet) -> int:
    """A line's room (minor units of its currency) in base minor units, rounded down."""
    return math.floor(amount * factor(currency, rates))


def lp_circulation_with_lines(
    capacities: Mapping[tuple[str, str], int],
    lines: Iterable[tuple[str, str, int, int]],
) -> tuple[float, float, float]:
    """The optimum of DESIGN §4b's linear program, level by level (HiGHS): the most value of
    obligations settled, then the least drawn, then the most repaid.

    ``lines`` are ``(source, target, drawable, repayable)`` in base minor units. Restated from
    the design, not from the engine: drawing on a line means its source's importers pay in what
    its target's exporters are paid from the line; repaying, the reverse. So in every
    jurisdiction what its importers pay in (``sum s[v->w]``) is what its exporters receive
    (``sum s[w->v]``) plus what it collects for lines (draws on lines it is the source of,
    repayments of lines it is the target of) less what lines pay its exporters (draws on lines
    it is the target of, repayments of lines it is the source of); and each of the two line
    parts is carried by those legs: the importers pay in at least what the jurisdiction
    collects, the exporters receive at least what the lines pay them. Each level keeps the
    levels above at their optimum (within 1e-6 of a unit).
    """
    corridors = [(edge, capacity) for edge, capacity in sorted(capacities.items()) if capacity > 0]
    terms = list(lines)
    nodes = sorted({n for (edge, _) in corridors for n in edge} | {n for t in terms for n in t[:2]})
    if not nodes:
        return 0.0, 0.0, 0.0
    size = len(corridors) + 2 * len(terms)
    pay_in = np.zeros((len(nodes), size))  # what each jurisdiction's importers pay in
    pay_out = np.zeros((len(nodes), size))  # what its exporters receive
    collected = np.zeros((len(nodes), size))  # what it collects for lines
    paid_by_lines = np.zeros((len(nodes), size))  # what lines pay its exporters
    for column, ((source, target), _) in enumerate(corridors):
        pay_in[nodes.index(source), column] = 1.0
        pay_out[nodes.index(target), column] = 1.0
    for k, (source, target, _, _) in enumerate(terms):
        draw, repay = len(corridors) + 2 * k, len(corridors) + 2 * k + 1
        collected[nodes.index(source), draw] = 1.0
        paid_by_lines[nodes.index(target), draw] = 1.0
        collected[nodes.index(target), repay] = 1.0
        paid_by_lines[nodes.index(source), repay] = 1.0
    a_eq = pay_in - pay_out - collected + paid_by_lines
    # collected <= pay_in and paid_by_lines <= pay_out, as A x <= 0.
    carried = np.vstack([collected - pay_in, paid_by_lines - pay_out])
    bounds = [(0.0, float(capacity)) for _, capacity in corridors]
    for _, _, drawable, repayable in terms:
        bounds += [(0.0, float(drawable)), (0.0, float(repayable))]
    objectives = [np.zeros(size) for _ in range(3)]
    objectives[0][: len(corridors)] = -1.0
    objectives[1][len(corridors) :: 2] = 1.0
    objectives[2][len(corridors) + 1 :: 2] = -1.0
    rows: list[np.ndarray[Any, Any]] = list(carried)
    limits: list[float] = [0.0] * len(rows)
    optima: list[float] = []
    for objective in objectives:
        answer = linprog(
            c=objective,
            A_ub=np.array(rows),
            b_ub=np.array(limits),
            A_eq=a_eq,
            b_eq=np.zeros(len(nodes)),
            bounds=bounds,
            method="highs",
        )
        assert answer.status == 0, answer.message
        optima.append(float(answer.fun))
        rows.append(objective)
        limits.append(float(answer.fun) + 1e-6)
    return -optima[0], optima[1], -optima[2]
