"""What every page shares: signing in (and landing where one was going), the language from the
switch or Accept-Language, locale formatting, and unknown pages answered as pages."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from service.ui.formatting import Formats
from tests.ops.pages import sign_in
from tests.pilot import Pilot


def test_each_role_lands_on_its_home_page(pilot: Pilot, client: TestClient) -> None:
    assert sign_in(client, pilot.keys["op-CN"]) == "/ui/cycles"
    assert sign_in(client, pilot.keys["cn1"]) == "/ui/invoices"
    assert sign_in(client, pilot.keys["auditor"]) == "/ui/ledger"


def test_an_admin_key_is_refused_at_sign_in(pilot: Pilot, client: TestClient) -> None:
    answer = client.post("/ui/login", data={"key": pilot.keys["admin"]})
    assert answer.status_code == 401
    assert "not a trader&#39;s, an operator&#39;s or an auditor&#39;s key" in answer.text


def test_a_page_asked_for_before_signing_in_is_where_one_lands(
    pilot: Pilot, client: TestClient
) -> None:
    asked = client.get("/ui/reports/imbalance", follow_redirects=False)
    assert asked.headers["location"] == "/ui/login?next=%2Fui%2Freports%2Fimbalance"
    assert sign_in(client, pilot.keys["op-RU"], "/ui/reports/imbalance") == (
        "/ui/reports/imbalance"
    )
    assert sign_in(client, pilot.keys["op-RU"], "https://elsewhere.example/") == "/ui/cycles"


def test_the_language_follows_accept_language_and_then_the_switch(
    pilot: Pilot, client: TestClient
) -> None:
    sign_in(client, pilot.keys["op-CN"])
    chinese = client.get("/ui/reports/imbalance", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh">' in chinese.text
    client.get("/ui/language/ru?next=/ui/reports/imbalance")
    russian = client.get("/ui/reports/imbalance", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="ru">' in russian.text
    english = client.get("/ui/language/en", follow_redirects=False)
    assert english.headers["location"] == "/ui/"


def test_an_unknown_page_is_a_page_that_says_so(pilot: Pilot, client: TestClient) -> None:
    sign_in(client, pilot.keys["op-CN"])
    answer = client.get("/ui/no-such-page")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert 'data-testid="problem"' in answer.text


def test_amounts_are_grouped_per_locale_with_every_minor_digit() -> None:
    assert Formats("en").money(100000000, "RUB") == "1,000,000.00\u00a0RUB"
    assert Formats("ru").amount(123456789, "CNY") == "1\u00a0234\u00a0567,89"
    assert Formats("zh").amount(-5, "CNY") == "-0.05"
    assert Formats("en").amount(1000, "JPY") == "1,000"


def test_ratios_are_percentages_and_times_carry_utc_on_hover() -> None:
    assert Formats("en").percent("0.176295") == "17.6%"
    assert Formats("ru").percent("1.000000").replace("\u00a0", " ") == "100,0 %"
    shown = Formats("en").when(datetime(2026, 12, 4, 6, 30, tzinfo=UTC))
    assert 'datetime="2026-12-04T06:30:00Z"' in shown
    assert 'title="Dec 4, 2026, 6:30:00\u202fAM UTC"' in shown
