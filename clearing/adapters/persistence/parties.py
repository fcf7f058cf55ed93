"""Repositories of clearing entities and of the participants registered with them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import any_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clearing.adapters.persistence.rows import now, storable, text_array
from clearing.adapters.persistence.tables import (
    EntityRow,
    ParticipantRow,
    ParticipantVersionRow,
)
from clearing.domain.errors import Conflict
from clearing.domain.parties import Entity, Participant, ParticipantVersion


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
                bank_code=entity.bank_code,
                account=entity.account,
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

    def save(self, entity: Entity) -> None:
        """Store what may change of an entity: approvals asked for, bank and account."""
        self.session.execute(
            update(EntityRow)
            .where(EntityRow.code == entity.code)
            .values(
                approvals_required=entity.approvals_required,
                bank_code=entity.bank_code,
                account=entity.account,
            )
        )


def _entity(row: EntityRow) -> Entity:
    return Entity(
        row.code, row.currency, row.name, row.approvals_required, row.bank_code, row.account
    )


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
                bank_code=participant.bank_code,
                created_at=now(),
            )
        )
        self.session.flush()

    def save(self, participant: Participant) -> None:
        """Store what may change of a participant: its name, account and bank."""
        self.session.execute(
            update(ParticipantRow)
            .where(ParticipantRow.id == participant.id)
            .values(
                name=participant.name,
                bank_account=participant.bank_account,
                bank_code=participant.bank_code,
            )
        )

    def add_version(self, version: ParticipantVersion) -> None:
        try:
            with self.session.begin_nested():
                self.session.add(ParticipantVersionRow(**_version_values(version)))
        except IntegrityError as error:
            # Another change took this version number first: the later one must look again.
            raise Conflict(
                f"participant {version.participant_id} was changed meanwhile; try again"
            ) from error

    def versions(self, participant_id: str) -> list[ParticipantVersion]:
        if not storable(participant_id):
            return []
        rows = self.session.scalars(
            select(ParticipantVersionRow)
            .where(ParticipantVersionRow.participant_id == participant_id)
            .order_by(ParticipantVersionRow.version)
        )
        return [
            ParticipantVersion(
                row.participant_id,
                row.version,
                row.name,
                row.bank_account,
                row.bank_code,
                row.changed_by,
                row.changed_at,
            )
            for row in rows
        ]

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
    ParticipantRow.bank_code,
)


def _participant(row: ParticipantRow) -> Participant:
    return Participant(row.id, row.entity, row.name, row.tax_id, row.bank_account, row.bank_code)


def _version_values(version: ParticipantVersion) -> dict[str, object]:
    return {
        "participant_id": version.participant_id,
        "version": version.version,
        "name": version.name,
        "bank_account": version.bank_account,
        "bank_code": version.bank_code,
        "changed_by": version.changed_by,
        "changed_at": version.changed_at,
    }
