"""Clearing entities and the participants (traders) registered with them."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime

from clearing.domain.access import Principal, Role
from clearing.domain.errors import InvalidInput, NotFound
from clearing.domain.money import check_currency
from clearing.domain.parties import (
    Entity,
    Participant,
    ParticipantVersion,
    check_approvals_required,
)
from clearing.domain.payments import check_account, check_bank_code
from clearing.domain.rates import check_jurisdiction
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.validation import check_limit, check_text, optional_text


def add_entity(
    uow: UnitOfWork,
    code: str,
    currency: str,
    name: str | None = None,
    approvals_required: int = 1,
    *,
    bank_code: str | None = None,
    account: str | None = None,
) -> Entity:
    """Register a jurisdiction's clearing entity (an operating command, not an API call)."""
    entity = Entity(
        check_jurisdiction(code, field="code"),
        check_currency(currency),
        name or f"{code} clearing",
        check_approvals_required(approvals_required),
        check_bank_code(bank_code),
        check_account(account, "account"),
    )
    with uow:
        uow.entities.add(entity)
        uow.commit()
    return entity


def update_entity(
    uow: UnitOfWork,
    principal: Principal,
    code: str,
    *,
    approvals_required: int | None = None,
    bank_code: str | None = None,
    account: str | None = None,
) -> Entity:
    """An admin changes how many operators approve each cycle for an entity (cycles proposed
    from now on ask for that many; a proposal keeps the rule it was made under), or the
    entity's bank and settlement account. What is not given stays."""
    principal.require(Role.ADMIN)
    changes: dict[str, object] = {}
    if approvals_required is not None:
        changes["approvals_required"] = check_approvals_required(approvals_required)
    if bank_code is not None:
        changes["bank_code"] = check_bank_code(bank_code)
    if account is not None:
        changes["account"] = check_account(account, "account")
    if not changes:
        raise InvalidInput("name at least one of approvals, bank code and account", field="body")
    with uow:
        entity = uow.entities.get(code)
        if entity is None:
            raise NotFound(f"no entity {code}", field="code")
        changed = replace(entity, **changes)  # type: ignore[arg-type]
        uow.entities.save(changed)
        uow.commit()
    return changed


def register_participant(
    uow: UnitOfWork,
    principal: Principal,
    *,
    name: str,
    entity: str | None = None,
    tax_id: str | None = None,
    bank_account: str | None = None,
    bank_code: str | None = None,
) -> Participant:
    """An operator registers a trader with its own entity; an admin with the entity it names."""
    principal.require(Role.OPERATOR, Role.ADMIN)
    if principal.role is Role.OPERATOR:
        if entity is not None and entity != principal.entity:
            raise InvalidInput(
                "an operator registers participants with its own entity", field="entity"
            )
        entity = principal.entity
    if entity is None:
        raise InvalidInput(
            "is required: the entity to register the participant with", field="entity"
        )
    name = check_text(name, "name")
    with uow:
        if uow.entities.get(entity) is None:
            raise InvalidInput(f"no entity {entity}", field="entity")
        participant = Participant(
            id=f"{entity}-{secrets.token_hex(5).upper()}",
            entity=entity,
            name=name,
            tax_id=optional_text(tax_id, "tax_id", 64),
            bank_account=check_account(bank_account),
            bank_code=check_bank_code(bank_code),
        )
        uow.participants.add(participant)
        uow.participants.add_version(_version(participant, 1, principal))
        uow.commit()
    return participant


def update_participant(
    uow: UnitOfWork,
    principal: Principal,
    participant_id: str,
    *,
    name: str | None = None,
    bank_account: str | None = None,
    bank_code: str | None = None,
) -> Participant:
    """Its entity's operator (or an admin) changes a participant's name, account or bank; what
    is not given stays, and the details before are kept as an earlier version."""
    principal.require(Role.OPERATOR, Role.ADMIN)
    changes: dict[str, str | None] = {}
    if name is not None:
        changes["name"] = check_text(name, "name")
    if bank_account is not None:
        changes["bank_account"] = check_account(bank_account)
    if bank_code is not None:
        changes["bank_code"] = check_bank_code(bank_code)
    if not changes:
        raise InvalidInput("name at least one of name, bank_account and bank_code", field="body")
    with uow:
        participant = _visible_participant(uow, principal, participant_id)
        changed = replace(participant, **changes)  # type: ignore[arg-type]
        versions = uow.participants.versions(participant.id)
        uow.participants.save(changed)
        uow.participants.add_version(_version(changed, len(versions) + 1, principal))
        uow.commit()
    return changed


def participant_history(
    uow: UnitOfWork, principal: Principal, participant_id: str
) -> list[ParticipantVersion]:
    """Every version of a participant's details, the registration first, with who set it."""
    principal.require(Role.OPERATOR, Role.ADMIN, Role.AUDITOR)
    with uow:
        participant = _visible_participant(uow, principal, participant_id)
        return uow.participants.versions(participant.id)


def _visible_participant(uow: UnitOfWork, principal: Principal, participant_id: str) -> Participant:
    participant = uow.participants.get(participant_id)
    if participant is None or not principal.sees_participant(participant.id, participant.entity):
        raise NotFound(f"no participant {participant_id}")
    return participant


def _version(participant: Participant, number: int, principal: Principal) -> ParticipantVersion:
    return ParticipantVersion(
        participant.id,
        number,
        participant.name,
        participant.bank_account,
        participant.bank_code,
        principal.id,
        datetime.now(UTC),
    )


def get_participant(uow: UnitOfWork, principal: Principal, participant_id: str) -> Participant:
    with uow:
        participant = uow.participants.get(participant_id)
    if participant is None or not principal.sees_participant(participant.id, participant.entity):
        raise NotFound(f"no participant {participant_id}")
    return participant


def list_participants(
    uow: UnitOfWork, principal: Principal, after: str | None, limit: int
) -> list[Participant]:
    limit = check_limit(limit)
    scope = principal.scope
    if scope.participant_id is not None:  # a trader sees itself alone
        if after is not None and after >= scope.participant_id:
            return []
        return [get_participant(uow, principal, scope.participant_id)]
    with uow:
        return uow.participants.list(scope.entity, after, limit)
