"""Liquidity lines as records (DESIGN §4b): who proposed a line and who confirmed it, its limit
and the limit changes waiting for the other entity, and the balance each settled cycle moved.

A line between two entities funds the corridor ``source -> target``; its balance is what
``source``'s entity owes ``target``'s. An operator of either entity proposes a line, or a new
limit for it, and an operator of the *other* entity confirms: a line is ``pending`` until then
and no cycle nets with it, and a new limit is the limit only once confirmed. A limit is never
set below the balance. Amounts are integers in minor units of the line's currency, which is one
of the two entities' currencies.

The rules are pure: each takes a record and returns the record changed, or raises the domain
error that names what is wrong.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from clearing.domain.errors import Conflict, InvalidInput
from clearing.domain.money import check_currency, format_amount, parse_amount, parse_signed_amount
from clearing.domain.netting.lines import LineMovement, LineTerms

#: A limit of zero, written as a decimal string ("0", "0.00"): a line that lends nothing.
_ZERO = re.compile(r"0+(\.0+)?")


class LineStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"


class LineAction(enum.StrEnum):
    """What happened to a line, as its history lists it."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    LIMIT_PROPOSED = "limit_proposed"
    LIMIT_CONFIRMED = "limit_confirmed"


@dataclass(frozen=True, slots=True)
class LimitChange:
    """A new limit (minor units) proposed by an operator of ``entity``, waiting for an operator
    of the other entity to confirm it."""

    limit: int
    entity: str
    proposed_by: str
    proposed_at: datetime


@dataclass(frozen=True, slots=True)
class Line:
    """A liquidity line: ``limit`` and ``balance`` in minor units of ``currency``.

    ``proposer`` is the entity whose operator proposed the line (the other one confirms it).
    A new limit is never below the balance, nor below the balance the cycle under way will
    leave (it nets with the terms frozen at its cut-off); should a balance ever stand above
    the limit, the line lends nothing more until it is repaid below it (:meth:`terms`).
    """

    id: str
    source: str
    target: str
    currency: str
    limit: int
    balance: int
    status: LineStatus
    proposer: str
    proposed_by: str
    proposed_at: datetime
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    pending_change: LimitChange | None = None

    @property
    def parties(self) -> tuple[str, str]:
        return (self.source, self.target)

    def other_party(self, entity: str) -> str:
        return self.target if entity == self.source else self.source

    @property
    def awaiting(self) -> str | None:
        """The entity whose operator must confirm something now (the line or a new limit)."""
        if self.status is LineStatus.PENDING:
            return self.other_party(self.proposer)
        if self.pending_change is not None:
            return self.other_party(self.pending_change.entity)
        return None

    def terms(self) -> LineTerms:
        """The line as a cycle nets with it at its cut-off (active lines only)."""
        return LineTerms(
            self.id,
            self.source,
            self.target,
            self.currency,
            max(self.limit, self.balance),
            self.balance,
        )


@dataclass(frozen=True, slots=True)
class LineEvent:
    """One entry of a line's history: ``limit`` (minor units) as proposed or confirmed, by an
    operator of ``entity``."""

    line_id: str
    action: LineAction
    limit: int
    entity: str
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Movement:
    """What a settled cycle did to a line (minor units of its currency): ``drawn`` or
    ``repaid``, and the ``balance`` after that cycle."""

    line_id: str
    cycle_id: str
    drawn: int
    repaid: int
    balance: int


def parse_limit(text: str, currency: str, *, field: str = "limit") -> int:
    """A limit as a decimal string in major units: zero or more (a zero line lends nothing),
    with the places ``currency`` allows and within the amount limit of DESIGN §3."""
    if isinstance(text, str) and _ZERO.fullmatch(text):
        return parse_signed_amount(text, currency, field=field)  # checks the decimal places
    return parse_amount(text, currency, field=field)


def new_line(
    line_id: str,
    source: str,
    target: str,
    currency: str,
    limit: str,
    *,
    entity_currencies: Mapping[str, str],
    proposer: str,
    proposed_by: str,
    at: datetime,
) -> tuple[Line, LineEvent]:
    """A line proposed by an operator of ``proposer`` (one of its two entities), with ``limit``
    a decimal string in major units of ``currency``: pending until the other entity's operator
    confirms it."""
    for name, code in (("from", source), ("to", target)):
        if code not in entity_currencies:
            raise InvalidInput(f"no entity {code}", field=name)
    if source == target:
        raise InvalidInput(f"a line joins two entities, not {source} to itself", field="to")
    if proposer not in (source, target):
        raise InvalidInput(
            f"an operator of {proposer} proposes lines of its own entity, not {source} to {target}",
            field="from",
        )
    check_currency(currency)
    allowed = sorted({entity_currencies[source], entity_currencies[target]})
    if currency not in allowed:
        raise InvalidInput(
            f"a line between {source} and {target} is in {' or '.join(allowed)}, not {currency}",
            field="currency",
        )
    minor = parse_limit(limit, currency)
    line = Line(
        line_id,
        source,
        target,
        currency,
        minor,
        0,
        LineStatus.PENDING,
        proposer,
        proposed_by,
        at,
    )
    return line, LineEvent(line_id, LineAction.PROPOSED, minor, proposer, proposed_by, at)


