"""A whole two-entity pilot through the API: two netting cycles, the imbalance carried from the
first into the second, and the ledger exported and verified by an auditor with no database."""

from __future__ import annotations

import itertools
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from clearing.domain.netting.disclosure import disclosed_digest
from clearing.entrypoints.cli import app as cli
from tests.e2e.world import (
    ZERO,
    Json,
    Trader,
    World,
    assert_ledger_closed,
    assert_settled_coherently,
    dec,
    journal_entries_expected,
)


def _amount(rnd: random.Random, currency: str) -> str:
    """A random invoice amount in major units, scaled to be worth 1,000-9,000 CNY or so."""
    low, high = {"CNY": (1_000, 9_000), "RUB": (13_000, 110_000), "USD": (150, 1_250)}[currency]
    return f"{rnd.randint(low, high)}.{rnd.randint(0, 99):02d}"


def _trade(
    world: World,
    rnd: random.Random,
    exporters: list[Trader],
    importers: list[Trader],
    count: int,
    *,
    month: str = "2026-12",
) -> list[Json]:
    """``count`` confirmed invoices from ``exporters`` to ``importers``: mostly CNY, some USD
    (every fifth), some RUB (every seventh)."""
    made = []
    for index in range(count):
        currency = "USD" if index % 5 == 0 else "RUB" if index % 7 == 0 else "CNY"
        made.append(
            world.invoice(
                rnd.choice(exporters),
                rnd.choice(importers),
                _amount(rnd, currency),
                currency=currency,
                due_date=f"{month}-{rnd.randint(1, 28):02d}",
                hs_code=rnd.choice(["1201", "8471", "3004", "7208", "8703"]),
            )
        )
    return made


def _corridor(cycle: Json, source: str, target: str) -> dict[str, Decimal]:
    found = next(c for c in cycle["corridors"] if (c["from"], c["to"]) == (source, target))
    return {key: dec(found[key]) for key in ("submitted", "settled", "carried")}


def _run_cycle(world: World, *, policy: str, rates: Json) -> tuple[Json, dict[str, Json]]:
    """Open (CN), rates (RU), close (RU), dual approval, pay-ins (one in two parts): settled.

    Returns the settled cycle and every invoice as it was just before the cut-off."""
    before = world.invoices()
    opened = world.open_cycle("CN", policy)
    cycle_id = opened["id"]
    put = world.client.put(f"/v1/cycles/{cycle_id}/rates", json=rates, headers=world.op("RU"))
    assert put.status_code == 200, put.text
    assert put.json()["status"] == "open"
    closed = world.client.post(f"/v1/cycles/{cycle_id}/close", headers=world.op("RU"))
    assert closed.status_code == 200, closed.text
    proposal = closed.json()
    assert proposal["status"] == "proposed"
    assert proposal["policy"] == policy
    assert proposal["required_approvals"] == ["CN", "RU"]
    assert proposal["rates"]["rates"]["RUB"] == rates["rates"]["RUB"]

    # The snapshot: every eligible invoice is now in the cycle.
    taken = world.invoices(cycle=cycle_id, status="in_cycle")
    assert set(taken) == {i for i, inv in before.items() if inv["status"] == "eligible"}

    first = world.approve(proposal, "CN")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "proposed"
    assert first.json()["missing_approvals"] == ["RU"]
    second = world.approve(proposal, "RU")
    assert second.status_code == 200, second.text
    approved = second.json()
    assert approved["status"] == "approved"
    assert sorted((a["entity"], a["digest"]) for a in approved["approvals"]) == [
        ("CN", proposal["digest"]),
        ("RU", proposal["digest"]),
    ]

    # The first payer pays in two instalments; nothing is posted until the last pay-in.
    journal_before = world.journal()
    payers = [p for p in world.positions(cycle_id) if dec(p["net"]) < 0]
    assert payers
    first_payer = payers[0]
    due = -dec(first_payer["net"])
    half = (due / 2).quantize(Decimal("0.01"))
    part = world.pay_in(cycle_id, first_payer["participant_id"], str(half), "INSTALMENT-1")
    assert part.status_code == 201, part.text
    assert part.json()["status"] == "settling"
    after_part = next(
        p for p in world.positions(cycle_id) if p["participant_id"] == first_payer["participant_id"]
    )
    assert dec(after_part["received"]) == half
    assert dec(after_part["outstanding_pay_in"]) == due - half
    # The instalment is journaled as it is recorded, with its bank reference; nothing else.
    (instalment,) = [json.loads(line) for line in world.journal()[len(journal_before) :]]
    assert (instalment["kind"], instalment["details"]["bank_reference"]) == (
        "pay_in",
        "INSTALMENT-1",
    )
    settled = world.pay_everything(cycle_id)
    assert settled["status"] == "settled"
    return settled, before


