"""A participant that has paid in everything it owes cannot be declared in default."""

from __future__ import annotations

import pytest

from clearing import cycle_services
from clearing.errors import Conflict
from clearing.money import format_amount
from tests.ops.conftest import Pilot


def test_a_payer_that_paid_in_full_cannot_be_declared_in_default(pilot: Pilot) -> None:
    cycle = pilot.cycle
    assert cycle.digest is not None
    for entity in cycle.required_approvals:
        cycle = cycle_services.approve_cycle(
            pilot.uows(), pilot.principals[f"op-{entity}"], cycle.id, cycle.digest
        )
    payers = [
        view
        for view in cycle_services.cycle_positions(
            pilot.uows(), pilot.principals["auditor"], cycle.id
        )
        if view.due
    ]
    assert len(payers) >= 2
    paid = payers[0].position
    operator = pilot.principals[f"op-{paid.jurisdiction}"]
    cycle_services.record_pay_in(
        pilot.uows(),
        operator,
        cycle.id,
        paid.participant_id,
        paid.currency,
        format_amount(payers[0].due, paid.currency),
        "BANK-FULL",
    )
    with pytest.raises(Conflict, match="paid in full"):
        cycle_services.declare_default(
            pilot.uows(), operator, cycle.id, paid.participant_id, "late"
        )
    still = cycle_services.get_cycle(pilot.uows(), pilot.principals["auditor"], cycle.id)
    assert still.status.value == "settling"
