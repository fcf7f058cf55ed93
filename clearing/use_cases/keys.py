"""API keys: created for a principal, shown once, stored only as a hash (DESIGN §7)."""

from __future__ import annotations

import hashlib
import secrets

from clearing.domain.access import Principal, Role
from clearing.domain.errors import InvalidInput, NotFound
from clearing.use_cases.ports import UnitOfWork


def hash_key(key: str) -> str:
    """Keys are 256-bit random tokens, so one SHA-256 is a sufficient one-way hash."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    uow: UnitOfWork,
    role: Role | str,
    *,
    entity: str | None = None,
    participant_id: str | None = None,
    label: str = "",
) -> tuple[str, Principal]:
    """Create a principal and its API key; the key is returned once and stored only hashed."""
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(f"{role!r} is not a role", field="role") from None
    with uow:
        if role is Role.TRADER:
            if participant_id is None:
                raise InvalidInput("a trader key needs --participant", field="participant")
            participant = uow.participants.get(participant_id)
            if participant is None:
                raise NotFound(f"no participant {participant_id}", field="participant")
            if entity is not None and entity != participant.entity:
                raise InvalidInput(
                    f"participant {participant_id} is registered with {participant.entity}",
                    field="entity",
                )
            entity = participant.entity
        elif participant_id is not None:
            raise InvalidInput("only a trader key names a participant", field="participant")
        if role is Role.OPERATOR:
            if entity is None:
                raise InvalidInput("an operator key needs --entity", field="entity")
            if uow.entities.get(entity) is None:
                raise NotFound(f"no entity {entity}", field="entity")
        elif role in (Role.AUDITOR, Role.ADMIN) and entity is not None:
            raise InvalidInput(f"an {role.value} key is not bound to an entity", field="entity")
        key = f"ck_{secrets.token_urlsafe(32)}"
        principal = Principal(f"key_{secrets.token_hex(8)}", role, entity, participant_id)
        uow.api_keys.add(principal, hash_key(key), key[:10], label)
        uow.commit()
    return key, principal


def authenticate(uow: UnitOfWork, key: str) -> Principal | None:
    with uow:
        return uow.api_keys.by_hash(hash_key(key))
