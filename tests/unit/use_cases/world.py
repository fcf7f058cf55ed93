"""A world of three mirrored entities for the use-case tests, built and driven through the use
cases alone on the in-memory unit of work.

Entities ``CN`` (CNY), ``RU`` (RUB) and ``KZ`` (KZT); an admin, an auditor and an operator per
entity; traders ``cn0``, ``cn1``, ``ru0``, ``ru1`` and ``kz0``, each bound to its participant.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from clearing.domain.access import Principal, Role
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.invoices import Invoice, InvoiceDraft, InvoiceEvent, Status
from clearing.domain.money import format_amount
from clearing.use_cases import cycles, invoices, keys, participants, settlement
from clearing.use_cases.compliance import reset_rules
from tests.fakes import FakeUnitOfWorkFactory

ENTITIES = {"CN": "CNY", "RU": "RUB", "KZ": "KZT"}
TRADERS = {"CN": ("cn0", "cn1"), "RU": ("ru0", "ru1"), "KZ": ("kz0",)}
#: Value of one major unit in CNY (the base).
RATES = {"CNY": "1", "RUB": "0.0781", "KZT": "0.0142", "USD": "7.10"}


@dataclass
class World:
    uows: FakeUnitOfWorkFactory
    admin: Principal
    auditor: Principal
    operators: dict[str, Principal]
    traders: dict[str, Principal]
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- who is who ---

    def op(self, entity: str) -> Principal:
        return self.operators[entity]

    def id(self, trader: str) -> str:
        """The participant id of a trader."""
        participant = self.traders[trader].participant_id
        assert participant is not None
        return participant

    def trader_of(self, participant_id: str) -> str:
        return next(name for name, p in self.traders.items() if p.participant_id == participant_id)

    # --- invoices ---

    def draft(
        self,
        importer: str,
        amount: str = "1000.00",
        *,
        currency: str = "CNY",
        hs_code: str = "120190",
        number: str | None = None,
    ) -> InvoiceDraft:
        return InvoiceDraft(
            invoice_number=number or f"U-{next(self._numbers):05d}",
            importer_id=self.id(importer),
            currency=currency,
            amount=amount,
            issue_date=date(2026, 11, 2),
            due_date=date(2026, 12, 15),
            hs_code=hs_code,
            description="goods",
        )

    def submit(
        self, exporter: str, importer: str, amount: str = "1000.00", **draft: Any
    ) -> Invoice:
        """Submit an invoice as its exporter."""
        return invoices.submit_invoice(
            self.uows(), self.traders[exporter], self.draft(importer, amount, **draft)
        )

    def eligible(
        self, exporter: str, importer: str, amount: str = "1000.00", **draft: Any
    ) -> Invoice:
        """Submit an invoice and confirm it as its importer: it is eligible."""
        submitted = self.submit(exporter, importer, amount, **draft)
        confirmed = invoices.confirm_invoice(
            self.uows(), self.traders[importer], submitted.id, submitted.currency, amount
        )
        assert confirmed.status is Status.ELIGIBLE
        return confirmed

    def invoice(self, invoice_id: str) -> Invoice:
        return invoices.get_invoice(self.uows(), self.auditor, invoice_id)

    def history(self, invoice_id: str) -> list[InvoiceEvent]:
        return invoices.invoice_history(self.uows(), self.auditor, invoice_id)

    # --- cycles ---

    def rates(self, **overrides: str) -> dict[str, Any]:
        """A rate set naming every entity, with the base (CNY) at 1; an empty rate drops one."""
        wanted = {**RATES, **overrides}
        return {
            "base": "CNY",
            "jurisdictions": dict(ENTITIES),
            "rates": {c: r for c, r in wanted.items() if r},
            "source": "test fixing",
            "as_of": "2026-11-20T10:00:00Z",
        }

    def propose(self, by: str = "CN", policy: str = "fifo") -> Cycle:
        """Open a cycle, fix its rates and close it."""
        opened = cycles.open_cycle(self.uows(), self.op(by), policy)
        cycles.set_rates(self.uows(), self.op(by), opened.id, self.rates())
        return cycles.close_cycle(self.uows(), self.op(by), opened.id)

    def approve_all(self, cycle: Cycle) -> Cycle:
        assert cycle.digest is not None
        for entity in cycle.required_approvals:
            cycle = cycles.approve_cycle(self.uows(), self.op(entity), cycle.id, cycle.digest)
        return cycle

    def due(self, cycle: Cycle) -> dict[str, int]:
        """What each payer of the cycle still owes, by trader name."""
        views = settlement.cycle_positions(self.uows(), self.auditor, cycle.id)
        return {
            self.trader_of(v.position.participant_id): v.outstanding for v in views if v.outstanding
        }

    def pay(self, cycle: Cycle, trader: str, amount: int, reference: str) -> Cycle:
        """The trader's own entity's operator records its pay-in (minor units)."""
        entity = self.traders[trader].entity or ""
        currency = ENTITIES[entity]
        return settlement.record_pay_in(
            self.uows(),
            self.op(entity),
            cycle.id,
            self.id(trader),
            currency,
            format_amount(amount, currency),
            reference,
        )

    def pay_everything(self, cycle: Cycle) -> Cycle:
        for number, (trader, amount) in enumerate(sorted(self.due(cycle).items())):
            cycle = self.pay(cycle, trader, amount, f"BANK-{number}")
        assert cycle.status is CycleStatus.SETTLED
        return cycle


def build_world(uows: FakeUnitOfWorkFactory) -> World:
    """The entities and keys by the operating use cases, the participants by the admin."""
    for code, currency in ENTITIES.items():
        participants.add_entity(uows(), code, currency, f"{code} clearing entity")
    _key, admin = keys.create_key(uows(), Role.ADMIN)
    _key, auditor = keys.create_key(uows(), Role.AUDITOR)
    operators = {code: keys.create_key(uows(), Role.OPERATOR, entity=code)[1] for code in ENTITIES}
    traders: dict[str, Principal] = {}
    for code, names in TRADERS.items():
        for name in names:
            participant = participants.register_participant(
                uows(), admin, name=f"Trader {name}", entity=code, bank_account=f"ACC-{name}"
            )
            traders[name] = keys.create_key(uows(), Role.TRADER, participant_id=participant.id)[1]
    return World(uows, admin, auditor, operators, traders)


def new_store() -> FakeUnitOfWorkFactory:
    """An empty in-memory store but for the default compliance rules (as migrated)."""
    uows = FakeUnitOfWorkFactory()
    reset_rules(uows())
    return uows


def fresh_world() -> World:
    """A world on a store of its own (for Hypothesis examples, which share no fixture)."""
    return build_world(new_store())
