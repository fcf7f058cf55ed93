"""Hypothesis strategies for netting with liquidity lines (DESIGN §4b): an instance of
``strategies.py`` and up to four lines between its jurisdictions.

A line joins two of the instance's jurisdictions, is in the currency of one of them, and has a
limit of zero, or one near the instance's corridor values (so that it often limits the draw), or
one far above them; its balance is zero, all of the limit, or anything between. Lines may share
a pair of jurisdictions, in the same direction or opposite ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from clearing.domain.netting.lines import LineTerms
from tests.unit.strategies import AMOUNT_SCALES, Instance, instances

#: Limits in minor units of the line's currency: (lowest, highest).
LIMIT_SCALES = ((0, 0), (1, 100), (1, 10**6), (10**9, 10**12), (10**13, 10**14))
MODERATE_LIMIT_SCALES = LIMIT_SCALES[:3]


@dataclass(frozen=True)
class LinedInstance:
    """A netting instance and the lines it may draw on or repay."""

    instance: Instance
    lines: tuple[LineTerms, ...]


@st.composite
def line_terms(
    draw: st.DrawFn,
    codes: list[str],
    jurisdictions: dict[str, str],
    *,
    max_lines: int = 4,
    scales: tuple[tuple[int, int], ...] = LIMIT_SCALES,
    one_per_jurisdiction: bool = False,
) -> tuple[LineTerms, ...]:
    """Up to ``max_lines`` lines among ``codes``; with ``one_per_jurisdiction`` no jurisdiction
    is an end of two lines."""
    count = draw(st.integers(0, max_lines))
    lines: list[LineTerms] = []
    used: set[str] = set()
    for index in range(count):
        free = [code for code in codes if not (one_per_jurisdiction and code in used)]
        if len(free) < 2:
            break
        source = draw(st.sampled_from(free))
        target = draw(st.sampled_from([code for code in free if code != source]))
        currency = draw(st.sampled_from([jurisdictions[source], jurisdictions[target]]))
        lowest, highest = draw(st.sampled_from(scales))
        limit = draw(st.integers(lowest, highest))
        balance = draw(st.sampled_from([0, limit, None]))
        if balance is None:
            balance = draw(st.integers(0, limit))
        lines.append(LineTerms(f"L{index}", source, target, currency, limit, balance))
        used |= {source, target}
    return tuple(lines)


@st.composite
def lined_instances(
    draw: st.DrawFn,
    *,
    scales: tuple[str, ...] = tuple(AMOUNT_SCALES),
    limit_scales: tuple[tuple[int, int], ...] = LIMIT_SCALES,
    one_per_jurisdiction: bool = False,
    min_obligations: int = 0,
) -> LinedInstance:
    instance = draw(instances(scales=scales, min_obligations=min_obligations))
    lines = draw(
        line_terms(
            instance.codes,
            dict(instance.rates.jurisdictions),
            scales=limit_scales,
            one_per_jurisdiction=one_per_jurisdiction,
        )
    )
    return LinedInstance(instance, lines)
