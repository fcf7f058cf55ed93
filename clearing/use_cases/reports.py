"""The imbalance report over cycles (DESIGN §6a), for operators and auditors alike: the API, the
command line and the operators' pages all show these figures."""

from __future__ import annotations

from datetime import UTC, datetime

from clearing.domain.access import Principal, Role
from clearing.domain.cycles import Cycle
from clearing.domain.errors import InvalidInput
from clearing.domain.imbalance import ImbalanceReport, imbalance_report
from clearing.use_cases import lines
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.validation import MAX_CYCLE_NUMBER

_PAGE = 500


def imbalance(
    uow: UnitOfWork,
    principal: Principal,
    from_cycle: int | None = None,
    to_cycle: int | None = None,
    as_of: datetime | None = None,
) -> ImbalanceReport:
    """The report over the cycles numbered ``from_cycle`` to ``to_cycle`` (both included; all
    when not given), with the age of what is carried at ``as_of`` (now by default). Every
    cycle's corridor totals are shown, as the cycle shows them; its lines, and the age of what
    a corridor carries, only to whom may see them (an operator: those touching its entity)."""
    principal.require(Role.OPERATOR, Role.AUDITOR)
    first, last = _check_range(from_cycle, to_cycle)
    with uow:
        chosen = _cycles_between(uow, first, last)
        movements = {
            cycle_id: lines.visible_movements(found, principal)
            for cycle_id, found in uow.lines.movements_of_cycles([c.id for c in chosen]).items()
        }
        moment = as_of or datetime.now(UTC)
        carried = [
            total
            for total in uow.invoices.carried_by_age(moment)
            if principal.sees_corridor(total.source, total.target)
        ]
        return imbalance_report(chosen, movements, carried, moment)


def _check_range(from_cycle: int | None, to_cycle: int | None) -> tuple[int, int]:
    first = 1 if from_cycle is None else from_cycle
    last = MAX_CYCLE_NUMBER if to_cycle is None else to_cycle
    for name, number in (("from_cycle", first), ("to_cycle", last)):
        if isinstance(number, bool) or not 1 <= number <= MAX_CYCLE_NUMBER:
            raise InvalidInput(f"must be a cycle number from 1 to {MAX_CYCLE_NUMBER}", field=name)
    if first > last:
        raise InvalidInput("must not be after to_cycle", field="from_cycle")
    return first, last


def _cycles_between(uow: UnitOfWork, first: int, last: int) -> list[Cycle]:
    found: list[Cycle] = []
    before: int | None = last + 1 if last < MAX_CYCLE_NUMBER else None
    while True:
        page = uow.cycles.recent(before, _PAGE)
        found += [c for c in page if c.number >= first]
        if len(page) < _PAGE or page[-1].number <= first:
            return found
        before = page[-1].number
