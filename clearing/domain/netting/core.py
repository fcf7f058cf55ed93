"""The netting core: from a snapshot of obligations and a rate set to legs, positions and a digest.

Pure and deterministic (DESIGN §4). The steps:

1. value every obligation in base minor units (:mod:`clearing.domain.rounding`);
2. sum values per corridor (debtor jurisdiction -> creditor jurisdiction);
3. find the maximum circulation within those corridor totals, exactly, with a min-cost flow;
4. allocate each corridor's circulation to its obligations by policy;
5. derive domestic legs so that in every jurisdiction pay-ins equal pay-outs to the minor unit;
6. derive positions, totals, the carried imbalance and metrics;
7. digest the canonical JSON of everything that determines the result.

The hot loop works on columns (numpy arrays of Python ints where amounts could overflow 64 bits)
in a canonical order, obligations sorted by id, so that input order never matters.
"""

from __future__ import annotations

import gc
import itertools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from clearing.domain.errors import InvalidInput
from clearing.domain.money import exponent
from clearing.domain.netting import circulation
from clearing.domain.netting.digest import run_digest
from clearing.domain.netting.results import (
    SNAPSHOT_COLUMNS,
    CorridorTotal,
    JurisdictionTotal,
    Metrics,
    NettingResult,
    Position,
)
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet
from clearing.domain.rounding import (
    conversion_factor,
    largest_remainder,
    ratio,
    round_half_up,
    values_in_base,
)

ObjectArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.int64]


def net(
    obligations: Iterable[Obligation], rates: RateSet, policy: Policy | str = Policy.FIFO
) -> NettingResult:
    """Net a snapshot of obligations with a fixed rate set under ``policy``."""
    collecting = gc.isenabled()
    # A run allocates millions of short-lived objects that form no reference cycles; letting
    # the cyclic collector rescan them costs about a tenth of the time.
    gc.disable()
    try:
        return _net(obligations, rates, _check_policy(policy))
    finally:
        if collecting:
            gc.enable()


def _net(obligations: Iterable[Obligation], rates: RateSet, policy: Policy) -> NettingResult:
    snapshot = sorted(obligations, key=operator.attrgetter("obligation_id"))
    columns = _Columns.of(snapshot)
    _validate(columns, rates)
    used_rates = rates.restricted_to(set(columns.currency))
    base_exponent = exponent(rates.base)

    values = _value_all(columns, used_rates, base_exponent)
    codes = sorted(used_rates.jurisdictions)
    code_index = {code: index for index, code in enumerate(codes)}
    debtor_side = np.fromiter(
        map(code_index.__getitem__, columns.debtor_jurisdiction), np.int64, columns.size
    )
    creditor_side = np.fromiter(
        map(code_index.__getitem__, columns.creditor_jurisdiction), np.int64, columns.size
    )
    corridor = debtor_side * len(codes) + creditor_side
    fifo_order = _fifo_order(columns, corridor)

    capacities = _corridor_sums(values, corridor, len(codes))
    flows = circulation.maximum_circulation(capacities)
    settled_values = _allocate(values, corridor, fifo_order, flows, len(codes), policy)
    settled = _settled_in_invoice_currency(
        columns, values, settled_values, used_rates, base_exponent
    )
    debtor_legs, creditor_legs, totals = _legs(
        settled_values, debtor_side, creditor_side, codes, used_rates, base_exponent
    )

    corridor_totals = tuple(
        CorridorTotal(codes[source], codes[target], submitted, flows.get((source, target), 0))
        for (source, target), submitted in sorted(capacities.items())
    )
    jurisdiction_totals = tuple(
        JurisdictionTotal(code, used_rates.jurisdictions[code], totals[i], totals[i])
        for i, code in enumerate(codes)
    )
    positions = _positions(
        columns,
        settled_values,
        debtor_legs,
        creditor_legs,
        debtor_side,
        creditor_side,
        codes,
        used_rates,
    )
    metrics = _metrics(values, settled_values, positions)

    result_columns = {
        "value": _ints(values),
        "settled_value": _ints(settled_values),
        "settled": _ints(settled),
        "debtor_leg": _ints(debtor_legs),
        "creditor_leg": _ints(creditor_legs),
    }
    digest = run_digest(
        policy,
        used_rates,
        {name: getattr(columns, name) for name in SNAPSHOT_COLUMNS},
        result_columns,
        corridor_totals,
        jurisdiction_totals,
        positions,
        metrics,
    )
    return NettingResult(
        digest=digest,
        policy=policy,
        rates=used_rates,
        obligations=tuple(snapshot),
        values=result_columns["value"],
        settled_values=result_columns["settled_value"],
        settled=result_columns["settled"],
        debtor_legs=result_columns["debtor_leg"],
        creditor_legs=result_columns["creditor_leg"],
        corridors=corridor_totals,
        jurisdictions=jurisdiction_totals,
        positions=positions,
        metrics=metrics,
    )


