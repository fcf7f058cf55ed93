"""The ledger's use cases: the journal and balances by role, and the audit that re-checks every
settled cycle against its digest."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from clearing.domain.errors import Forbidden, InvalidInput
from clearing.use_cases import audit
from tests.fakes import FakeUnitOfWorkFactory
from tests.pilot import Pilot, settle


def test_verify_reports_a_changed_cycle_digest(pilot: Pilot) -> None:
    cycle = settle(pilot)
    report = audit.verify(pilot.uows(), pilot.principals["auditor"])
    assert report.ok
    assert report.cycles == 1
    assert cycle.status.value == "settled"


def test_verify_names_a_settled_cycle_whose_stored_digest_was_changed(
    pilot: Pilot, fake_uows: FakeUnitOfWorkFactory
) -> None:
    cycle = settle(pilot)
    tables = fake_uows.store.committed
    tables.cycles[cycle.id] = replace(tables.cycles[cycle.id], digest="0" * 64)

    report = audit.verify(pilot.uows(), pilot.principals["auditor"])

    assert not report.ok
    messages = [p.message for p in report.problems if p.cycle_id == cycle.id]
    assert len(messages) == 2
    assert messages[0].startswith("re-netting the snapshot gives")
    assert messages[1] == f"the journal records digest {cycle.digest}, the cycle {'0' * 64}"


def test_only_an_auditor_may_run_the_verification(pilot: Pilot) -> None:
    for name in ("op-CN", "cn1", "admin"):
        with pytest.raises(Forbidden):
            audit.verify(pilot.uows(), pilot.principals[name])


def test_an_operator_reads_its_own_entitys_journal_and_balances_and_an_auditor_all(
    pilot: Pilot,
) -> None:
    settle(pilot)
    everything = audit.ledger_entries(pilot.uows(), pilot.principals["auditor"], 0, 100)
    assert {d["entity"] for d in everything} == {"CN", "RU"}
    assert [d["seq"] for d in everything] == list(range(1, len(everything) + 1))
    for entity in ("CN", "RU"):
        operator = pilot.principals[f"op-{entity}"]
        own = audit.ledger_entries(pilot.uows(), operator, 0, 100)
        theirs = [d for d in everything if d["entity"] == entity]
        assert [drop(d, "disclosure") for d in own] == [drop(d, "cycle") for d in theirs]
        (disclosed,) = [d["disclosure"] for d in own if "disclosure" in d]
        assert disclosed["entity"] == entity
        balances = audit.ledger_balances(pilot.uows(), operator)
        assert balances
        assert {key[0] for key in balances} == {entity}
    assert audit.ledger_entries(pilot.uows(), pilot.principals["auditor"], 2, 1) == [everything[2]]


def test_traders_and_admins_read_no_journal(pilot: Pilot) -> None:
    for name in ("cn1", "admin"):
        with pytest.raises(Forbidden):
            audit.ledger_entries(pilot.uows(), pilot.principals[name], 0, 10)
        with pytest.raises(Forbidden):
            audit.ledger_balances(pilot.uows(), pilot.principals[name])


@pytest.mark.parametrize(
    ("after", "limit", "field"),
    [(-1, 10, "after"), (0, 0, "limit"), (0, 10_001, "limit")],
)
def test_a_journal_page_outside_its_bounds_is_invalid_input(
    pilot: Pilot, after: int, limit: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        audit.ledger_entries(pilot.uows(), pilot.principals["auditor"], after, limit)
    assert refused.value.field == field


def drop(document: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in document.items() if name != key}
