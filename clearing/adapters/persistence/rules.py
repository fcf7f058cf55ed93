"""The repository of compliance rules."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from clearing.adapters.persistence.rows import now
from clearing.adapters.persistence.tables import (
    ComplianceRuleRow,
)
from clearing.domain.compliance import Rule, RuleKind
from clearing.domain.errors import Conflict


class RuleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self) -> list[Rule]:
        rule = ComplianceRuleRow
        rows = self.session.execute(
            select(rule.kind, rule.value, rule.description).order_by(rule.kind, rule.value)
        )
        return [Rule(RuleKind(kind), value, description) for kind, value, description in rows]

    def add(self, rule: Rule) -> None:
        exists = self.session.scalars(
            select(ComplianceRuleRow.id).where(
                ComplianceRuleRow.kind == rule.kind.value, ComplianceRuleRow.value == rule.value
            )
        ).first()
        if exists is not None:
            raise Conflict(f"rule {rule.name} exists already", field="value")
        self.session.add(
            ComplianceRuleRow(
                kind=rule.kind.value,
                value=rule.value,
                description=rule.description,
                created_at=now(),
            )
        )
        self.session.flush()

    def remove(self, rule: Rule) -> bool:
        result = self.session.execute(
            delete(ComplianceRuleRow).where(
                ComplianceRuleRow.kind == rule.kind.value, ComplianceRuleRow.value == rule.value
            )
        )
        return bool(getattr(result, "rowcount", 0))