def _check_policy(policy: Policy | str) -> Policy:
    try:
        return Policy(policy)
    except ValueError:
        allowed = ", ".join(p.value for p in Policy)
        raise InvalidInput(
            f"{policy!r} is not a policy; use one of {allowed}", field="policy"
        ) from None


@dataclass(frozen=True, slots=True)
class _Columns:
    """The snapshot as columns, in obligation-id order."""

    size: int
    obligation_id: list[str]
    debtor_id: list[str]
    debtor_jurisdiction: list[str]
    creditor_id: list[str]
    creditor_jurisdiction: list[str]
    currency: list[str]
    outstanding: list[int]
    due_date: list[date]
    priority: list[int]
    sequence: list[int]

    @classmethod
    def of(cls, snapshot: Sequence[Obligation]) -> _Columns:
        def column(name: str) -> list[Any]:
            return list(map(operator.attrgetter(name), snapshot))

        return cls(len(snapshot), *(column(name) for name in SNAPSHOT_COLUMNS))


def _validate(columns: _Columns, rates: RateSet) -> None:
    ids = columns.obligation_id
    for first, second in itertools.pairwise(ids):
        if first == second:
            raise InvalidInput(f"duplicate obligation id {first!r}", field="obligation_id")
    if columns.size and not ids[0]:
        raise InvalidInput("an obligation id is empty", field="obligation_id")
    known = set(rates.jurisdictions)
    for name in ("debtor_jurisdiction", "creditor_jurisdiction"):
        unknown = set(getattr(columns, name)) - known
        if unknown:
            raise InvalidInput(
                f"jurisdiction {', '.join(sorted(unknown))} has no currency in the rate set",
                field=name,
            )
    for index in np.flatnonzero(
        np.asarray(columns.debtor_jurisdiction, dtype=object)
        == np.asarray(columns.creditor_jurisdiction, dtype=object)
    )[:1]:
        raise InvalidInput(
            f"obligation {ids[index]!r} lies inside one jurisdiction "
            f"({columns.debtor_jurisdiction[index]}); only cross-border debts are netted",
            field="creditor_jurisdiction",
        )
    currencies = set(columns.currency)
    for currency in sorted(currencies):
        exponent(currency)
    missing = rates.missing(currencies)
    if missing:
        raise InvalidInput(f"no rate for currency {', '.join(missing)}", field="currency")
    if columns.size and min(columns.outstanding) <= 0:
        index = int(np.argmin(np.asarray(columns.outstanding, dtype=object)))
        raise InvalidInput(
            f"obligation {ids[index]!r} has nothing outstanding", field="outstanding"
        )


def _value_all(columns: _Columns, rates: RateSet, base_exponent: int) -> ObjectArray:
    """Step 1: every obligation's value in base minor units."""
    amounts = np.asarray(columns.outstanding, dtype=object)
    values = np.empty(columns.size, dtype=object)
    currency = np.asarray(columns.currency, dtype=object)
    for code in sorted(set(columns.currency)):
        factor = conversion_factor(rates.rate(code), exponent(code), base_exponent)
        mask = currency == code
        values[mask] = values_in_base(amounts[mask], factor)
    return values


