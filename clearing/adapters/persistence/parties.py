"""Repositories of clearing entities and of the participants registered with them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import any_, select
from sqlalchemy.orm import Session

from clearing.adapters.persistence.rows import now, storable, text_array
from clearing.adapters.persistence.tables import (
    EntityRow,
    ParticipantRow,
)
from clearing.domain.errors import Conflict
from clearing.domain.parties import Entity, Participant


class EntityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entity: Entity) -> None:
        if self.session.get(EntityRow, entity.code) is not None:
            raise Conflict(f"entity {entity.code} exists already", field="code")
        self.session.add(
            EntityRow(
                code=entity.code,
                currency=entity.currency,
                name=entity.name,
                approvals_required=entity.approvals_required,
                created_at=now(),
            )
        )
        self.session.flush()

    def get(self, code: str) -> Entity | None:
        if not storable(code):
            return None
        row = self.session.get(EntityRow, code)
        return _entity(row) if row else None

    def list(self) -> list[Entity]:
        rows = self.session.scalars(select(EntityRow).order_by(EntityRow.code))
        return [_entity(row) for row in rows]

    def set_approvals_required(self, code: str, count: int) -> Entity | None:
        row = self.session.get(EntityRow, code, with_for_update=True) if storable(code) else None
        if row is None:
            return None
        row.approvals_required = count
        self.session.flush()
        return _entity(row)


def _entity(row: EntityRow) -> Entity:
    return Entity(row.code, row.currency, row.name, row.approvals_required)


class ParticipantRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, participant: Participant) -> None:
        self.session.add(
            ParticipantRow(
                id=participant.id,
                entity=participant.entity,
                name=participant.name,
                tax_id=participant.tax_id,
                bank_account=participant.bank_account,
                created_at=now(),
            )
        )
        self.session.flush()

    def get(self, participant_id: str) -> Participant | None:
        if not storable(participant_id):
            return None
        row = self.session.get(ParticipantRow, participant_id)
        return _participant(row) if row else None

    def get_many(self, ids: Iterable[str]) -> dict[str, Participant]:
        wanted = sorted(i for i in set(ids) if storable(i))
        if not wanted:
            return {}
        # Plain rows: a batch of invoices names up to a thousand participants. On PostgreSQL as
        # one array parameter: expanding an IN of a thousand values costs milliseconds each time.
        if self.session.get_bind().dialect.name == "postgresql":
            named = ParticipantRow.id == any_(text_array(wanted))
        else:
            named = ParticipantRow.id.in_(wanted)
        rows = self.session.execute(select(*_COLUMNS).where(named))
        asked = set(wanted)
        return {row[0]: Participant(*row) for row in rows if row[0] in asked}

    def list(self, entity: str | None, after: str | None, limit: int) -> list[Participant]:
        query = select(ParticipantRow).order_by(ParticipantRow.id).limit(limit)
        if entity is not None:
            query = query.where(ParticipantRow.entity == entity)
        if after is not None:
            query = query.where(ParticipantRow.id > after)
        return [_participant(row) for row in self.session.scalars(query)]


#: The columns of a participant, in the order of its fields.
_COLUMNS = (
    ParticipantRow.id,
    ParticipantRow.entity,
    ParticipantRow.name,
    ParticipantRow.tax_id,
    ParticipantRow.bank_account,
)


def _participant(row: ParticipantRow) -> Participant:
    return Participant(row.id, row.entity, row.name, row.tax_id, row.bank_account)
