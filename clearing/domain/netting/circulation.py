"""The maximum circulation on the corridor graph, exact and integral (DESIGN §4 step 3).

Given corridor capacities ``F[i->j]`` (base minor units), find flows ``0 <= s <= F`` in which
every jurisdiction pays out as much as it receives, with the largest total ``sum(s)``.

Writing ``r = F - s`` for what is carried, conservation of ``s`` becomes: ``r`` leaves each
jurisdiction ``v`` with a net outflow of ``out_F(v) - in_F(v)``. Maximising ``sum(s)`` is
minimising ``sum(r)``: a min-cost flow with unit costs and those supplies, which OR-Tools'
network simplex solves exactly in integers.

With liquidity lines (DESIGN §4b) each jurisdiction ``v`` becomes two nodes: its importers'
pay-ins ``D(v)`` and its exporters' pay-outs ``C(v)``. A corridor ``i -> j`` runs from ``D(i)``
to ``C(j)``, and what ``v``'s exporters receive passes back to its importers' side through
``C(v) -> D(v)`` (the settlement account; capacity: all that ``v`` can receive). Each line adds
two arcs. Drawing on a line ``source -> target`` lets corridor ``source -> target`` settle beyond
its reverse: the source's importers pay in what its exporters do not receive, and the target's
exporters are paid what its importers did not pay in, so the drawing arc carries that value
``C(target) -> D(source)`` (capacity: the base value of limit - balance). Repaying is the
reverse, the target's importers paying in and the source's exporters paid:
``C(source) -> D(target)`` (capacity: the base value of the balance). Every line movement is thus
carried by domestic legs at both of its ends (as §4b says: the source's importers pay in, the
target's exporters are paid from the line): lines are never set off against each other, nor
pass value through a jurisdiction none of whose traders it pays. Without lines, the two nodes
of a jurisdiction act as one and the problem is the plain circulation.

The objective is lexicographic: first the most value of obligations settled, then the least
drawn, then the most repaid, and last the most of each corridor's flow without lines kept (so
that lines that move nothing change nothing, and the flows settled without lines stay wherever
the levels above allow).

It is solved in exact stages, each a min-cost flow with costs of -1, 0 or 1 (so costs times
flows stay below the 2**62 bound of the capacities): after each stage, node potentials from
shortest paths in its residual graph (exact integers, Bellman-Ford on a graph of a few nodes)
give every arc's reduced cost, and complementary slackness says that in *every* optimal
solution an arc of positive reduced cost is empty and one of negative reduced cost is full. The
next stage fixes those arcs and optimises its own costs over the arcs left free, which is
optimising over exactly the optimal solutions of the stages before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ortools.graph.python import min_cost_flow

from clearing.domain.errors import InvalidInput

#: OR-Tools works in signed 64-bit integers; corridor totals must stay clear of that.
MAX_TOTAL_CAPACITY = 2**62


def maximum_circulation(capacities: Mapping[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """Flows per corridor ``(source, target)`` of a maximum circulation within ``capacities``."""
    arcs = [(edge, capacity) for edge, capacity in sorted(capacities.items()) if capacity > 0]
    if not arcs:
        return {}
    if sum(capacity for _, capacity in arcs) >= MAX_TOTAL_CAPACITY:
        raise InvalidInput(
            "the corridors' totals exceed 2**62 minor units of the base currency: check the rates",
            field="rates",
        )
    supply: dict[int, int] = {}
    for (source, target), capacity in arcs:
        supply[source] = supply.get(source, 0) + capacity
        supply[target] = supply.get(target, 0) - capacity
    solver = min_cost_flow.SimpleMinCostFlow()
    for (source, target), capacity in arcs:
        solver.add_arc_with_capacity_and_unit_cost(source, target, capacity, 1)
    for node, amount in supply.items():
        solver.set_node_supply(node, amount)
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise ArithmeticError(f"min-cost flow did not solve the corridor graph (status {status})")
    return {
        edge: capacity - int(solver.flow(arc))
        for arc, (edge, capacity) in enumerate(arcs)
        if capacity - int(solver.flow(arc)) > 0
    }


@dataclass(frozen=True, slots=True)
class LineArc:
    """A liquidity line as the circulation sees it: its jurisdictions (indices) and how much it
    can draw and repay, in base minor units."""

    source: int
    target: int
    drawable: int
    repayable: int


@dataclass(frozen=True, slots=True)
class LineCirculation:
    """Flows per corridor ``(source, target)`` (only those above zero), and per line (in the
    order given) the base value drawn and repaid; at most one of the two is above zero."""

    flows: dict[tuple[int, int], int]
    drawn: tuple[int, ...]
    repaid: tuple[int, ...]


#: An arc of a staged problem: tail, head, capacity.
_Arc = tuple[int, int, int]


def circulation_with_lines(
    capacities: Mapping[tuple[int, int], int], lines: Sequence[LineArc]
) -> LineCirculation:
    """The lexicographic circulation of the module's documentation, exactly."""
    without = maximum_circulation(capacities)
    if not any(line.drawable > 0 or line.repayable > 0 for line in lines):
        return LineCirculation(without, (0,) * len(lines), (0,) * len(lines))
    total = sum(c for c in capacities.values() if c > 0)
    if total + sum(line.drawable + line.repayable for line in lines) >= MAX_TOTAL_CAPACITY:
        raise InvalidInput(
            "the corridors' and lines' totals exceed 2**62 minor units of the base currency: "
            "check the rates",
            field="rates",
        )
    arcs: list[_Arc] = []
    settling: list[int] = []
    drawing: list[int] = []
    repaying: list[int] = []
    keeping: list[int] = []
    corridor_arcs: list[tuple[tuple[int, int], int]] = []
    receivable: dict[int, int] = {}
    for edge, capacity in sorted(capacities.items()):
        kept = without.get(edge, 0)
        receivable[edge[1]] = receivable.get(edge[1], 0) + max(capacity, 0)
        # A corridor is two parallel arcs: the flow it has without lines, and the rest.
        for part, is_kept in ((kept, True), (capacity - kept, False)):
            if part > 0:
                settling.append(len(arcs))
                if is_kept:
                    keeping.append(len(arcs))
                corridor_arcs.append((edge, len(arcs)))
                arcs.append((_paying(edge[0]), _receiving(edge[1]), part))
    for node, amount in sorted(receivable.items()):
        if amount > 0:
            arcs.append((_receiving(node), _paying(node), amount))
    line_arcs: list[tuple[int | None, int | None]] = []
    for line in lines:
        draw = repay = None
        if line.drawable > 0:
            draw = len(arcs)
            drawing.append(draw)
            arcs.append((_receiving(line.target), _paying(line.source), line.drawable))
        if line.repayable > 0:
            repay = len(arcs)
            repaying.append(repay)
            arcs.append((_receiving(line.source), _paying(line.target), line.repayable))
        line_arcs.append((draw, repay))
    levels = [
        dict.fromkeys(settling, -1),
        dict.fromkeys(drawing, 1),
        dict.fromkeys(repaying, -1),
        dict.fromkeys(keeping, -1),
    ]
    flow = lexicographic_flow(arcs, levels)
    flows: dict[tuple[int, int], int] = {}
    for edge, arc in corridor_arcs:
        if flow[arc]:
            flows[edge] = flows.get(edge, 0) + flow[arc]
    return LineCirculation(
        flows,
        tuple(0 if draw is None else flow[draw] for draw, _ in line_arcs),
        tuple(0 if repay is None else flow[repay] for _, repay in line_arcs),
    )


