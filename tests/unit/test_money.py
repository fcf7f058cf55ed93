"""Money at the edges (DESIGN §3): ISO 4217 exponents, decimal strings <-> minor units, rates."""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.domain.errors import InvalidInput
from clearing.domain.money import (
    MAX_MINOR_UNITS,
    check_currency,
    exponent,
    format_amount,
    format_minor,
    format_minor_column,
    format_rate,
    parse_amount,
    parse_rate,
    parse_signed_amount,
)
from clearing.domain.netting.columns import integers

#: One currency for every exponent ISO 4217 has: 0 (JPY), 2 (CNY, ...), 3 (BHD), 4 (CLF).
BY_EXPONENT = {"JPY": 0, "KRW": 0, "CNY": 2, "RUB": 2, "KZT": 2, "USD": 2, "BHD": 3, "CLF": 4}
currencies = st.sampled_from(sorted(BY_EXPONENT))
minor_units = st.one_of(
    st.integers(1, 100), st.integers(1, MAX_MINOR_UNITS), st.just(MAX_MINOR_UNITS)
)


def test_exponents_come_from_iso_4217() -> None:
    assert {code: exponent(code) for code in BY_EXPONENT} == BY_EXPONENT


@pytest.mark.parametrize("code", ["ZZZ", "usd", "US", "USDT", "", "XAU", "XXX"])
def test_a_code_that_is_not_a_settleable_currency_is_rejected(code: str) -> None:
    with pytest.raises(InvalidInput) as error:
        check_currency(code, field="rates.currency")
    assert error.value.field == "rates.currency"


@given(currencies, minor_units)
def test_formatting_then_parsing_an_amount_gives_it_back(currency: str, minor: int) -> None:
    text = format_amount(minor, currency)
    places = BY_EXPONENT[currency]
    pattern = r"[0-9]+" if places == 0 else rf"[0-9]+\.[0-9]{{{places}}}"
    assert re.fullmatch(pattern, text)
    assert Decimal(text) == Decimal(minor).scaleb(-places)
    assert parse_amount(text, currency) == minor
    assert parse_signed_amount(text, currency) == minor
    assert parse_signed_amount(format_amount(-minor, currency), currency) == -minor


@given(currencies, st.data(), st.integers(0, 3))
def test_any_plain_decimal_within_the_currency_places_parses_to_its_exact_value(
    currency: str, data: st.DataObject, leading_zeros: int
) -> None:
    allowed = BY_EXPONENT[currency]
    # Written with fewer places than allowed (its last digits being zeros) and leading zeros.
    places = data.draw(st.integers(0, allowed))
    unit = 10 ** (allowed - places)
    minor = data.draw(st.integers(1, MAX_MINOR_UNITS // unit)) * unit
    text = "0" * leading_zeros + format_minor(minor // unit, places)
    assert parse_amount(text, currency) == minor
    assert format_amount(parse_amount(text, currency), currency) == format_amount(minor, currency)


@given(st.integers(-(10**20), 10**20), st.integers(0, 6))
def test_format_minor_writes_exactly_the_given_places(minor: int, places: int) -> None:
    text = format_minor(minor, places)
    assert Decimal(text) == Decimal(minor).scaleb(-places)
    if places:
        assert len(text.partition(".")[2]) == places
    else:
        assert "." not in text


def rejected(text: object, currency: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        parse_amount(text, currency, field="lines[3].amount")  # type: ignore[arg-type]
    return error.value


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("1.5", "JPY"),
        ("1.0", "JPY"),
        ("12.345", "CNY"),
        ("0.001", "USD"),
        ("1.0000", "BHD"),
        ("1.00000", "CLF"),
    ],
)
def test_more_decimal_places_than_the_currency_allows_are_rejected(
    text: str, currency: str
) -> None:
    error = rejected(text, currency)
    assert error.field == "lines[3].amount"
    assert "decimal places" in error.message


@pytest.mark.parametrize("text", ["0", "0.00", "000", "00.0"])
def test_zero_is_rejected(text: str) -> None:
    error = rejected(text, "CNY")
    assert error.field == "lines[3].amount"
    assert "greater than zero" in error.message


@pytest.mark.parametrize("text", ["-1", "-0.01", "-100.00", "- 5"])
def test_a_negative_amount_is_rejected(text: str) -> None:
    assert rejected(text, "CNY").field == "lines[3].amount"


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "abc",
        "1,000.00",
        "1 000",
        "1_000",
        " 12.30",
        "12.30 ",
        "12.30\n",
        "1.",
        ".5",
        "+1",
        "0x10",
        "NaN",
        "Infinity",
        "١٢",
        "12.3.4",
        "$12",
        None,
        12,
        Decimal("12"),
    ],
)
def test_non_numeric_input_is_rejected(text: object) -> None:
    assert rejected(text, "CNY").field == "lines[3].amount"


