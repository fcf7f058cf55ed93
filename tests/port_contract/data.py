"""The data the contract tests store: three entities, four participants whose ids do not sort
by entity, invoices and cycles made to order, and a small two-way trade netted for real."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.invoices import Invoice, Status, snapshot_of
from clearing.domain.netting import NettingResult, net
from clearing.domain.obligations import Policy
from clearing.domain.parties import Entity, Participant
from clearing.domain.rates import RateSet
from clearing.use_cases.ports import UnitOfWork, UnitOfWorkFactory

CN = Entity("CN", "CNY", "China clearing")
RU = Entity("RU", "RUB", "Russia clearing")
KZ = Entity("KZ", "KZT", "Kazakhstan clearing")
PARTICIPANTS = [
    Participant("heihe", "CN", "Heihe Soy", "91230000", "6222"),
    Participant("suifenhe", "CN", "Suifenhe Machinery"),
    Participant("amur", "RU", "Amur Timber", "2801", "40702"),
    Participant("astana", "KZ", "Astana Grain"),
]
#: Ids that do not sort by entity, so that an order by id tells apart one by entity and id.
ENTITY_OF = {p.id: p.entity for p in PARTICIPANTS}
RATES = RateSet.from_json(
    {
        "base": "CNY",
        "jurisdictions": {"CN": "CNY", "RU": "RUB", "KZ": "KZT"},
        "rates": {"CNY": "1", "RUB": "0.0781", "KZT": "0.0142"},
    }
)
OPENED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def invoice(n: int, exporter: str = "heihe", importer: str = "amur", **changes: object) -> Invoice:
    made = Invoice(
        id=f"inv_{n:032x}",
        invoice_number=f"N-{n:04d}",
        exporter_id=exporter,
        exporter_entity=ENTITY_OF[exporter],
        importer_id=importer,
        importer_entity=ENTITY_OF[importer],
        currency="CNY",
        amount=1_000_00 + n,
        outstanding=1_000_00 + n,
        issue_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        hs_code="120190",
        description="Soybeans, 400 t",
        status=Status.ELIGIBLE,
        priority=1,
        sequence=0,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def cycle(number: int, status: CycleStatus = CycleStatus.PROPOSED) -> Cycle:
    return Cycle(f"cyc_{number:016x}", number, status, Policy.FIFO, "key_op", OPENED)


def seed(uows: UnitOfWorkFactory) -> None:
    with uows() as uow:
        for entity in (CN, RU, KZ):
            uow.entities.add(entity)
        for participant in PARTICIPANTS:
            uow.participants.add(participant)
        uow.commit()


def add(uows: UnitOfWorkFactory, *invoices: Invoice) -> list[Invoice]:
    with uows() as uow:
        stored = uow.invoices.add_many(list(invoices), "key_test")
        uow.commit()
    return stored


def entity_codes(uows: UnitOfWorkFactory) -> list[str]:
    with uows() as uow:
        return [e.code for e in uow.entities.list()]


def two_way_trade(uows: UnitOfWorkFactory) -> tuple[list[Invoice], NettingResult]:
    """Amur (RU) owes Heihe (CN) 1,000.01 and Suifenhe (CN) owes Amur 500.00 (CNY): 500.00
    matches each way. An invoice awaiting confirmation stays out of it."""
    seed(uows)
    stored = add(
        uows,
        invoice(1),
        invoice(2, exporter="amur", importer="suifenhe", amount=500_00, outstanding=500_00),
        invoice(3, exporter="astana", importer="suifenhe", status=Status.AWAITING_CONFIRMATION),
    )
    return stored, net(snapshot_of(stored[:2]), RATES, Policy.FIFO)


def statuses(uow: UnitOfWork, *invoices: Invoice) -> list[tuple[str, int, str | None]]:
    found = [uow.invoices.get(i.id) for i in invoices]
    return [(i.status.value, i.outstanding, i.cycle_id) for i in found if i is not None]
