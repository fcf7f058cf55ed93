"""The repository of idempotent requests' first answers, serialised per key."""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.orm import Session

from clearing.adapters.persistence.rows import now
from clearing.adapters.persistence.tables import (
    IdempotencyRow,
)
from clearing.domain.idempotency import StoredAnswer


class IdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock(self, principal_id: str, key: str) -> None:
        """Serialise requests with the same key until this transaction ends (PostgreSQL)."""
        if self.session.get_bind().dialect.name != "postgresql":
            return  # SQLite serialises writers itself
        digest = hashlib.sha256(f"{principal_id}\n{key}".encode()).digest()
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        self.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})

    def get(self, principal_id: str, key: str) -> StoredAnswer | None:
        row = self.session.get(IdempotencyRow, (principal_id, key))
        if row is None:
            return None
        return StoredAnswer(row.request_hash, row.answer)

    def add(self, principal_id: str, key: str, answer: StoredAnswer) -> None:
        self.session.add(
            IdempotencyRow(
                principal_id=principal_id,
                key=key,
                request_hash=answer.request_hash,
                answer=answer.answer,
                created_at=now(),
            )
        )
        self.session.flush()
