"""The contract of the repository of liquidity lines: the lines and their history, the balance
each settled cycle moved, and each cycle's line terms with what its netting did to them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from clearing.domain.cycles import CycleStatus
from clearing.domain.errors import Conflict
from clearing.domain.lines import (
    LimitChange,
    Line,
    LineAction,
    LineEvent,
    LineStatus,
    Movement,
)
from clearing.domain.netting.lines import LineMovement, LineTerms
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.port_contract.data import OPENED, cycle, seed


def line(n: int, source: str = "CN", target: str = "RU", **changes: object) -> Line:
    made = Line(
        f"ln_{n:04d}",
        source,
        target,
        "CNY",
        1_000_00 * n,
        0,
        LineStatus.PENDING,
        source,
        "key_op",
        OPENED,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


class LineContract:
    """What the use cases rely on from the lines' repository."""

    def test_a_line_reads_back_as_stored_and_a_second_of_its_direction_and_currency_conflicts(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        with contract_uows() as uow:
            uow.lines.add(line(1))
            uow.lines.add(line(2, currency="RUB"))
            uow.lines.add(line(3, "RU", "CN"))
            uow.commit()
        with contract_uows() as uow:
            assert uow.lines.get(line(1).id) == line(1)
            assert uow.lines.get("ln_none") is None
            assert uow.lines.get("ln_\x00") is None
            assert [x.id for x in uow.lines.between("CN", "RU")] == [line(1).id, line(2).id]
            with pytest.raises(Conflict):
                uow.lines.add(line(9))  # CN -> RU in CNY again, under another id

    def test_a_saved_line_keeps_its_confirmation_balance_and_pending_limit(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        with contract_uows() as uow:
            uow.lines.add(line(1))
            uow.commit()
        changed = replace(
            line(1),
            status=LineStatus.ACTIVE,
            confirmed_by="key_ru",
            confirmed_at=OPENED,
            balance=250_00,
            pending_change=LimitChange(3_000_00, "RU", "key_ru", OPENED),
        )
        with contract_uows() as uow:
            uow.lines.save(changed)
            uow.commit()
        with contract_uows() as uow:
            assert uow.lines.get(changed.id) == changed
            assert uow.lines.lock([changed.id, "ln_none"]) == {changed.id: changed}
            assert uow.lines.active() == [changed]
            uow.lines.save(replace(changed, pending_change=None))
            uow.commit()
        with contract_uows() as uow:
            stored = uow.lines.get(changed.id)
            assert stored == replace(changed, pending_change=None)

    def test_lines_list_by_id_filtered_by_the_entity_party_to_them_in_pages(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        with contract_uows() as uow:
            uow.lines.add(line(3, "RU", "KZ", currency="RUB"))
            uow.lines.add(line(1))
            uow.lines.add(line(2, "KZ", "CN", currency="KZT"))
            uow.commit()
        with contract_uows() as uow:
            assert [x.id for x in uow.lines.list(None, None, 10)] == [
                "ln_0001",
                "ln_0002",
                "ln_0003",
            ]
            assert [x.id for x in uow.lines.list("CN", None, 10)] == ["ln_0001", "ln_0002"]
            assert [x.id for x in uow.lines.list("CN", "ln_0001", 1)] == ["ln_0002"]
            assert [x.id for x in uow.lines.list("RU", None, 1)] == ["ln_0001"]
            assert uow.lines.active() == []

    def test_history_and_movements_read_back_in_the_order_written(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        events = [
            LineEvent(line(1).id, LineAction.PROPOSED, 1_000_00, "CN", "key_cn", OPENED),
            LineEvent(line(1).id, LineAction.CONFIRMED, 1_000_00, "RU", "key_ru", OPENED),
            LineEvent(line(1).id, LineAction.LIMIT_PROPOSED, 50_00, "RU", "key_ru", OPENED),
        ]
        moves = [
            Movement(line(1).id, cycle(2).id, 40_00, 0, 40_00),
            Movement(line(1).id, cycle(1).id, 0, 15_00, 25_00),
        ]
        with contract_uows() as uow:
            uow.lines.add(line(1))
            uow.cycles.add(cycle(1, status=CycleStatus.SETTLED))
            uow.cycles.add(cycle(2))
            for event in events:
                uow.lines.add_event(event)
            uow.lines.add_movements(moves[:1])
            uow.lines.add_movements(moves[1:])
            uow.commit()
        with contract_uows() as uow:
            assert uow.lines.events(line(1).id) == events
            assert uow.lines.movements(line(1).id) == moves
            assert uow.lines.movements("ln_none") == []

    def test_a_cycle_keeps_its_line_terms_and_movements_by_line_id(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        terms = [
            LineTerms(line(2).id, "RU", "CN", "RUB", 500_00, 100_00),
            LineTerms(line(1).id, "CN", "RU", "CNY", 1_000_00, 0),
        ]
        moves = [
            LineMovement(
                line(1).id, "CN", "RU", "CNY", 300_00, 0, 300_00, 300_00, -3841_23, 300_00
            ),
            LineMovement(line(2).id, "RU", "CN", "RUB", 0, 0, 100_00),
        ]
        with contract_uows() as uow:
            uow.lines.add(line(1))
            uow.lines.add(line(2, "RU", "CN", currency="RUB"))
            uow.cycles.add(cycle(1))
            uow.lines.store_cycle(cycle(1).id, terms, moves)
            uow.commit()
        with contract_uows() as uow:
            assert uow.lines.cycle_terms(cycle(1).id) == sorted(terms, key=lambda t: t.line_id)
            assert uow.lines.cycle_terms("cyc_none") == []
            assert uow.lines.movements_of_cycles([cycle(1).id, "cyc_none"]) == {cycle(1).id: moves}
            assert uow.lines.movements_of_cycles([]) == {}
