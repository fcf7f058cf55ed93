"""Every rounding rule of the engine, in one place.

The rules:

* **Valuation** of an amount in the base currency rounds the exact product *half up* (an exact
  half goes away from zero; amounts are positive): ``value = round_half_up(amount * rate)`` in
  base minor units, ``rate`` being the exact decimal value of one major unit in base major units.
* **Splitting** a total into parts (pro-rata allocation, domestic legs) uses the
  **largest-remainder method**: each part gets the floor of its exact quota, and the units left
  over go one each to the largest fractional remainders; ties go to the part that comes first
  in the order the caller gives (for pro-rata allocation: priority, due date, sequence, id; for
  legs: obligation id). No minor unit is ever created or lost, and every part is within one
  unit of its exact quota.
* **Legs**: a jurisdiction's total in its own currency is the half-up conversion of the base
  total it settles; it is split by largest remainder over the exact conversions of each leg,
  ties going to the lower obligation id.
* **Partial settlement in the invoice currency** rounds *down*, so that nothing is discharged
  that was not matched; a fully matched obligation is settled in full.
* **Ratios** (netting efficiency, liquidity saved) are decimal strings with six places, rounded
  half up.

The array forms apply the same rules to whole columns. They work in signed 64-bit integers
where the bounds prove every intermediate exact: an amount ``a`` scaled by ``N / D`` is computed
as ``(a // D)·N + round_half_up((a % D)·N, D)``, which stays below ``2·N·D`` plus the largest
quotient times ``N``; each function checks that bound for the actual column and factor (so per
rate set) and otherwise falls back to exact Python integers. Both paths give the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from clearing.domain.money import format_minor

RATIO_PLACES = 6
#: Every intermediate of the 64-bit path stays below this, so that two of them still add.
SAFE_INT64 = 2**62

#: A column of integers: ``int64`` when proven to fit, else ``object`` holding Python ints.
Column = npt.NDArray[Any]


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up; both non-negative, ``denominator > 0``."""
    return (2 * numerator + denominator) // (2 * denominator)


def conversion_factor(rate: Decimal, from_exponent: int, to_exponent: int) -> Fraction:
    """The exact factor turning minor units of a currency into minor units of the base.

    ``rate`` is the value of one major unit of the currency in major units of the base.
    """
    return Fraction(rate) * Fraction(10**to_exponent, 10**from_exponent)


def value_in_base(amount: int, factor: Fraction) -> int:
    """Value ``amount`` (minor units) in base minor units, half up (the valuation rule)."""
    return round_half_up(amount * factor.numerator, factor.denominator)


def values_in_base(amounts: npt.NDArray[np.object_], factor: Fraction) -> npt.NDArray[np.object_]:
    """Vectorised :func:`value_in_base` over an object array of Python ints (exact)."""
    numerator = factor.numerator
    denominator = factor.denominator
    result: npt.NDArray[np.object_] = (2 * amounts * numerator + denominator) // (2 * denominator)
    return result


def largest_remainder(
    total: int, numerators: npt.NDArray[np.object_], denominator: int
) -> npt.NDArray[np.object_]:
    """Split ``total`` into parts with exact quotas ``numerators[i] / denominator``.

    The caller guarantees ``0 <= total - sum(floor(quota)) <= len(numerators)`` (true whenever
    ``total`` is the floor, ceiling or rounding of the sum of the quotas). Units left over go to
    the largest remainders; ties go to the lower index, so order the parts by precedence first.
    """
    floors = numerators // denominator
    remainders = numerators % denominator
    leftover = total - int(floors.sum())
    count = len(numerators)
    if leftover < 0 or leftover > count:
        raise ArithmeticError(f"cannot split {total} over quotas summing to {floors.sum()}")
    parts: npt.NDArray[np.object_] = floors.copy()
    if leftover:
        # Stable sort on the negated remainder: largest first, ties by position.
        order = _descending_stable_order(remainders)
        parts[order[:leftover]] += 1
    return parts


def _descending_stable_order(values: npt.NDArray[np.object_]) -> npt.NDArray[np.intp]:
    try:
        keys = values.astype(np.int64)
    except OverflowError:
        ranked = sorted(range(len(values)), key=lambda index: (-values[index], index))
        return np.asarray(ranked, dtype=np.intp)
    return np.argsort(-keys, kind="stable")


