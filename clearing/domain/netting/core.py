"""The netting core: from a snapshot of obligations and a rate set to legs, positions and a digest.

Pure and deterministic (DESIGN §4). The steps:

1. value every obligation in base minor units (:mod:`clearing.domain.rounding`);
2. sum values per corridor (debtor jurisdiction -> creditor jurisdiction);
3. find the maximum circulation within those corridor totals, exactly, with a min-cost flow;
   with liquidity lines (DESIGN §4b), the lexicographic circulation with the lines' arcs
   (:mod:`clearing.domain.netting.circulation`), and what each line draws or repays
   (:mod:`clearing.domain.netting.lines`);
4. allocate each corridor's circulation to its obligations by policy;
5. derive domestic legs so that in every jurisdiction pay-ins equal pay-outs to the minor unit,
   or, with lines, differ by exactly its net line flow;
6. derive positions, totals, the carried imbalance and metrics;
7. digest the run (version 2, :mod:`clearing.domain.netting.digest`).

The core works on columns (:class:`~clearing.domain.netting.columns.ObligationColumns`) in one
canonical order, obligations sorted by id, so that input order never matters. Text is coded as
integers (jurisdictions and currencies as their index in the sorted rate set, participants by
Arrow's dictionary encoding); amounts are 64-bit integers wherever the rounding module proves the
bounds, exact Python integers otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from clearing.domain.collector import collection_paused
from clearing.domain.errors import InvalidInput
from clearing.domain.money import exponent
from clearing.domain.netting import circulation, setoff
from clearing.domain.netting.columns import ObligationColumns
from clearing.domain.netting.digest import corridor_leaves, run_digest
from clearing.domain.netting.lines import (
    LineBook,
    LineTerms,
    base_line_flows,
    checked_lines,
    corridor_line_flows,
    jurisdiction_line_flows,
)
from clearing.domain.netting.results import (
    CorridorTotal,
    JurisdictionTotal,
    Metrics,
    NettingResult,
    Position,
    ResultColumns,
)
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet
from clearing.domain.rounding import (
    Column,
    conversion_factor,
    exact,
    exact_sum,
    group_sums,
    largest_remainder,
    paired_totals,
    ratio,
    scale_half_up,
    scale_parts,
    spread_parts,
)

IntArray = npt.NDArray[np.int64]
Indices = npt.NDArray[np.intp]


def net(
    obligations: ObligationColumns | Iterable[Obligation],
    rates: RateSet,
    policy: Policy | str = Policy.FIFO,
    lines: Sequence[LineTerms] = (),
) -> NettingResult:
    """Net a snapshot of obligations (columns, or values) with a fixed rate set and, if any,
    liquidity lines (DESIGN §4b)."""
    columns = (
        obligations
        if isinstance(obligations, ObligationColumns)
        else ObligationColumns.of(obligations)
    )
    # A run allocates many short-lived objects that form no reference cycles; letting the
    # cyclic collector rescan them costs time for nothing.
    with collection_paused():
        return _net(columns, rates, _check_policy(policy), lines)


def _net(
    unsorted: ObligationColumns, rates: RateSet, policy: Policy, lines: Sequence[LineTerms]
) -> NettingResult:
    # Work that is mostly Arrow, numpy or SHA-256 outside the GIL runs on a second thread beside
    # the main line: coding the participants beside the id sort, and hashing the corridors'
    # digest leaves beside the positions.
    with ThreadPoolExecutor(max_workers=1) as background:
        parties = background.submit(_PartyCodes.of, unsorted)
        order: Indices = np.asarray(pc.sort_indices(unsorted.obligation_id), dtype=np.intp)
        return _net_sorted(unsorted.take(order), order, parties, rates, policy, lines, background)


def _net_sorted(
    snapshot: ObligationColumns,
    order: Indices,
    parties: Future[_PartyCodes],
    rates: RateSet,
    policy: Policy,
    lines: Sequence[LineTerms],
    background: ThreadPoolExecutor,
) -> NettingResult:
    _check_ids(snapshot)
    codes = sorted(rates.jurisdictions)
    book = LineBook(checked_lines(lines, rates), codes, rates)
    debtor_side = _coded(snapshot.debtor_jurisdiction, codes, "debtor_jurisdiction")
    creditor_side = _coded(snapshot.creditor_jurisdiction, codes, "creditor_jurisdiction")
    _check_cross_border(snapshot, debtor_side, creditor_side)
    party = parties.result().in_order(order)
    party.check_one_home(debtor_side, creditor_side)
    currencies = sorted(pc.unique(snapshot.currency).to_pylist())
    for currency in currencies:
        exponent(currency)
    missing = rates.missing(currencies)
    if missing:
        raise InvalidInput(f"no rate for currency {', '.join(missing)}", field="currency")
    currency = _coded(snapshot.currency, currencies, "currency")
    _check_outstanding(snapshot)
    used_rates = rates.restricted_to(currencies)
    base_exponent = exponent(rates.base)
    factors = [
        conversion_factor(used_rates.rate(c), exponent(c), base_exponent) for c in currencies
    ]

    values = _value_all(snapshot.outstanding, currency, factors)
    corridor = debtor_side * len(codes) + creditor_side
    capacities = _corridor_sums(values, corridor, len(codes))
    line_arcs = book.arcs()
    lined = circulation.circulation_with_lines(capacities, line_arcs)
    flows = lined.flows
    # Base value by which corridor (i, j) settles beyond its reverse thanks to lines.
    line_flows = corridor_line_flows(line_arcs, lined.drawn, lined.repaid)
    movements = book.movements(lined.drawn, lined.repaid)
    fifo_order = _fifo_order(snapshot, corridor)
    settled_values, flows = _allocate(
        values, corridor, fifo_order, flows, len(codes), policy, party, line_flows
    )
    settled = _settled_in_invoice_currency(
        snapshot.outstanding, values, settled_values, currency, factors
    )
    debtor_legs, creditor_legs, totals = _legs(
        settled_values,
        debtor_side,
        creditor_side,
        codes,
        used_rates,
        base_exponent,
        jurisdiction_line_flows(movements, codes),
        base_line_flows(line_flows, len(codes)),
    )

    corridor_totals = tuple(
        CorridorTotal(codes[source], codes[target], submitted, flows.get((source, target), 0))
        for (source, target), submitted in sorted(capacities.items())
    )
    jurisdiction_totals = tuple(
        JurisdictionTotal(code, used_rates.jurisdictions[code], *totals[i])
        for i, code in enumerate(codes)
    )
    results = ResultColumns(values, settled_values, settled, debtor_legs, creditor_legs)
    leaves = background.submit(corridor_leaves, snapshot, results, corridor, codes)
    positions = _positions(party, results, debtor_side, creditor_side, codes, used_rates)
    metrics = _metrics(values, settled_values, positions)
    digest = run_digest(
        policy,
        used_rates,
        leaves.result(),
        codes,
        corridor_totals,
        jurisdiction_totals,
        positions,
        metrics,
        movements,
    )
    return NettingResult(
        digest=digest,
        policy=policy,
        rates=used_rates,
        snapshot=snapshot,
        columns=results,
        corridors=corridor_totals,
        jurisdictions=jurisdiction_totals,
        positions=positions,
        metrics=metrics,
        lines=movements,
    )


def _check_policy(policy: Policy | str) -> Policy:
    try:
        return Policy(policy)
    except ValueError:
        allowed = ", ".join(p.value for p in Policy)
        raise InvalidInput(
            f"{policy!r} is not a policy; use one of {allowed}", field="policy"
        ) from None


# --- validation ----------------------------------------------------------------------------------


def _check_ids(snapshot: ObligationColumns) -> None:
    ids = snapshot.obligation_id
    if len(ids) > 1:
        same = np.flatnonzero(np.asarray(pc.equal(ids[1:], ids[:-1]), dtype=bool))
        if len(same):
            first = ids[int(same[0])].as_py()
            raise InvalidInput(f"duplicate obligation id {first!r}", field="obligation_id")
    if len(ids) and not ids[0].as_py():
        raise InvalidInput("an obligation id is empty", field="obligation_id")


def _coded(column: pa.Array, labels: Sequence[str], field: str) -> IntArray:
    """Each value's index in ``labels``; a value not among them is refused, naming ``field``."""
    found = pc.index_in(column, value_set=pa.array(labels, pa.string()))
    if found.null_count:
        unknown = sorted(set(pc.filter(column, pc.is_null(found)).to_pylist()))
        if field == "currency":
            raise InvalidInput(f"no rate for currency {', '.join(unknown)}", field=field)
        raise InvalidInput(
            f"jurisdiction {', '.join(unknown)} has no currency in the rate set", field=field
        )
    return np.asarray(found, dtype=np.int64)


