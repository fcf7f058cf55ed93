"""Fixtures of the operations tests: the pilot of :mod:`tests.pilot` on PostgreSQL."""

from __future__ import annotations

import pytest

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.pilot import Pilot, make_pilot


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Keep each phase's report on the test item, so fixtures can tell a failure (screenshots)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def pilot(uows: SqlUnitOfWorkFactory) -> Pilot:
    return make_pilot(uows)


@pytest.fixture
def on_test_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The commands under test use the test's throwaway database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url
