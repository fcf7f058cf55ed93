"""Netting cycles (DESIGN §6): states, approvals, pay-ins, defaults — the rules, without I/O.

A cycle moves ``open -> proposed -> approved -> settling -> settled``; a proposal can be
``rejected`` before any pay-in, and a default makes it ``superseded`` by a re-netted successor.
Amounts are minor units of the entity's currency unless a name says ``value`` (base minor units).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from clearing.domain.errors import Conflict, InvalidInput
from clearing.domain.netting import CorridorTotal, Figures, JurisdictionTotal, Metrics, Position
from clearing.domain.netting.lines import LineMovement
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet


class CycleStatus(enum.StrEnum):
    OPEN = "open"
    PROPOSED = "proposed"
    APPROVED = "approved"
    SETTLING = "settling"
    SETTLED = "settled"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


#: The states in which a cycle blocks the opening of another (at most one at a time).
ACTIVE_STATES = frozenset(
    {CycleStatus.OPEN, CycleStatus.PROPOSED, CycleStatus.APPROVED, CycleStatus.SETTLING}
)


@dataclass(frozen=True, slots=True)
class Approval:
    entity: str
    digest: str
    principal_id: str
    approved_at: datetime


def summary_to_json(figures: Figures) -> dict[str, Any]:
    """A proposal's figures as stored with the cycle (values in minor units)."""
    metrics = figures.metrics
    return {
        "corridors": [[c.source, c.target, c.submitted, c.settled] for c in figures.corridors],
        "totals": [
            [t.jurisdiction, t.currency, t.pay_in, t.pay_out] for t in figures.jurisdictions
        ],
        "submitted_value": metrics.submitted_value,
        "settled_value": metrics.settled_value,
        "obligations": figures.obligations,
        "obligations_settled": metrics.obligations_settled,
        "netting_efficiency": metrics.netting_efficiency,
        "domestic_liquidity_saved": metrics.domestic_liquidity_saved,
        "money_moved": figures.money_moved,
        "money_moved_fifo": figures.money_moved_fifo,
    }


def summary_from_json(document: Mapping[str, Any]) -> Figures:
    """The figures of :func:`summary_to_json`."""
    return Figures(
        corridors=tuple(
            CorridorTotal(str(a), str(b), int(c), int(d)) for a, b, c, d in document["corridors"]
        ),
        jurisdictions=tuple(
            JurisdictionTotal(str(a), str(b), int(c), int(d)) for a, b, c, d in document["totals"]
        ),
        metrics=Metrics(
            submitted_value=int(document["submitted_value"]),
            settled_value=int(document["settled_value"]),
            obligations_settled=int(document["obligations_settled"]),
            netting_efficiency=str(document["netting_efficiency"]),
            domestic_liquidity_saved=str(document["domestic_liquidity_saved"]),
        ),
        obligations=int(document["obligations"]),
        money_moved=_optional_int(document.get("money_moved")),
        money_moved_fifo=_optional_int(document.get("money_moved_fifo")),
    )


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


@dataclass(frozen=True)
class Cycle:
    id: str
    number: int
    status: CycleStatus
    policy: Policy
    opened_by: str
    opened_at: datetime
    rates: RateSet | None = None
    digest: str | None = None
    summary: Figures | None = None
    approvals: tuple[Approval, ...] = ()
    predecessor_id: str | None = None
    superseded_by: str | None = None
    closed_at: datetime | None = None
    settled_at: datetime | None = None
    note: str | None = None
    defaulted: tuple[str, ...] = field(default=())
    #: Who proposed the cycle: the operator who closed it, or who declared the default that
    #: re-netted it. Under four eyes this operator may not approve it.
    closed_by: str | None = None
    #: Approvals each entity asks for, as its rule stood when the cycle was proposed (an entity
    #: not named asks for one).
    approvals_needed: tuple[tuple[str, int], ...] = ()
    #: What the cycle does to each liquidity line it nets with (DESIGN §4b), in line-id order:
    #: stored with its result (by the lines' repository), not on the cycle's own row.
    lines: tuple[LineMovement, ...] = ()

    @property
    def required_approvals(self) -> tuple[str, ...]:
        return self.summary.entities_with_legs if self.summary else ()

    def approvals_needed_by(self, entity: str) -> int:
        return dict(self.approvals_needed).get(entity, 1)

    @property
    def missing_approvals(self) -> tuple[str, ...]:
        """Entities with legs that have not yet given every approval they ask for."""
        given = Counter(a.entity for a in self.approvals)
        return tuple(e for e in self.required_approvals if given[e] < self.approvals_needed_by(e))


