"""Who may do what, and who may see what (DESIGN §7).

Every caller is a principal with one role. A request for an object the caller may not see is
answered as if the object did not exist (:class:`~clearing.errors.NotFound`); a request the
caller's role may never make is :class:`~clearing.errors.Forbidden`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from clearing.errors import Forbidden


class Role(enum.StrEnum):
    TRADER = "trader"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. Traders are bound to a participant (and so to its entity);
    operators to an entity; auditors and admins to none."""

    id: str
    role: Role
    entity: str | None = None
    participant_id: str | None = None

    def require(self, *roles: Role) -> None:
        """Raise :class:`Forbidden` unless the principal has one of ``roles``."""
        if self.role not in roles:
            allowed = " or ".join(r.value for r in roles)
            raise Forbidden(f"this needs the {allowed} role; the key is {self.role.value}")

    def sees_parties(self, *parties: tuple[str, str]) -> bool:
        """Whether the principal may see an object whose parties are ``(participant, entity)``."""
        if self.role is Role.AUDITOR:
            return True
        if self.role is Role.OPERATOR:
            return any(entity == self.entity for _, entity in parties)
        if self.role is Role.TRADER:
            return any(participant == self.participant_id for participant, _ in parties)
        return False
