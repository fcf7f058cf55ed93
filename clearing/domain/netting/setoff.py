"""Participant-level set-off (DESIGN §4a): the allocation of policy ``setoff``, and the money a
result makes participants move.

Every policy settles the maximum circulation. Under ``setoff`` the obligations that carry it are
chosen so that participants move the least money: the smallest sum, over participants, of their
net pay-in ``max(0, pay_in - pay_out)`` valued in base minor units. A trader that both imports
and exports has its debts cancelled against its claims before anyone pays.

It is one exact min-cost circulation, solved in integers by OR-Tools' ``SimpleMinCostFlow``, on
the participant graph:

* a node per participant and a domestic bank node per jurisdiction;
* an arc per (debtor, creditor) pair, from debtor to creditor, with the pair's total value as
  capacity and cost ``-W``: settling value is the primary objective;
* per participant a pay-in arc from its bank (cost 1 per unit) and a pay-out arc to its bank
  (cost 0). A participant's pay-in minus its pay-out is then what it owes minus what it is owed,
  and the cheapest solution pays in exactly ``max(0, owes - owed)``;
* a bank's supply is its jurisdiction's net line flow (DESIGN §4b): its pay-ins exceed its
  pay-outs by what its corridors settle beyond their reverses thanks to lines; zero without.

Why ``W = jurisdictions + 1`` makes the objective lexicographic: two solutions differ by simple
cycles of the residual graph. A simple cycle passes each bank at most once, and at a bank the
pay-in cost it adds is -1, 0 or +1; so a cycle that settles ``k >= 1`` more units per unit of
flow costs at most ``-W·k + jurisdictions < 0``. A solution of least cost therefore settles the
most, and among those it moves the least money. The small weight keeps every cost tiny, so the
solver's scaled costs stay far inside 64 bits and it needs few scaling phases; capacities are
base values, whose total stays below 2**62 (checked).

Within a pair, the pair's flow goes to its obligations in ``fifo`` order (priority, due date,
sequence, id), at most one partly settled. Participants and pairs are numbered by participant id
so that the solver sees the same graph, and gives the same answer, whatever the input order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from ortools.graph.python import min_cost_flow

from clearing.domain.errors import InvalidInput
from clearing.domain.netting.circulation import MAX_TOTAL_CAPACITY
from clearing.domain.netting.results import NettingResult
from clearing.domain.rounding import Column, exact_sum

IntArray = npt.NDArray[np.int64]
Indices = npt.NDArray[np.intp]


def allocate(
    values: Column,
    names: pa.Array,
    debtor: Indices,
    creditor: Indices,
    corridor: IntArray,
    fifo_order: Indices,
    jurisdiction_count: int,
    line_flows: Mapping[tuple[int, int], int],
) -> tuple[Column, dict[tuple[int, int], int]]:
    """Each obligation's settled value under ``setoff``, and the flow per corridor it carries.

    ``values`` are base minor units per row; ``names`` the participant ids that ``debtor`` and
    ``creditor`` code per row; ``corridor`` is ``debtor side · jurisdiction_count + creditor
    side``; ``fifo_order`` the rows grouped by corridor in fifo order; ``line_flows`` the base
    value by which corridor ``(i, j)`` settles beyond its reverse thanks to lines.
    """
    settled: Column = np.zeros(len(values), dtype=values.dtype)
    if not len(values):
        return settled, {}
    total = exact_sum(values)
    if total >= MAX_TOTAL_CAPACITY:
        raise InvalidInput(
            "the corridors' totals exceed 2**62 minor units of the base currency: check the rates",
            field="rates",
        )
    # Below 2**62 in total, every value and every running sum fits in 64 bits.
    narrow = values.astype(np.int64)
    pairs = _Pairs.of(narrow, names, debtor, creditor, corridor, fifo_order)
    pair_flows = _solve(pairs, len(names), jurisdiction_count, line_flows)
    allocated = _fill_in_order(narrow[pairs.order], pairs, pair_flows)
    settled[pairs.order] = allocated if values.dtype == np.int64 else allocated.tolist()
    corridor_flows = np.zeros(jurisdiction_count * jurisdiction_count, dtype=np.int64)
    np.add.at(corridor_flows, pairs.corridor, pair_flows)
    return settled, {
        divmod(int(key), jurisdiction_count): int(corridor_flows[key])
        for key in np.flatnonzero(corridor_flows).tolist()
    }


def money_moved(result: NettingResult) -> int:
    """The money a result makes participants move: the sum of their net pay-ins,
    ``max(0, pay_in_value - pay_out_value)``, in base minor units (what ``setoff`` minimises)."""
    return sum(max(0, p.pay_in_value - p.pay_out_value) for p in result.positions)


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Obligations grouped by (debtor, creditor) pair: ``order`` lists the rows pair by pair,
    pairs by participant id, each pair's rows in fifo order; ``starts`` where each pair begins
    in ``order``; per pair its debtor's and creditor's rank, corridor and total value."""

    order: Indices
    starts: Indices
    debtor: IntArray
    creditor: IntArray
    corridor: IntArray
    capacity: IntArray

    @classmethod
    def of(
        cls,
        values: IntArray,
        names: pa.Array,
        debtor: Indices,
        creditor: Indices,
        corridor: IntArray,
        fifo_order: Indices,
    ) -> _Pairs:
        # Rank participants by id: the numbering, hence the graph, does not depend on the order
        # in which the input named them.
        rank = np.empty(len(names), dtype=np.int64)
        rank[np.asarray(pc.sort_indices(names), dtype=np.intp)] = np.arange(len(names))
        pair_key = rank[debtor] * len(names) + rank[creditor]
        # A stable sort by pair keeps each pair's rows in the fifo order they came in.
        order = fifo_order[np.argsort(pair_key[fifo_order], kind="stable")]
        keys = pair_key[order]
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        first_keys = keys[starts]
        return cls(
            order=order,
            starts=starts,
            debtor=first_keys // len(names),
            creditor=first_keys % len(names),
            corridor=corridor[order[starts]],
            capacity=np.add.reduceat(values[order], starts),
        )


