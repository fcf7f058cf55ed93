"""Hypothesis strategies shared by the unit tests of the pure core.

Netting instances have 2 to 5 jurisdictions, invoices in mixed currencies (JPY with exponent 0,
BHD with exponent 3, and CNY, RUB, KZT, USD, EUR with 2), rates near real cross rates but with
1 to 30 significant digits, amounts from one minor unit up to 10**14, and skewed corridors:
each corridor has its own amount scale and two busy corridors carry most obligations.

Generation is the cost of a thousand examples per property, so an instance is drawn in a few
choices: small integers for its shape and byte strings decoded into rates and obligations.
Shrinking still works: fewer obligations, and bytes towards zero (smaller amounts, earlier
corridors, fewer significant digits).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Context, Decimal, localcontext
from fractions import Fraction

from hypothesis import settings
from hypothesis import strategies as st

from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet

#: Jurisdiction -> the currency it settles in (two entities share EUR).
JURISDICTIONS = {
    "CN": "CNY",
    "RU": "RUB",
    "KZ": "KZT",
    "JP": "JPY",
    "US": "USD",
    "DE": "EUR",
    "AT": "EUR",
    "BH": "BHD",
}
INVOICE_CURRENCIES = ("CNY", "RUB", "KZT", "JPY", "USD", "EUR", "BHD")
#: Every set of 2 to 5 jurisdictions.
JURISDICTION_SETS = [
    codes for size in range(2, 6) for codes in itertools.combinations(sorted(JURISDICTIONS), size)
]

#: Roughly real values of one major unit in CNY. Generated rates stay within a factor 2 of the
#: cross rates these imply, so that 24 obligations of 10**14 minor units stay clear of the 2**62
#: limit of the solver (the largest factor, USD cents in KZT tiyn, is about 1,000).
ANCHOR_IN_CNY = {
    "CNY": Fraction(1),
    "RUB": Fraction("0.0781"),
    "KZT": Fraction("0.0142"),
    "JPY": Fraction("0.0475"),
    "USD": Fraction("7.10"),
    "EUR": Fraction("7.70"),
    "BHD": Fraction("18.9"),
}
RATE_DIGITS = (1, 2, 3, 4, 6, 8, 12, 20, 30)

#: Amount scales in minor units, (lowest, highest); each corridor has one, so flows are skewed.
AMOUNT_SCALES = {
    "tiny": (1, 100),
    "small": (1, 10**6),
    "large": (10**9, 10**12),
    "huge": (10**13, 10**14),
    "any": (1, 10**14),
}
MODERATE_SCALES = ("tiny", "small")

#: Obligation ids are a prefix (some need escaping in JSON, some are not ASCII) and an index.
ID_PREFIXES = ("", "o", "a/", "é", '"', "\\", "中文", "😀", "z.", "B-")
#: Bytes per obligation: corridor, currency, id prefix, debtor, creditor, due date, priority,
#: sequence, then the amount.
SPEC_BYTES = 8
AMOUNT_BYTES = 7


def decode_rate(currency: str, base: str, perturbation: int, digits: int) -> Decimal:
    """The real cross rate times 0.5 to 2 (``perturbation`` 0..255), with 1 to 30 significant
    digits, as an exact decimal."""
    if currency == base:
        return Decimal(1)
    ratio = ANCHOR_IN_CNY[currency] / ANCHOR_IN_CNY[base]
    exact = ratio * Fraction(50 + perturbation * 150 // 255, 100)
    with localcontext(Context(prec=RATE_DIGITS[digits % len(RATE_DIGITS)])):
        return Decimal(exact.numerator) / Decimal(exact.denominator)


def decode_amount(raw: bytes, scale: tuple[int, int]) -> int:
    """An amount within ``scale``; the top byte 255 gives its highest, 254 its lowest value."""
    lowest, highest = scale
    if raw[0] == 255:
        return highest
    if raw[0] == 254:
        return lowest
    return lowest + int.from_bytes(raw, "big") % (highest - lowest + 1)


@st.composite
def rate_sets(draw: st.DrawFn) -> RateSet:
    codes = JURISDICTION_SETS[draw(st.integers(0, len(JURISDICTION_SETS) - 1))]
    jurisdictions = {code: JURISDICTIONS[code] for code in codes}
    bases = sorted({*jurisdictions.values(), "CNY", "USD"})
    base = bases[draw(st.integers(0, len(bases) - 1))]
    size = 2 * len(INVOICE_CURRENCIES)
    blob = draw(st.binary(min_size=size, max_size=size))
    rates = {
        currency: decode_rate(currency, base, blob[2 * i], blob[2 * i + 1])
        for i, currency in enumerate(INVOICE_CURRENCIES)
    }
    return RateSet(
        base=base, jurisdictions=jurisdictions, rates=rates, source="test", as_of="2026-11-20"
    )


@dataclass(frozen=True)
class Instance:
    """One netting problem: a rate set, a snapshot of obligations and a policy."""

    rates: RateSet
    obligations: tuple[Obligation, ...]
    policy: Policy

    @property
    def codes(self) -> list[str]:
        return sorted(self.rates.jurisdictions)


@st.composite
def instances(
    draw: st.DrawFn,
    *,
    min_obligations: int = 0,
    max_obligations: int = 24,
    scales: tuple[str, ...] = tuple(AMOUNT_SCALES),
    policy: Policy | None = None,
) -> Instance:
    """A netting instance (see the module docstring)."""
    rates = draw(rate_sets())
    codes = sorted(rates.jurisdictions)
    corridors = [(a, b) for a in codes for b in codes if a != b]
    shape = draw(st.binary(min_size=2 + len(corridors) + len(codes), max_size=64))
    # Two busy corridors (often opposite) take most obligations; each corridor has its own
    # amount scale.
    first = corridors[shape[0] % len(corridors)]
    second = first[::-1] if shape[1] % 2 else corridors[shape[1] // 2 % len(corridors)]
    busy = [first, second]
    pool = busy * 3 + corridors
    scale = {
        corridor: AMOUNT_SCALES[scales[shape[2 + i] % len(scales)]]
        for i, corridor in enumerate(corridors)
    }
    participants = {
        code: [f"{code.lower()}-{k}" for k in range(1 + shape[2 + len(corridors) + i] % 3)]
        for i, code in enumerate(codes)
    }
    count = draw(st.integers(min_obligations, max_obligations))
    size = count * (SPEC_BYTES + AMOUNT_BYTES)
    blob = draw(st.binary(min_size=size, max_size=size))
    obligations = []
    for index in range(count):
        spec = blob[index * (SPEC_BYTES + AMOUNT_BYTES) :][: SPEC_BYTES + AMOUNT_BYTES]
        # Offset by the index so that even all-zero bytes alternate between the busy corridors.
        source, target = pool[(spec[0] + index) % len(pool)]
        currencies = (rates.jurisdictions[source], rates.jurisdictions[target], *INVOICE_CURRENCIES)
        debtors, creditors = participants[source], participants[target]
        obligations.append(
            Obligation(
                obligation_id=f"{ID_PREFIXES[spec[2] % len(ID_PREFIXES)]}{index}",
                debtor_id=debtors[spec[3] % len(debtors)],
                debtor_jurisdiction=source,
                creditor_id=creditors[spec[4] % len(creditors)],
                creditor_jurisdiction=target,
                currency=currencies[spec[1] % len(currencies)],
                outstanding=decode_amount(spec[SPEC_BYTES:], scale[(source, target)]),
                due_date=date(2026, 11, 1) + timedelta(days=spec[5] % 5),
                priority=spec[6] % 3,
                sequence=spec[7] % 5,
            )
        )
    chosen = policy if policy is not None else (Policy.FIFO, Policy.PRO_RATA)[shape[-1] % 2]
    return Instance(rates=rates, obligations=tuple(obligations), policy=chosen)


def a_third_of_the_examples() -> settings:
    """The loaded profile with a third of its examples (at least 20), for the properties whose
    every example nets, posts, chains and verifies a whole journal of one or two cycles."""
    profile = settings()
    return settings(profile, max_examples=max(20, profile.max_examples // 3))
