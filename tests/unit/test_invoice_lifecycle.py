"""The invoice lifecycle of DESIGN §6, declared once as a table of allowed transitions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.domain.errors import Conflict
from clearing.domain.invoices import (
    LIFECYCLE,
    OPEN_STATES,
    Action,
    Invoice,
    Status,
    require_transition,
)

FINAL_STATES = {Status.SETTLED, Status.REJECTED, Status.CANCELLED, Status.RELEASED}
#: The actions a cycle applies to every invoice it holds in one statement.
CYCLE_ACTIONS = (Action.SCREEN_OUT, Action.TAKE, Action.RETURN, Action.SETTLE)

AN_INVOICE = Invoice(
    id="inv_1",
    invoice_number="N-1",
    exporter_id="RU-A",
    exporter_entity="RU",
    importer_id="CN-A",
    importer_entity="CN",
    currency="CNY",
    amount=100_00,
    outstanding=100_00,
    issue_date=date(2026, 11, 1),
    due_date=date(2026, 12, 1),
    hs_code="4403",
    description="round timber",
    status=Status.AWAITING_CONFIRMATION,
    priority=1,
    sequence=1,
)


def test_every_action_of_the_lifecycle_is_declared() -> None:
    assert set(LIFECYCLE) == set(Action)


def test_no_action_starts_from_a_final_state() -> None:
    for action, transition in LIFECYCLE.items():
        assert not transition.sources & FINAL_STATES, action


def test_every_state_but_the_final_ones_has_a_way_forward() -> None:
    starts = set().union(*(t.sources for t in LIFECYCLE.values()))
    assert starts == set(Status) - FINAL_STATES


def test_every_state_is_reached_by_some_action() -> None:
    reached = {t.target for t in LIFECYCLE.values()} | {
        t.otherwise for t in LIFECYCLE.values() if t.otherwise is not None
    }
    assert reached == set(Status)


def test_each_cycle_time_action_starts_from_one_state_so_a_statement_can_record_it() -> None:
    for action in CYCLE_ACTIONS:
        assert len(LIFECYCLE[action].sources) == 1, action
        assert LIFECYCLE[action].source_values == (LIFECYCLE[action].source.value,)


def test_an_invoice_is_cancelled_or_released_only_before_a_cycle_takes_it() -> None:
    assert LIFECYCLE[Action.CANCEL].sources == OPEN_STATES
    assert LIFECYCLE[Action.RELEASE].sources == OPEN_STATES
    assert Status.IN_CYCLE not in OPEN_STATES


def test_a_partly_settled_invoice_is_eligible_again_and_a_mismatched_confirmation_disputes() -> (
    None
):
    assert LIFECYCLE[Action.SETTLE].outcome() is Status.SETTLED
    assert LIFECYCLE[Action.SETTLE].outcome(normal=False) is Status.ELIGIBLE
    assert LIFECYCLE[Action.CONFIRM].outcome(normal=False) is Status.DISPUTED


def test_a_transition_without_another_outcome_says_so() -> None:
    with pytest.raises(ValueError, match="no other outcome"):
        LIFECYCLE[Action.CANCEL].outcome(normal=False)


@given(st.sampled_from(list(Action)), st.sampled_from(list(Status)))
def test_an_action_is_allowed_exactly_from_its_declared_states(
    action: Action, status: Status
) -> None:
    invoice = replace(AN_INVOICE, status=status)
    if status in LIFECYCLE[action].sources:
        assert require_transition(invoice, action) is LIFECYCLE[action]
    else:
        with pytest.raises(Conflict) as refused:
            require_transition(invoice, action)
        assert refused.value.field == "status"
        assert refused.value.message == f"cannot {action.value} an invoice that is {status.value}"
