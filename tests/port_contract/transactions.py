"""The contract of a unit of work: one transaction, committed or not at all, and joined when
entered again."""

from __future__ import annotations

import pytest

from clearing.use_cases.participants import add_entity
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.port_contract.data import (
    CN,
    RU,
    entity_codes,
)


class TransactionContract:
    """What the use cases rely on from a transaction."""

    # --- one transaction ----------------------------------------------------------------------

    def test_what_is_committed_is_kept(self, contract_uows: UnitOfWorkFactory) -> None:
        with contract_uows() as uow:
            uow.entities.add(CN)
            uow.commit()

        assert entity_codes(contract_uows) == ["CN"]

    def test_leaving_without_a_commit_keeps_nothing(self, contract_uows: UnitOfWorkFactory) -> None:
        with contract_uows() as uow:
            uow.entities.add(CN)
            assert uow.entities.get("CN") == CN

        assert entity_codes(contract_uows) == []

    def test_an_exception_rolls_back_and_propagates(self, contract_uows: UnitOfWorkFactory) -> None:
        def add_and_fail() -> None:
            with contract_uows() as uow:
                uow.entities.add(CN)
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            add_and_fail()

        assert entity_codes(contract_uows) == []

    def test_a_rollback_discards_the_changes_so_far_and_the_work_goes_on(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        with contract_uows() as uow:
            uow.entities.add(CN)
            uow.rollback()
            assert uow.entities.get("CN") is None
            uow.entities.add(RU)
            uow.commit()

        assert entity_codes(contract_uows) == ["RU"]

    def test_work_after_a_commit_needs_a_commit_of_its_own(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        with contract_uows() as uow:
            uow.entities.add(CN)
            uow.commit()
            uow.entities.add(RU)

        assert entity_codes(contract_uows) == ["CN"]

    def test_uncommitted_changes_are_invisible_to_another_unit_of_work(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        with contract_uows() as writer:
            writer.entities.add(CN)
            with contract_uows() as reader:
                assert reader.entities.get("CN") is None
            writer.commit()

        with contract_uows() as reader:
            assert reader.entities.get("CN") == CN

    def test_a_unit_of_work_can_be_entered_again_after_it_is_left(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        uow = contract_uows()
        with uow:
            uow.entities.add(CN)
        with uow:
            assert uow.entities.get("CN") is None
            uow.entities.add(RU)
            uow.commit()

        assert entity_codes(contract_uows) == ["RU"]

    # --- re-entering an open unit of work joins its transaction ---------------------------------

    def test_a_commit_in_an_inner_block_leaves_the_committing_to_the_outermost(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        with contract_uows() as uow:
            uow.entities.add(CN)
            with uow:
                uow.entities.add(RU)
                uow.commit()
            assert entity_codes(contract_uows) == []
            assert [e.code for e in uow.entities.list()] == ["CN", "RU"]

        assert entity_codes(contract_uows) == []

    def test_the_outermost_commit_keeps_what_inner_blocks_wrote(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        with contract_uows() as uow:
            with uow:
                uow.entities.add(CN)
            with uow:
                uow.entities.add(RU)
                uow.commit()
            uow.commit()

        assert entity_codes(contract_uows) == ["CN", "RU"]

    def test_a_use_case_run_inside_an_open_unit_of_work_is_committed_with_it_or_not_at_all(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        with contract_uows() as uow:
            add_entity(uow, "CN", "CNY")
        assert entity_codes(contract_uows) == []

        with contract_uows() as uow:
            add_entity(uow, "CN", "CNY")
            uow.commit()
        assert entity_codes(contract_uows) == ["CN"]
