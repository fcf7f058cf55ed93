"""The rounding rules of liquidity lines (clearing.domain.rounding, DESIGN §4b): line rooms
valued down and amounts rounded up, never beyond the room; signed splits; pay-in and pay-out
totals that differ by exactly a line flow; and splitting a total beyond one unit per part."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from clearing.domain.rounding import (
    largest_remainder_parts,
    line_amount,
    line_group_amounts,
    line_room_in_base,
    paired_totals,
    round_half_up,
    split_signed,
    spread_parts,
)

factors = st.builds(Fraction, st.integers(1, 10**6), st.integers(1, 10**6))


@given(room=st.integers(0, 10**14), factor=factors, data=st.data())
def test_an_amount_drawn_within_a_rooms_value_never_exceeds_the_room(
    room: int, factor: Fraction, data: st.DataObject
) -> None:
    value_of_room = line_room_in_base(room, factor)
    assert value_of_room == math.floor(room * factor)
    value = data.draw(st.integers(0, value_of_room))
    amount = line_amount(value, factor)
    assert amount == math.ceil(value / factor)
    assert 0 <= amount <= room
    assert (amount > 0) == (value > 0)


@given(
    numerators=st.lists(
        st.integers(-(10**9), 10**9).filter(lambda n: n != 0), min_size=1, max_size=6
    ),
    denominator=st.integers(1, 10**4),
    offset=st.integers(-3, 3),
)
def test_lines_rounded_together_take_floors_or_ceilings_never_zero_and_reach_the_total(
    numerators: list[int], denominator: int, offset: int
) -> None:
    exact_total = Fraction(sum(numerators), denominator)
    total = round_half_up(sum(numerators), denominator) + offset
    parts = line_group_amounts(total, numerators, denominator)
    quotas = [Fraction(n, denominator) for n in numerators]
    for part, quota in zip(parts, quotas, strict=True):
        assert math.floor(quota) <= part <= math.ceil(quota)
        assert part != 0
    lowest = sum(max(math.floor(q), 1) if q > 0 else math.floor(q) for q in quotas)
    highest = sum(math.ceil(q) if q > 0 else min(math.ceil(q), -1) for q in quotas)
    assert sum(parts) == min(max(total, lowest), highest)
    if offset == 0 and all(abs(q) >= 1 for q in quotas):
        assert abs(sum(parts) - exact_total) <= Fraction(1, 2)


def test_lines_rounded_together_break_ties_towards_the_lower_index() -> None:
    # Two lines of 1.5 units share three: the lower index takes the unit left over. A line of
    # 0.5 units still moves one, so the other of 1.5 moves one too.
    assert line_group_amounts(3, [3, 3], 2) == [2, 1]
    assert line_group_amounts(2, [3, 1], 2) == [1, 1]
    assert line_group_amounts(-3, [-3, -3], 2) == [-1, -2]


@given(
    total=st.integers(-(10**6), 10**6),
    numerators=st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=6),
    denominator=st.integers(1, 10**4),
)
def test_a_signed_split_keeps_the_total_and_rounds_all_but_the_largest_part_half_up(
    total: int, numerators: list[int], denominator: int
) -> None:
    parts = split_signed(total, numerators, denominator)
    assert sum(parts) == total
    largest = max(range(len(parts)), key=lambda i: (abs(numerators[i]), -i))
    for index, (part, numerator) in enumerate(zip(parts, numerators, strict=True)):
        if index != largest:
            assert part == math.floor(Fraction(numerator, denominator) + Fraction(1, 2))


def test_a_signed_split_over_nothing_takes_only_nothing() -> None:
    assert split_signed(0, [], 7) == []
    with pytest.raises(ArithmeticError):
        split_signed(1, [], 7)


@given(value=st.integers(0, 10**12), factor=factors)
def test_without_a_line_flow_both_totals_are_the_half_up_conversion(
    value: int, factor: Fraction
) -> None:
    expected = round_half_up(value * factor.denominator, factor.numerator)
    assert paired_totals(value, value, factor, 0) == (expected, expected)


@given(
    paid=st.integers(0, 10**9),
    received=st.integers(0, 10**9),
    factor=factors,
    up=st.booleans(),
)
def test_totals_differ_by_the_line_flow_each_within_a_unit_when_the_flow_is_near_exact(
    paid: int, received: int, factor: Fraction, up: bool
) -> None:
    exact_in, exact_out = paid / factor, received / factor
    # A flow less than one unit from the exact one: its floor or its ceiling.
    flow = math.ceil(exact_in - exact_out) if up else math.floor(exact_in - exact_out)
    pay_in, pay_out = paired_totals(paid, received, factor, flow)
    assert pay_in - pay_out == flow
    assert math.floor(exact_in) <= pay_in <= math.ceil(exact_in)
    assert math.floor(exact_out) <= pay_out <= math.ceil(exact_out)


@given(
    paid=st.integers(1, 10**6),
    received=st.integers(1, 10**6),
    factor=factors,
    flow=st.integers(-(10**6), 10**6),
)
def test_any_line_flow_gives_totals_of_zero_or_more_that_differ_by_it(
    paid: int, received: int, factor: Fraction, flow: int
) -> None:
    pay_in, pay_out = paired_totals(paid, received, factor, flow)
    assert pay_in - pay_out == flow
    assert pay_in >= 0
    assert pay_out >= 0


def test_a_side_without_legs_has_a_total_of_zero() -> None:
    one = Fraction(1)
    assert paired_totals(0, 5, one, -7) == (0, 7)
    assert paired_totals(5, 0, one, 7) == (7, 0)
    # A flow that no leg could carry is refused (the circulation never gives one).
    with pytest.raises(ArithmeticError):
        paired_totals(0, 0, one, 1)
    with pytest.raises(ArithmeticError):
        paired_totals(0, 5, one, 1)


@given(
    numerators=st.lists(st.integers(0, 10**6), min_size=1, max_size=8),
    denominator=st.integers(1, 1000),
    shift=st.integers(-20, 20),
)
def test_spreading_keeps_the_total_and_no_part_goes_below_zero(
    numerators: list[int], denominator: int, shift: int
) -> None:
    floors = np.array([n // denominator for n in numerators], dtype=np.int64)
    remainders = np.array([n % denominator for n in numerators], dtype=np.int64)
    total = round_half_up(sum(numerators), denominator) + shift
    assume(total >= 0)
    parts = spread_parts(total, floors, remainders)
    assert int(parts.sum()) == total
    assert all(int(p) >= 0 for p in parts)
    leftover = total - int(floors.sum())
    if 0 <= leftover <= len(floors):
        assert list(parts) == list(largest_remainder_parts(total, floors, remainders))
    elif leftover > 0:
        each = leftover // len(floors)
        assert all(each <= p - f <= each + 1 for p, f in zip(parts, floors, strict=True))
    else:
        assert all(p <= f for p, f in zip(parts, floors, strict=True))


def test_spreading_a_deficit_takes_from_the_smallest_remainders_first() -> None:
    floors = np.array([3, 3, 3], dtype=np.int64)
    remainders = np.array([5, 1, 1], dtype=np.int64)
    # One unit short of the floors: the last of the two smallest remainders gives it.
    assert list(spread_parts(8, floors, remainders)) == [3, 3, 2]
    # Four short: one from each, smallest remainders first (ties: the higher index), then again.
    assert list(spread_parts(5, floors, remainders)) == [2, 2, 1]
    with pytest.raises(ArithmeticError):
        spread_parts(-1, floors, remainders)
