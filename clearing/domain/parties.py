"""Clearing entities (one per jurisdiction) and the participants registered with them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Entity:
    """A jurisdiction's clearing entity, settling in one currency."""

    code: str
    currency: str
    name: str


@dataclass(frozen=True, slots=True)
class Participant:
    """A trader registered with exactly one entity, with a domestic bank account there."""

    id: str
    entity: str
    name: str
    tax_id: str | None = None
    bank_account: str | None = None
