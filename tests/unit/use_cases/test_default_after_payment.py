"""A participant that has paid in everything it owes cannot be declared in default."""

from __future__ import annotations

import pytest

from clearing.domain.errors import Conflict
from clearing.domain.money import format_amount
from clearing.use_cases import cycles, settlement
from tests.pilot import Pilot


def test_a_payer_that_paid_in_full_cannot_be_declared_in_default(pilot: Pilot) -> None:
    cycle = pilot.cycle
    assert cycle.digest is not None
    for entity in cycle.required_approvals:
        cycle = cycles.approve_cycle(
            pilot.uows(), pilot.principals[f"op-{entity}"], cycle.id, cycle.digest
        )
    payers = [
        view
        for view in settlement.cycle_positions(pilot.uows(), pilot.principals["auditor"], cycle.id)
        if view.due
    ]
    assert len(payers) >= 2
    paid = payers[0].position
    operator = pilot.principals[f"op-{paid.jurisdiction}"]
    settlement.record_pay_in(
        pilot.uows(),
        operator,
        cycle.id,
        paid.participant_id,
        paid.currency,
        format_amount(payers[0].due, paid.currency),
        "BANK-FULL",
    )
    with pytest.raises(Conflict, match="paid in full"):
        settlement.declare_default(pilot.uows(), operator, cycle.id, paid.participant_id, "late")
    still = cycles.get_cycle(pilot.uows(), pilot.principals["auditor"], cycle.id)
    assert still.status.value == "settling"
