"""Ageing rules as data (DESIGN §6a): listed, added, removed, reset to the default; and the
stale flag every invoice read carries, worked out from them as of the read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from clearing.domain.ageing import (
    AgeingKind,
    AgeingRule,
    StaleTest,
    check_ageing_rule,
    default_ageing_rules,
    stale_test,
)
from clearing.domain.errors import NotFound
from clearing.domain.invoices import Invoice
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.validation import check_text


def list_ageing_rules(uow: UnitOfWork) -> list[AgeingRule]:
    with uow:
        return uow.ageing_rules.list()


def add_ageing_rule(
    uow: UnitOfWork, kind: AgeingKind | str, threshold: object, description: str = ""
) -> AgeingRule:
    """Add a rule; the next read of every invoice applies it."""
    rule = check_ageing_rule(kind, threshold)
    rule = replace(rule, description=check_text(description, "description", required=False))
    with uow:
        uow.ageing_rules.add(rule)
        uow.commit()
    return rule


def remove_ageing_rule(uow: UnitOfWork, kind: AgeingKind | str, threshold: object) -> None:
    rule = check_ageing_rule(kind, threshold)
    with uow:
        if not uow.ageing_rules.remove(rule):
            raise NotFound(f"no ageing rule {rule.name}", field="threshold")
        uow.commit()


def reset_ageing_rules(uow: UnitOfWork) -> list[AgeingRule]:
    """Restore the shipped default rules (other rules are kept)."""
    with uow:
        present = {(r.kind, r.threshold) for r in uow.ageing_rules.list()}
        for rule in default_ageing_rules():
            if (rule.kind, rule.threshold) not in present:
                uow.ageing_rules.add(rule)
        uow.commit()
        return uow.ageing_rules.list()


def stale_test_at(uow: UnitOfWork, as_of: datetime | None = None) -> StaleTest:
    """The rules in force as the test of ``as_of``'s day (today, UTC, by default), read in the
    caller's unit of work."""
    moment = as_of or datetime.now(UTC)
    return stale_test(uow.ageing_rules.list(), moment.astimezone(UTC).date())


def flag_stale(invoices: Sequence[Invoice], test: StaleTest) -> list[Invoice]:
    """The invoices, each flagged ``stale`` as ``test`` finds it."""
    return [
        replace(i, stale=True) if test.flags(i.status, i.cycles_carried, i.due_date) else i
        for i in invoices
    ]
