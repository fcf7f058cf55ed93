"""The whole workflow through the pages, in a real headless Chromium, on PostgreSQL.

CN approves under four eyes (two operators, neither the one who closed the cycle); RU with one.
A first cycle is settled through the use cases; the second is driven in the browser from the
traders' invoices to the entities' pain.001 files: submit, confirm (form and CSV upload), open,
rates, cut-off, approvals, camt.054 imports that settle it, the downloads checked against the
pain.001.001.09 XSD, and the imbalance chart over both cycles. The pages are then read in
Chinese and Russian: no label the catalogue translates may show in English.

Needs Debian's chromium. A failing test leaves a full-page screenshot in ``out/screenshots/``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sepaxml
import xmlschema
from babel.messages.pofile import read_po
from playwright.sync_api import LocatorAssertions, Page, expect

from clearing.adapters.files import payments
from clearing.domain.access import Principal
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.invoices import InvoiceDraft
from clearing.domain.money import format_amount
from clearing.entrypoints import bootstrap
from clearing.use_cases import bank, cycles, invoices, settlement
from clearing.use_cases.ports import UnitOfWorkFactory
from clearing.use_cases.settlement import PositionView
from service.app import create_app
from service.ui.i18n import catalogue_path
from service.ui.invoices import INVOICE_FIELDS
from tests.bank_files import Line, camt
from tests.ops.live_server import app_in_thread
from tests.pilot import ENTITY_BANKS, RATES, make_parties

ROOT = Path(__file__).resolve().parents[2]
RATES_FILE = ROOT / "examples" / "rates-2026-10.json"
PAIN_001_XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.09.xsd"
NS = {"p": payments.PAIN_001_NAMESPACE}
#: Who acts for each entity where one operator is enough (pay-ins, imports, downloads).
DESK = {"CN": "cn-approver-1", "RU": "ru-operator"}
#: The second cycle's trade: RU-1 sells to CN-1 in CNY, CN-2 to RU-2 in RUB. Each corridor
#: has a debtor, so each side has a payer: CN-1 pays CN in CNY, RU-2 pays RU in RUB.
FIRST_SALE = ("RC-2026-0001", "CNY", "10000.00")
SECOND_SALE = ("CR-2026-0001", "RUB", "150000.00")
#: Where each language's labels are checked, as an operator.
CHECKED_PAGES = (
    "/ui/cycles",
    "/ui/cycles/{cycle_id}",
    "/ui/invoices",
    "/ui/bank",
    "/ui/ledger",
    "/ui/reports/imbalance",
)
#: Every trimmed text node of the body, and every label kept in an attribute, as shown.
SHOWN_TEXTS = """() => {
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement && node.parentElement.closest("script, style, template")) continue;
    texts.push(node.textContent);
  }
  for (const element of document.body.querySelectorAll("[placeholder], [aria-label], [title]")) {
    for (const name of ["placeholder", "aria-label", "title"]) {
      if (element.hasAttribute(name)) texts.push(element.getAttribute(name));
    }
  }
  return texts.map((text) => text.replace(/\\s+/g, " ").trim()).filter((text) => text);
}"""


# -- the world, built through the use cases -----------------------------------------------------


@dataclass
class World:
    uows: UnitOfWorkFactory
    keys: dict[str, str]
    principals: dict[str, Principal]

    def participant(self, name: str) -> str:
        return self.principals[name].participant_id or ""

    def positions(self, cycle_id: str) -> list[PositionView]:
        return settlement.cycle_positions(self.uows(), self.principals["auditor"], cycle_id)

    def cycle(self, cycle_id: str) -> Cycle:
        return cycles.get_cycle(self.uows(), self.principals["auditor"], cycle_id)


def make_world(uows: UnitOfWorkFactory) -> World:
    """CN (four eyes) and RU; an admin, an auditor, a CN operator who opens and closes cycles,
    two CN operators who approve, one RU operator, and two traders on each side."""
    keys, principals = make_parties(
        uows,
        operators=(
            ("cn-closer", "CN"),
            ("cn-approver-1", "CN"),
            ("cn-approver-2", "CN"),
            ("ru-operator", "RU"),
        ),
        approvals=(2, 1),
    )
    return World(uows, keys, principals)


def trade(world: World, exporter: str, importer: str, sale: tuple[str, str, str]) -> None:
    """An invoice ``exporter`` submits and ``importer`` confirms."""
    number, currency, amount = sale
    invoice = invoices.submit_invoice(
        world.uows(),
        world.principals[exporter],
        InvoiceDraft(
            invoice_number=number,
            importer_id=world.participant(importer),
            currency=currency,
            amount=amount,
            issue_date=date(2026, 11, 20),
            due_date=date(2027, 1, 15),
            hs_code="120190",
            description="soybeans",
        ),
    )
    invoices.confirm_invoice(world.uows(), world.principals[importer], invoice.id, currency, amount)


def propose(world: World, rates: dict[str, Any]) -> Cycle:
    cycle = cycles.open_cycle(world.uows(), world.principals["ru-operator"], "fifo")
    cycles.set_rates(world.uows(), world.principals["ru-operator"], cycle.id, rates)
    return cycles.close_cycle(world.uows(), world.principals["cn-closer"], cycle.id)


def approve(world: World, cycle: Cycle) -> Cycle:
    for operator in ("cn-approver-1", "cn-approver-2", "ru-operator"):
        assert cycle.digest is not None
        cycle = cycles.approve_cycle(
            world.uows(), world.principals[operator], cycle.id, cycle.digest
        )
    return cycle


def settle_first_cycle(world: World) -> Cycle:
    """Cycle 1, balanced (the same value each way), settled by pay-ins recorded by hand."""
    trade(world, "cn1", "ru1", ("FIRST-CN-1", "CNY", "20000.00"))
    trade(world, "ru2", "cn2", ("FIRST-RU-1", "CNY", "20000.00"))
    cycle = approve(world, propose(world, dict(RATES)))
    for view in world.positions(cycle.id):
        if view.outstanding:
            p = view.position
            cycle = settlement.record_pay_in(
                world.uows(),
                world.principals[DESK[p.jurisdiction]],
                cycle.id,
                p.participant_id,
                p.currency,
                format_amount(view.outstanding, p.currency),
                f"BANK-{p.participant_id}",
            )
    assert cycle.status is CycleStatus.SETTLED
    return cycle


def payers(world: World, cycle_id: str, entity: str) -> list[PositionView]:
    return [
        v for v in world.positions(cycle_id) if v.position.jurisdiction == entity and v.outstanding
    ]


def notification(world: World, cycle_id: str, entity: str) -> bytes:
    """The entity's bank's camt.054: each payer's credit of what it owes, quoting its RF
    reference."""
    lines = [
        Line(
            f"{entity}-NTF-{n}",
            view.outstanding,
            view.position.currency,
            remittance=view.payment_reference or "",
            counterparty=view.position.participant_id,
        )
        for n, view in enumerate(payers(world, cycle_id, entity), start=1)
    ]
    return camt(lines, account=ENTITY_BANKS[entity][1], message_id=f"{entity}-{cycle_id}")


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def world(uows: UnitOfWorkFactory) -> World:
    return make_world(uows)


@pytest.fixture
def server(world: World) -> Iterator[str]:
    with app_in_thread(create_app(world.uows)) as url:
        yield url


@pytest.fixture(scope="module")
def pain_001_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(PAIN_001_XSD))


# -- steps in the browser -------------------------------------------------------------------------


def sign_in(page: Page, server: str, world: World, name: str) -> None:
    """Sign in with ``name``'s key (the cookie replaces whoever was signed in)."""
    page.goto(f"{server}/ui/login")
    page.fill("#key", world.keys[name])
    page.click("button[type=submit]")
    principal = world.principals[name]
    expect(page.get_by_test_id("who")).to_contain_text(principal.role.value)