def test_a_two_entity_pilot_nets_two_cycles_and_carries_the_imbalance_forward(
    pilot: World, tmp_path: Path
) -> None:
    rnd = random.Random(20261120)
    cn, ru = pilot.traders["CN"], pilot.traders["RU"]
    # CN importers owe RU exporters (CN->RU) far more than RU importers owe CN exporters.
    _trade(pilot, rnd, exporters=ru, importers=cn, count=34)
    _trade(pilot, rnd, exporters=cn, importers=ru, count=18)
    assert len(pilot.invoices(status="eligible")) == 52

    # --- cycle 1: fifo ---
    rates_1 = pilot.rates()
    first, before_1 = _run_cycle(pilot, policy="fifo", rates=rates_1)
    checked_1 = assert_settled_coherently(pilot, first["id"], before_1)
    cn_ru, ru_cn = _corridor(first, "CN", "RU"), _corridor(first, "RU", "CN")
    assert cn_ru["submitted"] > ru_cn["submitted"]
    # Two entities: the smaller corridor settles in full, the larger as much as it.
    assert cn_ru["settled"] == ru_cn["settled"] == ru_cn["submitted"]
    assert ru_cn["carried"] == ZERO
    assert cn_ru["carried"] == cn_ru["submitted"] - ru_cn["submitted"] > ZERO
    assert dec(first["metrics"]["settled_value"]) == 2 * ru_cn["submitted"]
    assert dec(first["metrics"]["carried_value"]) == cn_ru["carried"]

    settlements_1 = checked_1["settlements"]
    assert len(settlements_1) == 52
    partial = [s for s in settlements_1 if ZERO < dec(s["settled"]) < dec(s["outstanding"])]
    untouched = [s for s in settlements_1 if dec(s["settled"]) == ZERO]
    # fifo: at most one obligation partly settled per corridor; here it is a CN->RU one.
    assert len(partial) == 1
    assert (partial[0]["debtor_entity"], partial[0]["creditor_entity"]) == ("CN", "RU")
    assert untouched
    assert all(s["debtor_entity"] == "CN" for s in untouched)
    assert all(dec(s["remaining"]) == ZERO for s in settlements_1 if s["debtor_entity"] == "RU")

    balances_1 = assert_ledger_closed(pilot)
    assert ("CN", "mirror:RU") in balances_1
    assert ("RU", "mirror:CN") in balances_1
    entries_1 = journal_entries_expected(checked_1["positions"], instalments=1)
    report = pilot.verify()
    assert report == {
        "ok": True,
        "entries": entries_1,
        "cycles": 1,
        "head_hash": report["head_hash"],
        "problems": [],
    }

    # What cycle 1 left: every partly or un-settled obligation is eligible again.
    carried = {s["obligation_id"]: s for s in settlements_1 if dec(s["remaining"]) > ZERO}
    assert set(carried) == set(pilot.invoices(status="eligible"))

    # --- cycle 2: new trade, new rates, pro_rata; it settles part of what was carried ---
    _trade(pilot, rnd, exporters=cn, importers=ru, count=10, month="2027-01")
    _trade(pilot, rnd, exporters=ru, importers=cn, count=2, month="2027-01")
    rates_2 = pilot.rates(RUB="0.0793", USD="7.12")
    second, before_2 = _run_cycle(pilot, policy="pro_rata", rates=rates_2)
    assert second["number"] == first["number"] + 1
    checked_2 = assert_settled_coherently(pilot, second["id"], before_2)
    settlements_2 = {s["obligation_id"]: s for s in checked_2["settlements"]}
    assert len(settlements_2) == len(carried) + 12
    for obligation_id, earlier in carried.items():
        # The carried obligations enter cycle 2 at exactly what cycle 1 left of them.
        assert settlements_2[obligation_id]["outstanding"] == earlier["remaining"]
    # pro_rata: every carried obligation gets its share of the matched value, none all of it.
    assert dec(settlements_2[partial[0]["obligation_id"]]["settled"]) > ZERO
    assert sum(dec(settlements_2[o]["settled"]) > ZERO for o in carried) > len(carried) // 2
    assert any(dec(settlements_2[o]["remaining"]) > ZERO for o in carried)
    assert _corridor(second, "CN", "RU")["carried"] > ZERO

    # --- the books after both cycles ---
    assert_ledger_closed(pilot)
    entries_2 = journal_entries_expected(checked_2["positions"], instalments=1)
    report = pilot.verify()
    assert report["ok"] is True, report
    assert (report["entries"], report["cycles"], report["problems"]) == (
        entries_1 + entries_2,
        2,
        [],
    )

    # The exported journal: paged by sequence, chained, carrying each cycle's record.
    lines = pilot.journal(page_size=4)
    documents = [json.loads(line) for line in lines]
    assert [d["seq"] for d in documents] == list(range(1, entries_1 + entries_2 + 1))
    assert documents[-1]["hash"] == report["head_hash"]
    assert all(d["prev_hash"] == p["hash"] for p, d in itertools.pairwise(documents))
    for cycle in (first, second):
        records = [
            d["cycle"] for d in documents if d.get("cycle", {}).get("cycle_id") == cycle["id"]
        ]
        assert len(records) == 1
        assert records[0]["digest"] == cycle["digest"]
    assert pilot.journal(page_size=1000) == lines
    for entity in ("CN", "RU"):
        own = [json.loads(line) for line in pilot.journal(headers=pilot.op(entity))]
        assert own
        assert {d["entity"] for d in own} == {entity}
        # The operator's entries are the entity's, without the whole cycle records, and each
        # cycle's discharge discloses what the entity may see of it (DESIGN §7).
        theirs = [d for d in documents if d["entity"] == entity]
        assert [without(d, "disclosure") for d in own] == [without(d, "cycle") for d in theirs]
        disclosures = [d["disclosure"] for d in own if "disclosure" in d]
        assert [x["cycle_id"] for x in disclosures] == [first["id"], second["id"]]
        assert all(disclosed_digest(x) == x["digest"] for x in disclosures)

    # An auditor with no database verifies the export: chain, closure and both digests.
    export = tmp_path / "journal.jsonl"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcome = CliRunner().invoke(cli, ["audit", "verify", "--from-file", str(export)])
    assert outcome.exit_code == 0, outcome.output
    printed = " ".join(outcome.output.split())
    assert f"ok: {entries_1 + entries_2} entries, 2 cycles re-netted" in printed
    assert report["head_hash"] in outcome.output.replace("\n", "")


def without(document: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in document.items() if name != key}
