"""A small pilot built through the use cases, on whatever unit of work it is given: the
operations tests run it on PostgreSQL, the use-case tests on the in-memory fake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clearing.domain.access import Principal, Role
from clearing.domain.cycles import Cycle
from clearing.domain.invoices import InvoiceDraft
from clearing.domain.money import format_amount
from clearing.use_cases import cycles, invoices, participants, settlement
from clearing.use_cases import keys as keys_use_cases
from clearing.use_cases.ports import UnitOfWorkFactory

RATES = {
    "base": "CNY",
    "jurisdictions": {"CN": "CNY", "RU": "RUB"},
    "rates": {"CNY": "1", "RUB": "0.0781", "USD": "7.10"},
    "source": "test",
    "as_of": "2026-11-20T10:00:00Z",
}


#: Each entity's bank (a BIC in China, a BIK in Russia) and its settlement account there.
ENTITY_BANKS = {
    "CN": ("BKCHCNBJ", "62170000100012345"),
    "RU": ("044525225", "30101810400000000225"),
}
#: The traders' banks: a CNAPS code in China, a BIK in Russia.
PARTICIPANT_BANKS = {"CN": "104100000004", "RU": "044525593"}


@dataclass
class Pilot:
    uows: UnitOfWorkFactory
    keys: dict[str, str]
    principals: dict[str, Principal]
    cycle: Cycle


def make_parties(
    uows: UnitOfWorkFactory,
    operators: tuple[tuple[str, str], ...] = (("op-CN", "CN"), ("op-RU", "RU")),
    approvals: tuple[int, int] = (1, 1),
) -> tuple[dict[str, str], dict[str, Principal]]:
    """CN and RU (with ``approvals`` required of each), an admin, an auditor, the named
    ``operators`` (name, entity) and two traders on each side: every key and principal by name."""
    for (code, currency, name), required in zip(
        (("CN", "CNY", "China clearing entity"), ("RU", "RUB", "Russia clearing entity")),
        approvals,
        strict=True,
    ):
        bank_code, account = ENTITY_BANKS[code]
        participants.add_entity(
            uows(), code, currency, name, required, bank_code=bank_code, account=account
        )
    keys: dict[str, str] = {}
    principals: dict[str, Principal] = {}
    for name, role, entity in (
        ("admin", Role.ADMIN, None),
        ("auditor", Role.AUDITOR, None),
        *((name, Role.OPERATOR, entity) for name, entity in operators),
    ):
        keys[name], principals[name] = keys_use_cases.create_key(uows(), role, entity=entity)
    for name, entity in (("cn1", "CN"), ("cn2", "CN"), ("ru1", "RU"), ("ru2", "RU")):
        participant = participants.register_participant(
            uows(),
            principals["admin"],
            name=f"Trader {name}",
            entity=entity,
            bank_account=f"{entity}0000000000{name[-1]}",
            bank_code=PARTICIPANT_BANKS[entity],
        )
        keys[name], principals[name] = keys_use_cases.create_key(
            uows(), Role.TRADER, participant_id=participant.id
        )
    return keys, principals


def make_pilot(uows: UnitOfWorkFactory) -> Pilot:
    """CN and RU, two traders each, four confirmed invoices and a proposed cycle."""
    keys, principals = make_parties(uows)
    deals = [
        ("ru1", "cn1", "RUB", "1000000.00"),
        ("ru2", "cn2", "CNY", "52000.00"),
        ("cn1", "ru2", "CNY", "30000.00"),
        ("cn2", "ru1", "USD", "2000.00"),
    ]
    for number, (exporter, importer, currency, amount) in enumerate(deals, start=1):
        invoice = invoices.submit_invoice(
            uows(),
            principals[exporter],
            InvoiceDraft(
                invoice_number=f"T-{number}",
                importer_id=principals[importer].participant_id or "",
                currency=currency,
                amount=amount,
                issue_date=date(2026, 11, 1),
                due_date=date(2026, 12, 1),
                hs_code="120190",
                description="soybeans",
            ),
        )
        invoices.confirm_invoice(uows(), principals[importer], invoice.id, currency, amount)
    cycle = cycles.open_cycle(uows(), principals["op-CN"], "fifo")
    cycles.set_rates(uows(), principals["op-CN"], cycle.id, dict(RATES))
    cycle = cycles.close_cycle(uows(), principals["op-CN"], cycle.id)
    return Pilot(uows, keys, principals, cycle)


def settle(pilot: Pilot, cycle: Cycle | None = None) -> Cycle:
    """Approve the pilot's cycle (or ``cycle``, a successor) for every entity with legs and
    record every pay-in still outstanding."""
    cycle = cycle or pilot.cycle
    for entity in cycle.required_approvals:
        assert cycle.digest is not None
        cycle = cycles.approve_cycle(
            pilot.uows(), pilot.principals[f"op-{entity}"], cycle.id, cycle.digest
        )
    views = settlement.cycle_positions(pilot.uows(), pilot.principals["auditor"], cycle.id)
    for view in views:
        if view.outstanding:
            p = view.position
            cycle = settlement.record_pay_in(
                pilot.uows(),
                pilot.principals[f"op-{p.jurisdiction}"],
                cycle.id,
                p.participant_id,
                p.currency,
                format_amount(view.outstanding, p.currency),
                f"BANK-{p.participant_id}",
            )
    return cycle