def _check_cross_border(
    snapshot: ObligationColumns, debtor_side: IntArray, creditor_side: IntArray
) -> None:
    inside = np.flatnonzero(debtor_side == creditor_side)
    if len(inside):
        index = int(inside[0])
        raise InvalidInput(
            f"obligation {snapshot.obligation_id[index].as_py()!r} lies inside one jurisdiction "
            f"({snapshot.debtor_jurisdiction[index].as_py()}); only cross-border debts are netted",
            field="creditor_jurisdiction",
        )


def _check_outstanding(snapshot: ObligationColumns) -> None:
    outstanding = snapshot.outstanding
    if len(outstanding) and outstanding.min() <= 0:
        index = int(np.argmin(outstanding))
        raise InvalidInput(
            f"obligation {snapshot.obligation_id[index].as_py()!r} has nothing outstanding",
            field="outstanding",
        )


# --- steps 1 to 5 --------------------------------------------------------------------------------


def _value_all(outstanding: Column, currency: IntArray, factors: Sequence[Any]) -> Column:
    """Step 1: every obligation's value in base minor units (half up)."""
    parts = [(np.flatnonzero(currency == code), factor) for code, factor in enumerate(factors)]
    scaled = [
        (rows, scale_half_up(outstanding[rows], factor.numerator, factor.denominator))
        for rows, factor in parts
    ]
    wide = any(values.dtype == object for _, values in scaled)
    values: Column = np.zeros(len(outstanding), dtype=object if wide else np.int64)
    for rows, part in scaled:
        values[rows] = exact(part) if wide else part
    return values


