"""Clearing entities and the participants (traders) registered with them."""

from __future__ import annotations

import secrets

from clearing.domain.access import Principal, Role
from clearing.domain.errors import InvalidInput, NotFound
from clearing.domain.money import check_currency
from clearing.domain.parties import Entity, Participant, check_approvals_required
from clearing.domain.rates import check_jurisdiction
from clearing.use_cases.ports import UnitOfWork
from clearing.use_cases.validation import check_limit, check_text, optional_text


def add_entity(
    uow: UnitOfWork,
    code: str,
    currency: str,
    name: str | None = None,
    approvals_required: int = 1,
) -> Entity:
    """Register a jurisdiction's clearing entity (an operating command, not an API call)."""
    entity = Entity(
        check_jurisdiction(code, field="code"),
        check_currency(currency),
        name or f"{code} clearing",
        check_approvals_required(approvals_required),
    )
    with uow:
        uow.entities.add(entity)
        uow.commit()
    return entity


def set_approvals_required(
    uow: UnitOfWork, principal: Principal, code: str, approvals_required: int
) -> Entity:
    """An admin sets how many operators approve each cycle for an entity; cycles proposed from
    now on ask for that many (a proposal keeps the rule it was made under)."""
    principal.require(Role.ADMIN)
    count = check_approvals_required(approvals_required)
    with uow:
        entity = uow.entities.set_approvals_required(code, count)
        if entity is None:
            raise NotFound(f"no entity {code}", field="code")
        uow.commit()
    return entity


def register_participant(
    uow: UnitOfWork,
    principal: Principal,
    *,
    name: str,
    entity: str | None = None,
    tax_id: str | None = None,
    bank_account: str | None = None,
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
            bank_account=optional_text(bank_account, "bank_account", 64),
        )
        uow.participants.add(participant)
        uow.commit()
    return participant


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