def check_unique(line: Line, existing: Iterable[Line]) -> None:
    """One line per direction and currency: another is a change of its limit instead."""
    for other in existing:
        if (other.source, other.target, other.currency) == (
            line.source,
            line.target,
            line.currency,
        ):
            raise Conflict(
                f"line {other.id} funds {line.source} to {line.target} in {line.currency} "
                "already: change its limit instead",
                field="from",
            )


def confirm(
    line: Line, entity: str, by: str, at: datetime, balance_due: int | None = None
) -> tuple[Line, LineEvent]:
    """An operator of ``entity`` confirms what waits for it: the pending line, or its pending
    limit. The entity that proposed it cannot; a limit below the balance, or below the balance
    ``balance_due`` a proposed cycle will leave, is never confirmed."""
    awaiting = line.awaiting
    if awaiting is None:
        raise Conflict(f"line {line.id} has nothing waiting to be confirmed", field="status")
    if entity != awaiting:
        raise Conflict(
            f"line {line.id} waits for an operator of {awaiting} to confirm it, not {entity}",
            field="entity",
        )
    if line.status is LineStatus.PENDING:
        confirmed = replace(line, status=LineStatus.ACTIVE, confirmed_by=by, confirmed_at=at)
        return confirmed, LineEvent(line.id, LineAction.CONFIRMED, line.limit, entity, by, at)
    change = line.pending_change
    assert change is not None
    _check_not_below_balance(line, change.limit, balance_due)
    changed = replace(line, limit=change.limit, pending_change=None)
    return changed, LineEvent(line.id, LineAction.LIMIT_CONFIRMED, change.limit, entity, by, at)


def propose_limit(
    line: Line, entity: str, text: str, by: str, at: datetime, balance_due: int | None = None
) -> tuple[Line, LineEvent]:
    """An operator of ``entity`` (a party to the active line) proposes a new limit (a decimal
    string in major units); it replaces any change still waiting, and becomes the limit when
    the other entity confirms it."""
    if line.status is not LineStatus.ACTIVE:
        raise Conflict(
            f"line {line.id} is {line.status.value}: confirm it before changing its limit",
            field="status",
        )
    if entity not in line.parties:
        raise InvalidInput(f"an operator of {entity} is no party to line {line.id}", field="entity")
    limit = parse_limit(text, line.currency)
    if limit == line.limit:
        raise Conflict(
            f"{format_amount(limit, line.currency)} {line.currency} is line {line.id}'s limit "
            "already",
            field="limit",
        )
    _check_not_below_balance(line, limit, balance_due)
    change = LimitChange(limit, entity, by, at)
    changed = replace(line, pending_change=change)
    return changed, LineEvent(line.id, LineAction.LIMIT_PROPOSED, limit, entity, by, at)


def _check_not_below_balance(line: Line, limit: int, balance_due: int | None) -> None:
    if limit < line.balance:
        raise Conflict(
            f"a limit of {format_amount(limit, line.currency)} {line.currency} is below line "
            f"{line.id}'s balance of {format_amount(line.balance, line.currency)}",
            field="limit",
        )
    if balance_due is not None and limit < balance_due:
        raise Conflict(
            f"a limit of {format_amount(limit, line.currency)} {line.currency} is below the "
            f"balance of {format_amount(balance_due, line.currency)} the cycle under way leaves "
            f"on line {line.id}: change it once that cycle has settled or been rejected",
            field="limit",
        )


def cycle_movements(
    terms: Sequence[LineTerms], moved: Iterable[LineMovement]
) -> tuple[LineMovement, ...]:
    """One movement per line a cycle netted with, in line-id order: what the netting reported,
    or nothing drawn or repaid (balance unchanged) for a line it left alone."""
    reported = {m.line_id: m for m in moved}
    return tuple(
        reported.get(t.line_id)
        or LineMovement(t.line_id, t.source, t.target, t.currency, 0, 0, t.balance)
        for t in sorted(terms, key=lambda t: t.line_id)
    )


def apply_movement(line: Line, movement: LineMovement, cycle_id: str) -> tuple[Line, Movement]:
    """A settled cycle's draw or repayment on ``line`` (locked): the balance it had when the
    cycle was netted becomes the balance after it."""
    before = movement.balance - movement.drawn + movement.repaid
    if line.balance != before:
        raise Conflict(
            f"line {line.id} stands at {format_amount(line.balance, line.currency)}, not the "
            f"{format_amount(before, line.currency)} cycle {cycle_id} netted with; not settling",
            field="lines",
        )
    applied = Movement(line.id, cycle_id, movement.drawn, movement.repaid, movement.balance)
    return replace(line, balance=movement.balance), applied