def notice(page: Page) -> LocatorAssertions:
    """The notice a redirect after an action shows."""
    return expect(page.get_by_role("status"))


def submit_through_the_form(page: Page, importer_id: str, sale: tuple[str, str, str]) -> None:
    number, currency, amount = sale
    page.get_by_role("link", name="Submit an invoice").first.click()
    form = page.get_by_test_id("invoice-form")
    for field, value in (
        ("invoice_number", number),
        ("importer_id", importer_id),
        ("currency", currency),
        ("amount", amount),
        ("issue_date", "2026-11-20"),
        ("due_date", "2027-01-15"),
        ("hs_code", "120190"),
        ("description", "soybeans"),
    ):
        form.locator(f"#i-{field}").fill(value)
    page.get_by_test_id("submit-invoice").click()
    notice(page).to_contain_text(f"Invoice {number} submitted")
    expect(page.get_by_test_id("invoice-status")).to_have_text("awaiting confirmation")


def submit_through_a_csv(
    page: Page, tmp_path: Path, importer_id: str, sale: tuple[str, str, str]
) -> None:
    number, currency, amount = sale
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(INVOICE_FIELDS)
    writer.writerow(
        [number, importer_id, currency, amount, "2026-11-20", "2027-01-15", "120190", ""]
    )
    upload = tmp_path / "invoices.csv"
    upload.write_text(buffer.getvalue(), encoding="utf-8")
    page.get_by_role("link", name="Submit an invoice").first.click()
    page.get_by_test_id("csv-file").set_input_files(upload)
    page.get_by_test_id("upload").click()
    expect(page.get_by_test_id("upload-summary")).to_have_text("1 of 1 rows created.")
    expect(page.get_by_test_id("upload-created")).to_have_count(1)


