"""The line and ledger pages on PostgreSQL: proposing a line and confirming it from the other
entity, a new limit, what a third entity may not see; the ledger's verification kept per
journal head (and re-run on demand), an operator's own book, the journal paged both ways, and
its export verifying offline as the API's does."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from clearing.domain.access import Role
from clearing.domain.ledger import verify_journal
from clearing.domain.money import format_amount
from clearing.entrypoints.cli import app as cli
from clearing.use_cases import audit, cycles, keys, lines, participants, settlement
from service.app import create_app
from service.ui import ledger as ledger_pages
from tests.pilot import RATES, Pilot, settle


@pytest.fixture
def client(pilot: Pilot) -> TestClient:
    return TestClient(create_app(pilot.uows))


def signed_in(pilot: Pilot, who: str) -> TestClient:
    client = TestClient(create_app(pilot.uows))
    answer = client.post("/ui/login", data={"key": pilot.keys[who]}, follow_redirects=False)
    assert answer.status_code == 303
    return client


def shown(page: str, name: str) -> list[str]:
    """The text of each element with ``data-testid=name`` (tags inside it dropped)."""
    found = re.findall(rf'data-testid="{name}"[^>]*>(.*?)</', page, flags=re.S)
    return [re.sub(r"<[^>]+>", "", text).strip() for text in found]


def seqs(page: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'data-testid="entry-row" data-seq="(\d+)"', page)]


def counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count the calls of ``audit.<name>`` as the ledger pages make them."""
    calls: list[int] = []
    original: Callable[..., Any] = getattr(audit, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(audit, name, counted)  # the module the ledger pages call
    return calls


def test_an_operator_proposes_a_line_the_other_entity_confirms_it_and_the_page_shows_its_history(
    pilot: Pilot,
) -> None:
    cn, ru = signed_in(pilot, "op-CN"), signed_in(pilot, "op-RU")
    assert shown(cn.get("/ui/lines").text, "empty") == ["No line yet: propose the first one below."]

    proposed = cn.post(
        "/ui/lines",
        data={"source": "CN", "target": "RU", "currency": "CNY", "limit": "5000000.00"},
        follow_redirects=False,
    )
    assert proposed.status_code == 303
    line_url = proposed.headers["location"].split("?")[0]
    line_id = line_url.rsplit("/", 1)[1]
    page = cn.get(proposed.headers["location"]).text
    assert f"Line {line_id} proposed: it waits for an operator of RU to confirm it." in page
    assert shown(page, "line-status") == ["pending"]
    assert shown(page, "line-limit") == ["5,000,000.00\u00a0CNY"]
    assert 'data-testid="confirm-line"' not in page
    assert shown(page, "waiting-other") == ["Waiting for an operator of RU to confirm."]

    # The same corridor and currency again is refused on the form, filled in as typed.
    again = cn.post(
        "/ui/lines",
        data={"source": "CN", "target": "RU", "currency": "CNY", "limit": "1.00"},
    )
    assert again.status_code == 409
    assert "change its limit instead" in again.text
    assert 'value="1.00"' in again.text

    listed = ru.get("/ui/lines").text
    assert shown(listed, "line-link") == [line_id]
    assert shown(listed, "line-awaiting") == ["you (RU)"]
    confirmed = ru.post(f"{line_url}/confirm", follow_redirects=True)
    assert f"Line {line_id} confirmed: it is active." in confirmed.text
    assert shown(confirmed.text, "line-status") == ["active"]
    history = re.findall(r'data-testid="history-row" data-action="(\w+)"', confirmed.text)
    assert history == ["confirmed", "proposed"]
    assert pilot.principals["op-RU"].id in confirmed.text
    assert shown(confirmed.text, "no-movements")

    # A third entity's operator: the line does not exist for it.
    participants.add_entity(pilot.uows(), "KZ", "KZT", "Kazakhstan clearing entity")
    key, _kz = keys.create_key(pilot.uows(), Role.OPERATOR, entity="KZ")
    kz = TestClient(create_app(pilot.uows))
    kz.post("/ui/login", data={"key": key})
    assert kz.get(line_url).status_code == 404
    assert 'data-testid="line-row"' not in kz.get("/ui/lines").text


def test_a_new_limit_waits_for_the_other_entity_and_a_bad_one_comes_back_as_a_notice(
    pilot: Pilot,
) -> None:
    view = lines.propose_line(pilot.uows(), pilot.principals["op-RU"], "CN", "RU", "CNY", "100")
    lines.confirm_line(pilot.uows(), pilot.principals["op-CN"], view.line.id)
    url = f"/ui/lines/{view.line.id}"
    cn, ru = signed_in(pilot, "op-CN"), signed_in(pilot, "op-RU")

    refused = cn.post(f"{url}/limit", data={"limit": "12.345"}, follow_redirects=True)
    assert refused.status_code == 200
    assert re.findall(r'role="alert">Please check your input\. limit: ', refused.text)

    proposed = cn.post(f"{url}/limit", data={"limit": "7500000.00"}, follow_redirects=True)
    assert "New limit of 7,500,000.00\u00a0CNY proposed: it waits for an operator of RU." in (
        proposed.text
    )
    assert shown(proposed.text, "line-limit") == ["100.00\u00a0CNY"]
    assert shown(proposed.text, "line-pending-limit")[0].startswith("7,500,000.00\u00a0CNY")
    assert 'data-testid="confirm-line"' not in proposed.text
    # Confirming one's own proposal is refused, and said so on the line's page.
    own = cn.post(f"{url}/confirm", follow_redirects=True)
    assert "waits for an operator of RU to confirm it, not CN" in own.text

    page = ru.get(url).text
    assert shown(page, "confirm-line") == ["Confirm the new limit of 7,500,000.00\u00a0CNY"]
    confirmed = ru.post(f"{url}/confirm", follow_redirects=True).text
    assert "The new limit of line" in confirmed
    assert shown(confirmed, "line-limit") == ["7,500,000.00\u00a0CNY"]
    history = re.findall(r'data-testid="history-row" data-action="(\w+)"', confirmed)
    assert history == ["limit_confirmed", "limit_proposed", "confirmed", "proposed"]
    assert "new limit confirmed" in confirmed


def test_a_cycle_drawing_on_a_line_shows_on_its_page_and_every_book_still_verifies(
    pilot: Pilot,
) -> None:
    settle(pilot)  # carries CN -> RU's excess into the pool
    view = lines.propose_line(pilot.uows(), pilot.principals["op-CN"], "CN", "RU", "CNY", "5000")
    lines.confirm_line(pilot.uows(), pilot.principals["op-RU"], view.line.id)
    operator = pilot.principals["op-CN"]
    opened = cycles.open_cycle(pilot.uows(), operator)
    cycles.set_rates(pilot.uows(), operator, opened.id, dict(RATES))
    drawn = settle(pilot, cycles.close_cycle(pilot.uows(), operator, opened.id))

    page = signed_in(pilot, "op-RU").get(f"/ui/lines/{view.line.id}").text
    assert shown(page, "line-balance")[0].startswith("5,000.00\u00a0CNY")
    movement = re.findall(r'data-testid="movement-row">(.*?)</tr>', page, flags=re.S)
    assert len(movement) == 1
    assert f'href="/ui/cycles/{drawn.id}"' in movement[0]
    assert movement[0].count("5,000.00\u00a0CNY") == 2  # drawn, and the balance after

    for who in ("op-CN", "op-RU", "auditor"):
        ledger = signed_in(pilot, who).get("/ui/ledger").text
        assert shown(ledger, "verify-status") == ["verified"], (who, shown(ledger, "problems"))
    assert f"line:{view.line.id}" in ledger


def test_the_auditors_ledger_is_verified_once_per_journal_head_and_again_on_demand(
    pilot: Pilot, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified = counting(monkeypatch, "verify")
    auditor = signed_in(pilot, "auditor")
    landing = auditor.get("/ui/")
    assert landing.url.path == "/ui/ledger"
    assert shown(landing.text, "verify-status") == ["verified"]
    assert shown(landing.text, "no-entries")
    assert len(verified) == 1
    assert shown(auditor.get("/ui/ledger").text, "verify-status") == ["verified"]
    assert len(verified) == 1  # the head has not moved: the kept verification is shown

    settle(pilot)
    page = auditor.get("/ui/ledger").text
    assert len(verified) == 2
    assert shown(page, "verify-status") == ["verified"]
    head_seq, head_hash = audit.head(pilot.uows(), pilot.principals["auditor"])
    assert head_hash in page
    assert seqs(page)[0] == head_seq  # the newest entry first
    # A settled cycle leaves every account at zero: none is listed, the page counts them.
    assert re.findall(r'data-testid="balance-row"', page) == []
    assert 'data-testid="zero-balances"' in page

    again = auditor.post("/ui/ledger/verify", follow_redirects=True)
    assert f"Verified again: {head_seq} entries." in again.text
    assert len(verified) == 3
    auditor.get("/ui/ledger")
    assert len(verified) == 3


def test_an_operator_sees_its_own_book_verified_and_verify_again_finds_a_changed_posting(
    pilot: Pilot, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    settle(pilot)
    whole = counting(monkeypatch, "verify")
    book = counting(monkeypatch, "verify_book")
    operator = signed_in(pilot, "op-CN")
    page = operator.get("/ui/ledger")
    assert page.status_code == 200
    assert shown(page.text, "verify-status") == ["verified"]
    assert "The books of CN" in page.text
    assert set(re.findall(r'data-testid="entry-row"[^>]* data-entity="(\w+)"', page.text)) == {"CN"}
    assert (len(whole), len(book)) == (0, 1)
    operator.get("/ui/ledger")
    assert len(book) == 1

    # A posting changed behind the journal's back (the head stands): kept as verified until
    # someone verifies again.
    cn_seq = min(
        d["seq"] for d in audit.ledger_entries(pilot.uows(), pilot.principals["op-CN"], 0, 100)
    )
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(
            text("UPDATE journal_postings SET amount = amount + 1 WHERE seq = :seq AND line = 1"),
            {"seq": cn_seq},
        )
        connection.execute(
            text("UPDATE journal_postings SET amount = amount - 1 WHERE seq = :seq AND line = 2"),
            {"seq": cn_seq},
        )
    assert shown(operator.get("/ui/ledger").text, "verify-status") == ["verified"]
    failed = operator.post("/ui/ledger/verify", follow_redirects=True).text
    assert shown(failed, "verify-status") == ["FAILED"]
    assert f"entry {cn_seq}: hash does not match the entry&#39;s content" in failed
    assert len(book) == 2

    trader = signed_in(pilot, "cn1")
    assert trader.get("/ui/ledger").status_code == 403


def test_the_journal_pages_go_forwards_and_back_for_an_auditor_and_for_an_operator(
    pilot: Pilot, monkeypatch: pytest.MonkeyPatch
) -> None:
    settle(pilot)
    monkeypatch.setattr(ledger_pages, "JOURNAL_PAGE", 2)
    head_seq, _hash = audit.head(pilot.uows(), pilot.principals["auditor"])
    assert head_seq >= 6
    auditor = signed_in(pilot, "auditor")
    first = auditor.get("/ui/ledger/journal").text
    assert seqs(first) == [1, 2]
    assert 'data-testid="previous-page"' not in first
    second = auditor.get(re.findall(r'href="([^"]+)" data-testid="next-page"', first)[0]).text
    assert seqs(second) == [3, 4]
    back = auditor.get(
        re.findall(r'href="([^"]+)" data-testid="previous-page"', second)[0].replace("&amp;", "&")
    ).text
    assert seqs(back) == [1, 2]
    newest = auditor.get(re.findall(r'href="([^"]+)" data-testid="newest-page"', first)[0]).text
    assert seqs(newest) == [head_seq - 1, head_seq]
    assert 'data-testid="next-page"' not in newest
    kinds = re.findall(r'data-kind="(\w+)"', first + second + newest)
    assert set(kinds) == {"pay_in", "discharge", "pay_out"}
    assert "pay-in" in first
    assert 'data-testid="entry-cycle"' in first

    ru_seqs = [
        d["seq"] for d in audit.ledger_entries(pilot.uows(), pilot.principals["op-RU"], 0, 100)
    ]
    operator = signed_in(pilot, "op-RU")
    pages: list[list[int]] = []
    url: str | None = "/ui/ledger/journal"
    while url:
        page = operator.get(url).text
        pages.append(seqs(page))
        found = re.findall(r'href="([^"]+)" data-testid="next-page"', page)
        url = found[0] if found else None
    assert [seq for page in pages for seq in page] == ru_seqs
    assert len(pages) >= 2
    last = operator.get(f"/ui/ledger/journal?after={pages[1][0] - 1}").text
    previous = re.findall(r'href="([^"]+)" data-testid="previous-page"', last)[0]
    assert seqs(operator.get(previous.replace("&amp;", "&")).text) == pages[0]


def test_the_journal_export_is_the_apis_and_verifies_offline(
    pilot: Pilot, client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settle(pilot)
    monkeypatch.setattr(ledger_pages, "EXPORT_BATCH", 4)
    auditor = signed_in(pilot, "auditor")
    exported = auditor.get("/ui/ledger/journal.jsonl")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in exported.headers["content-disposition"]
    api = client.get(
        "/v1/ledger/entries",
        params={"limit": 10_000},
        headers={"Authorization": f"Bearer {pilot.keys['auditor']}"},
    )
    assert exported.text == api.text
    documents = [json.loads(line) for line in exported.text.splitlines()]
    report = verify_journal(documents)
    assert report.ok
    assert report.cycles == 1
    journal = tmp_path / "journal.jsonl"
    journal.write_text(exported.text, encoding="utf-8")
    offline = CliRunner().invoke(cli, ["audit", "verify", "--from-file", str(journal)])
    assert offline.exit_code == 0, offline.output
    assert "ok" in offline.output

    operator = signed_in(pilot, "op-CN")
    own = operator.get("/ui/ledger/journal.jsonl").text
    assert {json.loads(line)["entity"] for line in own.splitlines()} == {"CN"}
    assert any("disclosure" in json.loads(line) for line in own.splitlines())

    balances = auditor.get("/ui/ledger/balances.csv")
    assert balances.headers["content-type"].startswith("text/csv")
    rows = balances.text.splitlines()
    assert rows[0] == "entity,account,currency,balance"
    assert any(row.startswith("CN,settlement,CNY,") for row in rows)


def test_a_balance_not_at_zero_is_listed_with_its_participants_name(pilot: Pilot) -> None:
    cycle = pilot.cycle
    for entity in cycle.required_approvals:
        assert cycle.digest is not None
        cycle = cycles.approve_cycle(
            pilot.uows(), pilot.principals[f"op-{entity}"], cycle.id, cycle.digest
        )
    payer = next(
        v
        for v in settlement.cycle_positions(pilot.uows(), pilot.principals["op-CN"], cycle.id)
        if v.outstanding
    )
    settlement.record_pay_in(
        pilot.uows(),
        pilot.principals["op-CN"],
        cycle.id,
        payer.position.participant_id,
        payer.position.currency,
        format_amount(payer.outstanding, payer.position.currency),
        "BANK-1",
    )
    page = signed_in(pilot, "op-CN").get("/ui/ledger").text
    rows = re.findall(r'data-testid="balance-row" data-entity="(\w+)"', page)
    assert set(rows) == {"CN"}
    names = {
        p.id: p.name
        for p in participants.list_participants(pilot.uows(), pilot.principals["op-CN"], None, 100)
    }
    assert names[payer.position.participant_id] in page
