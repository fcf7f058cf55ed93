"""Liquidity lines (DESIGN §4b, §10): proposed by an operator of either entity, confirmed by an
operator of the other; a new limit likewise. Operators of the two entities and auditors see a
line, its history and every draw and repayment; to anyone else it does not exist.

The cycles use the active lines: a cut-off freezes their terms with the cycle
(:func:`active_terms`), and a settlement applies what the netting did to them, in the settling
transaction (:func:`apply_cycle_movements`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from clearing.domain.access import Principal, Role
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.errors import NotFound
from clearing.domain.lines import (
    Line,
    LineEvent,
    Movement,
    apply_movement,
    check_unique,
    confirm,
    cycle_movements,
    new_line,
    propose_limit,
)
from clearing.domain.netting import NettingResult
from clearing.domain.netting.lines import LineMovement, LineTerms
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.validation import check_id_cursor, check_limit


def new_line_id() -> str:
    return f"ln_{secrets.token_hex(6)}"


@dataclass(frozen=True, slots=True)
class LineView:
    """A line as its parties and the auditors see it: with every draw and repayment by cycle
    (in the order the cycles settled) and its history (proposals and confirmations)."""

    line: Line
    movements: tuple[Movement, ...]
    history: tuple[LineEvent, ...]


def propose_line(
    uow: UnitOfWork, principal: Principal, source: str, target: str, currency: str, limit: str
) -> LineView:
    """An operator proposes a line between its own entity and another, funding ``source ->
    target`` up to ``limit`` (major units of ``currency``): pending until an operator of the
    other entity confirms it."""
    principal.require(Role.OPERATOR)
    assert principal.entity is not None
    with uow:
        entity_currencies = {e.code: e.currency for e in uow.entities.list()}
        line, event = new_line(
            new_line_id(),
            source,
            target,
            currency,
            limit,
            entity_currencies=entity_currencies,
            proposer=principal.entity,
            proposed_by=principal.id,
            at=datetime.now(UTC),
        )
        check_unique(line, uow.lines.between(source, target))
        uow.lines.add(line)
        uow.lines.add_event(event)
        uow.commit()
    return LineView(line, (), (event,))


def confirm_line(uow: UnitOfWork, principal: Principal, line_id: str) -> LineView:
    """An operator of the other entity confirms the pending line, or the limit proposed for
    it: the line is active (the next cut-off nets with it), or the new limit is its limit."""
    principal.require(Role.OPERATOR)
    assert principal.entity is not None
    with uow:
        line = _visible_line(uow, principal, line_id, for_update=True)
        changed, event = confirm(
            line, principal.entity, principal.id, datetime.now(UTC), _balance_due(uow, line.id)
        )
        uow.lines.save(changed)
        uow.lines.add_event(event)
        uow.commit()
        return _view(uow, changed)


def change_limit(uow: UnitOfWork, principal: Principal, line_id: str, limit: str) -> LineView:
    """An operator of either entity proposes a new limit for an active line (never below its
    balance); it takes effect once an operator of the other entity confirms it."""
    principal.require(Role.OPERATOR)
    assert principal.entity is not None
    with uow:
        line = _visible_line(uow, principal, line_id, for_update=True)
        changed, event = propose_limit(
            line,
            principal.entity,
            limit,
            principal.id,
            datetime.now(UTC),
            _balance_due(uow, line.id),
        )
        uow.lines.save(changed)
        uow.lines.add_event(event)
        uow.commit()
        return _view(uow, changed)


def get_line(uow: UnitOfWork, principal: Principal, line_id: str) -> LineView:
    principal.require(Role.OPERATOR, Role.AUDITOR)
    with uow:
        return _view(uow, _visible_line(uow, principal, line_id))


def list_lines(
    uow: UnitOfWork, principal: Principal, after: str | None, limit: int
) -> list[LineView]:
    """The lines the caller sees, by id: its entity's for an operator, all for an auditor."""
    principal.require(Role.OPERATOR, Role.AUDITOR)
    check_id_cursor(after)
    limit = check_limit(limit)
    with uow:
        found = uow.lines.list(principal.scope.entity, after, limit)
        return [_view(uow, line) for line in found if principal.sees_line(*line.parties)]


def _balance_due(uow: UnitOfWork, line_id: str) -> int | None:
    """The balance the cycle under way (proposed, not yet settled) leaves on the line, if it
    nets with it: a new limit must not fall below it."""
    cycle = uow.cycles.active()
    if cycle is None or cycle.status is CycleStatus.OPEN:
        return None
    movements = uow.lines.movements_of_cycles([cycle.id]).get(cycle.id, [])
    return next((m.balance for m in movements if m.line_id == line_id), None)


def _visible_line(
    uow: UnitOfWork, principal: Principal, line_id: str, *, for_update: bool = False
) -> Line:
    line = uow.lines.get(line_id, for_update=for_update)
    if line is None or not principal.sees_line(*line.parties):
        raise NotFound(f"no line {line_id}")
    return line


def _view(uow: UnitOfWork, line: Line) -> LineView:
    return LineView(line, tuple(uow.lines.movements(line.id)), tuple(uow.lines.events(line.id)))


# --- what the cycles do with lines ---------------------------------------------------------


def active_terms(uow: UnitOfWork) -> tuple[LineTerms, ...]:
    """The terms a cut-off nets with: every active line as it stands (a pending line, or a
    limit not yet confirmed, is not used)."""
    return tuple(line.terms() for line in uow.lines.active())


def store_cycle_lines(
    uow: UnitOfWork, cycle_id: str, terms: Sequence[LineTerms], result: NettingResult
) -> tuple[LineMovement, ...]:
    """Keep with a proposed cycle the line terms it netted with and what its netting does to
    each line (a re-netted successor nets with the same terms)."""
    movements = cycle_movements(terms, result.lines)
    uow.lines.store_cycle(cycle_id, terms, movements)
    return movements


def apply_cycle_movements(
    uow: UnitOfWork, cycle_id: str, movements: Sequence[LineMovement]
) -> None:
    """A settling cycle's draws and repayments, in its transaction: the lines are locked, each
    balance must still be the one the cycle netted with, and each becomes the balance after."""
    moved = [m for m in movements if m.moved]
    if not moved:
        return
    locked = uow.lines.lock([m.line_id for m in moved])
    applied: list[Movement] = []
    for movement in sorted(moved, key=lambda m: m.line_id):
        line = locked.get(movement.line_id)
        if line is None:
            raise NotFound(f"no line {movement.line_id}", field="lines")
        changed, record = apply_movement(line, movement, cycle_id)
        uow.lines.save(changed)
        applied.append(record)
    uow.lines.add_movements(applied)


def with_lines(uow: UnitOfWork, cycle: Cycle, viewer: Principal | None = None) -> Cycle:
    """The cycle with what its netting does to its lines (stored beside its result); for a
    ``viewer``, only the lines it may see."""
    return cycles_with_lines(uow, [cycle], viewer)[0]


def cycles_with_lines(
    uow: UnitOfWork, cycles: Sequence[Cycle], viewer: Principal | None = None
) -> list[Cycle]:
    found = uow.lines.movements_of_cycles([c.id for c in cycles])
    return [replace(c, lines=visible_movements(found.get(c.id, ()), viewer)) for c in cycles]


def visible_movements(
    movements: Sequence[LineMovement], viewer: Principal | None
) -> tuple[LineMovement, ...]:
    """The movements of the lines ``viewer`` may see (all without a viewer)."""
    return tuple(m for m in movements if viewer is None or viewer.sees_line(m.source, m.target))