def _fifo_order(snapshot: ObligationColumns, corridor: IntArray) -> Indices:
    """Indices grouped by corridor, then priority, due date, sequence, id (the row index)."""
    identity = np.arange(len(snapshot), dtype=np.int64)
    order: Indices = np.lexsort(
        (identity, snapshot.sequence, snapshot.due_date, snapshot.priority, corridor)
    )
    return order


def _corridor_sums(
    values: Column, corridor: IntArray, jurisdiction_count: int
) -> dict[tuple[int, int], int]:
    """Step 2: submitted value per corridor ``(debtor side, creditor side)``."""
    present = np.unique(corridor)
    sums = group_sums(np.searchsorted(present, corridor).astype(np.intp), values, len(present))
    return {
        divmod(int(key), jurisdiction_count): total
        for key, total in zip(present, sums, strict=True)
    }


def _allocate(
    values: Column,
    corridor: IntArray,
    fifo_order: Indices,
    flows: dict[tuple[int, int], int],
    jurisdiction_count: int,
    policy: Policy,
    parties: _PartyCodes,
    line_flows: Mapping[tuple[int, int], int],
) -> tuple[Column, dict[tuple[int, int], int]]:
    """Step 4: each obligation's settled value (base minor units), never above its value, and
    the flow per corridor it carries: ``flows`` itself, except under ``setoff``, which may carry
    another maximum circulation (with three jurisdictions or more)."""
    if policy is Policy.SETOFF:
        return setoff.allocate(
            values,
            parties.names,
            parties.debtor,
            parties.creditor,
            corridor,
            fifo_order,
            jurisdiction_count,
            line_flows,
        )
    settled: Column = np.zeros(len(values), dtype=values.dtype)
    if not len(fifo_order):
        return settled, flows
    boundaries = np.flatnonzero(np.diff(corridor[fifo_order])) + 1
    for group in np.split(fifo_order, boundaries):
        flow = flows.get(divmod(int(corridor[group[0]]), jurisdiction_count), 0)
        if flow == 0:
            continue
        group_values = values[group]
        if policy is Policy.FIFO:
            # The group's sum is a corridor total, which the circulation keeps below 2**62.
            before = np.cumsum(group_values) - group_values
            settled[group] = np.minimum(group_values, np.maximum(flow - before, 0))
        else:
            # Pro rata multiplies a value by the flow: 128-bit products, so exact integers.
            quotas = exact(group_values) * flow
            shares = largest_remainder(flow, quotas, exact_sum(group_values))
            settled[group] = shares if values.dtype == object else shares.astype(np.int64)
    return settled, flows