def _fifo_order(columns: _Columns, corridor: IntArray) -> npt.NDArray[np.intp]:
    """Indices grouped by corridor, then priority, due date, sequence, id (the canonical index)."""
    due = np.fromiter(map(date.toordinal, columns.due_date), np.int64, columns.size)
    priority = np.asarray(columns.priority, dtype=np.int64)
    sequence = np.asarray(columns.sequence, dtype=np.int64)
    identity = np.arange(columns.size, dtype=np.int64)
    order: npt.NDArray[np.intp] = np.lexsort((identity, sequence, due, priority, corridor))
    return order


def _corridor_sums(
    values: ObjectArray, corridor: IntArray, jurisdiction_count: int
) -> dict[tuple[int, int], int]:
    """Step 2: submitted value per corridor ``(debtor side, creditor side)``."""
    sums: dict[tuple[int, int], int] = {}
    for key in np.unique(corridor):
        total = int(values[corridor == key].sum())
        sums[divmod(int(key), jurisdiction_count)] = total
    return sums


def _allocate(
    values: ObjectArray,
    corridor: IntArray,
    fifo_order: npt.NDArray[np.intp],
    flows: dict[tuple[int, int], int],
    jurisdiction_count: int,
    policy: Policy,
) -> ObjectArray:
    """Step 4: each obligation's settled value (base minor units), never above its value."""
    settled = np.zeros(len(values), dtype=object)
    if not len(fifo_order):
        return settled
    boundaries = np.flatnonzero(np.diff(corridor[fifo_order])) + 1
    for group in np.split(fifo_order, boundaries):
        side = divmod(int(corridor[group[0]]), jurisdiction_count)
        flow = flows.get((side[0], side[1]), 0)
        if flow == 0:
            continue
        group_values = values[group]
        if policy is Policy.FIFO:
            before = np.cumsum(group_values) - group_values
            room = np.maximum(flow - before, 0)
            settled[group] = np.minimum(group_values, room)
        else:
            settled[group] = largest_remainder(flow, group_values * flow, int(group_values.sum()))
    return settled


def _settled_in_invoice_currency(
    columns: _Columns,
    values: ObjectArray,
    settled_values: ObjectArray,
    rates: RateSet,
    base_exponent: int,
) -> ObjectArray:
    """Step 5a: settled amount in the invoice currency: in full if fully matched, else rounded
    down from the settled base value."""
    outstanding = np.asarray(columns.outstanding, dtype=object)
    settled = np.zeros(columns.size, dtype=object)
    full = (settled_values == values) & (values > 0)
    settled[full] = outstanding[full]
    partial = (settled_values > 0) & ~full
    if partial.any():
        currency = np.asarray(columns.currency, dtype=object)
        for code in sorted(set(currency[partial])):
            factor = conversion_factor(rates.rate(code), exponent(code), base_exponent)
            mask = partial & (currency == code)
            settled[mask] = settled_values[mask] * factor.denominator // factor.numerator
    return settled


def _legs(
    settled_values: ObjectArray,
    debtor_side: IntArray,
    creditor_side: IntArray,
    codes: Sequence[str],
    rates: RateSet,
    base_exponent: int,
) -> tuple[ObjectArray, ObjectArray, list[int]]:
    """Step 5b: domestic legs. In each jurisdiction the debtor legs and the creditor legs are
    split by largest remainder from one total, so pay-ins equal pay-outs exactly."""
    debtor_legs = np.zeros(len(settled_values), dtype=object)
    creditor_legs = np.zeros(len(settled_values), dtype=object)
    totals: list[int] = []
    for index, code in enumerate(codes):
        currency = rates.jurisdictions[code]
        # Base minor units -> minor units of the jurisdiction's currency: multiply by den / num.
        factor = conversion_factor(rates.rate(currency), exponent(currency), base_exponent)
        paying = np.flatnonzero(debtor_side == index)
        receiving = np.flatnonzero(creditor_side == index)
        paid_value = int(settled_values[paying].sum())
        received_value = int(settled_values[receiving].sum())
        if paid_value != received_value:
            raise ArithmeticError(
                f"circulation broken in {code}: pays {paid_value}, receives {received_value}"
            )
        total = round_half_up(paid_value * factor.denominator, factor.numerator)
        debtor_legs[paying] = largest_remainder(
            total, settled_values[paying] * factor.denominator, factor.numerator
        )
        creditor_legs[receiving] = largest_remainder(
            total, settled_values[receiving] * factor.denominator, factor.numerator
        )
        totals.append(total)
    return debtor_legs, creditor_legs, totals


