"""A use case run once per idempotency key (DESIGN §10): the same key with the same request gets
the first answer without running again; with another request it is a conflict; a use case that
fails records nothing, so the key stays free."""

from __future__ import annotations

from typing import Any

import pytest

from clearing.domain.access import Principal
from clearing.domain.errors import Conflict, InvalidInput
from clearing.domain.invoices import Invoice, InvoiceDraft
from clearing.use_cases import invoices
from clearing.use_cases.idempotency import ATTEMPTS, answer_once
from clearing.use_cases.ports import UnitOfWork
from tests.unit.use_cases.world import World


def submit_once(
    world: World, caller: Principal, key: str | None, request: str, draft: InvoiceDraft
) -> Any:
    """Submit ``draft`` under ``key``; the answer is the invoice as JSON would carry it."""

    def run(uow: UnitOfWork) -> Invoice:
        return invoices.submit_invoice(uow, caller, draft)

    def answer(invoice: Invoice) -> dict[str, Any]:
        return {"id": invoice.id, "sequence": invoice.sequence, "amounts": (invoice.amount,)}

    return answer_once(world.uows, caller, key, request, run, answer)


def stored(world: World) -> list[str]:
    return [i.id for i in invoices.list_invoices(world.uows(), world.auditor, limit=500)]


def test_the_same_key_and_request_get_the_first_answer_and_run_once(world: World) -> None:
    exporter = world.traders["ru0"]
    first = submit_once(world, exporter, "k-1", "hash-a", world.draft("cn0", number="A-1"))
    again = submit_once(world, exporter, "k-1", "hash-a", world.draft("cn0", number="A-1"))

    assert again == {**first, "amounts": list(first["amounts"])}  # as stored, through JSON
    assert stored(world) == [first["id"]]


def test_the_same_key_with_another_request_is_a_conflict_and_runs_nothing(world: World) -> None:
    exporter = world.traders["ru0"]
    first = submit_once(world, exporter, "k-1", "hash-a", world.draft("cn0", number="A-1"))

    with pytest.raises(Conflict) as refused:
        submit_once(world, exporter, "k-1", "hash-b", world.draft("cn0", number="A-2"))

    assert refused.value.field == "Idempotency-Key"
    assert stored(world) == [first["id"]]


def test_a_key_belongs_to_its_caller(world: World) -> None:
    draft = world.draft("cn0", number="A-1")
    mine = submit_once(world, world.traders["ru0"], "k-1", "hash-a", draft)
    theirs = submit_once(world, world.traders["ru1"], "k-1", "hash-a", draft)

    assert mine["id"] != theirs["id"]
    assert stored(world) == [mine["id"], theirs["id"]]


def test_a_use_case_that_fails_records_nothing_and_leaves_the_key_free(world: World) -> None:
    exporter = world.traders["ru0"]
    with pytest.raises(InvalidInput):
        submit_once(world, exporter, "k-1", "hash-a", world.draft("cn0", "-1.00", number="A-1"))
    with pytest.raises(InvalidInput):
        submit_once(world, exporter, "k-1", "hash-a", world.draft("cn0", "-1.00", number="A-1"))
    assert stored(world) == []

    later = submit_once(world, exporter, "k-1", "hash-b", world.draft("cn0", number="A-1"))
    assert stored(world) == [later["id"]]


def test_a_conflicting_use_case_is_tried_again_then_refused_and_records_nothing(
    world: World,
) -> None:
    tries: list[int] = []

    def run(uow: UnitOfWork) -> None:
        tries.append(1)
        invoices.submit_invoice(uow, world.traders["ru0"], world.draft("cn0", number="C-1"))
        raise Conflict("a concurrent change won; try again")

    with pytest.raises(Conflict):
        answer_once(world.uows, world.traders["ru0"], "k-1", "hash-a", run, lambda _: {})

    assert len(tries) == ATTEMPTS
    assert stored(world) == []
    with world.uows() as uow:
        assert uow.idempotency.get(world.traders["ru0"].id, "k-1") is None


def test_without_a_key_the_use_case_simply_runs_each_time(world: World) -> None:
    exporter = world.traders["ru0"]
    first = submit_once(world, exporter, None, "hash-a", world.draft("cn0", number="A-1"))
    with pytest.raises(Conflict) as duplicate:
        submit_once(world, exporter, None, "hash-a", world.draft("cn0", number="A-1"))

    assert duplicate.value.field == "invoice_number"
    assert stored(world) == [first["id"]]


@pytest.mark.parametrize("key", ["", "k" * 201, "tab\there", "nul\x00"])
def test_a_malformed_key_is_invalid_input_and_runs_nothing(world: World, key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        submit_once(world, world.traders["ru0"], key, "hash-a", world.draft("cn0"))
    assert refused.value.field == "Idempotency-Key"
    assert stored(world) == []
