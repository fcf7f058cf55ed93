"""Compliance rules as data (DESIGN §8): listed, added, removed, reset to the default."""

from __future__ import annotations

from dataclasses import replace

from clearing.domain.compliance import Rule, check_rule, default_rules
from clearing.domain.errors import NotFound
from clearing.use_cases.ports import UnitOfWork


def list_rules(uow: UnitOfWork) -> list[Rule]:
    with uow:
        return uow.rules.list()


def add_rule(uow: UnitOfWork, kind: str, value: str, description: str = "") -> Rule:
    rule = check_rule(kind, value)
    rule = replace(rule, description=description)
    with uow:
        uow.rules.add(rule)
        uow.commit()
    return rule


def remove_rule(uow: UnitOfWork, kind: str, value: str) -> None:
    rule = check_rule(kind, value)
    with uow:
        if not uow.rules.remove(rule):
            raise NotFound(f"no rule {rule.name}")
        uow.commit()


def reset_rules(uow: UnitOfWork) -> list[Rule]:
    """Restore the shipped default rules (other rules are kept)."""
    with uow:
        present = {(r.kind, r.value) for r in uow.rules.list()}
        for rule in default_rules():
            if (rule.kind, rule.value) not in present:
                uow.rules.add(rule)
        uow.commit()
        return uow.rules.list()
