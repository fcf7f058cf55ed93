"""API keys: created for a principal, shown once, stored only as a hash; listed without their
secrets and revoked by an admin (DESIGN §7)."""

from __future__ import annotations

import hashlib
import secrets

from clearing.domain.access import ApiKey, Principal, Role
from clearing.domain.errors import InvalidInput, NotFound
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.validation import check_limit


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


def list_keys(
    uow: UnitOfWork, principal: Principal, after: str | None = None, limit: int = 100
) -> list[ApiKey]:
    """Every key, revoked ones included, in id order from after ``after``; never a secret."""
    principal.require(Role.ADMIN)
    check_limit(limit)
    with uow:
        return uow.api_keys.list(after, limit)


def revoke_key(uow: UnitOfWork, principal: Principal, key_id: str) -> ApiKey:
    """Revoke a key at once: the next request with it is refused. Revoking a revoked key
    changes nothing (its first revocation time stays)."""
    principal.require(Role.ADMIN)
    with uow:
        revoked = uow.api_keys.revoke(key_id)
        if revoked is None:
            raise NotFound(f"no key {key_id}", field="key_id")
        uow.commit()
    return revoked
