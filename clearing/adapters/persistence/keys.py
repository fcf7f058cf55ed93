"""The repository of API keys: principals found by the hash of their key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.persistence.rows import now
from clearing.adapters.persistence.tables import (
    ApiKeyRow,
)
from clearing.domain.access import Principal, Role


class ApiKeyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, principal: Principal, key_hash: str, key_prefix: str, label: str) -> None:
        self.session.add(
            ApiKeyRow(
                id=principal.id,
                key_hash=key_hash,
                key_prefix=key_prefix,
                role=principal.role.value,
                entity=principal.entity,
                participant_id=principal.participant_id,
                label=label,
                created_at=now(),
            )
        )
        self.session.flush()

    def by_hash(self, key_hash: str) -> Principal | None:
        # A plain row: every request authenticates, and needs no ORM object for it.
        key = ApiKeyRow
        row = self.session.execute(
            select(key.id, key.role, key.entity, key.participant_id).where(
                key.key_hash == key_hash, key.revoked_at.is_(None)
            )
        ).first()
        if row is None:
            return None
        return Principal(row.id, Role(row.role), row.entity, row.participant_id)
