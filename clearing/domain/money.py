"""Money at the edges: ISO 4217 exponents, and decimal strings <-> integer minor units.

Inside the engine every amount is an ``int`` in the minor unit of its currency (fen, kopeck,
cent; a JPY amount has exponent 0). Only the edges (CSV, JSON, HTTP) see decimal strings in
major units, and they are parsed and formatted here, never with floats.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from iso4217 import Currency

from clearing.domain.errors import InvalidInput

#: The largest amount accepted at the edges, in minor units (DESIGN §3).
MAX_MINOR_UNITS = 10**14
#: No amount within the limit has more significant digits than the limit itself; counting them
#: first keeps ``int()`` away from text long enough to hit Python's conversion limit.
_MAX_DIGITS = len(str(MAX_MINOR_UNITS))
#: Signed amounts (ledger postings, snapshots) may be sums beyond the per-amount limit, but none
#: comes near the 38 digits a signed 128-bit integer holds.
_MAX_SIGNED_DIGITS = 38
#: How much of a bad value an error message quotes.
_SHOWN_CHARACTERS = 24

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_PLAIN_DECIMAL = re.compile(r"(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?")
_SIGNED_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


@cache
def exponent(currency: str) -> int:
    """The number of decimal places of ``currency``'s minor unit, per ISO 4217."""
    if not isinstance(currency, str) or not _CURRENCY_CODE.fullmatch(currency):
        raise InvalidInput(f"{currency!r} is not an ISO 4217 currency code", field="currency")
    try:
        found = Currency(currency)
    except ValueError:
        raise InvalidInput(f"unknown currency {currency!r}", field="currency") from None
    minor = found.exponent
    if minor is None:  # funds and metals such as XAU have no minor unit
        raise InvalidInput(f"{currency} has no minor unit and cannot be settled", field="currency")
    return int(minor)


def check_currency(currency: str, *, field: str = "currency") -> str:
    """Return ``currency`` if it is a settleable ISO 4217 code, else raise naming ``field``."""
    try:
        exponent(currency)
    except InvalidInput as error:
        raise InvalidInput(error.message, field=field) from None
    return currency


def parse_amount(text: str, currency: str, *, field: str = "amount") -> int:
    """Parse a positive decimal string in major units into minor units of ``currency``.

    Rejects zero, negative numbers, exponent notation, signs, blanks, more decimal places than
    the currency allows and anything above ``MAX_MINOR_UNITS``; the error names ``field``.
    """
    places = exponent(currency)
    if not isinstance(text, str):
        raise InvalidInput('must be a decimal string such as "1234.56"', field=field)
    match = _PLAIN_DECIMAL.fullmatch(text)
    if match is None:
        raise InvalidInput(
            f'{shown(text)} is not a plain positive decimal number such as "1234.56"', field=field
        )
    fraction = match["fraction"] or ""
    if len(fraction) > places:
        raise InvalidInput(
            f"{shown(text)} has {len(fraction)} decimal places; {currency} allows {places}",
            field=field,
        )
    digits = (match["whole"] + fraction.ljust(places, "0")).lstrip("0")
    if len(digits) > _MAX_DIGITS or int(digits or "0") > MAX_MINOR_UNITS:
        raise InvalidInput(
            f"{shown(text)} exceeds the limit of {format_amount(MAX_MINOR_UNITS, currency)}",
            field=field,
        )
    if not digits:
        raise InvalidInput("must be greater than zero", field=field)
    return int(digits)


def parse_signed_amount(text: str, currency: str, *, field: str = "amount") -> int:
    """Parse a signed decimal string (as in ledger exports) into minor units of ``currency``."""
    places = exponent(currency)
    if not isinstance(text, str) or not _SIGNED_DECIMAL.fullmatch(text):
        raise InvalidInput(f"{shown(text)} is not a signed decimal number", field=field)
    negative = text.startswith("-")
    whole, _, fraction = text.lstrip("-").partition(".")
    if len(fraction) > places:
        raise InvalidInput(
            f"{shown(text)} has more decimal places than {currency} allows", field=field
        )
    digits = (whole + fraction.ljust(places, "0")).lstrip("0") or "0"
    if len(digits) > _MAX_SIGNED_DIGITS:
        raise InvalidInput(f"{shown(text)} has more digits than any amount", field=field)
    minor = int(digits)
    return -minor if negative else minor