def check_approver(cycle: Cycle, entity: str, principal_id: str) -> None:
    """Whether this operator of ``entity`` may approve ``cycle`` now (DESIGN §7): once per
    cycle, and under four eyes never the operator who proposed it."""
    if entity not in cycle.required_approvals:
        raise Conflict(
            f"{entity} has no legs in cycle {cycle.id}; nothing to approve", field="entity"
        )
    if entity not in cycle.missing_approvals:
        raise Conflict(f"{entity} approved cycle {cycle.id} already", field="entity")
    if any(a.principal_id == principal_id for a in cycle.approvals):
        raise Conflict(
            f"{principal_id} approved cycle {cycle.id} already; {entity} asks for a second "
            "approval by another operator",
            field="principal",
        )
    if cycle.approvals_needed_by(entity) > 1 and principal_id == cycle.closed_by:
        raise Conflict(
            f"{principal_id} proposed cycle {cycle.id}; under four eyes {entity}'s approvals "
            "come from other operators",
            field="principal",
        )


def require_cycle_status(cycle: Cycle, allowed: Iterable[CycleStatus], action: str) -> None:
    allowed = set(allowed)
    if cycle.status not in allowed:
        expected = " or ".join(sorted(s.value for s in allowed))
        raise Conflict(
            f"cannot {action} cycle {cycle.id}: it is {cycle.status.value}, not {expected}",
            field="status",
        )


def check_rates_cover(
    rates: RateSet, entity_currencies: Mapping[str, str], obligation_currencies: Iterable[str]
) -> None:
    """Rates must name every entity with its currency and price every invoice currency."""
    problems: list[str] = []
    for code, currency in sorted(entity_currencies.items()):
        named = rates.jurisdictions.get(code)
        if named is None:
            problems.append(f"entity {code} is missing from jurisdictions")
        elif named != currency:
            problems.append(f"entity {code} settles in {currency}, not {named}")
    missing = rates.missing(set(obligation_currencies) | set(entity_currencies.values()))
    if missing:
        problems.append(f"no rate for {', '.join(missing)}")
    if problems:
        raise Conflict("the rates do not cover the cycle: " + "; ".join(problems), field="rates")


def check_rates_for_entities(rates: RateSet, entity_currencies: Mapping[str, str]) -> None:
    """At ``PUT rates``: unknown jurisdictions or wrong currencies are invalid input."""
    for code, currency in rates.jurisdictions.items():
        known = entity_currencies.get(code)
        if known is None:
            raise InvalidInput(f"no entity {code}", field=f"jurisdictions.{code}")
        if known != currency:
            raise InvalidInput(
                f"entity {code} settles in {known}, not {currency}", field=f"jurisdictions.{code}"
            )


def due_pay_in(position: Position) -> int:
    """What a participant must pay in for the cycle: its net, when negative."""
    return max(-position.net, 0)


@dataclass(frozen=True, slots=True)
class PayIn:
    """A domestic payment received by an entity from a participant, for a cycle."""

    id: str
    cycle_id: str
    participant_id: str
    entity: str
    currency: str
    amount: int
    bank_reference: str
    recorded_by: str
    carried_from: str | None = None
    #: The day the bank credited the money (a carried pay-in has none of its own).
    value_date: date | None = None
    #: When it was recorded: set as it is stored.
    recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    """Money an entity returns to a participant (a defaulter's pay-ins, or excess)."""

    cycle_id: str
    participant_id: str
    entity: str
    currency: str
    amount: int
    reason: str


def successor_snapshot(snapshot: Sequence[Obligation], defaulter: str) -> list[Obligation]:
    """The obligations a re-netting keeps: all but those the defaulter is party to."""
    return [o for o in snapshot if defaulter not in (o.debtor_id, o.creditor_id)]


def carry_pay_ins(
    received: Mapping[str, int],
    new_due: Mapping[str, int],
    homes: Mapping[str, tuple[str, str]],
    defaulter: str,
    cycle_id: str,
    successor_id: str,
    recorded_by: str,
) -> tuple[list[PayIn], list[Refund]]:
    """Pay-ins carried into a successor, and the refunds a default causes.

    ``received`` is what each participant has paid in, net of refunds; ``homes`` gives each
    participant's ``(entity, currency)``. The defaulter gets back everything it paid in; any
    other participant whose money exceeds its new due pay-in gets the excess back. What is
    carried is one pay-in per participant, referencing the cycle it came from and the
    participant (bank references are unique per cycle and entity).
    """
    carried: list[PayIn] = []
    refunds: list[Refund] = []
    for participant, amount in sorted(received.items()):
        if amount <= 0:
            continue
        entity, currency = homes[participant]
        if participant == defaulter:
            refunds.append(
                Refund(
                    cycle_id,
                    participant,
                    entity,
                    currency,
                    amount,
                    "pay-in refunded: the participant defaulted",
                )
            )
            continue
        carried.append(
            PayIn(
                id=f"{successor_id}:{participant}",
                cycle_id=successor_id,
                participant_id=participant,
                entity=entity,
                currency=currency,
                amount=amount,
                bank_reference=f"carried from {cycle_id} for {participant}",
                recorded_by=recorded_by,
                carried_from=cycle_id,
            )
        )
        excess = amount - new_due.get(participant, 0)
        if excess > 0:
            refunds.append(
                Refund(
                    successor_id,
                    participant,
                    entity,
                    currency,
                    excess,
                    "excess over the re-netted pay-in refunded",
                )
            )
    return carried, refunds
