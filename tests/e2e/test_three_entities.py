"""A regional network of three entities, where value settles only around a loop."""

from __future__ import annotations

import json
from decimal import Decimal

from clearing.domain.netting.disclosure import disclosed_digest
from tests.e2e.world import (
    ZERO,
    World,
    assert_ledger_closed,
    assert_settled_coherently,
    dec,
    journal_entries_expected,
)


def test_a_three_way_loop_with_no_balancing_pair_settles_around_the_loop(trio: World) -> None:
    cn, ru, kz = trio.traders["CN"], trio.traders["RU"], trio.traders["KZ"]
    # CN->RU: Chinese importers owe Russian exporters.
    trio.invoice(ru[0], cn[0], "6000.00", due_date="2026-12-01")
    trio.invoice(ru[1], cn[1], "52000.00", currency="RUB", due_date="2026-12-03")
    # RU->KZ: Russian importers owe Kazakh exporters (the bottleneck of the loop).
    trio.invoice(kz[0], ru[0], "150000.00", currency="KZT", due_date="2026-12-02")
    trio.invoice(kz[1], ru[2], "1100.00", currency="USD", due_date="2026-12-04")
    # KZ->CN: Kazakh importers owe Chinese exporters.
    trio.invoice(cn[2], kz[0], "9000.00", due_date="2026-12-01")
    trio.invoice(cn[0], kz[2], "300000.00", currency="KZT", due_date="2026-12-05")
    before = trio.invoices()

    proposal = trio.propose(policy="fifo", by="KZ")
    corridors = {(c["from"], c["to"]): c for c in proposal["corridors"]}
    # Only the loop's corridors exist: no pair of corridors could balance each other.
    assert set(corridors) == {("CN", "RU"), ("RU", "KZ"), ("KZ", "CN")}
    submitted = {k: dec(c["submitted"]) for k, c in corridors.items()}
    settled = {k: dec(c["settled"]) for k, c in corridors.items()}
    bottleneck = min(submitted.values())
    assert submitted[("RU", "KZ")] == bottleneck
    assert settled == dict.fromkeys(corridors, bottleneck)
    assert bottleneck > ZERO
    assert dec(proposal["metrics"]["settled_value"]) == 3 * bottleneck
    assert dec(corridors[("RU", "KZ")]["carried"]) == ZERO
    assert dec(corridors[("CN", "RU")]["carried"]) > ZERO
    assert dec(corridors[("KZ", "CN")]["carried"]) > ZERO

    # Every entity has legs, so every entity must approve before anything moves.
    assert proposal["required_approvals"] == ["CN", "KZ", "RU"]
    for count, entity in enumerate(["RU", "CN", "KZ"], start=1):
        response = trio.approve(proposal, entity)
        assert response.status_code == 200, response.text
        assert len(response.json()["approvals"]) == count
        assert response.json()["status"] == ("approved" if count == 3 else "proposed")
    assert trio.journal() == []

    done = trio.pay_everything(proposal["id"])
    assert done["status"] == "settled"
    checked = assert_settled_coherently(trio, proposal["id"], before)
    totals = {j["jurisdiction"]: j for j in checked["jurisdictions"]}
    assert set(totals) == {"CN", "RU", "KZ"}
    assert all(dec(t["pay_in"]) > ZERO for t in totals.values())

    # Each entity's book: two mirror accounts, one per neighbour on the loop, which cancel.
    balances = assert_ledger_closed(trio)
    mirrors: dict[str, dict[str, Decimal]] = {}
    for (entity, account), balance in balances.items():
        if account.startswith("mirror:"):
            mirrors.setdefault(entity, {})[account] = balance
    assert {e: sorted(m) for e, m in mirrors.items()} == {
        "CN": ["mirror:KZ", "mirror:RU"],
        "KZ": ["mirror:CN", "mirror:RU"],
        "RU": ["mirror:CN", "mirror:KZ"],
    }
    for entity, accounts in mirrors.items():
        assert all(balance != ZERO for balance in accounts.values()), (entity, accounts)
        assert sum(accounts.values(), ZERO) == ZERO

    report = trio.verify()
    assert report["ok"] is True, report
    assert (report["entries"], report["cycles"]) == (
        journal_entries_expected(checked["positions"]),
        1,
    )


def test_each_operator_sees_only_its_corridors_and_checks_the_approved_digest(
    trio: World,
) -> None:
    cn, ru, kz = trio.traders["CN"], trio.traders["RU"], trio.traders["KZ"]
    trio.invoice(ru[0], cn[0], "6000.00")
    hidden = trio.invoice(kz[1], ru[2], "1100.00", currency="USD")  # RU owes KZ only
    trio.invoice(kz[0], ru[0], "150000.00", currency="KZT")
    trio.invoice(cn[2], kz[0], "9000.00")
    settled = trio.settle()

    for entity in ("CN", "RU", "KZ"):
        lines = trio.journal(headers=trio.op(entity))
        documents = [json.loads(line) for line in lines]
        assert documents
        assert {d["entity"] for d in documents} == {entity}
        assert all("cycle" not in d for d in documents)
        (disclosed,) = [d["disclosure"] for d in documents if "disclosure" in d]
        assert disclosed["entity"] == entity
        assert disclosed["digest"] == settled["digest"]
        assert disclosed_digest(disclosed) == settled["digest"]
        text = "\n".join(lines)
        seen_by_cn = entity == "CN"
        for secret in (hidden["id"], kz[1].id, ru[2].id):
            assert (secret in text) is not seen_by_cn, (entity, secret)
    full = [json.loads(line) for line in trio.journal()]
    assert sum(1 for d in full if "cycle" in d) == 1