def _solve(
    pairs: _Pairs,
    participant_count: int,
    jurisdiction_count: int,
    line_flows: Mapping[tuple[int, int], int],
) -> IntArray:
    """The flow of each pair in a least-cost solution of the circulation in the module
    docstring."""
    home = np.empty(participant_count, dtype=np.int64)
    home[pairs.debtor] = pairs.corridor // jurisdiction_count
    home[pairs.creditor] = pairs.corridor % jurisdiction_count
    owes = np.zeros(participant_count, dtype=np.int64)
    owed = np.zeros(participant_count, dtype=np.int64)
    np.add.at(owes, pairs.debtor, pairs.capacity)
    np.add.at(owed, pairs.creditor, pairs.capacity)
    payers = np.flatnonzero(owes)
    payees = np.flatnonzero(owed)
    bank = participant_count + home
    weight = jurisdiction_count + 1

    tails = np.concatenate((pairs.debtor, bank[payers], payees)).astype(np.int32)
    heads = np.concatenate((pairs.creditor, payers, bank[payees])).astype(np.int32)
    capacities = np.concatenate((pairs.capacity, owes[payers], owed[payees]))
    costs = np.concatenate(
        (
            np.full(len(pairs.capacity), -weight, dtype=np.int64),
            np.ones(len(payers), dtype=np.int64),
            np.zeros(len(payees), dtype=np.int64),
        )
    )
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
    supply = [0] * jurisdiction_count
    for (source, target), amount in sorted(line_flows.items()):
        supply[source] += amount
        supply[target] -= amount
    for jurisdiction, amount in enumerate(supply):
        if amount:
            solver.set_node_supply(participant_count + jurisdiction, amount)
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise ArithmeticError(f"min-cost flow did not solve the set-off graph (status {status})")
    flows: IntArray = solver.flows(np.arange(len(pairs.capacity), dtype=np.int32))
    return flows


def _fill_in_order(ordered_values: IntArray, pairs: _Pairs, pair_flows: IntArray) -> IntArray:
    """Fill each pair's flow into its rows in order (``ordered_values`` in ``pairs.order``):
    every row in full until the flow runs out, at most one in part."""
    running = np.cumsum(ordered_values)
    before = running - ordered_values
    sizes = np.diff(np.append(pairs.starts, len(ordered_values)))
    # What the pair's earlier rows take before each row, and the pair's flow, row by row.
    before -= np.repeat(before[pairs.starts], sizes)
    flow = np.repeat(pair_flows, sizes)
    allocated: IntArray = np.minimum(ordered_values, np.maximum(flow - before, 0))
    return allocated


__all__ = ["allocate", "money_moved"]