def split_total(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` by largest remainder (ties: lower index)."""
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total:
            raise ArithmeticError("cannot split a non-zero total over zero weights")
        return [0] * len(weights)
    numerators = np.fromiter((w * total for w in weights), dtype=object, count=len(weights))
    return [int(part) for part in largest_remainder(total, numerators, weight_sum)]


def ratio(numerator: int, denominator: int) -> str:
    """``numerator / denominator`` as a decimal string with six places, half up; 0 if empty."""
    if denominator == 0:
        return format_minor(0, RATIO_PLACES)
    return format_minor(round_half_up(numerator * 10**RATIO_PLACES, denominator), RATIO_PLACES)


# --- the same rules over columns ---------------------------------------------------------------


def _quotient_fits(column: Column, multiplier: int, divisor: int) -> bool:
    """Whether ``(column // divisor)·multiplier`` and ``2·(divisor - 1)·multiplier + divisor``
    stay below :data:`SAFE_INT64` for this column (non-negative int64 values)."""
    if column.dtype != np.int64 or multiplier >= SAFE_INT64 or divisor >= SAFE_INT64:
        return False
    top = int(column.max()) if len(column) else 0
    return (top // divisor) * multiplier < SAFE_INT64 and (
        2 * (divisor - 1) * multiplier + divisor < SAFE_INT64
    )


def exact(column: Column) -> npt.NDArray[np.object_]:
    """The column as exact Python ints."""
    if column.dtype == object:
        return column
    result: npt.NDArray[np.object_] = np.array(column.tolist(), dtype=object)
    return result


def scale_half_up(column: Column, numerator: int, denominator: int) -> Column:
    """``round_half_up(a·numerator / denominator)`` for every ``a >= 0`` (the valuation rule)."""
    if _quotient_fits(column, numerator, denominator):
        quotient, remainder = np.divmod(column, denominator)
        result: Column = quotient * numerator + (2 * remainder * numerator + denominator) // (
            2 * denominator
        )
        return result
    wide: Column = (2 * exact(column) * numerator + denominator) // (2 * denominator)
    return wide


def scale_parts(column: Column, numerator: int, denominator: int) -> tuple[Column, Column]:
    """``a·numerator`` divided by ``denominator``, as floors and remainders, for every ``a >= 0``.

    The floors round down (partial settlement in the invoice currency); floors and remainders
    together are the quotas :func:`largest_remainder_parts` splits a total by.
    """
    if _quotient_fits(column, numerator, denominator):
        quotient, remainder = np.divmod(column, denominator)
        low_floor, low_remainder = np.divmod(remainder * numerator, denominator)
        return quotient * numerator + low_floor, low_remainder
    product = exact(column) * numerator
    return product // denominator, product % denominator


def largest_remainder_parts(total: int, floors: Column, remainders: Column) -> Column:
    """Split ``total`` over quotas given as floors and remainders (see :func:`largest_remainder`):
    the units left over go to the largest remainders, ties to the lower index."""
    leftover = total - exact_sum(floors)
    count = len(floors)
    if leftover < 0 or leftover > count:
        raise ArithmeticError(f"cannot split {total} over quotas summing to {exact_sum(floors)}")
    parts = floors.copy()
    if leftover:
        parts[_descending_stable_order(remainders)[:leftover]] += 1
    return parts


def exact_sum(column: Column) -> int:
    """The exact sum of non-negative integers: in 64 bits when it cannot overflow."""
    if not len(column):
        return 0
    if column.dtype == np.int64 and int(column.max()) * len(column) < SAFE_INT64:
        return int(column.sum())
    return int(sum(column.tolist()))


def group_sums(groups: npt.NDArray[np.intp], column: Column, size: int) -> list[int]:
    """Exact sums of non-negative integers per group ``0 <= groups < size``."""
    if column.dtype == np.int64 and (
        not len(column) or int(column.max()) * len(column) < SAFE_INT64
    ):
        sums = np.zeros(size, dtype=np.int64)
        np.add.at(sums, groups, column)
        return [int(v) for v in sums.tolist()]
    totals = np.zeros(size, dtype=object)
    np.add.at(totals, groups, exact(column))
    return [int(v) for v in totals.tolist()]