@pytest.mark.parametrize("text", ["1e5", "1E5", "1.5e2", "1e-2", "1E+2"])
def test_exponent_notation_is_rejected(text: str) -> None:
    assert rejected(text, "CNY").field == "lines[3].amount"


@given(currencies, st.integers(MAX_MINOR_UNITS + 1, MAX_MINOR_UNITS * 10**6))
def test_more_than_10_to_the_14_minor_units_is_rejected(currency: str, minor: int) -> None:
    error = rejected(format_amount(minor, currency), currency)
    assert error.field == "lines[3].amount"
    assert "limit" in error.message


def test_exactly_10_to_the_14_minor_units_is_accepted() -> None:
    assert parse_amount("1000000000000.00", "CNY") == MAX_MINOR_UNITS
    assert parse_amount("100000000000000", "JPY") == MAX_MINOR_UNITS
    assert rejected("1000000000000.01", "CNY").field == "lines[3].amount"


@pytest.mark.parametrize("currency", ["ZZZ", "XAU", "cny", ""])
def test_an_amount_in_an_unknown_currency_is_rejected_naming_the_currency(currency: str) -> None:
    assert rejected("1.00", currency).field == "currency"


@given(st.text(max_size=12))
def test_any_text_is_either_a_valid_amount_or_rejected_naming_the_field(text: str) -> None:
    match = re.fullmatch(r"[0-9]+(\.[0-9]+)?", text, flags=re.ASCII)
    valid = (
        match is not None
        and len((match[1] or ".")[1:]) <= 2
        and 0 < Decimal(text).scaleb(2) <= MAX_MINOR_UNITS
    )
    if valid:
        assert parse_amount(text, "CNY") == int(Decimal(text).scaleb(2))
    else:
        assert rejected(text, "CNY").field == "lines[3].amount"


@given(st.text(alphabet="0123456789.-eE+ ", max_size=8))
def test_signed_amounts_parse_exactly_or_are_rejected(text: str) -> None:
    if re.fullmatch(r"-?[0-9]+(\.[0-9]{1,2})?", text):
        assert parse_signed_amount(text, "CNY") == int(Decimal(text).scaleb(2))
    else:
        with pytest.raises(InvalidInput) as error:
            parse_signed_amount(text, "CNY", field="postings.amount")
        assert error.value.field == "postings.amount"


# --- rates --------------------------------------------------------------------------------------

#: Exact positive decimals with up to 38 significant digits, as the rate parser accepts them.
rates = st.builds(
    # From a string: Decimal arithmetic would round to the context's 28 digits.
    lambda digits, shift: Decimal(f"{digits}E{-shift}"),
    st.integers(1, 10**38 - 1),
    st.integers(-3, 40),
).filter(lambda rate: len(format(rate, "f")) <= 40)


@given(rates)
def test_a_rate_survives_formatting_and_parsing_exactly(rate: Decimal) -> None:
    text = format_rate(rate)
    assert re.fullmatch(r"[0-9]+(\.[0-9]*[1-9])?", text)
    assert parse_rate(text) == rate
    assert Decimal(text) == rate


def test_a_rate_is_written_without_trailing_zeros() -> None:
    assert format_rate(Decimal("7.10")) == "7.1"
    assert format_rate(Decimal("100")) == "100"
    assert format_rate(Decimal("1E+2")) == "100"
    assert format_rate(Decimal("0.0781000")) == "0.0781"
    assert format_rate(Decimal("1.000")) == "1"


def test_a_rate_with_more_significant_digits_than_the_decimal_context_is_kept_exact() -> None:
    text = "0.123456789012345678901234567890123456"
    assert format_rate(parse_rate(text)) == text


@pytest.mark.parametrize(
    "text", ["0", "0.000", "-1", "1e-3", "abc", "", " 1", "1.", "0." + "1" * 40, None]
)
def test_a_bad_rate_is_rejected_naming_the_field(text: object) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_rate(text, field="rates.RUB")  # type: ignore[arg-type]
    assert error.value.field == "rates.RUB"


@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.integers(-(10**16), 10**16),
                st.sampled_from([0, -1, 2**63 - 1, -(2**63), 2**70, -(2**70)]),
            ),
            st.sampled_from([0, 2, 3]),
        ),
        max_size=40,
    )
)
def test_a_column_of_amounts_formats_as_each_amount_alone_does(
    pairs: list[tuple[int, int]],
) -> None:
    minor = integers([value for value, _ in pairs])
    places = np.array([place for _, place in pairs], dtype=np.int64)
    assert format_minor_column(minor, places).to_pylist() == [
        format_minor(value, place) for value, place in pairs
    ]