def shown(text: object) -> str:
    """``text`` quoted for an error message, cut short when it is long."""
    if not isinstance(text, str) or len(text) <= _SHOWN_CHARACTERS:
        return repr(text)
    return f"{text[:_SHOWN_CHARACTERS]!r}… ({len(text):,} characters)"


def format_amount(minor: int, currency: str) -> str:
    """Format minor units of ``currency`` as a decimal string in major units, e.g. ``-12.30``."""
    return format_minor(minor, exponent(currency))


def format_minor(minor: int, places: int) -> str:
    """Format an integer count of 10**-places as a decimal string with exactly ``places`` digits."""
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor))
    if places == 0:
        return sign + digits
    digits = digits.rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def format_minor_column(minor: npt.NDArray[Any], places: npt.NDArray[np.int64]) -> pa.Array:
    """:func:`format_minor` of each value with its ``places``, as Arrow text made in C: the
    digits cast to text, zero-padded, the point put in (``5`` -> ``0.05``) and the sign."""
    try:
        values = np.asarray(minor, dtype=np.int64)
    except OverflowError:  # exact Python ints beyond 64 bits: rare, one by one
        values = None
    if values is None or (values == np.iinfo(np.int64).min).any():  # no 64-bit magnitude
        pairs = zip(minor.tolist(), places.tolist(), strict=True)
        return pa.array([format_minor(int(v), int(p)) for v, p in pairs], pa.string())
    negative = values < 0
    if negative.any():
        unsigned = format_minor_column(np.abs(values), places)
        signed = pc.binary_join_element_wise("-", unsigned, "")
        return pc.if_else(pa.array(negative), signed, unsigned)
    digits = pc.cast(pa.array(values, pa.int64()), pa.string())
    widths = np.unique(places).tolist()
    if len(widths) == 1:
        return _with_point(digits, widths[0])
    formatted = np.empty(len(values), dtype=object)
    for width in widths:
        rows = np.flatnonzero(places == width)
        formatted[rows] = _with_point(digits.take(pa.array(rows)), width).to_numpy(
            zero_copy_only=False
        )
    return pa.array(formatted, pa.string())


def _with_point(digits: pa.Array, places: int) -> pa.Array:
    if not places:
        return digits
    padded = pc.utf8_lpad(digits, width=places + 1, padding="0")
    whole = pc.utf8_slice_codeunits(padded, 0, -places)
    fraction = pc.utf8_slice_codeunits(padded, -places)
    return pc.binary_join_element_wise(whole, fraction, ".")


def places_of(currencies: pa.Array) -> npt.NDArray[np.int64]:
    """The exponent of each value's currency (ISO 4217 codes, as Arrow text)."""
    labels = pc.unique(currencies).to_pylist()
    codes = np.asarray(pc.index_in(currencies, value_set=pa.array(labels, pa.string())))
    places: npt.NDArray[np.int64] = np.array([exponent(c) for c in labels], dtype=np.int64)[codes]
    return places


def parse_rate(text: str, *, field: str = "rate") -> Decimal:
    """Parse an FX rate: an exact, positive decimal string (no exponent notation)."""
    if not isinstance(text, str) or _PLAIN_DECIMAL.fullmatch(text) is None:
        raise InvalidInput(
            f'{shown(text)} is not a plain positive decimal number such as "0.0781"', field=field
        )
    rate = Decimal(text)
    if rate == 0:
        raise InvalidInput("must be greater than zero", field=field)
    if len(text) > 40:
        raise InvalidInput("has more than 40 characters", field=field)
    return rate


def format_rate(rate: Decimal) -> str:
    """The canonical text of a rate: plain notation with no trailing zeros (``7.1``, ``0.0781``).

    Exact for any number of digits: the zeros are stripped from the text, because
    ``Decimal.normalize`` would round to the context's precision (28 significant digits) and so
    digest and export a rate other than the one the cycle was valued with.
    """
    text = format(rate, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
