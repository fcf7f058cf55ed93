"""A floor for the netting core: the least a columnar netting of the benchmark instance must do,
in bare numpy over the same input columns, so that the engine's time has something to be
measured against.

:func:`floor_net` takes the :class:`~clearing.domain.netting.columns.ObligationColumns` the
engine takes and does, with no checks and no result objects:

1. value every obligation in base minor units, per currency, in int64: with the rate as an exact
   fraction ``N/D``, ``(a // D)·N + (2·(a % D)·N + D) // (2·D)`` (half up);
2. rank the obligation ids with one Arrow ``sort_indices`` and code the jurisdictions;
3. one ``lexsort`` by corridor, priority, due date, sequence and id rank;
4. allocate each corridor's flow cumulatively in that order (fifo); the flow is the minimum of
   the two corridors' sums (the maximum circulation of two jurisdictions), or given;
5. split each jurisdiction's total into debtor and creditor legs by largest remainder, in int64
   (leftover units to the largest remainders, ties to the lower id rank, as the engine does);
6. digest: SHA-256 over the ids' bytes and the little-endian int64 columns.

Every amount is an int64 in minor units; nothing is a float. The caller checks (outside any
timing) that its values, settled values and legs equal the engine's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from clearing.domain.netting.columns import ObligationColumns

Int64Array = npt.NDArray[np.int64]
Indices = npt.NDArray[np.intp]

#: Products stay below this (two's complement int64 with a bit to spare).
SAFE_INT64 = 2**62


@dataclass(frozen=True)
class FloorRates:
    """What the floor needs of a rate set, prepared before timing: currencies and jurisdictions
    sorted, and base minor units per minor unit of each currency as an exact fraction."""

    currencies: tuple[str, ...]
    currency_factors: tuple[Fraction, ...]
    jurisdictions: tuple[str, ...]
    jurisdiction_factors: tuple[Fraction, ...]

    @classmethod
    def of(cls, factors: Mapping[str, Fraction], jurisdictions: Mapping[str, str]) -> FloorRates:
        currencies = tuple(sorted(factors))
        codes = tuple(sorted(jurisdictions))
        return cls(
            currencies=currencies,
            currency_factors=tuple(factors[c] for c in currencies),
            jurisdictions=codes,
            jurisdiction_factors=tuple(factors[jurisdictions[j]] for j in codes),
        )

    def check_bounds(self, columns: ObligationColumns) -> None:
        """Refuse inputs whose int64 products could overflow (checked once, before timing)."""
        top = int(columns.outstanding.max()) if len(columns) else 0
        for factor in self.currency_factors + self.jurisdiction_factors:
            n, d = factor.numerator, factor.denominator
            if (top // d + 1) * n >= SAFE_INT64 or 2 * n * d >= SAFE_INT64:
                raise OverflowError("floor: amounts too large for int64 arithmetic")
        if top * max(1, len(columns)) * 10 >= SAFE_INT64:
            raise OverflowError("floor: corridor sums too large for int64")


@dataclass(frozen=True)
class FloorResult:
    """The floor's columns, in input row order, and its digest."""

    id_order: Indices
    value: Int64Array
    settled_value: Int64Array
    debtor_leg: Int64Array
    creditor_leg: Int64Array
    #: Flow per corridor, keyed ``(debtor side, creditor side)`` as indices of the jurisdictions.
    flows: dict[tuple[int, int], int]
    digest: str


