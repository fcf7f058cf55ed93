"""The maximum circulation on the corridor graph, exact and integral (DESIGN §4 step 3).

Given corridor capacities ``F[i->j]`` (base minor units), find flows ``0 <= s <= F`` in which
every jurisdiction pays out as much as it receives, with the largest total ``sum(s)``.

Writing ``r = F - s`` for what is carried, conservation of ``s`` becomes: ``r`` leaves each
jurisdiction ``v`` with a net outflow of ``out_F(v) - in_F(v)``. Maximising ``sum(s)`` is
minimising ``sum(r)``: a min-cost flow with unit costs and those supplies, which OR-Tools'
network simplex solves exactly in integers.
"""

from __future__ import annotations

from collections.abc import Mapping

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