def confirm(page: Page, sale: tuple[str, str, str]) -> None:
    """The importer finds the invoice in its list, opens it and echoes currency and amount."""
    number, currency, amount = sale
    page.get_by_test_id("invoice-link").filter(has_text=number).click()
    expect(page.get_by_test_id("invoice-status")).to_have_text("awaiting confirmation")
    page.get_by_test_id("confirm-currency").fill(currency)
    page.get_by_test_id("confirm-amount").fill(amount)
    page.get_by_test_id("confirm").click()
    notice(page).to_contain_text("Confirmed: the invoice is eligible for netting.")
    expect(page.get_by_test_id("invoice-status")).to_have_text("eligible")


def open_cycle_page(page: Page, server: str, cycle_id: str) -> None:
    page.goto(f"{server}/ui/cycles")
    page.locator(f'[data-cycle-id="{cycle_id}"] a[href="/ui/cycles/{cycle_id}"]').click()
    expect(page.get_by_test_id("cycle-status")).to_be_visible()


def approve_in_the_browser(page: Page, digest: str, first_of_two: bool) -> None:
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("approve-digest")).to_have_text(digest)
    if first_of_two:
        expect(page.get_by_test_id("four-eyes")).to_contain_text("yours would be the first of 2")
    page.get_by_test_id("confirm-approve").click()


def import_statement(page: Page, statement: Path, matched: int) -> None:
    page.get_by_role("link", name="Bank", exact=True).click()
    page.locator("#statement-file").set_input_files(statement)
    page.get_by_test_id("import-statement").click()
    notice(page).to_contain_text("Statement imported.")
    rows = page.get_by_test_id("import-row")
    expect(rows).to_have_count(matched)
    expect(page.locator("[data-testid=import-row][data-status=matched]")).to_have_count(matched)


def download_pain_001(page: Page, entity: str) -> bytes:
    with page.expect_download() as download:
        page.get_by_test_id(f"pain001-{entity}").click()
    assert download.value.suggested_filename.endswith(f"-{entity}-payments.xml")
    return Path(download.value.path()).read_bytes()


def check_pain_001(
    document: bytes, schema: xmlschema.XMLSchema, views: list[PositionView], entity: str
) -> None:
    """Valid against the XSD, and one transfer per pay-out of the entity's participants."""
    schema.validate(document.decode("utf-8"))
    root = ElementTree.fromstring(document)
    amounts = sorted(Decimal(e.text or "") for e in root.iterfind(".//p:InstdAmt", NS))
    expected = sorted(
        Decimal(format_amount(v.position.net, v.position.currency))
        for v in views
        if v.position.jurisdiction == entity and v.position.net > 0
    )
    assert expected, f"{entity} pays out nothing"
    assert amounts == expected
    [debtor_account] = [e.text for e in root.iterfind(".//p:DbtrAcct/p:Id/p:Othr/p:Id", NS)]
    assert debtor_account == ENTITY_BANKS[entity][1]


