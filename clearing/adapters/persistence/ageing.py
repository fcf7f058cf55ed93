"""The repository of ageing rules (DESIGN §6a)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from clearing.adapters.persistence.rows import now
from clearing.adapters.persistence.tables import AgeingRuleRow
from clearing.domain.ageing import AgeingKind, AgeingRule
from clearing.domain.errors import Conflict


class AgeingRuleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self) -> list[AgeingRule]:
        rule = AgeingRuleRow
        rows = self.session.execute(
            select(rule.kind, rule.threshold, rule.description).order_by(rule.kind, rule.threshold)
        )
        return [AgeingRule(AgeingKind(kind), threshold, text) for kind, threshold, text in rows]

    def add(self, rule: AgeingRule) -> None:
        exists = self.session.scalars(
            select(AgeingRuleRow.id).where(
                AgeingRuleRow.kind == rule.kind.value, AgeingRuleRow.threshold == rule.threshold
            )
        ).first()
        if exists is not None:
            raise Conflict(f"ageing rule {rule.name} exists already", field="threshold")
        self.session.add(
            AgeingRuleRow(
                kind=rule.kind.value,
                threshold=rule.threshold,
                description=rule.description,
                created_at=now(),
            )
        )
        self.session.flush()

    def remove(self, rule: AgeingRule) -> bool:
        result = self.session.execute(
            delete(AgeingRuleRow).where(
                AgeingRuleRow.kind == rule.kind.value, AgeingRuleRow.threshold == rule.threshold
            )
        )
        return bool(getattr(result, "rowcount", 0))
