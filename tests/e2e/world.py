"""A world of mirrored clearing entities driven through the HTTP API, and the checks every
settled cycle must pass (DESIGN §4 invariants, §5 ledger, §10 contract).

Entities and keys are made by the operating use cases (as ``clearing entities add`` and
``clearing keys create`` would); everything else goes through the API. Amounts are compared as
exact :class:`~decimal.Decimal` values of the decimal strings the API answers.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.use_cases import keys, participants

CURRENCIES = {"CN": "CNY", "RU": "RUB", "KZ": "KZT"}
#: Value of one major unit in CNY (the pilot's base).
RATES = {"CNY": "1", "RUB": "0.0781", "KZT": "0.0142", "USD": "7.10"}
ZERO = Decimal(0)

Json = dict[str, Any]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def dec(text: str) -> Decimal:
    """An API amount (a decimal string in major units) as an exact decimal."""
    assert isinstance(text, str), text
    return Decimal(text)


@dataclass(frozen=True)
class Trader:
    """A participant registered with an entity, and its trader key."""

    id: str
    entity: str
    name: str
    bank_account: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)


@dataclass
class World:
    client: TestClient
    uows: SqlUnitOfWorkFactory
    engine: Engine
    entities: dict[str, str]
    admin: str
    auditor: str
    operators: dict[str, str]
    traders: dict[str, list[Trader]]
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- who is calling ---

    def op(self, entity: str) -> dict[str, str]:
        return bearer(self.operators[entity])

    @property
    def aud(self) -> dict[str, str]:
        return bearer(self.auditor)

    def trader(self, entity: str, index: int) -> Trader:
        return self.traders[entity][index]

    def participant(self, participant_id: str) -> Trader:
        return next(t for ts in self.traders.values() for t in ts if t.id == participant_id)

    # --- invoices ---

    def invoice(
        self,
        exporter: Trader,
        importer: Trader,
        amount: str,
        *,
        currency: str = "CNY",
        due_date: str = "2026-12-15",
        hs_code: str = "8471",
    ) -> Json:
        """Submit an invoice as its exporter and confirm it as its importer: it is eligible."""
        body = {
            "invoice_number": f"E2E-{next(self._numbers):05d}",
            "importer_id": importer.id,
            "currency": currency,
            "amount": amount,
            "issue_date": "2026-11-02",
            "due_date": due_date,
            "hs_code": hs_code,
            "description": "goods",
        }
        submitted = self.client.post("/v1/invoices", json=body, headers=exporter.headers)
        assert submitted.status_code == 201, submitted.text
        confirmed = self.client.post(
            f"/v1/invoices/{submitted.json()['id']}/confirm",
            json={"currency": currency, "amount": amount},
            headers=importer.headers,
        )
        assert confirmed.status_code == 200, confirmed.text
        invoice: Json = confirmed.json()
        assert invoice["status"] == "eligible", invoice
        return invoice

    def invoices(self, **filters: str) -> dict[str, Json]:
        """Every invoice the auditor sees (all pages), by id."""
        found: dict[str, Json] = {}
        cursor: str | None = None
        while True:
            params = {**filters, "limit": "100", **({"cursor": cursor} if cursor else {})}
            response = self.client.get("/v1/invoices", params=params, headers=self.aud)
            assert response.status_code == 200, response.text
            page = response.json()
            found.update((i["id"], i) for i in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    # --- cycles ---

    def rates(self, **overrides: str) -> Json:
        """A rate set naming every entity, with the base (CNY) at 1."""
        wanted = {c: RATES[c] for c in [*self.entities.values(), "USD"]}
        wanted.update(overrides)
        return {
            "base": "CNY",
            "jurisdictions": dict(self.entities),
            "rates": {c: r for c, r in wanted.items() if r},
            "source": "e2e fixing",
            "as_of": "2026-11-20T10:00:00Z",
        }

    def open_cycle(self, entity: str = "CN", policy: str = "fifo") -> Json:
        response = self.client.post("/v1/cycles", json={"policy": policy}, headers=self.op(entity))
        assert response.status_code == 201, response.text
        cycle: Json = response.json()
        assert cycle["status"] == "open"
        return cycle

    def propose(self, *, policy: str = "fifo", rates: Json | None = None, by: str = "CN") -> Json:
        """Open a cycle, fix its rates and close it: the proposal."""
        cycle = self.open_cycle(by, policy)
        put = self.client.put(
            f"/v1/cycles/{cycle['id']}/rates", json=rates or self.rates(), headers=self.op(by)
        )
        assert put.status_code == 200, put.text
        closed = self.client.post(f"/v1/cycles/{cycle['id']}/close", headers=self.op(by))
        assert closed.status_code == 200, closed.text
        proposal: Json = closed.json()
        assert proposal["digest"]
        assert len(proposal["digest"]) == 64
        return proposal

    def cycle(self, cycle_id: str) -> Json:
        response = self.client.get(f"/v1/cycles/{cycle_id}", headers=self.aud)
        assert response.status_code == 200, response.text
        cycle: Json = response.json()
        return cycle

    def approve(self, cycle: Json, entity: str, digest: str | None = None) -> Any:
        return self.client.post(
            f"/v1/cycles/{cycle['id']}/approve",
            json={"digest": digest or cycle["digest"]},
            headers=self.op(entity),
        )

    def approve_all(self, cycle: Json) -> Json:
        """Every entity with legs approves the proposed digest."""
        last = cycle
        for entity in cycle["required_approvals"]:
            response = self.approve(cycle, entity)
            assert response.status_code == 200, response.text
            last = response.json()
        return last

    def positions(self, cycle_id: str, headers: dict[str, str] | None = None) -> list[Json]:
        response = self.client.get(f"/v1/cycles/{cycle_id}/positions", headers=headers or self.aud)
        assert response.status_code == 200, response.text
        items: list[Json] = response.json()["items"]
        return items

    def settlements(
        self, cycle_id: str, headers: dict[str, str] | None = None, page_size: int = 17
    ) -> list[Json]:
        """Every settlement row (all pages, small pages on purpose)."""
        rows: list[Json] = []
        cursor: str | None = None
        while True:
            params = {"limit": str(page_size), **({"cursor": cursor} if cursor else {})}
            response = self.client.get(
                f"/v1/cycles/{cycle_id}/settlements", params=params, headers=headers or self.aud
            )
            assert response.status_code == 200, response.text
            page = response.json()
            rows.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return rows

    def refunds(self, cycle_id: str, headers: dict[str, str] | None = None) -> list[Json]:
        response = self.client.get(f"/v1/cycles/{cycle_id}/refunds", headers=headers or self.aud)
        assert response.status_code == 200, response.text
        items: list[Json] = response.json()["items"]
        return items

    def pay_in(self, cycle_id: str, participant_id: str, amount: str, reference: str) -> Any:
        """Its own entity's operator records a participant's domestic payment."""
        payer = self.participant(participant_id)
        return self.client.post(
            f"/v1/cycles/{cycle_id}/pay-ins",
            json={
                "participant_id": participant_id,
                "currency": self.entities[payer.entity],
                "amount": amount,
                "bank_reference": reference,
            },
            headers=self.op(payer.entity),
        )

    def pay_everything(self, cycle_id: str) -> Json:
        """Every participant pays in what it still owes; the last payment settles the cycle."""
        last: Json = self.cycle(cycle_id)
        for position in self.positions(cycle_id):
            still = dec(position["outstanding_pay_in"])
            if still > 0:
                reference = f"BANK-{position['participant_id']}-{next(self._numbers)}"
                response = self.pay_in(cycle_id, position["participant_id"], str(still), reference)
                assert response.status_code == 201, response.text
                last = response.json()
        return last

    def settle(self, *, policy: str = "fifo", rates: Json | None = None) -> Json:
        """A whole cycle: propose, approve everywhere, pay in everything."""
        proposal = self.propose(policy=policy, rates=rates)
        self.approve_all(proposal)
        settled = self.pay_everything(proposal["id"])
        assert settled["status"] == "settled", settled
        return settled

    # --- ledger and audit ---

    def journal(self, headers: dict[str, str] | None = None, page_size: int = 4) -> list[str]:
        """The exported journal, paged by sequence with ``after`` and ``limit``."""
        lines: list[str] = []
        after = 0
        while True:
            response = self.client.get(
                "/v1/ledger/entries",
                params={"after": str(after), "limit": str(page_size)},
                headers=headers or self.aud,
            )
            assert response.status_code == 200, response.text
            page = [line for line in response.text.split("\n") if line]
            lines.extend(page)
            if "X-Next-After" not in response.headers:
                assert len(page) < page_size, "a full page names the next one"
                return lines
            after = int(response.headers["X-Next-After"])
            assert after == json.loads(page[-1])["seq"]

    def balances(self, headers: dict[str, str] | None = None) -> dict[tuple[str, str], Decimal]:
        """``(entity, account) -> balance`` from ``/v1/ledger/balances``."""
        response = self.client.get("/v1/ledger/balances", headers=headers or self.aud)
        assert response.status_code == 200, response.text
        found: dict[tuple[str, str], Decimal] = {}
        for item in response.json()["items"]:
            assert item["currency"] == self.entities[item["entity"]], item
            found[(item["entity"], item["account"])] = dec(item["balance"])
        return found

    def verify(self) -> Json:
        response = self.client.get("/v1/audit/verify", headers=self.aud)
        assert response.status_code == 200, response.text
        report: Json = response.json()
        return report

    def instructions(self, cycle_id: str, headers: dict[str, str] | None = None) -> list[Json]:
        response = self.client.get(
            f"/v1/cycles/{cycle_id}/instructions.csv", headers=headers or self.aud
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(response.text)))


def build_world(
    client: TestClient,
    uows: SqlUnitOfWorkFactory,
    engine: Engine,
    entities: dict[str, str],
    traders_per_entity: int,
) -> World:
    """Entities and keys by the operating use cases; participants through the API (as admin)."""
    for code, currency in entities.items():
        participants.add_entity(uows(), code, currency, f"{code} clearing entity")
    admin, _ = keys.create_key(uows(), "admin", label="bootstrap")
    auditor, _ = keys.create_key(uows(), "auditor", label="external auditor")
    operators = {
        code: keys.create_key(uows(), "operator", entity=code, label=f"{code} desk")[0]
        for code in entities
    }
    traders: dict[str, list[Trader]] = {}
    for code in entities:
        traders[code] = []
        for index in range(traders_per_entity):
            name = f"{code} Trading {index}"
            account = f"{code}-ACC-{index:04d}"
            response = client.post(
                "/v1/participants",
                json={"name": name, "entity": code, "bank_account": account},
                headers=bearer(admin),
            )
            assert response.status_code == 201, response.text
            participant_id = response.json()["id"]
            key, _ = keys.create_key(uows(), "trader", participant_id=participant_id)
            traders[code].append(Trader(participant_id, code, name, account, key))
    return World(client, uows, engine, dict(entities), admin, auditor, operators, traders)


# --- what every settled cycle must satisfy -----------------------------------------------------


def journal_entries_expected(positions: list[Json], instalments: int = 0) -> int:
    """Per entity with legs: one discharge; then one entry per pay-in as it was recorded (one
    per payer, and ``instalments`` more) and one per pay-out as it was released (DESIGN §5:
    money is journaled when it moves)."""
    entities = {p["entity"] for p in positions}
    return len(entities) + sum(1 for p in positions if dec(p["net"]) != ZERO) + instalments


def assert_ledger_closed(world: World) -> dict[tuple[str, str], Decimal]:
    """Every participant account and every settlement account is at zero, and each entity's
    mirror accounts sum to zero: nothing is owed at home or across the border."""
    balances = world.balances()
    mirrors: dict[str, Decimal] = defaultdict(Decimal)
    for (entity, account), balance in balances.items():
        if account.startswith("mirror:"):
            assert account != f"mirror:{entity}", account
            mirrors[entity] += balance
        else:
            assert account == "settlement" or account.startswith("participant:"), account
            assert balance == ZERO, (entity, account, balance)
    for entity, total in mirrors.items():
        assert total == ZERO, (entity, total)
    return balances


def assert_settled_coherently(world: World, cycle_id: str, before: dict[str, Json]) -> Json:
    """The checks of DESIGN §4-§6 and §10 on a settled cycle, through the API only.

    ``before`` is every invoice as it was just before the cut-off (by id). Returns the cycle with
    its ``settlements`` and ``positions`` added, for the caller's own checks.
    """
    cycle = world.cycle(cycle_id)
    assert cycle["status"] == "settled", cycle
    currencies = world.entities

    # Closed loop per jurisdiction: pay-ins equal pay-outs, in the entity's own currency.
    totals = {j["jurisdiction"]: j for j in cycle["jurisdictions"]}
    for entity, total in totals.items():
        assert total["currency"] == currencies[entity]
        assert dec(total["pay_in"]) == dec(total["pay_out"]), total

    # Legs: the per-obligation legs add up to the jurisdiction totals and the positions.
    settlements = world.settlements(cycle_id)
    positions = world.positions(cycle_id)
    leg_in: dict[str, Decimal] = defaultdict(Decimal)
    leg_out: dict[str, Decimal] = defaultdict(Decimal)
    pay_in: dict[str, Decimal] = defaultdict(Decimal)
    pay_out: dict[str, Decimal] = defaultdict(Decimal)
    for s in settlements:
        assert s["debtor_leg"]["currency"] == currencies[s["debtor_entity"]]
        assert s["creditor_leg"]["currency"] == currencies[s["creditor_entity"]]
        leg_in[s["debtor_entity"]] += dec(s["debtor_leg"]["amount"])
        leg_out[s["creditor_entity"]] += dec(s["creditor_leg"]["amount"])
        pay_in[s["debtor_id"]] += dec(s["debtor_leg"]["amount"])
        pay_out[s["creditor_id"]] += dec(s["creditor_leg"]["amount"])
        assert ZERO <= dec(s["settled"]) <= dec(s["outstanding"]), s
        assert dec(s["remaining"]) == dec(s["outstanding"]) - dec(s["settled"]), s
    for entity, total in totals.items():
        assert leg_in[entity] == dec(total["pay_in"]), (entity, leg_in[entity], total)
        assert leg_out[entity] == dec(total["pay_out"]), (entity, leg_out[entity], total)

    # Positions: one net payment each, nets summing to zero per entity, every pay-in received.
    nets: dict[str, Decimal] = defaultdict(Decimal)
    for p in positions:
        assert p["currency"] == currencies[p["entity"]]
        assert dec(p["pay_in"]) == pay_in[p["participant_id"]], p
        assert dec(p["pay_out"]) == pay_out[p["participant_id"]], p
        assert dec(p["net"]) == dec(p["pay_out"]) - dec(p["pay_in"]), p
        assert dec(p["received"]) - dec(p["refunded"]) == max(-dec(p["net"]), ZERO), p
        assert dec(p["outstanding_pay_in"]) == ZERO, p
        nets[p["entity"]] += dec(p["net"])
    assert all(total == ZERO for total in nets.values()), nets
    party = {p["participant_id"] for p in positions}
    assert party == {pid for pid in pay_in if pay_in[pid]} | {
        pid for pid in pay_out if pay_out[pid]
    }

    # Invoices: settled, or eligible again with exactly outstanding - settled still owed.
    after = world.invoices()
    assert {s["obligation_id"] for s in settlements} <= set(before)
    for s in settlements:
        invoice, earlier = after[s["obligation_id"]], before[s["obligation_id"]]
        assert dec(s["outstanding"]) == dec(earlier["outstanding"]), (s, earlier)
        assert dec(invoice["outstanding"]) == dec(earlier["outstanding"]) - dec(s["settled"])
        expected = "settled" if dec(s["remaining"]) == ZERO else "eligible"
        assert invoice["status"] == expected, (invoice, s)
        assert invoice["outstanding"] == s["remaining"], (invoice, s)

    # Statements: each participant's position and the obligations it is party to.
    by_party: dict[str, list[str]] = defaultdict(list)
    for s in settlements:
        by_party[s["debtor_id"]].append(s["obligation_id"])
        by_party[s["creditor_id"]].append(s["obligation_id"])
    by_id = {p["participant_id"]: p for p in positions}
    for participant_id, position in by_id.items():
        response = world.client.get(
            f"/v1/cycles/{cycle_id}/statements/{participant_id}", headers=world.aud
        )
        assert response.status_code == 200, response.text
        statement = response.json()
        assert statement["cycle_status"] == "settled"
        assert statement["position"] == position
        listed = [o["obligation_id"] for o in statement["obligations"]]
        assert sorted(listed) == sorted(by_party[participant_id])
        debits = sum(
            (
                dec(o["debtor_leg"]["amount"])
                for o in statement["obligations"]
                if o["debtor_id"] == participant_id
            ),
            ZERO,
        )
        credits = sum(
            (
                dec(o["creditor_leg"]["amount"])
                for o in statement["obligations"]
                if o["creditor_id"] == participant_id
            ),
            ZERO,
        )
        assert (debits, credits) == (dec(position["pay_in"]), dec(position["pay_out"]))

    # Payment instructions: pay-outs are the positive nets, pay-ins the negative ones.
    rows = world.instructions(cycle_id)
    expected_rows = sorted(
        (p["entity"], p["participant_id"], "pay_out" if dec(p["net"]) > 0 else "pay_in")
        for p in positions
        if dec(p["net"]) != 0
    )
    assert (
        sorted(
            (r["entity"], r["participant_id"], r["direction"])
            for r in rows
            if r["direction"] != "refund"
        )
        == expected_rows
    )
    moved: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["direction"] == "refund":
            continue
        position = by_id[row["participant_id"]]
        trader = world.participant(row["participant_id"])
        assert row["currency"] == position["currency"]
        assert dec(row["amount"]) == abs(dec(position["net"])), (row, position)
        assert row["bank_account"] == trader.bank_account
        assert row["name"] == trader.name
        moved[(row["entity"], row["direction"])] += dec(row["amount"])
    for entity in {p["entity"] for p in positions}:
        assert moved[(entity, "pay_in")] == moved[(entity, "pay_out")], entity
    for entity in currencies:
        own = world.instructions(cycle_id, headers=world.op(entity))
        assert {r["entity"] for r in own} <= {entity}
        assert len(own) == sum(1 for r in rows if r["entity"] == entity)

    # The journal of the cycle and of any it superseded: the discharge moves each participant
    # by -net; the money that came in (pay-ins, less refunds) and each pay-out, journaled as
    # they moved, by +net; each settlement account takes in exactly what it pays out.
    entries = [json.loads(line) for line in world.journal(page_size=1000)]
    discharges = [e for e in entries if e["cycle_id"] == cycle_id and e["kind"] == "discharge"]
    assert {e["entity"] for e in discharges} == {p["entity"] for p in positions}
    chain = {cycle_id, *(discharges[0].get("details") or {}).get("predecessors", [])}
    posted = [e for e in entries if e["cycle_id"] in chain]
    assert [e["cycle"]["digest"] for e in posted if e.get("cycle")] == [cycle["digest"]]
    pay_outs = [e for e in posted if e["kind"] == "pay_out"]
    assert sorted(e["details"]["participant_id"] for e in pay_outs) == sorted(
        p["participant_id"] for p in positions if dec(p["net"]) > ZERO
    )
    assert all(e["cycle_id"] == cycle_id for e in pay_outs)
    movement: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for entry in posted:
        kind = "in" if entry["kind"] in ("pay_in", "refund") else entry["kind"]
        for posting in entry["postings"]:
            assert posting["currency"] == currencies[entry["entity"]], (entry, posting)
            movement[(kind, entry["entity"], posting["account"])] += dec(posting["amount"])
    for p in positions:
        account, net = f"participant:{p['participant_id']}", dec(p["net"])
        assert movement[("discharge", p["entity"], account)] == -net, p
        if net != ZERO:
            assert movement[("in" if net < 0 else "pay_out", p["entity"], account)] == net
    for entity in {p["entity"] for p in positions}:
        received = movement[("in", entity, "settlement")]
        assert received == moved[(entity, "pay_in")]
        assert movement[("pay_out", entity, "settlement")] == -received

    return {**cycle, "settlements": settlements, "positions": positions}
