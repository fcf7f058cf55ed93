"""``clearing demo``: a pilot of three months on the embedded database, through the real use
cases.

Two mirrored entities (CN settling in CNY, RU in RUB) and two dozen traders. October's invoices
are skewed like real border trade (Chinese imports from Russia far exceed exports to it), with a
few disputed confirmations and one invoice rejected for a blocked HS code: its cycle settles
what flows back and carries the rest. The entities then open a liquidity line, which lifts
November's settled share; what two cycles have carried is flagged stale and released to
conventional settlement; December's trade reverses and repays the line. The imbalance report
over the three cycles and the verified audit trail close the story.
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
from clearing.entrypoints.terminal import print_figures, print_imbalance
from clearing.use_cases import (
    ageing,
    audit,
    cycles,
    invoices,
    keys,
    lines,
    participants,
    reports,
    settlement,
)
from clearing.use_cases.ports import UnitOfWorkFactory
from clearing.use_cases.validation import MAX_PAGE

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


@dataclass(frozen=True)
class Month:
    """A month of trade: how many invoices each side exports, and what the Chinese side's
    exports are worth (a factor on their price ranges, for the month the flow reverses)."""

    name: str
    first_day: date
    russian_exports: int
    chinese_exports: int
    chinese_price_factor: int = 1


#: October and November skewed as border trade is (Russian exports to China far ahead); in
#: December Chinese machinery and cars reverse the flow.
MONTHS = (
    Month("October 2026", date(2026, 10, 1), russian_exports=140, chinese_exports=110),
    Month("November 2026", date(2026, 11, 1), russian_exports=140, chinese_exports=110),
    Month(
        "December 2026",
        date(2026, 12, 1),
        russian_exports=40,
        chinese_exports=220,
        chinese_price_factor=4,
    ),
)
#: The CN entity's line with the RU entity, funding Chinese imports beyond what flows back.
LINE_LIMIT = "20000000.00"
STALE_AFTER_CYCLES = 2


@dataclass(frozen=True)
class Pilot:
    operators: dict[str, Principal]
    auditor: Principal
    chinese: list[Trader]
    russian: list[Trader]


def run(uows: UnitOfWorkFactory, console: Console, seed: int = 2026) -> Cycle:
    """The pilot's story over three months; returns the last cycle.

    A skewed month settles what flows back and carries the rest; a liquidity line confirmed by
    both entities lifts the next month's settled share; obligations carried two cycles are
    flagged stale and released to conventional settlement; a reversing month repays the line;
    the imbalance report and the audit close the story."""
    rng = random.Random(seed)
    pilot = _set_up(uows, rng)
    # The pilot's months are replayed today, so their due dates say nothing of how overdue an
    # invoice would be: the story flags what cycles have carried, and only that.
    ageing.remove_ageing_rule(uows(), "days_overdue", 30)
    ageing.add_ageing_rule(
        uows(),
        "cycles_carried",
        STALE_AFTER_CYCLES,
        f"carried {STALE_AFTER_CYCLES} cycles",
    )
    cycle = _month(uows, console, rng, pilot, MONTHS[0])
    line = lines.propose_line(uows(), pilot.operators["CN"], "CN", "RU", "CNY", LINE_LIMIT).line
    lines.confirm_line(uows(), pilot.operators["RU"], line.id)
    console.print(
        f"Line {line.id}: CN owes RU up to {format_amount(line.limit, 'CNY')} CNY, proposed by "
        "the CN operator and confirmed by the RU operator.",
        highlight=False,
    )
    cycle = _month(uows, console, rng, pilot, MONTHS[1])
    _release_stale(uows, console, pilot)
    cycle = _month(uows, console, rng, pilot, MONTHS[2])
    print_imbalance(console, reports.imbalance(uows(), pilot.auditor))
    report(uows, console, cycle, pilot.operators)
    return cycle


def _set_up(uows: UnitOfWorkFactory, rng: random.Random) -> Pilot:
    for code, currency, name in (
        ("CN", "CNY", "China clearing entity"),
        ("RU", "RUB", "Russia clearing entity"),
    ):
        participants.add_entity(uows(), code, currency, name)
    admin = _principal(uows, Role.ADMIN)
    return Pilot(
        operators={code: _principal(uows, Role.OPERATOR, entity=code) for code in ("CN", "RU")},
        auditor=_principal(uows, Role.AUDITOR),
        chinese=[_trader(uows, admin, "CN", name, rng) for name in CN_TRADERS],
        russian=[_trader(uows, admin, "RU", name, rng) for name in RU_TRADERS],
    )


def _month(
    uows: UnitOfWorkFactory, console: Console, rng: random.Random, pilot: Pilot, month: Month
) -> Cycle:
    counts = _submit_month(uows, rng, pilot, month)
    console.print(
        f"[bold]{month.name}[/]: {counts['submitted']} invoices submitted, "
        f"{counts['eligible']} confirmed, {counts['disputed']} disputed, "
        f"{counts['rejected']} rejected by compliance.",
        highlight=False,
    )
    cycle = _settle_cycle(uows, pilot.operators)
    assert cycle.summary is not None
    assert cycle.rates is not None
    metrics = cycle.summary.metrics
    moved = ", ".join(
        f"line {m.line_id} drew {format_amount(m.drawn, m.currency)} {m.currency}"
        if m.drawn
        else f"line {m.line_id} repaid {format_amount(m.repaid, m.currency)} {m.currency}"
        for m in cycle.lines
        if m.moved
    )
    console.print(
        f"  cycle {cycle.number} {cycle.status.value}: settled "
        f"{format_amount(metrics.settled_value, cycle.rates.base)} of "
        f"{format_amount(metrics.submitted_value, cycle.rates.base)} {cycle.rates.base} "
        f"submitted ({_percent(metrics.netting_efficiency)})" + (f"; {moved}" if moved else ""),
        highlight=False,
    )
    return cycle


def _percent(ratio: str) -> str:
    return f"{Decimal(ratio) * 100:.1f} %"


def _settle_cycle(uows: UnitOfWorkFactory, operators: dict[str, Principal]) -> Cycle:
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
                f"DEMO-{cycle.number}-{p.participant_id}",
            )
    return cycles.get_cycle(uows(), operators["CN"], cycle.id)


def _release_stale(uows: UnitOfWorkFactory, console: Console, pilot: Pilot) -> None:
    """The CN operator works the stale queue: every eligible obligation the ageing rules flag
    goes to conventional settlement, a page of the queue at a time."""
    operator = pilot.operators["CN"]
    reason = "stale: settle it conventionally"
    released = 0
    while True:
        queue = invoices.list_invoices(
            uows(), operator, status="eligible", stale=True, limit=MAX_PAGE
        )
        outcomes = (
            invoices.release_invoices(uows(), operator, [i.id for i in queue], reason)
            if queue
            else []
        )
        done = sum(1 for outcome in outcomes if not isinstance(outcome, ClearingError))
        released += done
        if not done:
            break
    rules = "; ".join(rule.description or rule.name for rule in ageing.list_ageing_rules(uows()))
    console.print(
        f"Stale queue: {released} obligations released to conventional settlement "
        f"(stale by the ageing rules: {rules}).",
        highlight=False,
    )


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
    uows: UnitOfWorkFactory, rng: random.Random, pilot: Pilot, month: Month
) -> dict[str, int]:
    """A month's invoices, each submitted by its exporter and confirmed by its importer."""
    counts = {"submitted": 0, "eligible": 0, "disputed": 0, "rejected": 0}
    plans = [
        (pilot.russian, pilot.chinese, RUSSIAN_EXPORTS, month.russian_exports, 1),
        (
            pilot.chinese,
            pilot.russian,
            CHINESE_EXPORTS,
            month.chinese_exports,
            month.chinese_price_factor,
        ),
    ]
    stamp = month.first_day.strftime("%y%m")
    number = 0
    for exporters, importers, goods, count, factor in plans:
        for _ in range(count):
            number += 1
            exporter, importer = rng.choice(exporters), rng.choice(importers)
            hs_code, description, (low, high) = rng.choice(goods)
            currency = rng.choices(["CNY", "RUB", "USD"], weights=[70, 20, 10])[0]
            value_cny = Decimal(rng.randrange(low * 100 * factor, high * 100 * factor)) / 100
            amount = (value_cny / Decimal(RATES["rates"][currency])).quantize(Decimal("0.01"))
            issued = month.first_day + timedelta(days=rng.randrange(28))
            draft = InvoiceDraft(
                invoice_number=f"{exporter.principal.participant_id}-{stamp}-{number:04d}",
                importer_id=importer.principal.participant_id or "",
                currency=currency,
                amount=str(amount),
                issue_date=issued,
                due_date=issued + timedelta(days=rng.choice([30, 45, 60])),
                hs_code=hs_code,
                description=description,
            )
            _submit_and_confirm(uows, rng, exporter, importer, draft, counts)
    if month is MONTHS[0]:
        # One shipment of sporting rifles: compliance rejects it at once (HS chapter 93).
        rifles = InvoiceDraft(
            invoice_number="BLOCKED-2610-0001",
            importer_id=pilot.chinese[0].principal.participant_id or "",
            currency="CNY",
            amount="250000.00",
            issue_date=date(2026, 10, 15),
            due_date=date(2026, 11, 30),
            hs_code="930320",
            description="sporting rifles",
        )
        _submit_and_confirm(uows, rng, pilot.russian[0], pilot.chinese[0], rifles, counts)
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
            f"{verdict.cycles} cycle{'s' if verdict.cycles != 1 else ''} re-netted, the last to "
            f"digest {cycle.digest}",
            highlight=False,
        )
    else:
        console.print(f"[red]Audit FAILED[/]: {verdict.problems[0].message}", highlight=False)
