"""The rounding rules of ``clearing.domain.rounding``, each against an exact restatement with
fractions."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.domain.rounding import (
    conversion_factor,
    largest_remainder,
    ratio,
    round_half_up,
    split_total,
    value_in_base,
    values_in_base,
)


def half_up(exact: Fraction) -> int:
    return math.floor(exact + Fraction(1, 2))


def reference_split(total: int, numerators: list[int], denominator: int) -> list[int]:
    """Largest remainder written out: floors, then one unit each to the largest remainders,
    ties to the lower index."""
    parts = [n // denominator for n in numerators]
    order = sorted(range(len(numerators)), key=lambda i: (-(numerators[i] % denominator), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


@given(st.integers(0, 10**30), st.integers(1, 10**20))
def test_round_half_up_rounds_exact_halves_up(numerator: int, denominator: int) -> None:
    assert round_half_up(numerator, denominator) == half_up(Fraction(numerator, denominator))


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(0, 1, 0), (1, 2, 1), (3, 2, 2), (5, 2, 3), (1, 3, 0), (2, 3, 1), (49, 100, 0), (50, 100, 1)],
)
def test_round_half_up_examples(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_up(numerator, denominator) == expected


rates = st.builds(
    lambda digits, shift: Decimal(f"{digits}E{-shift}"),
    st.integers(1, 10**12),
    st.integers(0, 14),
)


@given(
    st.lists(st.integers(1, 10**14), max_size=30),
    rates,
    st.sampled_from([0, 2, 3, 4]),
    st.sampled_from([0, 2, 3]),
)
def test_valuation_is_the_half_up_exact_product_scalar_and_vectorised(
    amounts: list[int], rate: Decimal, from_exponent: int, to_exponent: int
) -> None:
    factor = conversion_factor(rate, from_exponent, to_exponent)
    assert factor == Fraction(rate) * 10**to_exponent / 10**from_exponent
    expected = [half_up(a * Fraction(rate) * 10**to_exponent / 10**from_exponent) for a in amounts]
    assert [value_in_base(a, factor) for a in amounts] == expected
    vectorised = values_in_base(np.asarray(amounts, dtype=object), factor)
    assert [int(v) for v in vectorised] == expected


@st.composite
def splits(draw: st.DrawFn) -> tuple[int, list[int], int]:
    """A total and quotas ``numerators[i] / denominator`` it may be split over: the total is the
    floor, the ceiling or the half-up rounding of the sum of the quotas."""
    denominator = draw(st.one_of(st.integers(1, 1000), st.integers(1, 2**80)))
    size = draw(st.integers(0, 25))
    numerators = draw(
        st.lists(
            st.one_of(st.integers(0, 3 * denominator), st.integers(0, 2**100)),
            min_size=size,
            max_size=size,
        )
    )
    exact = Fraction(sum(numerators), denominator)
    total = draw(st.sampled_from([math.floor(exact), math.ceil(exact), half_up(exact)]))
    return total, numerators, denominator


@given(splits())
def test_largest_remainder_keeps_the_total_and_each_part_within_one_unit(
    split: tuple[int, list[int], int],
) -> None:
    total, numerators, denominator = split
    parts = [
        int(p) for p in largest_remainder(total, np.asarray(numerators, dtype=object), denominator)
    ]
    assert sum(parts) == total
    for part, numerator in zip(parts, numerators, strict=True):
        quota = Fraction(numerator, denominator)
        assert abs(part - quota) < 1
        assert part in (math.floor(quota), math.ceil(quota))
    assert parts == reference_split(total, numerators, denominator)


def test_largest_remainder_gives_tied_units_to_the_lower_index() -> None:
    # Three equal thirds of 2: the first two parts get the units, in the order given.
    assert list(largest_remainder(2, np.asarray([2, 2, 2], dtype=object), 3)) == [1, 1, 0]
    # Same with remainders too large for 64-bit integers.
    big = 2**90
    numerators = np.asarray([2 * big + 1, 2 * big + 1, 2 * big + 1], dtype=object)
    assert list(largest_remainder(2, numerators, 3 * big + 1)) == [1, 1, 0]


def test_largest_remainder_refuses_a_total_it_cannot_reach() -> None:
    numerators = np.asarray([1, 1], dtype=object)
    with pytest.raises(ArithmeticError):
        largest_remainder(3, numerators, 2)
    with pytest.raises(ArithmeticError):
        largest_remainder(-1, numerators, 2)


@given(
    st.one_of(st.integers(0, 1000), st.integers(0, 10**18)),
    st.lists(st.one_of(st.integers(0, 10), st.integers(0, 10**15)), min_size=1, max_size=25),
)
def test_split_total_never_creates_or_loses_a_unit(total: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        if total:
            with pytest.raises(ArithmeticError):
                split_total(total, weights)
        else:
            assert split_total(total, weights) == [0] * len(weights)
        return
    parts = split_total(total, weights)
    assert sum(parts) == total
    assert all(isinstance(part, int) for part in parts)
    for part, weight in zip(parts, weights, strict=True):
        quota = Fraction(total * weight, sum(weights))
        assert abs(part - quota) < 1
    assert parts == reference_split(total, [total * w for w in weights], sum(weights))
    assert split_total(total, weights) == parts


@given(st.integers(1, 50), st.integers(1, 50))
def test_split_total_breaks_ties_towards_the_first_parts(total: int, count: int) -> None:
    parts = split_total(total, [1] * count)
    base, extra = divmod(total, count)
    assert parts == [base + 1] * extra + [base] * (count - extra)


@given(st.integers(0, 10**20), st.integers(0, 10**20))
def test_ratios_have_six_places_rounded_half_up(numerator: int, denominator: int) -> None:
    text = ratio(numerator, denominator)
    if denominator == 0:
        assert text == "0.000000"
        return
    expected = half_up(Fraction(numerator, denominator) * 10**6)
    assert text == f"{expected // 10**6}.{expected % 10**6:06d}"


def test_ratio_examples() -> None:
    assert ratio(1, 3) == "0.333333"
    assert ratio(2, 3) == "0.666667"
    assert ratio(1, 2_000_000) == "0.000001"
    assert ratio(200, 200) == "1.000000"
