"""Domestic payments an entity's bank makes or expects for a cycle, in minor units: the values
payment files (ISO 20022 pain.001, CSV) are written from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Instruction:
    """One domestic payment an entity's bank must make or expect, in minor units."""

    entity: str
    participant_id: str
    name: str
    bank_account: str | None
    direction: str  # "pay_in" (expected from the participant), "pay_out" or "refund" (to it)
    currency: str
    amount: int
    reference: str


@dataclass(frozen=True, slots=True)
class Transfer:
    """One domestic credit transfer from the entity's settlement account to a participant."""

    participant_id: str
    name: str
    bank_account: str | None
    currency: str
    amount: int  # minor units of currency
    reference: str
    purpose: str  # "pay_out" or "refund"


@dataclass(frozen=True, slots=True)
class Debtor:
    """The clearing entity as payer."""

    entity: str
    name: str
    account: str
