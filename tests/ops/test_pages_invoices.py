"""The invoice pages on PostgreSQL: listing with filters and paging, submitting one invoice or a
CSV of them, confirming and disputing, what a trader may not see, and releasing the stale
queue in bulk."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from clearing.domain.ageing import AgeingKind
from clearing.domain.invoices import Invoice, InvoiceDraft, Status
from clearing.use_cases import ageing, invoices
from service.ui import invoices as invoice_pages
from tests.ops.pages import sign_in
from tests.pilot import Pilot

HEADER = "invoice_number,importer_id,currency,amount,issue_date,due_date,hs_code,description"


def participant(pilot: Pilot, name: str) -> str:
    return pilot.principals[name].participant_id or ""


def submit(
    pilot: Pilot,
    exporter: str,
    importer: str,
    number: str,
    *,
    amount: str = "100.00",
    currency: str = "CNY",
    due: date = date(2026, 12, 31),
) -> Invoice:
    draft = InvoiceDraft(
        invoice_number=number,
        importer_id=participant(pilot, importer),
        currency=currency,
        amount=amount,
        issue_date=date(2020, 1, 1),
        due_date=due,
        hs_code="120190",
        description="soybeans",
    )
    return invoices.submit_invoice(pilot.uows(), pilot.principals[exporter], draft)


def numbers_shown(page: str) -> list[str]:
    return re.findall(r'data-testid="invoice-link">([^<]+)<', page)


def all_invoices(pilot: Pilot) -> list[Invoice]:
    return invoices.list_invoices(pilot.uows(), pilot.principals["auditor"], limit=500)


def test_an_operator_filters_invoices_by_status_and_corridor_with_names_beside_ids(
    pilot: Pilot, client: TestClient
) -> None:
    sign_in(client, pilot.keys["op-CN"])
    listed = client.get("/ui/invoices")
    assert listed.status_code == 200
    assert numbers_shown(listed.text) == ["T-1", "T-2", "T-3", "T-4"]
    assert f"Trader cn1 ({participant(pilot, 'cn1')})" in listed.text
    # A participant of the other entity shows as its id alone.
    assert "Trader ru1" not in listed.text
    assert participant(pilot, "ru1") in listed.text
    assert "1,000,000.00\u00a0RUB" in listed.text

    in_cycle = client.get("/ui/invoices", params={"status": "in_cycle"})
    assert numbers_shown(in_cycle.text) == ["T-1", "T-2", "T-3", "T-4"]
    eligible = client.get("/ui/invoices", params={"status": "eligible"})
    assert numbers_shown(eligible.text) == []
    assert "No invoice matches these filters." in eligible.text

    exported_to_china = client.get("/ui/invoices", params={"corridor": "RU→CN"})
    assert numbers_shown(exported_to_china.text) == ["T-1", "T-2"]
    assert numbers_shown(client.get("/ui/invoices?corridor=cn-ru").text) == ["T-3", "T-4"]
    counterparty = client.get("/ui/invoices", params={"counterparty": participant(pilot, "ru2")})
    assert numbers_shown(counterparty.text) == ["T-2", "T-3"]

    refused = client.get("/ui/invoices", params={"corridor": "China"})
    assert refused.status_code == 422
    assert "corridor" in refused.text


def test_an_operator_pages_through_a_filtered_list_keeping_the_filters(
    pilot: Pilot, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(5, 9):
        submit(pilot, "cn1", "ru1", f"T-{number}", due=date(2027, 3, 1))
    monkeypatch.setattr(invoice_pages.common, "PAGE_SIZE", 2)
    # The use case reads one invoice at a time, so the filter must read on across pages.
    monkeypatch.setattr(invoices, "MAX_PAGE", 1)
    sign_in(client, pilot.keys["op-RU"])

    first = client.get("/ui/invoices", params={"corridor": "CN→RU", "due_from": "2026-12-01"})
    assert numbers_shown(first.text) == ["T-3", "T-4"]
    next_page = re.search(r'href="([^"]+)" data-testid="next-page"', first.text)
    assert next_page is not None
    link = next_page.group(1).replace("&amp;", "&")
    assert "corridor=CN" in link
    assert "due_from=2026-12-01" in link
    second = client.get(link)
    assert numbers_shown(second.text) == ["T-5", "T-6"]
    third_link = re.search(r'href="([^"]+)" data-testid="next-page"', second.text)
    assert third_link is not None
    third = client.get(third_link.group(1).replace("&amp;", "&"))
    assert numbers_shown(third.text) == ["T-7", "T-8"]

    due_later = client.get("/ui/invoices", params={"due_from": "2027-01-01"})
    assert numbers_shown(due_later.text) == ["T-5", "T-6"]


def test_a_trader_submits_an_invoice_through_the_form_and_sees_it_in_my_invoices(
    pilot: Pilot, client: TestClient
) -> None:
    sign_in(client, pilot.keys["cn2"])
    form = client.get("/ui/invoices/new")
    assert form.status_code == 200
    assert 'data-testid="invoice-form"' in form.text
    answer = client.post(
        "/ui/invoices/new",
        data={
            "invoice_number": "HH-2026-0042",
            "importer_id": participant(pilot, "ru2"),
            "currency": "CNY",
            "amount": "125000.50",
            "issue_date": "2026-11-02",
            "due_date": "2026-12-31",
            "hs_code": "120190",
            "description": "Soybeans, 400 t",
        },
    )
    assert answer.status_code == 200
    assert "awaits the importer" in answer.text
    assert "125,000.50\u00a0CNY" in answer.text
    mine = client.get("/ui/invoices")
    assert "My invoices" in mine.text
    assert numbers_shown(mine.text) == ["T-2", "T-4", "HH-2026-0042"]


def test_a_compliance_rejection_is_shown_with_its_rule_and_reason(
    pilot: Pilot, client: TestClient
) -> None:
    sign_in(client, pilot.keys["cn2"])
    answer = client.post(
        "/ui/invoices/new",
        data={
            "invoice_number": "ARMS-1",
            "importer_id": participant(pilot, "ru2"),
            "currency": "CNY",
            "amount": "10.00",
            "issue_date": "2026-11-02",
            "due_date": "2026-12-31",
            "hs_code": "930100",
        },
    )
    assert answer.status_code == 200
    assert "was rejected by compliance rule" in answer.text
    assert 'data-testid="rejection"' in answer.text


def test_a_bad_amount_shows_the_form_again_naming_the_field_and_creates_nothing(
    pilot: Pilot, client: TestClient
) -> None:
    sign_in(client, pilot.keys["cn1"])
    before = len(all_invoices(pilot))
    entered = {
        "invoice_number": "BAD-1",
        "importer_id": participant(pilot, "ru1"),
        "currency": "CNY",
        "amount": "12,50",
        "issue_date": "2026-11-02",
        "due_date": "2026-12-31",
        "hs_code": "120190",
        "description": "",
    }
    answer = client.post("/ui/invoices/new", data=entered)
    assert answer.status_code == 422
    assert 'data-testid="problem-amount"' in answer.text
    assert 'value="BAD-1"' in answer.text
    assert 'value="12,50"' in answer.text
    no_date = client.post("/ui/invoices/new", data={**entered, "amount": "1", "due_date": ""})
    assert no_date.status_code == 422
    assert 'data-testid="problem-due_date"' in no_date.text
    assert len(all_invoices(pilot)) == before


def test_a_csv_upload_creates_the_good_row_and_reports_the_bad_one(
    pilot: Pilot, client: TestClient
) -> None:
    sign_in(client, pilot.keys["cn1"])
    ru1 = participant(pilot, "ru1")
    content = (
        f"{HEADER}\n"
        f"CSV-1,{ru1},CNY,2500.00,2026-11-02,2026-12-31,120190,Soybeans\n"
        f"CSV-2,{ru1},CNY,2500.001,2026-11-02,2026-12-31,120190,Soybeans\n"
    )
    answer = client.post(
        "/ui/invoices/upload", files={"file": ("invoices.csv", content.encode(), "text/csv")}
    )
    assert answer.status_code == 200
    assert "1 of 2 rows created." in answer.text
    assert answer.text.count('data-testid="upload-created"') == 1
    errors = re.findall(r'data-testid="upload-error">([^<]+)<', answer.text)
    assert len(errors) == 1
    assert "amount" in errors[0]
    assert [i.invoice_number for i in all_invoices(pilot)][-1] == "CSV-1"

    template = client.get("/ui/invoices/template.csv")
    assert template.text.strip() == HEADER


def test_a_csv_with_a_wrong_header_or_not_text_changes_nothing(
    pilot: Pilot, client: TestClient
) -> None:
    sign_in(client, pilot.keys["cn1"])
    before = len(all_invoices(pilot))
    wrong = "number,importer,currency\nX,Y,CNY\n"
    answer = client.post(
        "/ui/invoices/upload", files={"file": ("x.csv", wrong.encode(), "text/csv")}
    )
    assert answer.status_code == 422
    assert "missing: invoice_number, importer_id" in answer.text
    binary = client.post(
        "/ui/invoices/upload", files={"file": ("x.csv", b"\xff\xfe\x00bad", "text/csv")}
    )
    assert binary.status_code == 422
    assert "not UTF-8" in binary.text
    assert len(all_invoices(pilot)) == before


def test_the_importer_confirms_and_another_disputes_with_the_reason_in_the_history(
    pilot: Pilot, client: TestClient
) -> None:
    to_ru1 = submit(pilot, "cn1", "ru1", "C-1", amount="700.00")
    to_ru2 = submit(pilot, "cn1", "ru2", "C-2", amount="800.00")

    sign_in(client, pilot.keys["ru1"])
    page = client.get(f"/ui/invoices/{to_ru1.id}")
    assert 'data-testid="confirm"' in page.text
    assert 'value="700.00"' in page.text
    confirmed = client.post(
        f"/ui/invoices/{to_ru1.id}/confirm", data={"currency": "CNY", "amount": "700.00"}
    )
    assert "Confirmed" in confirmed.text
    assert invoices.get_invoice(pilot.uows(), pilot.principals["ru1"], to_ru1.id).status is (
        Status.ELIGIBLE
    )

    sign_in(client, pilot.keys["ru2"])
    disputed = client.post(
        f"/ui/invoices/{to_ru2.id}/dispute", data={"reason": "goods not delivered"}
    )
    assert disputed.status_code == 200
    assert 'data-testid="dispute-reason">goods not delivered<' in disputed.text
    history = disputed.text.split('data-testid="history"')[1]
    assert "goods not delivered" in history
    assert "disputed" in history
    # A disputed invoice may be confirmed again; a differing amount keeps it disputed.
    differing = client.post(
        f"/ui/invoices/{to_ru2.id}/confirm", data={"currency": "CNY", "amount": "790.00"}
    )
    assert "now disputed" in differing.text

    sign_in(client, pilot.keys["auditor"])
    read_only = client.get(f"/ui/invoices/{to_ru2.id}")
    assert read_only.status_code == 200
    assert 'data-testid="invoice-actions"' not in read_only.text


def test_a_trader_cannot_open_another_traders_invoice(pilot: Pilot, client: TestClient) -> None:
    others = submit(pilot, "ru1", "cn1", "P-1")
    sign_in(client, pilot.keys["cn2"])
    answer = client.get(f"/ui/invoices/{others.id}")
    assert answer.status_code == 404
    assert 'data-testid="problem"' in answer.text
    refused = client.post(f"/ui/invoices/{others.id}/cancel", data={"reason": "mine now"})
    assert "error=" in str(refused.url)
    assert invoices.get_invoice(pilot.uows(), pilot.principals["ru1"], others.id).status is (
        Status.AWAITING_CONFIRMATION
    )


def test_an_operator_releases_selected_stale_invoices_in_bulk(
    pilot: Pilot, client: TestClient
) -> None:
    ageing.add_ageing_rule(pilot.uows(), AgeingKind.DAYS_OVERDUE, 1, "a day overdue")
    overdue = [submit(pilot, "cn1", "ru1", f"S-{n}", due=date(2020, 6, 30)) for n in (1, 2, 3)]
    for invoice in overdue:
        invoices.confirm_invoice(pilot.uows(), pilot.principals["ru1"], invoice.id, "CNY", "100.00")
    sign_in(client, pilot.keys["op-CN"])
    queue = client.get("/ui/invoices/stale")
    assert queue.status_code == 200
    for invoice in overdue:
        assert f'value="{invoice.id}"' in queue.text
    assert "days overdue: " in queue.text
    assert 'data-testid="select-all"' in queue.text

    released = client.post(
        "/ui/invoices/stale/release",
        data={"invoice_ids": [overdue[0].id, overdue[2].id], "reason": "settled by wire"},
    )
    assert released.status_code == 200
    assert "2 invoices released to conventional settlement." in released.text
    assert f'value="{overdue[1].id}"' in released.text
    assert f'value="{overdue[0].id}"' not in released.text
    statuses = {i.id: i.status for i in all_invoices(pilot)}
    assert [statuses[i.id] for i in overdue] == [Status.RELEASED, Status.ELIGIBLE, Status.RELEASED]

    nothing = client.post("/ui/invoices/stale/release", data={"reason": "x"})
    assert "invoice_ids" in nothing.text


def test_the_stale_queue_says_when_it_is_empty_and_refuses_traders(
    pilot: Pilot, client: TestClient
) -> None:
    # Without rules nothing is stale, whatever the day.
    for rule in ageing.list_ageing_rules(pilot.uows()):
        ageing.remove_ageing_rule(pilot.uows(), rule.kind, rule.threshold)
    sign_in(client, pilot.keys["op-RU"])
    assert "The stale queue is empty." in client.get("/ui/invoices/stale").text
    sign_in(client, pilot.keys["ru1"])
    assert client.get("/ui/invoices/stale").status_code == 403


def test_the_list_is_in_chinese_for_a_chinese_browser(pilot: Pilot, client: TestClient) -> None:
    sign_in(client, pilot.keys["op-CN"])
    answer = client.get("/ui/invoices", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh">' in answer.text