def _settled_in_invoice_currency(
    outstanding: Column,
    values: Column,
    settled_values: Column,
    currency: IntArray,
    factors: Sequence[Any],
) -> Column:
    """Step 5a: settled amount in the invoice currency: in full if fully matched, else rounded
    down from the settled base value."""
    full = (settled_values == values) & (values > 0)
    settled: Column = np.where(full, outstanding, 0)
    if settled.dtype != outstanding.dtype:
        settled = settled.astype(outstanding.dtype)
    partial = (settled_values > 0) & ~full
    for code in np.unique(currency[partial]).tolist():
        rows = np.flatnonzero(partial & (currency == code))
        factor = factors[code]
        # Base minor units -> minor units of the invoice currency: times den / num, down.
        floors, _ = scale_parts(settled_values[rows], factor.denominator, factor.numerator)
        if settled.dtype != floors.dtype:
            settled = exact(settled)
        settled[rows] = floors
    return settled


def _legs(
    settled_values: Column,
    debtor_side: IntArray,
    creditor_side: IntArray,
    codes: Sequence[str],
    rates: RateSet,
    base_exponent: int,
    line_flows: Sequence[int],
    base_line_flows: Sequence[int],
) -> tuple[Column, Column, list[tuple[int, int]]]:
    """Step 5b: domestic legs. In each jurisdiction the debtor legs and the creditor legs are
    split by largest remainder from one total each, which differ by exactly its net line flow
    (``line_flows``, minor units of its currency; its base value is ``base_line_flows``): without
    lines, one total, so pay-ins equal pay-outs exactly."""
    debtor_legs: Column = np.zeros(len(settled_values), dtype=settled_values.dtype)
    creditor_legs: Column = np.zeros(len(settled_values), dtype=settled_values.dtype)
    totals: list[tuple[int, int]] = []
    for index, code in enumerate(codes):
        currency = rates.jurisdictions[code]
        factor = conversion_factor(rates.rate(currency), exponent(currency), base_exponent)
        paying = np.flatnonzero((debtor_side == index) & (settled_values > 0))
        receiving = np.flatnonzero((creditor_side == index) & (settled_values > 0))
        paid_value = exact_sum(settled_values[paying])
        received_value = exact_sum(settled_values[receiving])
        if paid_value - received_value != base_line_flows[index]:
            raise ArithmeticError(
                f"circulation broken in {code}: pays {paid_value}, receives {received_value}, "
                f"lines {base_line_flows[index]}"
            )
        # Base minor units -> minor units of the jurisdiction's currency: times den / num.
        pair = paired_totals(paid_value, received_value, factor, line_flows[index])
        for legs, rows, total in (
            (debtor_legs, paying, pair[0]),
            (creditor_legs, receiving, pair[1]),
        ):
            floors, remainders = scale_parts(
                settled_values[rows], factor.denominator, factor.numerator
            )
            parts = spread_parts(total, floors, remainders)
            if legs.dtype != parts.dtype:
                parts = parts.astype(legs.dtype) if legs.dtype == np.int64 else exact(parts)
            legs[rows] = parts
        totals.append(pair)
    return debtor_legs, creditor_legs, totals


