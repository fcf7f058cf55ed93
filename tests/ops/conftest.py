"""Fixtures of the operations tests: the pilot of :mod:`tests.pilot` on PostgreSQL, a client
of its pages, and a tab of Debian's chromium that leaves a screenshot when its test fails."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, sync_playwright

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from service.app import create_app
from tests.pilot import Pilot, make_pilot

SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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


@pytest.fixture
def client(pilot: Pilot) -> TestClient:
    """The app on the pilot's database, for pages and their forms (it keeps the key cookie)."""
    return TestClient(create_app(pilot.uows))


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab of a headless chromium; a failing test leaves ``out/screenshots/<test>.png``."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        tab = browser.new_page(viewport={"width": 1200, "height": 1000}, accept_downloads=True)
        yield tab
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
        browser.close()