# -- the workflow -------------------------------------------------------------------------------


def test_traders_and_the_operators_of_both_entities_drive_a_cycle_from_invoices_to_pain_001(
    world: World,
    server: str,
    page: Page,
    tmp_path: Path,
    pain_001_schema: xmlschema.XMLSchema,
) -> None:
    first = settle_first_cycle(world)

    # RU-1 invoices CN-1 through the form; CN-1 confirms it.
    sign_in(page, server, world, "ru1")
    submit_through_the_form(page, world.participant("cn1"), FIRST_SALE)
    sign_in(page, server, world, "cn1")
    confirm(page, FIRST_SALE)
    # CN-2 invoices RU-2 through a CSV upload; RU-2 confirms it.
    sign_in(page, server, world, "cn2")
    submit_through_a_csv(page, tmp_path, world.participant("ru2"), SECOND_SALE)
    sign_in(page, server, world, "ru2")
    confirm(page, SECOND_SALE)

    # RU's operator opens cycle 2 and uploads the rates; CN's desk closes it.
    sign_in(page, server, world, "ru-operator")
    page.get_by_test_id("policy").select_option("fifo")
    page.get_by_test_id("open-cycle").click()
    notice(page).to_contain_text("Cycle 2 opened")
    expect(page.get_by_test_id("cycle-status")).to_have_text("open")
    cycle_id = urlsplit(page.url).path.rsplit("/", 1)[-1]
    page.locator("#rates-file").set_input_files(RATES_FILE)
    page.get_by_test_id("upload-rates").click()
    notice(page).to_contain_text("Rates set: 4 currencies against the base CNY.")
    expect(page.get_by_test_id("rates")).to_contain_text("RUB 0.0781")

    sign_in(page, server, world, "cn-closer")
    open_cycle_page(page, server, cycle_id)
    page.get_by_test_id("close-cycle").click()
    notice(page).to_contain_text("Cut-off done: cycle 2 is proposed.")
    expect(page.get_by_test_id("cycle-status")).to_have_text("proposed")
    digest = page.get_by_test_id("digest").inner_text()
    assert digest == world.cycle(cycle_id).digest
    # Under four eyes the operator who closed the cycle is not offered the approval.
    expect(page.get_by_test_id("approval-CN")).to_contain_text("four eyes: 0 of 2")
    expect(page.get_by_test_id("approve")).to_have_count(0)

    # Both sides pay in: CN-1 owes CN, RU-2 owes RU.
    assert {v.position.participant_id for v in payers(world, cycle_id, "CN")} == {
        world.participant("cn1")
    }
    assert {v.position.participant_id for v in payers(world, cycle_id, "RU")} == {
        world.participant("ru2")
    }

    # Four eyes for CN: 1 of 2, then 2 of 2; then RU.
    sign_in(page, server, world, "cn-approver-1")
    open_cycle_page(page, server, cycle_id)
    approve_in_the_browser(page, digest, first_of_two=True)
    notice(page).to_contain_text("Approved for CN (1 of 2)")
    expect(page.get_by_test_id("approval-CN")).to_contain_text("four eyes: 1 of 2")
    expect(page.get_by_test_id("cycle-status")).to_have_text("proposed")

    sign_in(page, server, world, "cn-approver-2")
    open_cycle_page(page, server, cycle_id)
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("given-approvals").locator("li")).to_have_count(1)
    page.get_by_test_id("confirm-approve").click()
    notice(page).to_have_text("Approved for CN.")
    expect(page.get_by_test_id("approval-CN")).to_contain_text("four eyes: 2 of 2")

    sign_in(page, server, world, "ru-operator")
    open_cycle_page(page, server, cycle_id)
    approve_in_the_browser(page, digest, first_of_two=False)
    notice(page).to_have_text("Approved for RU.")
    expect(page.get_by_test_id("cycle-status")).to_have_text("approved")
    for view in payers(world, cycle_id, "RU"):
        row = page.locator(f'[data-participant-id="{view.position.participant_id}"]')
        expect(row.get_by_test_id("payment-reference")).to_have_text(view.payment_reference or "")

    # Each entity's bank notification settles its payers' pay-ins; the second settles the cycle.
    views = world.positions(cycle_id)
    for entity in ("CN", "RU"):
        statement = tmp_path / f"camt054-{entity}.xml"
        statement.write_bytes(notification(world, cycle_id, entity))
        sign_in(page, server, world, DESK[entity])
        import_statement(page, statement, matched=len(payers(world, cycle_id, entity)))
        assert payers(world, cycle_id, entity) == []
    assert world.cycle(cycle_id).status is CycleStatus.SETTLED

    # Each entity pays out (RU-1 in RUB, CN-2 in CNY): its pain.001 is valid and complete.
    for entity in ("RU", "CN"):
        sign_in(page, server, world, DESK[entity])
        open_cycle_page(page, server, cycle_id)
        expect(page.get_by_test_id("cycle-status")).to_have_text("settled")
        check_pain_001(download_pain_001(page, entity), pain_001_schema, views, entity)

    # The imbalance report charts both cycles in each corridor.
    page.get_by_role("link", name="Imbalance").click()
    charts = page.get_by_test_id("corridor-chart")
    expect(charts).to_have_count(2)
    for chart in charts.all():
        expect(chart.locator("rect[data-series=submitted]")).to_have_count(2)
        for number in (first.number, 2):
            expect(
                chart.locator("text.axis").filter(has_text=re.compile(rf"^cycle {number}$"))
            ).to_have_count(1)
    expect(page.get_by_test_id("imbalance-table").locator("tbody tr")).to_have_count(4)


