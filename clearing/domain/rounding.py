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
* **Liquidity lines** (DESIGN §4b). A line's room to draw (limit - balance) and to repay (its
  balance), in minor units of its currency, is valued in base *rounded down*
  (:func:`line_room_in_base`). The base value the circulation draws or repays becomes an amount
  of the line's currency at the line's **home end**: its source if the line is in the source's
  currency (so a line whose two ends share its currency is homed at its source), else its
  target. The lines homed at one jurisdiction are rounded **together**
  (:func:`line_group_amounts`), jurisdictions taken in code order: the exact total at that end
  of those lines and of the lines in its currency already rounded at another home (a shared
  currency line's target end), rounded half up (an exact half towards +∞), less the latter's
  amounts, is split by largest remainder over the exact amounts, ties going to the lower line
  id. Each amount is the floor or the ceiling of its exact conversion and never zero for a line
  that carries value, the total moving as little as that needs. So at each home end those lines
  move within one minor unit of their exact total unless several of them each carry less than
  one unit; no balance goes above its limit or below zero (a rounded-down room converts back to
  at most the room it came from, so even the ceiling, :func:`line_amount`, fits); and a line
  that carries any value moves at least one minor unit.
* **A jurisdiction's net line flow** (what its pay-ins exceed its pay-outs by, in its own
  currency) is the sum over the lines that touch it of each line's flow at that end. At an end
  whose currency is the line's, that flow is exactly the line's drawn minus repaid amount (with
  the sign of the end). The ends in another currency share the rest: the jurisdiction's total
  is its exact line flow (the base values of the lines' movements, converted) rounded half up,
  and :func:`split_signed` splits what the exact ends leave of it over them.
* **Pay-ins and pay-outs with lines**: a jurisdiction's debtor legs and creditor legs are split
  from two totals that differ by exactly its net line flow, each within one unit of its exact
  conversion where that is possible (:func:`paired_totals`); without lines both are the half-up
  conversion of the one base total, as above.

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


# --- liquidity lines (DESIGN §4b) ---------------------------------------------------------------


def line_room_in_base(amount: int, factor: Fraction) -> int:
    """A line's room (minor units of its currency, ``>= 0``) valued in base, rounded down."""
    return amount * factor.numerator // factor.denominator


def line_amount(value: int, factor: Fraction) -> int:
    """A base value drawn or repaid on a line, in minor units of its currency, rounded up.

    When ``value <= line_room_in_base(room, factor)`` the result is at most ``room``."""
    return -(-value * factor.denominator // factor.numerator)


def line_group_amounts(total: int, numerators: Sequence[int], denominator: int) -> list[int]:
    """The signed amounts of the lines homed at one end, from their exact signed quotas
    ``numerators[i] / denominator`` (none zero; ordered by line id): each the floor or the
    ceiling of its quota and never zero, summing to ``total`` where those bounds allow, else
    as near it as they allow. Units above the floors go to the largest remainders, ties to the
    lower index."""
    lows = [numerator // denominator for numerator in numerators]
    remainders = [numerator % denominator for numerator in numerators]
    # Floor or ceiling, but a quota between -1 and 1 keeps the one that is not zero.
    for index, numerator in enumerate(numerators):
        if lows[index] == 0 and numerator > 0:
            lows[index], remainders[index] = 1, 0
        elif lows[index] == -1 and remainders[index]:
            remainders[index] = 0
    open_parts = [index for index, remainder in enumerate(remainders) if remainder]
    leftover = min(max(total - sum(lows), 0), len(open_parts))
    ranked = sorted(open_parts, key=lambda index: (-remainders[index], index))
    for index in ranked[:leftover]:
        lows[index] += 1
    return lows


def split_signed(total: int, numerators: Sequence[int], denominator: int) -> list[int]:
    """Split ``total`` over signed quotas ``numerators[i] / denominator``: each part is its quota
    rounded half up (towards +∞), and what that leaves of ``total`` goes to the part with the
    largest quota in size (ties: the lower index)."""
    parts = [round_half_up(numerator, denominator) for numerator in numerators]
    if parts:
        largest = max(range(len(parts)), key=lambda index: (abs(numerators[index]), -index))
        parts[largest] += total - sum(parts)
    elif total:
        raise ArithmeticError(f"cannot split {total} over no parts")
    return parts


def paired_totals(
    paid_value: int, received_value: int, factor: Fraction, line_flow: int
) -> tuple[int, int]:
    """A jurisdiction's pay-in and pay-out totals (minor units of its currency) that differ by
    exactly ``line_flow``, from the base values its debtor legs pay and its creditor legs
    receive; ``factor`` is base minor units per minor unit of its currency.

    Each total is the floor or the ceiling of its exact conversion wherever that pairing exists
    (it always does when the exact line flow and ``line_flow`` differ by less than one unit, as
    with at most one line per jurisdiction): then each leg stays within one unit of its exact
    value. The pay-in is the half-up conversion moved as little as that needs, so without lines
    (``paid_value == received_value``, ``line_flow == 0``) both are the half-up conversion.
    Otherwise (several lines in the jurisdiction's currency rounding the same way) a side
    without legs has a total of zero, else the pay-in is the conversion nearest the middle of
    the two exact totals that keeps both totals at zero or above, and :func:`spread_parts`
    splits them. A line flow that no legs could carry is refused with :class:`ArithmeticError`;
    the circulation never gives one, as every line movement is carried by legs at its ends."""
    numerator, denominator = factor.denominator, factor.numerator
    paid, received = paid_value * numerator, received_value * numerator
    low = max(paid // denominator, received // denominator + line_flow)
    high = min(-(-paid // denominator), -(-received // denominator) + line_flow)
    preferred = round_half_up(paid, denominator)
    if low <= high:
        pay_in = min(max(preferred, low), high)
    elif paid_value == 0:
        pay_in = 0
    elif received_value == 0:
        pay_in = line_flow
    else:
        middle = round_half_up(paid + received + line_flow * denominator, 2 * denominator)
        pay_in = max(middle, line_flow, 0)
    if pay_in < 0 or pay_in - line_flow < 0 or (paid_value == received_value == 0 and pay_in):
        raise ArithmeticError(f"no pay-in and pay-out totals differ by the line flow {line_flow}")
    return pay_in, pay_in - line_flow


def spread_parts(total: int, floors: Column, remainders: Column) -> Column:
    """:func:`largest_remainder_parts`, and beyond its reach (a total more than one unit per
    part away from the floors' sum, which only :func:`paired_totals`' last resort gives) whole
    units spread over the parts: added to every part alike and the rest by largest remainder,
    or taken one at a time from the parts with the smallest remainders (ties: the higher
    index) that still have a unit. ``total`` must be at least zero."""
    leftover = total - exact_sum(floors)
    count = len(floors)
    if 0 <= leftover <= count:
        return largest_remainder_parts(total, floors, remainders)
    if total < 0 or not count:
        raise ArithmeticError(f"cannot split {total} over {count} parts")
    if leftover > 0:
        each, rest = divmod(leftover, count)
        lifted = floors + each
        return largest_remainder_parts(total, lifted, remainders) if rest else lifted
    parts = exact(floors).copy()
    ascending = _descending_stable_order(remainders)[::-1]
    while leftover < 0:
        for index in ascending:
            if leftover == 0:
                break
            if parts[index] > 0:
                parts[index] -= 1
                leftover += 1
    return parts if floors.dtype == object else parts.astype(floors.dtype)
