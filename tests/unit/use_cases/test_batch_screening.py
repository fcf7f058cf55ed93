"""A batch is screened once per kind of goods and listed party, not once per invoice: each item
still gets what screening it alone would give."""

from __future__ import annotations

from dataclasses import replace

from clearing.domain.invoices import Invoice, Status
from clearing.use_cases import invoices
from clearing.use_cases.compliance import add_rule
from tests.unit.use_cases.world import World


def test_a_batch_screens_each_item_as_if_it_came_alone(world: World) -> None:
    add_rule(world.uows(), "blocked_party", world.id("cn1"), "screening list")
    goods = ("120190", "8471", "9301", "120190", "8471", "0201")
    drafts = [
        replace(world.draft(importer, hs_code=hs), exporter_id=world.id("ru0"))
        for hs in goods
        for importer in ("cn0", "cn1", "kz0")
    ]

    together = invoices.submit_invoices(world.uows(), world.op("RU"), drafts)
    alone = [
        invoices.submit_invoice(
            world.uows(), world.op("RU"), replace(d, invoice_number=f"{d.invoice_number}-A")
        )
        for d in drafts
    ]

    def screening(outcome: object) -> tuple[object, ...]:
        assert isinstance(outcome, Invoice)
        return (outcome.status, outcome.priority, outcome.rejection)

    assert [screening(o) for o in together] == [screening(o) for o in alone]
    assert {screening(o)[0] for o in together} == {Status.AWAITING_CONFIRMATION, Status.REJECTED}
    assert {screening(o)[1] for o in together} == {0, 1}
