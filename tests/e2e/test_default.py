"""A debtor fails to pay in: its entity declares the default and the cycle is re-netted without
it (DESIGN §6). Money that arrived carries over or goes back; nobody is paid from money that
never came."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from tests.e2e.conftest import MakeWorld
from tests.e2e.world import (
    ZERO,
    Json,
    World,
    assert_ledger_closed,
    assert_settled_coherently,
    dec,
)


def _by_participant(rows: list[Json]) -> dict[str, Json]:
    return {row["participant_id"]: row for row in rows}


def _trade(world: World) -> dict[str, str]:
    """Six invoices (CNY): the names say who owes whom.

    Cut-off (fifo) settles 9,000 each way: ``c3_r0`` and ``c0_r0`` in full, ``c1_r1`` for
    2,000 of 6,000, and all of RU->CN, so ``c0``, ``c1`` and ``c3`` (CN) and ``r1`` (RU) must
    pay in. Without ``c0`` only 7,000 settles each way: ``c1`` owes more, ``c3`` the same,
    ``r0`` must now pay in and ``r1`` nothing.
    """
    (c0, c1, c2, c3), (r0, r1, _, _) = world.traders["CN"], world.traders["RU"]
    made = {
        "c3_r0": world.invoice(r0, c3, "1000.00", due_date="2026-11-30"),
        "c0_r0": world.invoice(r0, c0, "6000.00", due_date="2026-12-01"),
        "c1_r1": world.invoice(r1, c1, "6000.00", due_date="2026-12-02"),
        "r0_c2": world.invoice(c2, r0, "4000.00", due_date="2026-12-01"),
        "r1_c2": world.invoice(c2, r1, "4000.00", due_date="2026-12-02"),
        "r1_c0": world.invoice(c0, r1, "1000.00", due_date="2026-12-03"),
    }
    return {name: invoice["id"] for name, invoice in made.items()}


def test_a_default_after_partial_pay_ins_re_nets_without_the_defaulter_and_settles_the_rest(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 4)
    (c0, c1, c2, c3), (r0, r1, _, _) = world.traders["CN"], world.traders["RU"]
    ids = _trade(world)
    before = world.invoices()

    cycle = world.propose(policy="fifo")
    world.approve_all(cycle)
    positions = _by_participant(world.positions(cycle["id"]))
    assert dec(positions[c0.id]["net"]) == Decimal("-5000.00")
    assert dec(positions[c1.id]["net"]) == Decimal("-2000.00")
    assert dec(positions[c3.id]["net"]) == Decimal("-1000.00")
    assert dec(positions[c2.id]["net"]) == Decimal("8000.00")
    assert dec(positions[r0.id]["net"]) > ZERO > dec(positions[r1.id]["net"])
    r1_due = -dec(positions[r1.id]["net"])

    # c0 and c1 pay part of what they owe; c3 and r1 pay in full.
    for payer, amount, reference in [
        (c0, "1000.00", "ICBC-0001"),
        (c1, "1000.00", "ICBC-0002"),
        (c3, "1000.00", "ICBC-0003"),
        (r1, str(r1_due), "SBER-0001"),
    ]:
        response = world.pay_in(cycle["id"], payer.id, amount, reference)
        assert response.status_code == 201, response.text
    assert world.cycle(cycle["id"])["status"] == "settling"
    # Each pay-in is journaled as it is recorded, with its bank reference (DESIGN §5).
    moved = [json.loads(line) for line in world.journal()]
    assert [d["kind"] for d in moved] == ["pay_in"] * 4
    assert [d["details"]["bank_reference"] for d in moved] == [
        "ICBC-0001",
        "ICBC-0002",
        "ICBC-0003",
        "SBER-0001",
    ]

    # Only the debtor's own entity declares its default, and only for a debtor.
    wrong_entity = world.client.post(
        f"/v1/cycles/{cycle['id']}/defaults",
        json={"participant_id": c0.id, "reason": "no funds"},
        headers=world.op("RU"),
    )
    assert wrong_entity.status_code == 404, wrong_entity.text
    creditor = world.client.post(
        f"/v1/cycles/{cycle['id']}/defaults",
        json={"participant_id": c2.id, "reason": "no funds"},
        headers=world.op("CN"),
    )
    assert creditor.status_code == 409, creditor.text
    assert world.cycle(cycle["id"])["status"] == "settling"

    declared = world.client.post(
        f"/v1/cycles/{cycle['id']}/defaults",
        json={"participant_id": c0.id, "reason": "the importer's bank returned the payment"},
        headers=world.op("CN"),
    )
    assert declared.status_code == 201, declared.text
    successor = declared.json()

    # The old cycle is superseded and names its successor, which keeps rates and policy.
    old = world.cycle(cycle["id"])
    assert old["status"] == "superseded"
    assert old["superseded_by"] == successor["id"]
    assert successor["predecessor_id"] == cycle["id"]
    assert successor["status"] == "proposed"
    assert successor["rates"] == cycle["rates"]
    assert successor["policy"] == cycle["policy"]
    assert successor["digest"] != cycle["digest"]
    assert successor["approvals"] == []
    assert successor["defaulted"] == [c0.id]
    assert successor["required_approvals"] == ["CN", "RU"]

    # Every obligation the defaulter is party to (as debtor or creditor) is back in the pool.
    invoices = world.invoices()
    for name in ("c0_r0", "r1_c0"):
        invoice = invoices[ids[name]]
        assert invoice["status"] == "eligible", invoice
        assert invoice["outstanding"] == before[ids[name]]["outstanding"]
    for name in ("c3_r0", "c1_r1", "r0_c2", "r1_c2"):
        assert invoices[ids[name]]["status"] == "in_cycle"
        assert invoices[ids[name]]["cycle_id"] == successor["id"]
    snapshot = world.settlements(successor["id"])
    assert {s["obligation_id"] for s in snapshot} == {
        ids["c3_r0"],
        ids["c1_r1"],
        ids["r0_c2"],
        ids["r1_c2"],
    }
    assert all(c0.id not in (s["debtor_id"], s["creditor_id"]) for s in snapshot)

    # The defaulter's pay-in is refunded by the old cycle; the others' money carries over,
    # and r1, who owes nothing any more, gets back what it paid.
    assert [(r["participant_id"], dec(r["amount"])) for r in world.refunds(cycle["id"])] == [
        (c0.id, Decimal("1000.00"))
    ]
    assert [(r["participant_id"], dec(r["amount"])) for r in world.refunds(successor["id"])] == [
        (r1.id, r1_due)
    ]
    carried = _by_participant(world.positions(successor["id"]))
    assert c0.id not in carried
    assert dec(carried[c1.id]["net"]) == Decimal("-6000.00")
    assert dec(carried[c1.id]["received"]) == Decimal("1000.00")
    assert dec(carried[c1.id]["outstanding_pay_in"]) == Decimal("5000.00")
    assert dec(carried[c3.id]["net"]) == Decimal("-1000.00")
    assert dec(carried[c3.id]["received"]) == Decimal("1000.00")
    assert dec(carried[c3.id]["outstanding_pay_in"]) == ZERO
    assert dec(carried[c2.id]["net"]) == Decimal("7000.00")
    assert dec(carried[r1.id]["net"]) > ZERO
    assert dec(carried[r1.id]["received"]) == dec(carried[r1.id]["refunded"]) == r1_due
    assert dec(carried[r0.id]["net"]) < ZERO
    assert dec(carried[r0.id]["received"]) == ZERO
    old_csv = world.instructions(cycle["id"])
    assert [
        (r["participant_id"], r["direction"]) for r in old_csv if r["direction"] == "refund"
    ] == [(c0.id, "refund")]
    new_csv = world.instructions(successor["id"])
    refund_rows = [r for r in new_csv if r["direction"] == "refund"]
    assert [(r["participant_id"], dec(r["amount"])) for r in refund_rows] == [(r1.id, r1_due)]

    # The superseded cycle takes nothing more; the successor needs approving again.
    stale = world.approve(successor, "CN", digest=cycle["digest"])
    assert stale.status_code == 409, stale.text
    assert stale.json()["field"] == "digest"
    assert world.approve(cycle, "CN").status_code == 409
    late = world.pay_in(cycle["id"], c1.id, "1.00", "ICBC-LATE")
    assert late.status_code == 409, late.text
    assert world.pay_in(successor["id"], c1.id, "1.00", "ICBC-EARLY").status_code == 409
    approved = world.approve_all(successor)
    assert approved["status"] == "approved"

    # Nothing is paid out until every pay-in of the successor has arrived.
    rest = world.pay_in(successor["id"], c1.id, "5000.00", "ICBC-0004")
    assert rest.status_code == 201, rest.text
    assert rest.json()["status"] == "settling"
    assert kinds(world) <= {"pay_in", "refund"}  # nothing is paid out yet
    r0_due = -dec(carried[r0.id]["net"])
    last = world.pay_in(successor["id"], r0.id, str(r0_due), "SBER-0002")
    assert last.status_code == 201, last.text
    assert last.json()["status"] == "settled"

    checked = assert_settled_coherently(world, successor["id"], before)
    final = _by_participant(checked["positions"])
    arrived: dict[str, Decimal] = defaultdict(Decimal)
    paid_out: dict[str, Decimal] = defaultdict(Decimal)
    for p in final.values():
        arrived[p["entity"]] += dec(p["received"]) - dec(p["refunded"])
        paid_out[p["entity"]] += max(dec(p["net"]), ZERO)
    assert arrived == paid_out

    # Only the successor settled: the superseded cycle's entries are the money that moved
    # while it stood (pay-ins, the defaulter's refund), which close with the successor; the
    # defaulter's obligations are untouched.
    assert_ledger_closed(world)
    documents = [json.loads(line) for line in world.journal()]
    assert {d["kind"] for d in documents if d["cycle_id"] == cycle["id"]} == {"pay_in", "refund"}
    discharges = [d for d in documents if d["kind"] == "discharge"]
    assert {d["cycle_id"] for d in discharges} == {successor["id"]}
    assert all(d["details"]["predecessors"] == [cycle["id"]] for d in discharges)
    report = world.verify()
    assert report["ok"] is True, report
    assert (report["entries"], report["cycles"]) == (len(documents), 1)
    invoices = world.invoices()
    for name in ("c0_r0", "r1_c0"):
        assert invoices[ids[name]]["status"] == "eligible"
        assert invoices[ids[name]]["outstanding"] == before[ids[name]]["outstanding"]
    for name in ("c3_r0", "c1_r1", "r0_c2"):
        assert invoices[ids[name]]["status"] == "settled"
    assert dec(invoices[ids["r1_c2"]]["outstanding"]) == Decimal("1000.00")

    # And the pool is open for the next cycle.
    assert world.open_cycle("RU")["status"] == "open"


def test_a_second_default_re_nets_the_successor_again_and_refunds_what_is_no_longer_due(
    make_world: MakeWorld,
) -> None:
    world = make_world(("CN", "RU"), 4)
    (c0, c1, c2, c3), (r0, r1, _, _) = world.traders["CN"], world.traders["RU"]
    ids = _trade(world)
    cycle = world.propose()
    world.approve_all(cycle)
    r1_due = -dec(_by_participant(world.positions(cycle["id"]))[r1.id]["net"])
    for payer, amount, reference in [
        (c3, "1000.00", "ICBC-0001"),
        (c1, "2000.00", "ICBC-0002"),
        (r1, str(r1_due), "SBER-0001"),
    ]:
        assert world.pay_in(cycle["id"], payer.id, amount, reference).status_code == 201

    # c0 never pays: CN declares it. c1 then pays what the re-netting asks of it.
    first = world.client.post(
        f"/v1/cycles/{cycle['id']}/defaults",
        json={"participant_id": c0.id, "reason": "no funds"},
        headers=world.op("CN"),
    )
    assert first.status_code == 201, first.text
    successor = first.json()
    world.approve_all(successor)
    owed = _by_participant(world.positions(successor["id"]))
    assert dec(owed[c1.id]["outstanding_pay_in"]) == Decimal("4000.00")
    assert dec(owed[r0.id]["net"]) < ZERO
    paid = world.pay_in(successor["id"], c1.id, "4000.00", "ICBC-0003")
    assert paid.status_code == 201, paid.text

    # r0 never pays either: RU declares it, and the successor is re-netted in turn.
    second = world.client.post(
        f"/v1/cycles/{successor['id']}/defaults",
        json={"participant_id": r0.id, "reason": "account frozen"},
        headers=world.op("RU"),
    )
    assert second.status_code == 201, second.text
    third = second.json()
    assert world.cycle(successor["id"])["status"] == "superseded"
    assert world.cycle(successor["id"])["superseded_by"] == third["id"]
    assert world.cycle(cycle["id"])["superseded_by"] == successor["id"]
    assert third["predecessor_id"] == successor["id"]
    assert third["defaulted"] == [c0.id, r0.id]
    assert third["rates"] == cycle["rates"]
    snapshot = world.settlements(third["id"])
    assert {s["obligation_id"] for s in snapshot} == {ids["c1_r1"], ids["r1_c2"]}
    invoices = world.invoices()
    for name in ("c0_r0", "r1_c0", "c3_r0", "r0_c2"):
        assert invoices[ids[name]]["status"] == "eligible", name

    # Only 4,000 settles each way now: c1 gets back what it paid beyond that, c3 (no longer
    # in the cycle) all of its money; r0 paid nothing and gets nothing.
    refunds = [(r["participant_id"], dec(r["amount"])) for r in world.refunds(third["id"])]
    assert sorted(refunds) == sorted([(c1.id, Decimal("2000.00")), (c3.id, Decimal("1000.00"))])
    assert all(r["participant_id"] != r0.id for r in world.refunds(successor["id"]))
    positions = _by_participant(world.positions(third["id"]))
    assert set(positions) == {c1.id, c2.id, r1.id}
    assert dec(positions[c1.id]["net"]) == Decimal("-4000.00")
    assert dec(positions[c1.id]["outstanding_pay_in"]) == ZERO
    assert dec(positions[r1.id]["net"]) == ZERO  # it owes c2 as much as c1 owes it

    # Every pay-in it needs is already held, so its last approval settles it.
    assert kinds(world) <= {"pay_in", "refund"}
    world.approve(third, "CN")
    settled = world.approve(third, "RU")
    assert settled.status_code == 200, settled.text
    assert settled.json()["status"] == "settled"
    assert_ledger_closed(world)
    report = world.verify()
    assert (report["ok"], report["cycles"]) == (True, 1)
    chain = {cycle["id"], successor["id"], third["id"]}
    for document in (json.loads(line) for line in world.journal()):
        assert document["cycle_id"] in chain
        if document["kind"] in ("discharge", "pay_out"):
            assert document["cycle_id"] == third["id"]


def kinds(world: World) -> set[str]:
    """The kinds of entry in the journal."""
    return {json.loads(line)["kind"] for line in world.journal()}