# --- step 6 --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PartyCodes:
    """Participants coded as integers: ``names`` (an Arrow dictionary of ids) and, per row,
    the codes of the debtor and of the creditor."""

    names: pa.Array
    debtor: Indices
    creditor: Indices

    @classmethod
    def of(cls, columns: ObligationColumns) -> _PartyCodes:
        both = pc.dictionary_encode(
            pa.chunked_array([columns.debtor_id, columns.creditor_id], pa.string())
        ).combine_chunks()
        coded = np.asarray(both.indices, dtype=np.intp)
        rows = len(columns)
        return cls(both.dictionary, coded[:rows], coded[rows:])

    def in_order(self, order: Indices) -> _PartyCodes:
        return _PartyCodes(self.names, self.debtor[order], self.creditor[order])

    def check_one_home(self, debtor_side: IntArray, creditor_side: IntArray) -> None:
        """Every participant, debtor or creditor, lies in one jurisdiction in every row."""
        home = np.full(len(self.names), -1, dtype=np.int64)
        home[self.debtor] = debtor_side
        home[self.creditor] = creditor_side
        for party, sides in ((self.debtor, debtor_side), (self.creditor, creditor_side)):
            clash = np.flatnonzero(home[party] != sides)
            if len(clash):
                name = self.names[int(party[clash[0]])].as_py()
                raise InvalidInput(
                    f"participant {name!r} appears in more than one jurisdiction",
                    field="debtor_id",
                )


def _positions(
    parties: _PartyCodes,
    results: ResultColumns,
    debtor_side: IntArray,
    creditor_side: IntArray,
    codes: Sequence[str],
    rates: RateSet,
) -> tuple[Position, ...]:
    """One net position per participant with something settled, from its legs."""
    touched = np.flatnonzero(results.settled_value > 0)
    if not len(touched):
        return ()
    # Only participants with something settled get a position: recode them densely, in O(n).
    involved = np.concatenate([parties.debtor[touched], parties.creditor[touched]])
    seen = np.zeros(len(parties.names), dtype=bool)
    seen[involved] = True
    present = np.flatnonzero(seen)
    dense_code = np.cumsum(seen) - 1
    names: list[str] = parties.names.take(pa.array(present, pa.int64())).to_pylist()
    payer, payee = dense_code[involved[: len(touched)]], dense_code[involved[len(touched) :]]
    # One home per participant holds over all rows (checked before netting).
    home = np.empty(len(names), dtype=np.int64)
    home[payer] = debtor_side[touched]
    home[payee] = creditor_side[touched]
    pay_in = group_sums(payer, results.debtor_leg[touched], len(names))
    pay_out = group_sums(payee, results.creditor_leg[touched], len(names))
    values = results.settled_value[touched]
    pay_in_value = group_sums(payer, values, len(names))
    pay_out_value = group_sums(payee, values, len(names))
    # Order by (jurisdiction, participant id): the names' rank comes from one sort in Arrow.
    ranked = np.asarray(pc.sort_indices(pa.array(names, pa.string())), dtype=np.intp)
    name_rank = np.empty(len(names), dtype=np.int64)
    name_rank[ranked] = np.arange(len(names))
    order = np.lexsort((name_rank, home)).tolist()
    homes = [codes[h] for h in home[order].tolist()]
    currencies = {code: rates.jurisdictions[code] for code in codes}
    return tuple(
        map(
            Position,
            [names[k] for k in order],
            homes,
            [currencies[h] for h in homes],
            [pay_in[k] for k in order],
            [pay_out[k] for k in order],
            [pay_in_value[k] for k in order],
            [pay_out_value[k] for k in order],
        )
    )


def _metrics(values: Column, settled_values: Column, positions: Sequence[Position]) -> Metrics:
    submitted = exact_sum(values)
    settled = exact_sum(settled_values)
    gross = sum(p.pay_in_value + p.pay_out_value for p in positions)
    net_total = sum(abs(p.pay_out_value - p.pay_in_value) for p in positions)
    return Metrics(
        submitted_value=submitted,
        settled_value=settled,
        obligations_settled=int(np.count_nonzero(settled_values > 0)),
        netting_efficiency=ratio(settled, submitted),
        domestic_liquidity_saved=ratio(gross - net_total, gross),
    )


__all__ = ["net"]
