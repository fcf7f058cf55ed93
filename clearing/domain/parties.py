"""Clearing entities (one per jurisdiction) and the participants registered with them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clearing.domain.errors import InvalidInput

#: How many operators of an entity may be asked to approve each cycle: one, or two (four eyes).
APPROVAL_COUNTS = (1, 2)


@dataclass(frozen=True, slots=True)
class Entity:
    """A jurisdiction's clearing entity, settling in one currency. With
    ``approvals_required`` 2, two different operators of the entity approve each cycle, and
    neither closed it (four eyes, DESIGN §7)."""

    code: str
    currency: str
    name: str
    approvals_required: int = 1
    #: The entity's own bank (BIC, CNAPS or BIK) and its settlement account there: the debtor
    #: of every pay-out and refund.
    bank_code: str | None = None
    account: str | None = None


def check_approvals_required(count: object) -> int:
    if isinstance(count, bool) or count not in APPROVAL_COUNTS:
        raise InvalidInput("must be 1 or 2 (four eyes)", field="approvals")
    return int(count)


@dataclass(frozen=True, slots=True)
class Participant:
    """A trader registered with exactly one entity, with a domestic bank account there (the
    account, and its bank's BIC, CNAPS or BIK code)."""

    id: str
    entity: str
    name: str
    tax_id: str | None = None
    bank_account: str | None = None
    bank_code: str | None = None


@dataclass(frozen=True, slots=True)
class ParticipantVersion:
    """One version of a participant's changeable details, with who set them and when: the
    first is its registration."""

    participant_id: str
    version: int
    name: str
    bank_account: str | None
    bank_code: str | None
    changed_by: str
    changed_at: datetime
