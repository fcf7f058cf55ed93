"""The cycle, statement and bank pages on PostgreSQL: the list (a superseded cycle is not
"settled"), opening a cycle, its rates by form and by RATES.json, cut-off, the two-step
approval under four eyes, pay-ins and defaults, the payment file, a trader's statement, and a
bank statement's import with its suspense list."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient

from clearing.domain.access import Role
from clearing.domain.cycles import Cycle, CycleStatus
from clearing.domain.money import format_amount
from clearing.use_cases import cycles, participants, settlement
from clearing.use_cases import keys as keys_use_cases
from clearing.use_cases.settlement import PositionView
from tests.bank_files import Line, camt
from tests.ops.pages import sign_in
from tests.pilot import ENTITY_BANKS, RATES, Pilot, settle

EXAMPLE_RATES = Path(__file__).resolve().parents[2] / "examples" / "rates-2026-10.json"


def cycle_of(pilot: Pilot, cycle_id: str) -> Cycle:
    return cycles.get_cycle(pilot.uows(), pilot.principals["auditor"], cycle_id)


def payers(pilot: Pilot, cycle_id: str) -> dict[str, PositionView]:
    """Who still owes a pay-in, by entity (the pilot has one payer in each)."""
    views = settlement.cycle_positions(pilot.uows(), pilot.principals["auditor"], cycle_id)
    return {v.position.jurisdiction: v for v in views if v.outstanding}


def approve_for_both(pilot: Pilot) -> Cycle:
    cycle = pilot.cycle
    for entity in ("CN", "RU"):
        assert cycle.digest is not None
        cycle = cycles.approve_cycle(
            pilot.uows(), pilot.principals[f"op-{entity}"], cycle.id, cycle.digest
        )
    return cycle


def first_in_suspense(page: str) -> str:
    """The id of the first bank entry the suspense list shows."""
    found = re.search(r'data-testid="suspense-row" data-entry-id="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def notice(answer_text: str) -> str:
    found = re.search(r'role="(?:status|alert)">([^<]*)<', answer_text)
    return found.group(1) if found else ""


def test_the_list_shows_a_superseded_cycle_as_superseded_linking_its_successor_not_settled(
    pilot: Pilot, client: TestClient
) -> None:
    cycle = approve_for_both(pilot)
    defaulter = payers(pilot, cycle.id)["RU"].position.participant_id
    sign_in(client, pilot.keys["op-RU"])

    declared = client.post(
        f"/ui/cycles/{cycle.id}/defaults",
        data={"participant_id": defaulter, "reason": "goods not paid for"},
    )
    assert declared.status_code == 200
    successor = cycle_of(pilot, cycle.id).superseded_by
    assert successor is not None
    assert str(declared.url).split("?")[0].endswith(f"/ui/cycles/{successor}")
    assert "declared in default" in notice(declared.text)
    assert f'data-testid="predecessor">{cycle.id}<' in declared.text

    listed = client.get("/ui/cycles")
    row = re.search(
        rf'<tr data-testid="cycle-row" data-cycle-id="{cycle.id}".*?</tr>', listed.text, re.S
    )
    assert row is not None
    assert 'data-status="superseded"' in row.group(0)
    assert f'href="/ui/cycles/{successor}" data-testid="successor"' in row.group(0)
    assert "CNY" not in row.group(0).split('data-testid="cycle-row-value"')[1].split("</td>")[0]

    page = client.get(f"/ui/cycles/{cycle.id}")
    assert 'data-testid="superseded-note"' in page.text
    assert 'data-testid="pay-in-form"' not in page.text


def test_an_operator_opens_a_cycle_sets_its_rates_by_form_and_by_upload_and_closes_it(
    pilot: Pilot, client: TestClient
) -> None:
    settle(pilot)
    sign_in(client, pilot.keys["op-CN"])
    assert 'data-testid="open-cycle"' in client.get("/ui/cycles").text

    opened = client.post("/ui/cycles", data={"policy": "setoff"})
    assert opened.status_code == 200
    cycle_id = str(opened.url).split("/ui/cycles/")[1].split("?")[0]
    assert cycle_of(pilot, cycle_id).policy.value == "setoff"
    assert 'data-testid="rates-form"' in opened.text
    # The form starts from the latest rate set.
    assert 'name="rate" value="0.0781"' in opened.text
    again = client.post("/ui/cycles", data={"policy": "fifo"})
    assert "Not possible in the current state" in notice(again.text)

    typed = {
        "base": "CNY",
        "jurisdiction": ["CN", "RU", ""],
        "jurisdiction_currency": ["CNY", "RUB", ""],
        "currency": ["CNY", "RUB", "USD", ""],
        "rate": ["1", "0.0790", "abc", ""],
        "source": "PBoC central parity",
        "as_of": "2026-12-01T10:00:00Z",
    }
    refused = client.post(f"/ui/cycles/{cycle_id}/rates", data=typed)
    assert refused.status_code == 422
    assert "rates.USD" in refused.text
    assert 'name="rate" value="abc"' in refused.text  # what was typed stays
    assert cycle_of(pilot, cycle_id).rates is None

    typed["rate"] = ["1", "0.0790", "7.05", ""]
    saved = client.post(f"/ui/cycles/{cycle_id}/rates", data=typed)
    assert "Rates set" in notice(saved.text)
    rates = cycle_of(pilot, cycle_id).rates
    assert rates is not None
    assert rates.rates["RUB"] == Decimal("0.079")
    assert rates.source == "PBoC central parity"

    uploaded = client.post(
        f"/ui/cycles/{cycle_id}/rates/upload",
        files={"file": ("rates.json", EXAMPLE_RATES.read_bytes(), "application/json")},
    )
    assert "Rates set: 4 currencies" in notice(uploaded.text)
    rates = cycle_of(pilot, cycle_id).rates
    assert rates is not None
    assert "EUR" in rates.rates
    not_json = client.post(
        f"/ui/cycles/{cycle_id}/rates/upload",
        files={"file": ("rates.json", b"base: CNY", "application/json")},
    )
    assert "not a RATES.json document" in notice(not_json.text)

    closed = client.post(f"/ui/cycles/{cycle_id}/close")
    assert "Cut-off done" in notice(closed.text)
    assert cycle_of(pilot, cycle_id).status is not CycleStatus.OPEN


def test_the_approval_page_shows_the_digest_and_four_eyes_asks_two_other_operators(
    pilot: Pilot, client: TestClient
) -> None:
    uows, principals = pilot.uows, pilot.principals
    cycles.reject_cycle(uows(), principals["op-CN"], pilot.cycle.id, "four eyes from now on")
    participants.update_entity(uows(), principals["admin"], "CN", approvals_required=2)
    opened = cycles.open_cycle(uows(), principals["op-CN"], "fifo")
    cycles.set_rates(uows(), principals["op-CN"], opened.id, dict(RATES))
    cycle = cycles.close_cycle(uows(), principals["op-CN"], opened.id)
    assert cycle.digest is not None
    assert cycle.approvals_needed_by("CN") == 2
    second, _ = keys_use_cases.create_key(uows(), Role.OPERATOR, entity="CN")
    third, _ = keys_use_cases.create_key(uows(), Role.OPERATOR, entity="CN")

    # The operator who closed the cycle is told why it may not approve it.
    sign_in(client, pilot.keys["op-CN"])
    assert 'data-testid="approve"' not in client.get(f"/ui/cycles/{cycle.id}").text
    own = client.get(f"/ui/cycles/{cycle.id}/approve")
    assert 'data-testid="approve-refusal"' in own.text
    assert "under four eyes" in own.text
    assert 'data-testid="confirm-approve"' not in own.text

    sign_in(client, second)
    review = client.get(f"/ui/cycles/{cycle.id}/approve")
    assert f'data-testid="approve-digest">{cycle.digest}<' in review.text
    assert 'data-testid="four-eyes"' in review.text
    assert 'data-testid="entity-pay-in">14,200.00\u00a0CNY' in review.text
    assert f'name="digest" value="{cycle.digest}"' in review.text
    first = client.post(f"/ui/cycles/{cycle.id}/approve", data={"digest": cycle.digest})
    assert "Approved for CN (1 of 2)" in notice(first.text)
    twice = client.get(f"/ui/cycles/{cycle.id}/approve")
    assert 'data-testid="given-approvals"' in twice.text
    assert 'data-testid="confirm-approve"' not in twice.text
    stale = client.post(f"/ui/cycles/{cycle.id}/approve", data={"digest": "0" * 64})
    assert "Not possible in the current state" in notice(stale.text)

    sign_in(client, third)
    done = client.post(f"/ui/cycles/{cycle.id}/approve", data={"digest": cycle.digest})
    assert notice(done.text) == "Approved for CN."
    approvers = {a.principal_id for a in cycle_of(pilot, cycle.id).approvals}
    assert len(approvers) == 2
    assert principals["op-CN"].id not in approvers


def test_pay_ins_recorded_by_form_settle_the_cycle_and_the_banks_credit_is_matched_to_one(
    pilot: Pilot, client: TestClient
) -> None:
    cycle = approve_for_both(pilot)
    owed = payers(pilot, cycle.id)

    for entity in ("RU", "CN"):
        payer = owed[entity].position
        sign_in(client, pilot.keys[f"op-{entity}"])
        page = client.get(f"/ui/cycles/{cycle.id}")
        outstanding = format_amount(owed[entity].outstanding, payer.currency)
        assert f'value="{outstanding}" inputmode="decimal"' in page.text
        assert owed[entity].payment_reference in page.text
        if entity == "RU":
            too_much = client.post(
                f"/ui/cycles/{cycle.id}/pay-ins",
                data={
                    "participant_id": payer.participant_id,
                    "currency": payer.currency,
                    "amount": "99999999.00",
                    "bank_reference": "SBER-1",
                },
            )
            assert too_much.status_code == 422
            assert "still owes" in too_much.text
            assert 'value="SBER-1"' in too_much.text
        recorded = client.post(
            f"/ui/cycles/{cycle.id}/pay-ins",
            data={
                "participant_id": payer.participant_id,
                "currency": payer.currency,
                "amount": outstanding,
                "bank_reference": f"BANK-{entity}-1",
                "value_date": "2026-12-01",
            },
        )
        assert recorded.status_code == 200
        assert f"BANK-{entity}-1" in recorded.text  # in the pay-ins recorded

    assert "cycle 1 is settled" in notice(recorded.text)
    assert cycle_of(pilot, cycle.id).status is CycleStatus.SETTLED
    assert 'data-testid="downloads"' in recorded.text

    # The bank's credit for CN's pay-in comes under its own reference: matched, counted once.
    by_hand = next(
        p
        for p in settlement.cycle_pay_ins(pilot.uows(), pilot.principals["op-CN"], cycle.id)
        if p.bank_reference == "BANK-CN-1"
    )
    credit = camt(
        [Line("CN-BNK-9", by_hand.amount, "CNY", remittance="payment", structured=False)],
        account=ENTITY_BANKS["CN"][1],
    )
    client.post("/ui/bank/statements", files={"file": ("n.xml", credit, "application/xml")})
    entry = re.search(
        r'data-testid="suspense-row" data-entry-id="([^"]+)"', client.get("/ui/bank").text
    )
    assert entry is not None
    matched = client.post(
        f"/ui/bank/suspense/{entry.group(1)}/match", data={"pay_in_id": by_hand.id}
    )
    assert f"matched to pay-in {by_hand.id}" in notice(matched.text)
    assert f'data-entry-id="{entry.group(1)}" data-status="assigned"' in matched.text


def test_the_payment_file_is_pain001_xml_and_nothing_to_pay_is_a_notice(
    pilot: Pilot, client: TestClient
) -> None:
    cycle = settle(pilot)
    sign_in(client, pilot.keys["op-RU"])
    page = client.get(f"/ui/cycles/{cycle.id}")
    assert f'href="/ui/cycles/{cycle.id}/payments?format=pain001&amp;entity=RU"' in page.text

    pain = client.get(f"/ui/cycles/{cycle.id}/payments?format=pain001&entity=RU")
    assert pain.status_code == 200
    assert pain.headers["content-type"].startswith("application/xml")
    assert "<Document" in pain.text
    assert "pain.001.001.09" in pain.text
    as_csv = client.get(f"/ui/cycles/{cycle.id}/payments?format=csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    instructions = client.get(f"/ui/cycles/{cycle.id}/instructions.csv")
    assert instructions.headers["content-type"].startswith("text/csv")
    another = client.get(f"/ui/cycles/{cycle.id}/payments?format=pain001&entity=CN")
    assert "Not found" in notice(another.text)

    # What the pilot carried nets nothing: the next cycle settles at cut-off, paying no one.
    idle = cycles.open_cycle(pilot.uows(), pilot.principals["op-RU"], "fifo")
    cycles.set_rates(pilot.uows(), pilot.principals["op-RU"], idle.id, dict(RATES))
    idle = cycles.close_cycle(pilot.uows(), pilot.principals["op-RU"], idle.id)
    assert idle.status is CycleStatus.SETTLED
    nothing = client.get(f"/ui/cycles/{idle.id}/payments?format=pain001")
    assert "Nothing to pay" in notice(nothing.text)

    sign_in(client, pilot.keys["auditor"])
    audited = client.get(f"/ui/cycles/{cycle.id}")
    assert 'data-testid="pain001-CN"' in audited.text
    assert 'data-testid="pain001-RU"' in audited.text
    assert "<form" not in audited.text.split("<main>")[1]


def test_a_trader_sees_its_statement_with_the_rf_reference_and_no_other_participants(
    pilot: Pilot, client: TestClient
) -> None:
    cycle = pilot.cycle
    owed = payers(pilot, cycle.id)["CN"]
    trader = next(
        n
        for n in ("cn1", "cn2")
        if pilot.principals[n].participant_id == owed.position.participant_id
    )
    other = "cn2" if trader == "cn1" else "cn1"
    own_id = pilot.principals[trader].participant_id or ""
    sign_in(client, pilot.keys[trader])

    listed = client.get("/ui/cycles")
    assert 'data-testid="statements"' in listed.text
    assert f'href="/ui/cycles/{cycle.id}/statements/{own_id}"' in listed.text
    assert 'data-testid="open-cycle"' not in listed.text

    statement = client.get(f"/ui/cycles/{cycle.id}/statements/{own_id}")
    assert statement.status_code == 200
    assert f'data-testid="payment-reference">{owed.payment_reference}<' in statement.text
    assert "To pay in: 14,200.00\u00a0CNY" in statement.text
    assert statement.text.count('data-testid="statement-row"') == 2

    foreign = client.get(
        f"/ui/cycles/{cycle.id}/statements/{pilot.principals[other].participant_id}"
    )
    assert foreign.status_code == 404
    assert client.get(f"/ui/cycles/{cycle.id}").status_code == 403

    sign_in(client, pilot.keys["op-CN"])
    assert client.get(f"/ui/cycles/{cycle.id}/statements/{own_id}").status_code == 200
    ru = pilot.principals["ru1"].participant_id
    assert client.get(f"/ui/cycles/{cycle.id}/statements/{ru}").status_code == 404


def test_a_camt054_import_records_pay_ins_and_suspense_credits_are_assigned_or_returned(
    pilot: Pilot, client: TestClient
) -> None:
    cycle = approve_for_both(pilot)
    owed = payers(pilot, cycle.id)
    cn, ru = owed["CN"], owed["RU"]
    assert cn.payment_reference is not None

    sign_in(client, pilot.keys["op-CN"])
    notification = camt(
        [
            Line("CN-BNK-1", cn.outstanding, "CNY", remittance=cn.payment_reference),
            Line("CN-BNK-2", 5000, "CNY", remittance="invoice 77", structured=False),
        ],
        account=ENTITY_BANKS["CN"][1],
    )
    imported = client.post(
        "/ui/bank/statements",
        files={"file": ("notification.xml", notification, "application/xml")},
    )
    assert imported.status_code == 200
    assert "Lines read: 2; matched: 1; to suspense or unexplained: 1;" in notice(imported.text)
    assert 'data-testid="import-row" data-status="matched"' in imported.text
    assert payers(pilot, cycle.id).keys() == {"RU"}
    row = re.search(
        r'data-testid="suspense-row" data-entry-id="([^"]+)" data-reference="CN-BNK-2"',
        imported.text,
    )
    assert row is not None

    again = client.post(
        "/ui/bank/statements",
        files={"file": ("notification.xml", notification, "application/xml")},
    )
    assert "imported before: 2;" in notice(again.text)
    wrong = client.post(
        "/ui/bank/statements", files={"file": ("notes.txt", b"hello", "text/plain")}
    )
    assert wrong.status_code == 422
    assert "is not a statement" in wrong.text

    returned = client.post(
        f"/ui/bank/suspense/{row.group(1)}/return", data={"reason": "unknown payer"}
    )
    assert "to be returned to its payer" in notice(returned.text)
    assert 'data-testid="suspense-empty"' in returned.text
    assert f'data-entry-id="{row.group(1)}" data-status="returned"' in returned.text
    assert "return quotes RF" in returned.text

    # A credit without its reference waits until the operator assigns it; the cycle settles.
    sign_in(client, pilot.keys["op-RU"])
    unreferenced = camt(
        [Line("RU-BNK-1", ru.outstanding, "RUB", remittance="for the soybeans", structured=False)],
        account=ENTITY_BANKS["RU"][1],
    )
    client.post("/ui/bank/statements", files={"file": ("n.xml", unreferenced, "text/xml")})
    page = client.get("/ui/bank")
    assert f'name="cycle_id" value="{cycle.id}"' in page.text
    assigned = client.post(
        f"/ui/bank/suspense/{first_in_suspense(page.text)}/assign",
        data={"cycle_id": cycle.id, "participant_id": ru.position.participant_id},
    )
    assert "recorded as the pay-in" in notice(assigned.text)
    assert cycle_of(pilot, cycle.id).status is CycleStatus.SETTLED


def test_an_auditor_reads_the_cycles_and_the_bank_without_forms_and_a_trader_gets_no_bank(
    pilot: Pilot, client: TestClient
) -> None:
    sign_in(client, pilot.keys["auditor"])
    listed = client.get("/ui/cycles")
    assert pilot.cycle.id in listed.text
    assert "<form" not in listed.text.split("<main>")[1]
    page = client.get(f"/ui/cycles/{pilot.cycle.id}")
    assert 'data-testid="approve"' not in page.text
    assert 'data-testid="reject"' not in page.text
    assert 'data-testid="entries-empty"' in client.get("/ui/bank").text
    assert client.get("/ui/cycles?cursor=-1").status_code == 422

    sign_in(client, pilot.keys["cn1"])
    assert client.get("/ui/bank").status_code == 403
