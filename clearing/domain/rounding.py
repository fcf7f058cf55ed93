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
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from clearing.domain.money import format_minor

RATIO_PLACES = 6


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