def floor_net(
    columns: ObligationColumns,
    rates: FloorRates,
    flows: Mapping[tuple[int, int], int] | None = None,
) -> FloorResult:
    """Net ``columns`` the bare way (see the module's docstring). ``flows`` (by corridor, as
    indices of ``rates.jurisdictions``) is required for more than two jurisdictions."""
    size = len(columns)
    outstanding = columns.outstanding
    id_order: Indices = np.asarray(pc.sort_indices(columns.obligation_id), dtype=np.intp)
    id_rank = np.empty(size, dtype=np.int64)
    id_rank[id_order] = np.arange(size, dtype=np.int64)

    currency = _coded(columns.currency, rates.currencies)
    value = np.empty(size, dtype=np.int64)
    for code, factor in enumerate(rates.currency_factors):
        rows = np.flatnonzero(currency == code)
        n, d = factor.numerator, factor.denominator
        quotient, remainder = np.divmod(outstanding[rows], d)
        value[rows] = quotient * n + (2 * remainder * n + d) // (2 * d)

    count = len(rates.jurisdictions)
    debtor_side = _coded(columns.debtor_jurisdiction, rates.jurisdictions)
    creditor_side = _coded(columns.creditor_jurisdiction, rates.jurisdictions)
    corridor = debtor_side * count + creditor_side
    fifo = np.lexsort((id_rank, columns.sequence, columns.due_date, columns.priority, corridor))

    ordered_value = value[fifo]
    ordered_corridor = corridor[fifo]
    starts = np.flatnonzero(np.r_[True, ordered_corridor[1:] != ordered_corridor[:-1]])
    lengths = np.diff(np.r_[starts, size])
    keys = ordered_corridor[starts].tolist()
    running = np.cumsum(ordered_value)
    before_group = np.r_[0, running[starts[1:] - 1]]
    sums = dict(
        zip(keys, (np.r_[before_group[1:], running[-1]] - before_group).tolist(), strict=True)
    )
    corridor_flows = dict(flows) if flows is not None else _two_sided_flows(sums, count)
    group_flows = np.array(
        [corridor_flows.get(divmod(key, count), 0) for key in keys], dtype=np.int64
    )
    before = running - ordered_value - np.repeat(before_group, lengths)
    allocated = np.minimum(ordered_value, np.maximum(np.repeat(group_flows, lengths) - before, 0))
    settled_value = np.empty(size, dtype=np.int64)
    settled_value[fifo] = allocated

    debtor_leg = np.zeros(size, dtype=np.int64)
    creditor_leg = np.zeros(size, dtype=np.int64)
    settling = settled_value > 0
    for side, factor in enumerate(rates.jurisdiction_factors):
        # Base minor units -> minor units of the jurisdiction's currency: times d / n.
        n, d = factor.numerator, factor.denominator
        paying = np.flatnonzero(settling & (debtor_side == side))
        receiving = np.flatnonzero(settling & (creditor_side == side))
        paid = int(settled_value[paying].sum())
        total = (paid // n) * d + (2 * (paid % n) * d + n) // (2 * n)
        for legs, rows in ((debtor_leg, paying), (creditor_leg, receiving)):
            legs[rows] = _largest_remainder_legs(settled_value[rows], n, d, total, id_rank[rows])

    digest = hashlib.sha256()
    ids = columns.obligation_id
    for buffer in ids.buffers()[1:]:
        if buffer is not None:
            digest.update(memoryview(buffer))
    for column in (
        outstanding,
        columns.due_date,
        columns.priority,
        columns.sequence,
        value,
        settled_value,
        debtor_leg,
        creditor_leg,
    ):
        digest.update(np.ascontiguousarray(column, dtype="<i8").data)
    return FloorResult(
        id_order=id_order,
        value=value,
        settled_value=settled_value,
        debtor_leg=debtor_leg,
        creditor_leg=creditor_leg,
        flows=corridor_flows,
        digest=digest.hexdigest(),
    )


def _coded(column: pa.Array, labels: tuple[str, ...]) -> Int64Array:
    """Each value's index in ``labels`` (the instance has no unknown values)."""
    found = pc.index_in(column, value_set=pa.array(labels, pa.string()))
    return np.asarray(found, dtype=np.int64)


def _two_sided_flows(sums: dict[int, int], count: int) -> dict[tuple[int, int], int]:
    """The maximum circulation of two jurisdictions: both corridors carry the smaller sum."""
    if count != 2:
        raise ValueError("floor: give the flows for more than two jurisdictions")
    there, back = sums.get(1, 0), sums.get(2, 0)  # corridors 0->1 and 1->0
    flow = min(there, back)
    return {(0, 1): flow, (1, 0): flow}


def _largest_remainder_legs(
    settled: Int64Array, n: int, d: int, total: int, rank: Int64Array
) -> Int64Array:
    """``settled·d/n`` as floors, plus one unit for the ``total - sum(floors)`` largest
    remainders (ties to the lower id rank), in int64 and linear time."""
    quotient, remainder = np.divmod(settled, n)
    low_floor, low_remainder = np.divmod(remainder * d, n)
    legs = quotient * d + low_floor
    leftover = total - int(legs.sum())
    if leftover < 0 or leftover > len(legs):
        raise ArithmeticError(f"floor: cannot split {total} over {len(legs)} legs")
    if leftover:
        threshold = np.partition(low_remainder, len(legs) - leftover)[len(legs) - leftover]
        above = low_remainder > threshold
        legs[above] += 1
        tied = np.flatnonzero(low_remainder == threshold)
        wanted = leftover - int(np.count_nonzero(above))
        if wanted < len(tied):
            tied = tied[np.argpartition(rank[tied], wanted - 1)[:wanted]] if wanted else tied[:0]
        legs[tied] += 1
    return legs
