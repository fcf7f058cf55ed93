"""A small world of mirrored entities, built through the real use cases and the API.

Entities ``CN`` (CNY), ``RU`` (RUB) and ``KZ`` (KZT); one admin, one auditor, one operator per
entity, and a few participants per entity, each with a trader key.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clearing.adapters.persistence.tables import InvoiceRow
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.use_cases import keys as keys_use_cases
from clearing.use_cases import participants

ENTITIES = {"CN": "CNY", "RU": "RUB", "KZ": "KZT"}
TRADERS_PER_ENTITY = 2

#: Words that only appear in a Python stack trace or a driver's error, never in an answer.
TRACE_MARKERS = ("Traceback", 'File "', "site-packages", "sqlalchemy", "psycopg", "IntegrityError")


#: Invalid invoice fields: (what is wrong, fields to override, the field the answer names).
INVALID_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("amount as a JSON number", {"amount": 1000.5}, "amount"),
    ("amount as a JSON integer", {"amount": 1000}, "amount"),
    ("amount with excess decimals", {"amount": "10.001"}, "amount"),
    ("amount with decimals a yen has not", {"currency": "JPY", "amount": "10.5"}, "amount"),
    ("zero amount", {"amount": "0.00"}, "amount"),
    ("negative amount", {"amount": "-5.00"}, "amount"),
    ("amount with a plus sign", {"amount": "+5.00"}, "amount"),
    ("amount in exponent notation", {"amount": "1e3"}, "amount"),
    ("amount with a thousands separator", {"amount": "1,000.00"}, "amount"),
    ("amount with blanks", {"amount": " 10.00"}, "amount"),
    ("amount in other digits", {"amount": "\uff11\uff10"}, "amount"),
    ("empty amount", {"amount": ""}, "amount"),
    ("non-numeric amount", {"amount": "ten"}, "amount"),
    ("amount above 10^14 minor units", {"amount": "1000000000000.01"}, "amount"),
    ("huge amount", {"amount": "9" * 40}, "amount"),
    ("missing amount", {"amount": None}, "amount"),
    ("unknown currency", {"currency": "XYZ"}, "currency"),
    ("lowercase currency", {"currency": "cny"}, "currency"),
    ("currency without minor unit", {"currency": "XAU"}, "currency"),
    ("currency as a number", {"currency": 156}, "currency"),
    ("impossible date", {"issue_date": "2026-02-30"}, "issue_date"),
    ("date as a number", {"issue_date": 1762041600}, "issue_date"),
    ("date as zero", {"due_date": 0}, "due_date"),
    ("date with a time", {"issue_date": "2026-11-02T00:00:00"}, "issue_date"),
    ("date without dashes", {"due_date": "20261231"}, "due_date"),
    ("date in another order", {"due_date": "31.12.2026"}, "due_date"),
    ("due before issue", {"issue_date": "2026-12-01", "due_date": "2026-11-30"}, "due_date"),
    ("HS code of letters", {"hs_code": "ABCD"}, "hs_code"),
    ("HS code of one digit", {"hs_code": "8"}, "hs_code"),
    ("HS code of eleven digits", {"hs_code": "12345678901"}, "hs_code"),
    ("HS code as a number", {"hs_code": 8471}, "hs_code"),
    ("unknown importer", {"importer_id": "RU-0000000000"}, "importer_id"),
    ("importer id with a NUL", {"importer_id": "RU-\x00"}, "importer_id"),
    ("empty invoice number", {"invoice_number": ""}, "invoice_number"),
    ("blank invoice number", {"invoice_number": "   "}, "invoice_number"),
    ("invoice number with a NUL", {"invoice_number": "A\x00B"}, "invoice_number"),
    ("overlong invoice number", {"invoice_number": "N" * 65}, "invoice_number"),
    ("overlong description", {"description": "d" * 2001}, "description"),
    ("client-set status", {"status": "eligible"}, "status"),
    ("client-set outstanding", {"outstanding": "1.00"}, "outstanding"),
    ("client-set id", {"id": "inv_mine"}, "id"),
    ("client-set sequence", {"sequence": 1}, "sequence"),
    ("client-set cycle", {"cycle_id": "cyc_1"}, "cycle_id"),
    ("client-set priority", {"priority": 0}, "priority"),
    ("client-set exporter entity", {"exporter_entity": "CN"}, "exporter_entity"),
]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Keys(dict[str, str]):
    """API keys made through the use case the first time a test asks for them (most tests need
    only a few, and each key is a transaction)."""

    def __init__(self, make: Callable[[str], str]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, name: str) -> str:
        key = self[name] = self._make(name)
        return key


@dataclass(frozen=True)
class Trader:
    """A participant registered with an entity, and its trader key."""

    id: str
    entity: str
    name: str
    keys: Keys = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        return self.keys[self.id]

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)


@dataclass
class World:
    client: TestClient
    uows: SqlUnitOfWorkFactory
    admin: str
    operators: Keys
    traders: dict[str, list[Trader]]
    others: Keys
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def auditor(self) -> str:
        return self.others["auditor"]

    def operator(self, entity: str) -> dict[str, str]:
        return bearer(self.operators[entity])

    def trader(self, entity: str, index: int = 0) -> Trader:
        return self.traders[entity][index]

    def next_number(self) -> str:
        return f"INV-{next(self._numbers):06d}"

    def invoice_body(self, importer: Trader | str, **overrides: Any) -> dict[str, Any]:
        """A valid invoice body to ``importer``; ``overrides`` replace or add fields."""
        body: dict[str, Any] = {
            "invoice_number": self.next_number(),
            "importer_id": importer if isinstance(importer, str) else importer.id,
            "currency": "CNY",
            "amount": "1000.00",
            "issue_date": "2026-11-02",
            "due_date": "2026-12-31",
            "hs_code": "8471",
            "description": "Laptops, 40 units",
        }
        body.update(overrides)
        return body

    def submit(self, exporter: Trader, importer: Trader, **overrides: Any) -> dict[str, Any]:
        """Submit an invoice through the API and return it (it must be accepted)."""
        response = self.client.post(
            "/v1/invoices", json=self.invoice_body(importer, **overrides), headers=exporter.headers
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def confirm(self, invoice: dict[str, Any], importer: Trader) -> dict[str, Any]:
        response = self.client.post(
            f"/v1/invoices/{invoice['id']}/confirm",
            json={"currency": invoice["currency"], "amount": invoice["amount"]},
            headers=importer.headers,
        )
        assert response.status_code == 200, response.text
        confirmed: dict[str, Any] = response.json()
        return confirmed

    def invoice_count(self) -> int:
        return count_invoices(self.uows)


def count_invoices(uows: SqlUnitOfWorkFactory) -> int:
    with uows() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(InvoiceRow)) or 0)


def build_world(client: TestClient, uows: SqlUnitOfWorkFactory) -> World:
    """Entities and keys through the use cases; participants through the API (as the admin).

    Keys other than the admin's are made when a test first uses them."""
    for code, currency in ENTITIES.items():
        participants.add_entity(uows(), code, currency, f"{code} clearing entity")
    admin, _ = keys_use_cases.create_key(uows(), "admin", label="bootstrap")
    operators = Keys(
        lambda code: keys_use_cases.create_key(
            uows(), "operator", entity=code, label=f"{code} desk"
        )[0]
    )
    trader_keys = Keys(
        lambda pid: keys_use_cases.create_key(uows(), "trader", participant_id=pid)[0]
    )
    others = Keys(lambda role: keys_use_cases.create_key(uows(), role, label=role)[0])
    traders: dict[str, list[Trader]] = {}
    for code in ENTITIES:
        traders[code] = []
        for index in range(TRADERS_PER_ENTITY):
            name = f"{code} Trading Co. {index}"
            response = client.post(
                "/v1/participants",
                json={"name": name, "entity": code, "tax_id": f"TAX-{code}-{index}"},
                headers=bearer(admin),
            )
            assert response.status_code == 201, response.text
            traders[code].append(Trader(response.json()["id"], code, name, trader_keys))
    return World(client, uows, admin, operators, traders, others)


def assert_error(response: Any, status: int, *, field: str | None = None) -> dict[str, Any]:
    """The answer is an error of ``status`` in the JSON shape ``{code, message, field?}``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) <= {"code", "message", "field"}, body
    assert isinstance(body["code"], str)
    assert body["code"]
    assert isinstance(body["message"], str)
    assert body["message"]
    if field is not None:
        assert body.get("field") == field, body
    assert_no_trace(response.text)
    return body


def assert_no_trace(text: str) -> None:
    for marker in TRACE_MARKERS:
        assert marker not in text, f"{marker!r} leaked in {text[:300]!r}"


def canonical(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
