"""What a netting run produces: per-obligation settlements, positions, totals and metrics.

Every figure is computed once, by the core, and carried as these values: the edges only format
them. Values are base minor units; pay-ins, pay-outs and legs are minor units of the currency
named beside them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy.typing as npt

from clearing.domain.money import format_amount
from clearing.domain.netting.columns import ObligationColumns
from clearing.domain.netting.lines import LineMovement
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet


@dataclass(frozen=True, slots=True)
class CorridorTotal:
    """Values of one corridor, in base minor units."""

    source: str
    target: str
    submitted: int
    settled: int

    @property
    def carried(self) -> int:
        return self.submitted - self.settled

    def to_json(self, base: str) -> dict[str, str]:
        """The corridor as DESIGN §10 shows it: decimal strings in major units of ``base``."""
        return {
            "from": self.source,
            "to": self.target,
            "submitted": format_amount(self.submitted, base),
            "settled": format_amount(self.settled, base),
            "carried": format_amount(self.carried, base),
        }


@dataclass(frozen=True, slots=True)
class JurisdictionTotal:
    """A jurisdiction's domestic totals, in minor units of its own currency."""

    jurisdiction: str
    currency: str
    pay_in: int
    pay_out: int

    @property
    def line_flow(self) -> int:
        """The jurisdiction's net line flow (DESIGN §4b): what its pay-ins exceed its pay-outs
        by, exactly the sum of its lines' flows at its end
        (:class:`~clearing.domain.netting.lines.LineMovement`); zero without lines."""
        return self.pay_in - self.pay_out

    def to_json(self) -> dict[str, str]:
        """The totals as DESIGN §10 shows them: decimal strings in the jurisdiction's currency."""
        return {
            "jurisdiction": self.jurisdiction,
            "currency": self.currency,
            "pay_in": format_amount(self.pay_in, self.currency),
            "pay_out": format_amount(self.pay_out, self.currency),
        }


@dataclass(frozen=True, slots=True)
class Position:
    """A participant's one net domestic payment for the cycle, in minor units of ``currency``.

    ``pay_in_value`` and ``pay_out_value`` are the same legs valued in base minor units.
    """

    participant_id: str
    jurisdiction: str
    currency: str
    pay_in: int
    pay_out: int
    pay_in_value: int
    pay_out_value: int

    @property
    def net(self) -> int:
        return self.pay_out - self.pay_in


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a cycle does to one obligation.

    ``value`` and ``settled_value`` are in base minor units; ``settled`` is in the invoice
    currency; ``debtor_leg`` and ``creditor_leg`` are in the currencies of the debtor's and the
    creditor's jurisdictions.
    """

    obligation: Obligation
    value: int
    settled_value: int
    settled: int
    debtor_leg: int
    creditor_leg: int

    @property
    def remaining(self) -> int:
        return self.obligation.outstanding - self.settled


@dataclass(frozen=True, slots=True)
class Metrics:
    """Cycle metrics. Values are base minor units; ratios are six-place decimal strings."""

    submitted_value: int
    settled_value: int
    obligations_settled: int
    netting_efficiency: str
    domestic_liquidity_saved: str

    @property
    def carried_value(self) -> int:
        return self.submitted_value - self.settled_value


@dataclass(frozen=True)
class Figures:
    """A run's figures: corridor and jurisdiction totals and metrics, and how many obligations
    its snapshot held. What a cycle stores and every report shows."""

    corridors: tuple[CorridorTotal, ...]
    jurisdictions: tuple[JurisdictionTotal, ...]
    metrics: Metrics
    obligations: int
    #: The money the positions make participants move: the sum of their net pay-ins, in base
    #: minor units (what ``setoff`` minimises); ``None`` where not recorded.
    money_moved: int | None = None
    #: Under ``setoff``, what ``fifo`` would have made them move on the same snapshot.
    money_moved_fifo: int | None = None

    @property
    def setoff_saved(self) -> int | None:
        """What set-off saved against ``fifo`` (base minor units), for a set-off run."""
        if self.money_moved is None or self.money_moved_fifo is None:
            return None
        return self.money_moved_fifo - self.money_moved

    @property
    def entities_with_legs(self) -> tuple[str, ...]:
        """The entities with domestic legs to pay: those whose operators must approve."""
        return tuple(
            sorted(t.jurisdiction for t in self.jurisdictions if t.pay_in > 0 or t.pay_out > 0)
        )


@dataclass(frozen=True)
class ResultColumns:
    """Per-obligation results, aligned with the snapshot's rows: ``value`` and
    ``settled_value`` in base minor units, ``settled`` in the invoice currency, the legs in the
    currencies of the debtor's and the creditor's jurisdictions. 64-bit integer arrays, or exact
    Python ints in object arrays where the bounds did not allow 64 bits."""

    value: npt.NDArray[Any]
    settled_value: npt.NDArray[Any]
    settled: npt.NDArray[Any]
    debtor_leg: npt.NDArray[Any]
    creditor_leg: npt.NDArray[Any]


@dataclass(frozen=True)
class NettingResult:
    """The outcome of one netting run. Per-obligation data is columnar, in obligation-id order.

    Two results are equal when their digests are: the digest covers every column.
    ``lines`` are every line given to the run, in line-id order, with what it did.
    """

    digest: str
    policy: Policy
    rates: RateSet
    snapshot: ObligationColumns = field(compare=False)
    columns: ResultColumns = field(compare=False)
    corridors: tuple[CorridorTotal, ...]
    jurisdictions: tuple[JurisdictionTotal, ...]
    positions: tuple[Position, ...]
    metrics: Metrics
    lines: tuple[LineMovement, ...] = ()

    @property
    def base(self) -> str:
        return self.rates.base

    @cached_property
    def obligations(self) -> tuple[Obligation, ...]:
        """The snapshot as values (a convenience for reading; the core never builds them)."""
        return tuple(self.snapshot.obligations())

    @cached_property
    def values(self) -> list[int]:
        return _ints(self.columns.value)

    @cached_property
    def settled_values(self) -> list[int]:
        return _ints(self.columns.settled_value)

    @cached_property
    def settled(self) -> list[int]:
        return _ints(self.columns.settled)

    @cached_property
    def debtor_legs(self) -> list[int]:
        return _ints(self.columns.debtor_leg)

    @cached_property
    def creditor_legs(self) -> list[int]:
        return _ints(self.columns.creditor_leg)

    def settlement(self, index: int) -> Settlement:
        return Settlement(
            obligation=self.obligations[index],
            value=self.values[index],
            settled_value=self.settled_values[index],
            settled=self.settled[index],
            debtor_leg=self.debtor_legs[index],
            creditor_leg=self.creditor_legs[index],
        )

    @property
    def figures(self) -> Figures:
        return Figures(self.corridors, self.jurisdictions, self.metrics, len(self.snapshot))

    def settlements(self) -> Iterator[Settlement]:
        return (self.settlement(index) for index in range(len(self.snapshot)))


def _ints(column: npt.NDArray[Any]) -> list[int]:
    values: list[int] = column.tolist()  # Python ints from either kind of array
    return values
