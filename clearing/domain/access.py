"""Who may do what, and who may see what (DESIGN §7): the one visibility policy.

Every caller is a principal with one role. A request for an object the caller may not see is
answered as if the object did not exist (:class:`~clearing.domain.errors.NotFound`); a request
the caller's role may never make is :class:`~clearing.domain.errors.Forbidden`.

What a principal sees is its :class:`Scope`: auditors (and admins, who register participants
for any entity) see everything; an operator sees its own entity's participants and whatever
touches them; a trader sees only what it is a party to. Every use case, list filter and export
asks this module; none decides visibility on its own.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from clearing.domain.errors import Forbidden


class Role(enum.StrEnum):
    TRADER = "trader"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Scope:
    """The part of the books a principal sees, as list filters use it.

    ``entity`` restricts to objects touching that entity (operators), ``participant_id`` to
    objects the participant is a party to (traders); ``everything`` lifts both (auditors and
    admins). A scope with neither and without ``everything`` sees nothing.
    """

    entity: str | None = None
    participant_id: str | None = None
    everything: bool = False

    def admits(self, participant_id: str, entity: str) -> bool:
        """Whether an object with this party ``(participant, its entity)`` is in scope."""
        if self.everything:
            return True
        if self.entity is not None:
            return entity == self.entity
        return self.participant_id is not None and participant_id == self.participant_id


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. Traders are bound to a participant (and so to its entity);
    operators to an entity; auditors and admins to none."""

    id: str
    role: Role
    entity: str | None = None
    participant_id: str | None = None

    def __post_init__(self) -> None:
        if self.role is Role.TRADER and not self.participant_id:
            raise ValueError("a trader principal is bound to a participant")
        if self.role is Role.OPERATOR and not self.entity:
            raise ValueError("an operator principal is bound to an entity")

    def require(self, *roles: Role) -> None:
        """Raise :class:`Forbidden` unless the principal has one of ``roles``."""
        if self.role not in roles:
            allowed = " or ".join(r.value for r in roles)
            raise Forbidden(f"this needs the {allowed} role; the key is {self.role.value}")

    @property
    def scope(self) -> Scope:
        """What this principal sees (see :class:`Scope`)."""
        if self.role is Role.OPERATOR:
            return Scope(entity=self.entity)
        if self.role is Role.TRADER:
            return Scope(participant_id=self.participant_id)
        return Scope(everything=True)

    def sees_participant(self, participant_id: str, entity: str) -> bool:
        """Whether the principal may see this participant, or what belongs to it alone
        (its position, statement and refunds)."""
        return self.scope.admits(participant_id, entity)

    def sees_entity_books(self, entity: str) -> bool:
        """Whether the principal may see what belongs to an entity itself, no participant's
        (its bank account's lines, its books): its operators and the auditors."""
        scope = self.scope
        return scope.everything or scope.entity == entity

    def sees_line(self, source: str, target: str) -> bool:
        """Whether the principal may see a liquidity line between two entities, its balance
        and every draw and repayment (DESIGN §4b): the operators of either entity and the
        auditors."""
        return self.sees_corridor(source, target)

    def sees_corridor(self, source: str, target: str) -> bool:
        """Whether the principal may see more of a corridor than its totals (what it still
        carries, by age): the operators of the entities at its two ends and the auditors
        (DESIGN §7)."""
        return self.sees_entity_books(source) or self.sees_entity_books(target)

    def sees_parties(self, *parties: tuple[str, str]) -> bool:
        """Whether the principal may see an object (an invoice, an obligation) whose parties
        are ``(participant, entity)``: it sees it if it sees any one of them."""
        scope = self.scope
        return any(scope.admits(participant, entity) for participant, entity in parties)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as it may be shown: whose it is, never its secret (DESIGN §7). ``prefix`` is
    the key's first characters, enough to tell keys apart; ``revoked_at`` is set once, and a
    revoked key authenticates no one."""

    principal: Principal
    label: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None
