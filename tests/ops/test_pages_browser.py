"""The operators' pages in a real headless Chromium: sign in, open a proposed cycle, approve it.

Needs Debian's chromium (``make test`` installs it). A failing test leaves a screenshot in
``out/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from clearing.use_cases import cycles
from service.app import create_app
from tests.ops.live_server import app_in_thread
from tests.pilot import Pilot, settle


@pytest.fixture
def server(pilot: Pilot) -> Iterator[str]:
    with app_in_thread(create_app(pilot.uows)) as url:
        yield url


def test_an_operator_signs_in_approves_a_proposed_cycle_and_sees_it_approved(
    pilot: Pilot, server: str, page: Page
) -> None:
    cycle = pilot.cycle
    assert cycle.digest is not None
    cycles.approve_cycle(pilot.uows(), pilot.principals["op-RU"], cycle.id, cycle.digest)

    page.goto(f"{server}/ui/login")
    page.fill("#key", pilot.keys["op-CN"])
    page.click("button[type=submit]")
    expect(page.get_by_test_id("who")).to_contain_text("operator · CN")
    page.click(f"text={cycle.id}")
    expect(page.get_by_test_id("cycle-status")).to_have_text("proposed")
    expect(page.get_by_test_id("digest")).to_have_text(cycle.digest)
    expect(page.locator("svg.chart rect")).to_have_count(4)
    # A value axis of five round ticks, and each bar's value written beside it.
    expect(page.locator("svg.chart text.axis")).to_have_count(5)
    expect(page.locator("svg.chart text.value")).to_have_count(4)

    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("approve-digest")).to_have_text(cycle.digest)
    page.get_by_test_id("confirm-approve").click()
    expect(page.get_by_test_id("cycle-status")).to_have_text("approved")
    expect(page.get_by_role("status")).to_contain_text("Approved for CN")
    assert (
        cycles.get_cycle(pilot.uows(), pilot.principals["auditor"], cycle.id).status.value
        == "approved"
    )


def test_the_imbalance_page_charts_each_corridor_over_cycles_with_axes_values_and_a_legend(
    pilot: Pilot, server: str, page: Page
) -> None:
    settled = settle(pilot)
    assert settled.summary is not None

    page.goto(f"{server}/ui/login")
    page.fill("#key", pilot.keys["op-RU"])
    page.click("button[type=submit]")
    page.get_by_role("link", name="Imbalance").click()
    charts = page.get_by_test_id("corridor-chart")
    expect(charts).to_have_count(len(settled.summary.corridors))
    first = charts.first
    # Four bars per cycle (submitted, settled, carried, line), an axis of five round ticks, a
    # legend naming the four series, and every value on hover.
    expect(first.locator("rect[data-series]")).to_have_count(4)
    expect(first.locator("text.axis")).to_have_count(5 + 1)
    expect(first.locator(".legend")).to_contain_text("carried forward")
    expect(first.locator(".legend")).to_contain_text("line drawn + repaid")
    expect(first.locator("rect[data-series=submitted] title")).to_contain_text(
        f"cycle {settled.number}: submitted"
    )
    expect(page.get_by_test_id("imbalance-table").locator("tbody tr")).to_have_count(
        len(settled.summary.corridors)
    )
    expect(page.get_by_test_id("ageing-table")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_test_id("imbalance-csv").click()
    rows = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("cycle_id,cycle_number,from,to,submitted")
    assert len(rows) == 1 + len(settled.summary.corridors)


def test_a_wrong_key_is_refused_at_sign_in(pilot: Pilot, server: str, page: Page) -> None:
    page.goto(f"{server}/ui/login")
    page.fill("#key", "ck_not-a-key")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text(
        "not a trader's, an operator's or an auditor's key"
    )


def test_an_auditor_sees_the_ledger_verified(pilot: Pilot, server: str, page: Page) -> None:
    page.goto(f"{server}/ui/login")
    page.fill("#key", pilot.keys["auditor"])
    page.click("button[type=submit]")
    expect(page.get_by_test_id("verify-status")).to_have_text("verified")


def test_the_api_docs_render_with_no_network_beyond_the_server_and_offer_authorize(
    server: str, page: Page
) -> None:
    foreign: list[str] = []

    def only_the_server(route: Route) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.goto(f"{server}/docs")
    expect(page.locator(".swagger-ui .btn.authorize")).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/v1/invoices").first).to_be_visible()
    assert foreign == []
