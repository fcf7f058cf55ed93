"""The contract of the repository of imported bank statement lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from clearing.domain.bank import BankEntry, Direction, Reconciliation, StatementLine
from clearing.domain.errors import Conflict
from clearing.domain.payments import Purpose
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.port_contract.data import OPENED, cycle, seed


def entry(n: int, entity: str = "CN", **changes: object) -> BankEntry:
    line = StatementLine(
        f"E-{n}", Direction.CREDIT, "CNY", 100 * n, date(2026, 12, 1), remittance=f"RF{n}"
    )
    made = BankEntry(f"bnk_{n:04d}", entity, line, Reconciliation.SUSPENSE, "op", OPENED)
    return replace(made, **changes)  # type: ignore[arg-type]


class BankContract:
    """What the use cases rely on from the bank entries' repository."""

    def test_a_line_is_known_by_its_entitys_reference_and_a_second_alike_is_a_conflict(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        with contract_uows() as uow:
            uow.bank.add([entry(1), entry(2, "RU")])
            uow.commit()
        with contract_uows() as uow:
            assert uow.bank.known("CN", ["E-1", "E-2", "E-3"]) == {"E-1"}
            assert uow.bank.get("bnk_0001") == entry(1)
            assert uow.bank.get("bnk_9999") is None
            with pytest.raises(Conflict):
                uow.bank.add([replace(entry(1), id="bnk_0100")])

    def test_a_saved_entry_keeps_its_match_and_lists_filter_by_entity_and_status_in_pages(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        with contract_uows() as uow:
            uow.cycles.add(cycle(1))
            uow.bank.add([entry(n) for n in range(1, 5)] + [entry(5, "RU")])
            uow.commit()
        matched = replace(
            entry(2),
            status=Reconciliation.MATCHED,
            cycle_id=cycle(1).id,
            participant_id="heihe",
            purpose=Purpose.PAY_IN,
            note="ok",
            resolved_by="op2",
            resolved_at=OPENED,
        )
        with contract_uows() as uow:
            uow.bank.save(matched)
            uow.commit()
        with contract_uows() as uow:
            assert uow.bank.get(matched.id) == matched
            assert uow.bank.matched([cycle(1).id]) == [matched]
            suspense = {Reconciliation.SUSPENSE}
            assert [e.id for e in uow.bank.list("CN", suspense, None, 10)] == [
                "bnk_0001",
                "bnk_0003",
                "bnk_0004",
            ]
            assert [e.id for e in uow.bank.list("CN", suspense, "bnk_0001", 1)] == ["bnk_0003"]
            assert [e.id for e in uow.bank.list(None, None, None, 10)][-1] == "bnk_0005"
