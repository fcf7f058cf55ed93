"""Bulk release (DESIGN §6a, §10): an operator sends many invoices to conventional settlement at
once with one reason; each succeeds or fails on its own, in the order asked, and every release
is in the invoice's history."""

from __future__ import annotations

import pytest

from clearing.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from clearing.domain.invoices import Invoice, Status
from clearing.use_cases import invoices
from tests.unit.use_cases.world import World


def test_an_operator_releases_many_invoices_at_once_each_on_its_own(world: World) -> None:
    first = world.eligible("cn0", "ru0")
    second = world.eligible("ru1", "cn1")
    foreign = world.eligible("kz0", "ru0")  # touches neither CN party: not the CN operator's
    cancelled = world.submit("cn1", "ru1")
    invoices.cancel_invoice(world.uows(), world.traders["cn1"], cancelled.id, "withdrawn")
    asked = [second.id, "inv_missing", first.id, foreign.id, cancelled.id]
    outcomes = invoices.release_invoices(world.uows(), world.op("CN"), asked, "stale: 6 cycles")
    released = [o for o in outcomes if isinstance(o, Invoice)]
    assert [o.id for o in released] == [second.id, first.id]
    assert all(o.status is Status.RELEASED for o in released)
    assert [type(o) for o in outcomes[1:2] + outcomes[3:]] == [NotFound, NotFound, Conflict]
    assert world.history(first.id)[-1].reason == "stale: 6 cycles"
    assert world.invoice(foreign.id).status is Status.ELIGIBLE


def test_a_bulk_release_is_refused_whole_when_the_request_is_wrong(world: World) -> None:
    invoice = world.eligible("cn0", "ru0")
    for ids, field in (([], "invoice_ids"), ([invoice.id, invoice.id], "invoice_ids")):
        with pytest.raises(InvalidInput) as refused:
            invoices.release_invoices(world.uows(), world.op("CN"), ids, "stale")
        assert refused.value.field == field
    with pytest.raises(InvalidInput) as refused:
        invoices.release_invoices(world.uows(), world.op("CN"), [invoice.id], " ")
    assert refused.value.field == "reason"
    with pytest.raises(Forbidden):
        invoices.release_invoices(world.uows(), world.traders["cn0"], [invoice.id], "stale")
    assert world.invoice(invoice.id).status is Status.ELIGIBLE