def _paying(jurisdiction: int) -> int:
    """The node of a jurisdiction's importers' pay-ins."""
    return 2 * jurisdiction


def _receiving(jurisdiction: int) -> int:
    """The node of a jurisdiction's exporters' pay-outs."""
    return 2 * jurisdiction + 1


def lexicographic_flow(arcs: Sequence[_Arc], levels: Sequence[Mapping[int, int]]) -> list[int]:
    """A circulation within ``arcs`` (tail, head, capacity; no supplies) that minimises the cost
    of ``levels[0]`` (cost per unit by arc index; absent arcs cost 0), then of ``levels[1]``
    among those solutions, and so on; exact, in integers."""
    fixed: dict[int, int] = {}
    flow = [0] * len(arcs)
    for stage, costs in enumerate(levels):
        free = [arc for arc in range(len(arcs)) if arc not in fixed]
        supply: dict[int, int] = {}
        for arc, amount in fixed.items():
            tail, head, _ = arcs[arc]
            supply[tail] = supply.get(tail, 0) - amount
            supply[head] = supply.get(head, 0) + amount
        solver = min_cost_flow.SimpleMinCostFlow()
        for arc in free:
            tail, head, capacity = arcs[arc]
            solver.add_arc_with_capacity_and_unit_cost(tail, head, capacity, costs.get(arc, 0))
        for node, amount in sorted(supply.items()):
            if amount:
                solver.set_node_supply(node, amount)
        status = solver.solve() if free else solver.OPTIMAL
        if status != solver.OPTIMAL:
            raise ArithmeticError(f"min-cost flow did not solve the line stage (status {status})")
        for position, arc in enumerate(free):
            flow[arc] = int(solver.flow(position))
        for arc, amount in fixed.items():
            flow[arc] = amount
        if stage == len(levels) - 1:
            break
        distance = _potentials([(arcs[arc], flow[arc], costs.get(arc, 0)) for arc in free])
        for arc in free:
            tail, head, capacity = arcs[arc]
            reduced = costs.get(arc, 0) + distance[tail] - distance[head]
            if reduced > 0:
                fixed[arc] = 0
            elif reduced < 0:
                fixed[arc] = capacity
    return flow


def _potentials(arcs: Sequence[tuple[_Arc, int, int]]) -> dict[int, int]:
    """Shortest distances in the residual graph of an optimal flow (``(arc, flow, cost)``
    triples) from a virtual source joined to every node at no cost; the residual graph has no
    negative cycle, so Bellman-Ford settles within one round per node."""
    edges: list[tuple[int, int, int]] = []
    for (tail, head, capacity), amount, cost in arcs:
        if amount < capacity:
            edges.append((tail, head, cost))
        if amount > 0:
            edges.append((head, tail, -cost))
    distance = {node: 0 for (tail, head, _), _, _ in arcs for node in (tail, head)}
    for _ in range(len(distance) + 1):
        changed = False
        for tail, head, cost in edges:
            if distance[tail] + cost < distance[head]:
                distance[head] = distance[tail] + cost
                changed = True
        if not changed:
            return distance
    raise ArithmeticError("a stage's solution is not optimal: its residual graph has a cycle")