# -- the languages --------------------------------------------------------------------------------


def translated_labels(language: str) -> set[str]:
    """The catalogue's English labels that ``language`` shows otherwise: whole messages without
    placeholders, with a letter, and a translation that differs."""
    with catalogue_path(language).open("rb") as source:
        catalogue = read_po(source, locale=language)
    labels: set[str] = set()
    for message in catalogue:
        if not message.id or message.fuzzy:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english, translated in zip(ids, strings, strict=False):
            if (
                translated
                and translated != english
                and "%" not in english
                and re.search(r"[A-Za-z]", english)
            ):
                labels.add(" ".join(english.split()))
    return labels


def settle_second_cycle_from_the_bank(world: World) -> Cycle:
    trade(world, "ru1", "cn1", FIRST_SALE)
    trade(world, "cn2", "ru2", SECOND_SALE)
    cycle = approve(world, propose(world, json.loads(RATES_FILE.read_text(encoding="utf-8"))))
    for entity in ("CN", "RU"):
        statement = bootstrap.read_camt(notification(world, cycle.id, entity))
        bank.import_statement(world.uows(), world.principals[DESK[entity]], statement)
    settled = world.cycle(cycle.id)
    assert settled.status is CycleStatus.SETTLED
    return settled


def test_the_operators_pages_render_in_chinese_and_in_russian_with_no_untranslated_label(
    world: World, server: str, page: Page
) -> None:
    settle_first_cycle(world)
    cycle = settle_second_cycle_from_the_bank(world)

    sign_in(page, server, world, "cn-approver-1")
    for language in ("zh", "ru"):
        labels = translated_labels(language)
        page.get_by_test_id("languages").locator(f"a[lang={language}]").click()
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.get_by_test_id("languages").locator("strong")).to_have_attribute(
            "lang", language
        )
        for path in CHECKED_PAGES:
            response = page.goto(server + path.format(cycle_id=cycle.id))
            assert response is not None
            assert response.ok, path
            expect(page.locator("html")).to_have_attribute("lang", language)
            expect(page.locator("main h1")).to_be_visible()
            shown = page.evaluate(SHOWN_TEXTS)
            untranslated = sorted({text for text in shown if text in labels})
            assert untranslated == [], f"{language} {path} shows in English: {untranslated}"