def _positions(
    columns: _Columns,
    settled_values: ObjectArray,
    debtor_legs: ObjectArray,
    creditor_legs: ObjectArray,
    debtor_side: IntArray,
    creditor_side: IntArray,
    codes: Sequence[str],
    rates: RateSet,
) -> tuple[Position, ...]:
    """Step 6: one net position per participant, from its legs (vectorised by participant)."""
    touched = np.flatnonzero(settled_values > 0)
    if not len(touched):
        return ()
    rows = touched.tolist()
    payer_ids = _pick(columns.debtor_id, rows)
    payee_ids = _pick(columns.creditor_id, rows)
    index = {name: code for code, name in enumerate(dict.fromkeys(payer_ids + payee_ids))}
    payer = np.fromiter(map(index.__getitem__, payer_ids), np.intp, len(rows))
    payee = np.fromiter(map(index.__getitem__, payee_ids), np.intp, len(rows))
    home = np.full(len(index), -1, dtype=np.int64)
    home[payer] = debtor_side[touched]
    home[payee] = creditor_side[touched]
    for codes_of, sides in ((payer, debtor_side[touched]), (payee, creditor_side[touched])):
        clash = np.flatnonzero(home[codes_of] != sides)
        if len(clash):
            name = list(index)[int(codes_of[clash[0]])]
            raise InvalidInput(
                f"participant {name!r} appears in more than one jurisdiction", field="debtor_id"
            )
    pay_in = _sum_by(payer, debtor_legs[touched], len(index))
    pay_out = _sum_by(payee, creditor_legs[touched], len(index))
    values = settled_values[touched]
    pay_in_value = _sum_by(payer, values, len(index))
    pay_out_value = _sum_by(payee, values, len(index))
    names = list(index)
    homes = [codes[h] for h in home.tolist()]
    order = sorted(range(len(names)), key=lambda k: (homes[k], names[k]))
    return tuple(
        Position(
            participant_id=names[k],
            jurisdiction=homes[k],
            currency=rates.jurisdictions[homes[k]],
            pay_in=pay_in[k],
            pay_out=pay_out[k],
            pay_in_value=pay_in_value[k],
            pay_out_value=pay_out_value[k],
        )
        for k in order
    )


def _pick(values: Sequence[str], rows: list[int]) -> list[str]:
    """``[values[i] for i in rows]``, in C."""
    if len(rows) == 1:
        return [values[rows[0]]]
    return list(operator.itemgetter(*rows)(values))


def _sum_by(groups: npt.NDArray[np.intp], amounts: ObjectArray, size: int) -> list[int]:
    """Exact per-group sums of Python ints; in int64 when the total cannot overflow."""
    if int(amounts.sum()) < 2**62:
        sums = np.zeros(size, dtype=np.int64)
        np.add.at(sums, groups, amounts.astype(np.int64))
        return [int(v) for v in sums.tolist()]
    exact = np.zeros(size, dtype=object)
    np.add.at(exact, groups, amounts)
    return [int(v) for v in exact.tolist()]


def _metrics(
    values: ObjectArray, settled_values: ObjectArray, positions: Sequence[Position]
) -> Metrics:
    submitted = int(values.sum()) if len(values) else 0
    settled = int(settled_values.sum()) if len(settled_values) else 0
    gross = sum(p.pay_in_value + p.pay_out_value for p in positions)
    net = sum(abs(p.pay_out_value - p.pay_in_value) for p in positions)
    return Metrics(
        submitted_value=submitted,
        settled_value=settled,
        obligations_settled=int(np.count_nonzero(settled_values > 0)) if len(values) else 0,
        netting_efficiency=ratio(settled, submitted),
        domestic_liquidity_saved=ratio(gross - net, gross),
    )


def _ints(column: ObjectArray) -> list[int]:
    """The column as a list of Python ints (an object array already holds them)."""
    values: list[int] = column.tolist()
    return values
