"""Liquidity lines as the netting sees them (DESIGN §4b): the terms going in, the movements
coming out.

A line between the entities of jurisdictions ``source`` and ``target`` funds the corridor
``source -> target``: it lets that corridor settle beyond what flows back, ``source``'s entity
then owing ``target``'s the line's balance. A later cycle with more flowing ``target -> source``
repays the balance first. Amounts are integers in minor units of the line's currency, which is
one of the two entities' currencies.

How a line's movement reaches the jurisdictions' totals is defined here, once (the rounding
rules are :mod:`clearing.domain.rounding`'s): a jurisdiction's **net line flow** is what its
pay-ins exceed its pay-outs by, in minor units of its currency
(:attr:`~clearing.domain.netting.results.JurisdictionTotal.line_flow`); it is the sum of the
flows of the lines at that jurisdiction's ends, :attr:`LineMovement.source_flow` and
:attr:`LineMovement.target_flow`. Drawing makes the source's flow positive (its importers pay in
what its exporters do not receive) and the target's negative (its exporters are paid from the
line); repaying the reverse. At an end in the line's currency the flow is exactly
``±(drawn - repaid)``, so a ledger posts a line's movement in its currency to the minor unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from clearing.domain.errors import InvalidInput
from clearing.domain.money import exponent
from clearing.domain.netting.circulation import LineArc
from clearing.domain.rates import RateSet
from clearing.domain.rounding import (
    conversion_factor,
    line_group_amounts,
    line_room_in_base,
    round_half_up,
    split_signed,
)


@dataclass(frozen=True, slots=True)
class LineTerms:
    """A line as it stands when a cycle is netted: ``0 <= balance <= limit`` (minor units)."""

    line_id: str
    source: str
    target: str
    currency: str
    limit: int
    balance: int

    def __post_init__(self) -> None:
        if not self.line_id:
            raise InvalidInput("a line needs an id", field="id")
        if self.source == self.target:
            raise InvalidInput(
                f"line {self.line_id!r} must join two jurisdictions, not {self.source} to itself",
                field="to",
            )
        if self.limit < 0:
            raise InvalidInput(f"line {self.line_id!r} has a negative limit", field="limit")
        if not 0 <= self.balance <= self.limit:
            raise InvalidInput(
                f"line {self.line_id!r} has a balance outside 0 to its limit", field="balance"
            )


@dataclass(frozen=True, slots=True)
class LineMovement:
    """What one netting run did with a line (minor units of its currency): ``drawn`` and
    ``repaid`` (at most one of them is not zero) and the ``balance`` after the run.

    ``source_flow`` and ``target_flow`` are the line's part of the net line flow of its source
    and of its target, in minor units of each one's currency (see the module's documentation):
    ``drawn - repaid`` and its negation where that currency is the line's. ``drawn_value`` and
    ``repaid_value`` are what the circulation drew and repaid, in base minor units (the amounts
    are these in the line's currency, each rounded down or up, never to zero, so that the lines
    at one end round together: the rounding module's rule)."""

    line_id: str
    source: str
    target: str
    currency: str
    drawn: int
    repaid: int
    balance: int
    source_flow: int = 0
    target_flow: int = 0
    drawn_value: int = 0
    repaid_value: int = 0

    @property
    def moved(self) -> bool:
        return self.drawn > 0 or self.repaid > 0


def checked_lines(lines: Iterable[LineTerms], rates: RateSet) -> tuple[LineTerms, ...]:
    """The lines in id order, each joining two jurisdictions of ``rates`` in the currency of one
    of them, no id twice; else :class:`InvalidInput` naming the field."""
    ordered = sorted(lines, key=lambda line: line.line_id)
    for before, line in zip([None, *ordered], ordered, strict=False):
        if before is not None and before.line_id == line.line_id:
            raise InvalidInput(f"duplicate line id {line.line_id!r}", field="id")
        for code, field in ((line.source, "from"), (line.target, "to")):
            if code not in rates.jurisdictions:
                raise InvalidInput(
                    f"line {line.line_id!r}: jurisdiction {code} has no currency in the rate set",
                    field=field,
                )
        allowed = sorted({rates.jurisdictions[line.source], rates.jurisdictions[line.target]})
        if line.currency not in allowed:
            raise InvalidInput(
                f"line {line.line_id!r} must be in {' or '.join(allowed)}, the currency of "
                f"{line.source} or of {line.target}, not {line.currency!r}",
                field="currency",
            )
    return tuple(ordered)


class LineBook:
    """The lines of one run and the factors that value them: checked terms in id order,
    jurisdictions coded by their index in ``codes``."""

    def __init__(self, terms: Sequence[LineTerms], codes: Sequence[str], rates: RateSet) -> None:
        self.terms = tuple(terms)
        self.codes = tuple(codes)
        self.rates = rates
        base_exponent = exponent(rates.base)
        self._factors: dict[str, Fraction] = {
            currency: conversion_factor(rates.rate(currency), exponent(currency), base_exponent)
            for currency in {*(t.currency for t in terms), *rates.jurisdictions.values()}
        }

    def arcs(self) -> list[LineArc]:
        """Each line's room in base, rounded down (the rounding module's rule)."""
        index = {code: i for i, code in enumerate(self.codes)}
        return [
            LineArc(
                index[t.source],
                index[t.target],
                line_room_in_base(t.limit - t.balance, self._factors[t.currency]),
                line_room_in_base(t.balance, self._factors[t.currency]),
            )
            for t in self.terms
        ]

    def movements(self, drawn: Sequence[int], repaid: Sequence[int]) -> tuple[LineMovement, ...]:
        """What the lines did, from the base values each drew and repaid: amounts in their
        currency rounded together per home end (:meth:`_amounts`), and every end's flow (see the
        module's documentation)."""
        amounts = self._amounts(drawn, repaid)
        # Signed base value each end moves: + at the source when drawing.
        ends: dict[str, list[tuple[int, bool, int]]] = {}
        for k, (t, x, y) in enumerate(zip(self.terms, drawn, repaid, strict=True)):
            ends.setdefault(t.source, []).append((k, True, x - y))
            ends.setdefault(t.target, []).append((k, False, y - x))
        flows: dict[tuple[int, bool], int] = {}
        for code, members in ends.items():
            flows.update(self._end_flows(code, members, amounts))
        return tuple(
            LineMovement(
                t.line_id,
                t.source,
                t.target,
                t.currency,
                draw,
                repay,
                t.balance + draw - repay,
                flows[(k, True)],
                flows[(k, False)],
                drawn[k],
                repaid[k],
            )
            for k, (t, (draw, repay)) in enumerate(zip(self.terms, amounts, strict=True))
        )

    def _amounts(self, drawn: Sequence[int], repaid: Sequence[int]) -> list[tuple[int, int]]:
        """Each line's drawn and repaid amount in its currency: the lines homed at a jurisdiction
        (at its source if the line is in the source's currency, else at its target) rounded
        together with the lines of that currency already rounded that end there, jurisdictions
        in code order (the rounding module's rule, :func:`line_group_amounts`)."""
        jurisdictions = self.rates.jurisdictions
        # Signed amount at the source end: + when drawing; None until rounded.
        signed: list[int | None] = [
            None if x - y else 0 for x, y in zip(drawn, repaid, strict=True)
        ]
        for code in self.codes:
            currency = jurisdictions[code]
            factor = self._factors[currency]
            homed: list[int] = []
            numerators: list[int] = []
            exact_total = 0
            rounded_total = 0
            for k, t in enumerate(self.terms):
                if t.currency != currency or code not in (t.source, t.target):
                    continue
                sign = 1 if code == t.source else -1
                numerator = sign * (drawn[k] - repaid[k]) * factor.denominator
                amount = signed[k]
                is_home = code == (t.source if jurisdictions[t.source] == currency else t.target)
                if is_home and amount is None:
                    homed.append(k)
                    numerators.append(numerator)
                    exact_total += numerator
                elif amount is not None and numerator:
                    exact_total += numerator
                    rounded_total += sign * amount
            if not homed:
                continue
            total = round_half_up(exact_total, factor.numerator) - rounded_total
            parts = line_group_amounts(total, numerators, factor.numerator)
            for k, part in zip(homed, parts, strict=True):
                signed[k] = part if code == self.terms[k].source else -part
        return [
            (max(amount, 0), max(-amount, 0))
            for amount in (0 if value is None else value for value in signed)
        ]

    def _end_flows(
        self,
        code: str,
        members: Sequence[tuple[int, bool, int]],
        amounts: Sequence[tuple[int, int]],
    ) -> dict[tuple[int, bool], int]:
        """The flows of the line ends at jurisdiction ``code``: exact where the line is in its
        currency, the rest of its rounded exact line flow split over the other lines that
        moved."""
        currency = self.rates.jurisdictions[code]
        factor = self._factors[currency]
        flows: dict[tuple[int, bool], int] = {}
        others: list[tuple[tuple[int, bool], int]] = []
        for k, is_source, value in members:
            draw, repay = amounts[k]
            if self.terms[k].currency == currency or not (draw or repay):
                # A line that moved nothing carries no flow, whatever the rounding leaves:
                # the legs take that, as they do where every line is in the currency.
                flows[(k, is_source)] = draw - repay if is_source else repay - draw
            else:
                others.append(((k, is_source), value))
        if others:
            exact_total = sum(value for _, _, value in members) * factor.denominator
            total = round_half_up(exact_total, factor.numerator) - sum(flows.values())
            numerators = [value * factor.denominator for _, value in others]
            parts = split_signed(total, numerators, factor.numerator)
            flows.update(zip((end for end, _ in others), parts, strict=True))
        return flows


def corridor_line_flows(
    arcs: Sequence[LineArc], drawn: Sequence[int], repaid: Sequence[int]
) -> dict[tuple[int, int], int]:
    """Base value by which corridor ``(i, j)`` settles beyond its reverse thanks to lines:
    drawing on ``source -> target`` counts under ``(source, target)``, repaying it under
    ``(target, source)``; only keys above zero."""
    flows: dict[tuple[int, int], int] = {}
    for arc, x, y in zip(arcs, drawn, repaid, strict=True):
        for key, amount in (((arc.source, arc.target), x), ((arc.target, arc.source), y)):
            if amount:
                flows[key] = flows.get(key, 0) + amount
    return flows


def base_line_flows(flows: Mapping[tuple[int, int], int], count: int) -> list[int]:
    """Per jurisdiction index, the base value its pay-ins exceed its pay-outs by, from
    :func:`corridor_line_flows`."""
    net = [0] * count
    for (source, target), amount in flows.items():
        net[source] += amount
        net[target] -= amount
    return net


def jurisdiction_line_flows(movements: Sequence[LineMovement], codes: Sequence[str]) -> list[int]:
    """Per jurisdiction (in the order of ``codes``) its net line flow in minor units of its
    currency: the sum of its lines' flows at its ends."""
    net = dict.fromkeys(codes, 0)
    for m in movements:
        net[m.source] += m.source_flow
        net[m.target] += m.target_flow
    return [net[code] for code in codes]
