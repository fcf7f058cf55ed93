"""``clearing demo``: a whole pilot month on the embedded database, through the real use cases.

Two mirrored entities (CN settling in CNY, RU in RUB), two dozen traders, a month of invoices
skewed like real border trade (Chinese imports from Russia far exceed exports to it), a few
disputed confirmations and one invoice rejected for a blocked HS code; then one cycle from
cut-off to settlement, and the audit trail verified.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from clearing.domain.access import Principal, Role
from clearing.domain.cycles import Cycle
from clearing.domain.errors import ClearingError
from clearing.domain.invoices import InvoiceDraft
from clearing.domain.money import format_amount
from clearing.entrypoints.terminal import print_figures
from clearing.use_cases import audit, cycles, invoices, keys, participants, settlement
from clearing.use_cases.ports import UnitOfWorkFactory

RATES: dict[str, Any] = {
    "base": "CNY",
    "jurisdictions": {"CN": "CNY", "RU": "RUB"},
    "rates": {"CNY": "1", "RUB": "0.0781", "USD": "7.10"},
    "source": "demo: indicative central-bank rates",
    "as_of": "2026-10-31T10:00:00Z",
}
CN_TRADERS = [
    "Heihe Longjiang Soy Trading",
    "Heihe Border Machinery",
    "Suifenhe Timber Import",
    "Harbin Agri Export",
    "Heihe Pharma Supply",
    "Dongning Fresh Produce",
    "Heilongjiang Steel Works",
    "Fuyuan Seafood",
    "Mudanjiang Textiles",
    "Harbin Electric Parts",
    "Jiamusi Fertiliser",
    "Heihe Consumer Goods",
]
RU_TRADERS = [
    "Blagoveshchensk Timber",
    "Amur Coal",
    "Khabarovsk Fish",
    "Primorye Soybean",
    "Far East Fertiliser",
    "Amur Metals",
    "Zeya Grain",
    "Vladivostok Logistics Trade",
    "Birobidzhan Wood",
    "Svobodny Energy",
    "Tynda Minerals",
    "Amur Medical",
]
# (HS code, description, price range in CNY) of what each side sells.
RUSSIAN_EXPORTS = [
    ("4403", "round timber", (80_000, 900_000)),
    ("2701", "coal", (200_000, 1_500_000)),
    ("3102", "nitrogen fertiliser", (60_000, 400_000)),
    ("0303", "frozen fish", (50_000, 300_000)),
    ("1201", "soybeans", (100_000, 700_000)),
    ("7601", "aluminium", (150_000, 1_200_000)),
]
CHINESE_EXPORTS = [
    ("8471", "computers", (40_000, 300_000)),
    ("8703", "passenger cars", (90_000, 600_000)),
    ("0808", "apples and pears", (10_000, 80_000)),
    ("8517", "telephones", (30_000, 250_000)),
    ("3004", "medicaments", (20_000, 150_000)),
    ("6110", "knitwear", (10_000, 90_000)),
]


@dataclass(frozen=True)
class Trader:
    principal: Principal
    name: str


def run(uows: UnitOfWorkFactory, console: Console, seed: int = 2026) -> Cycle:
    """Create the pilot, run one cycle end to end and print the report. Returns the cycle."""
    rng = random.Random(seed)
    for code, currency, name in (
        ("CN", "CNY", "China clearing entity"),
        ("RU", "RUB", "Russia clearing entity"),
    ):
        participants.add_entity(uows(), code, currency, name)
    admin = _principal(uows, Role.ADMIN)
    operators = {code: _principal(uows, Role.OPERATOR, entity=code) for code in ("CN", "RU")}
    chinese = [_trader(uows, admin, "CN", name, rng) for name in CN_TRADERS]
    russian = [_trader(uows, admin, "RU", name, rng) for name in RU_TRADERS]

    counts = _submit_month(uows, rng, chinese, russian)
    console.print(
        f"Submitted {counts['submitted']} invoices: {counts['eligible']} confirmed, "
        f"{counts['disputed']} disputed, {counts['rejected']} rejected by compliance.",
        highlight=False,
    )

    cycle = cycles.open_cycle(uows(), operators["CN"], "fifo")
    cycles.set_rates(uows(), operators["CN"], cycle.id, dict(RATES))
    cycle = cycles.close_cycle(uows(), operators["CN"], cycle.id)
    for code in cycle.required_approvals:
        assert cycle.digest is not None
        cycle = cycles.approve_cycle(uows(), operators[code], cycle.id, cycle.digest)
    for view in settlement.cycle_positions(
        uows(), operators["CN"], cycle.id
    ) + settlement.cycle_positions(uows(), operators["RU"], cycle.id):
        if view.due > view.received:
            p = view.position
            cycle = settlement.record_pay_in(
                uows(),
                operators[p.jurisdiction],
                cycle.id,
                p.participant_id,
                p.currency,
                format_amount(view.due - view.received, p.currency),
                f"DEMO-{p.participant_id}",
            )
    cycle = cycles.get_cycle(uows(), operators["CN"], cycle.id)
    report(uows, console, cycle, operators)
    return cycle


def _principal(
    uows: UnitOfWorkFactory, role: Role, entity: str | None = None, participant: str | None = None
) -> Principal:
    _key, principal = keys.create_key(
        uows(), role, entity=entity, participant_id=participant, label="demo"
    )
    return principal


def _trader(
    uows: UnitOfWorkFactory, admin: Principal, entity: str, name: str, rng: random.Random
) -> Trader:
    participant = participants.register_participant(
        uows(),
        admin,
        name=name,
        entity=entity,
        bank_account=f"{entity}{rng.randrange(10**17, 10**18)}",
    )
    return Trader(_principal(uows, Role.TRADER, participant=participant.id), name)


def _submit_month(
    uows: UnitOfWorkFactory, rng: random.Random, chinese: list[Trader], russian: list[Trader]
) -> dict[str, int]:
    """October 2026: Russian exports to China outweigh Chinese exports about 3.5 to 1."""
    counts = {"submitted": 0, "eligible": 0, "disputed": 0, "rejected": 0}
    plans = [(russian, chinese, RUSSIAN_EXPORTS, 140), (chinese, russian, CHINESE_EXPORTS, 110)]
    number = 0
    for exporters, importers, goods, count in plans:
        for _ in range(count):
            number += 1
            exporter, importer = rng.choice(exporters), rng.choice(importers)
            hs_code, description, (low, high) = rng.choice(goods)
            currency = rng.choices(["CNY", "RUB", "USD"], weights=[70, 20, 10])[0]
            value_cny = Decimal(rng.randrange(low * 100, high * 100)) / 100
            amount = (value_cny / Decimal(RATES["rates"][currency])).quantize(Decimal("0.01"))
            issued = date(2026, 10, 1) + timedelta(days=rng.randrange(31))
            draft = InvoiceDraft(
                invoice_number=f"{exporter.principal.participant_id}-2610-{number:04d}",
                importer_id=importer.principal.participant_id or "",
                currency=currency,
                amount=str(amount),
                issue_date=issued,
                due_date=issued + timedelta(days=rng.choice([30, 45, 60])),
                hs_code=hs_code,
                description=description,
            )
            _submit_and_confirm(uows, rng, exporter, importer, draft, counts)
    # One shipment of sporting rifles: compliance rejects it at once (HS chapter 93).
    rifles = InvoiceDraft(
        invoice_number="BLOCKED-2610-0001",
        importer_id=chinese[0].principal.participant_id or "",
        currency="CNY",
        amount="250000.00",
        issue_date=date(2026, 10, 15),
        due_date=date(2026, 11, 30),
        hs_code="930320",
        description="sporting rifles",
    )
    _submit_and_confirm(uows, rng, russian[0], chinese[0], rifles, counts)
    return counts


def _submit_and_confirm(
    uows: UnitOfWorkFactory,
    rng: random.Random,
    exporter: Trader,
    importer: Trader,
    draft: InvoiceDraft,
    counts: dict[str, int],
) -> None:
    invoice = invoices.submit_invoice(uows(), exporter.principal, draft)
    counts["submitted"] += 1
    if invoice.status.value == "rejected":
        counts["rejected"] += 1
        return
    echoed = draft.amount
    if rng.random() < 0.02:  # the importer's books disagree: the invoice becomes disputed
        echoed = str(Decimal(draft.amount) + Decimal("100.00"))
    confirmed = invoices.confirm_invoice(
        uows(), importer.principal, invoice.id, draft.currency, echoed
    )
    counts[confirmed.status.value] += 1


def report(
    uows: UnitOfWorkFactory, console: Console, cycle: Cycle, operators: dict[str, Principal]
) -> None:
    """The cycle's corridors, totals, metrics, largest positions and the audit verdict."""
    assert cycle.summary is not None
    assert cycle.rates is not None
    print_figures(
        console,
        cycle.summary,
        cycle.rates.base,
        title=f"Cycle {cycle.number} ({cycle.status.value}) corridors",
    )
    views = []
    for principal in operators.values():
        views += settlement.cycle_positions(uows(), principal, cycle.id)
    with uows() as uow:
        names = uow.participants.get_many(v.position.participant_id for v in views)
    positions = Table(title="Largest domestic payments", title_justify="left")
    for name in ("participant", "entity", "pays in", "is paid", "currency"):
        positions.add_column(name, justify="right" if name in ("pays in", "is paid") else "left")
    for view in sorted(
        views, key=lambda v: -abs(v.position.pay_out_value - v.position.pay_in_value)
    )[:10]:
        p = view.position
        who = names.get(p.participant_id)
        positions.add_row(
            who.name if who else p.participant_id,
            p.jurisdiction,
            format_amount(max(-p.net, 0), p.currency),
            format_amount(max(p.net, 0), p.currency),
            p.currency,
        )
    console.print(positions)
    auditor = _principal(uows, Role.AUDITOR)
    try:
        verdict = audit.verify(uows(), auditor)
    except ClearingError as error:
        console.print(f"[red]audit failed to run: {error}[/]")
        return
    if verdict.ok:
        console.print(
            f"[green]Audit verified[/]: {verdict.entries} journal entries, "
            f"{verdict.cycles} cycle re-netted to digest {cycle.digest}",
            highlight=False,
        )
    else:
        console.print(f"[red]Audit FAILED[/]: {verdict.problems[0].message}", highlight=False)
