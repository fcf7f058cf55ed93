"""The repository of API keys: principals found by the hash of their key; keys listed and
revoked (never their secrets, which are not stored)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clearing.adapters.persistence.rows import now, storable
from clearing.adapters.persistence.tables import (
    ApiKeyRow,
)
from clearing.domain.access import ApiKey, Principal, Role


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

    def list(self, after: str | None, limit: int) -> list[ApiKey]:
        query = select(ApiKeyRow).order_by(ApiKeyRow.id).limit(limit)
        if after is not None:
            query = query.where(ApiKeyRow.id > after)
        return [_api_key(row) for row in self.session.scalars(query)]

    def revoke(self, key_id: str) -> ApiKey | None:
        if not storable(key_id):
            return None
        # Only the first revocation is recorded: a key revoked again keeps its time.
        self.session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=now())
        )
        row = self.session.get(ApiKeyRow, key_id, populate_existing=True)
        return _api_key(row) if row else None


def _api_key(row: ApiKeyRow) -> ApiKey:
    principal = Principal(row.id, Role(row.role), row.entity, row.participant_id)
    return ApiKey(principal, row.label, row.key_prefix, row.created_at, row.revoked_at)
