"""Liquidity lines as the netting sees them (DESIGN §4b): the terms going in, the movements
coming out.

A line between the entities of jurisdictions ``source`` and ``target`` funds the corridor
``source -> target``: it lets that corridor settle beyond what flows back, ``source``'s entity
then owing ``target``'s the line's balance. A later cycle with more flowing ``target -> source``
repays the balance first. Amounts are integers in minor units of the line's currency, which is
one of the two entities' currencies.
"""

from __future__ import annotations

from dataclasses import dataclass

from clearing.domain.errors import InvalidInput


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
    ``repaid`` (at most one of them is not zero) and the ``balance`` after the run."""

    line_id: str
    source: str
    target: str
    currency: str
    drawn: int
    repaid: int
    balance: int

    @property
    def moved(self) -> bool:
        return self.drawn > 0 or self.repaid > 0
