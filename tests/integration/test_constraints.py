"""The database guards the invariants itself: writes that bypass the domain are refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from clearing.adapters.persistence.tables import (
    ApiKeyRow,
    ComplianceRuleRow,
    EntityRow,
    InvoiceEventRow,
    InvoiceRow,
    ParticipantRow,
)
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.use_cases import participants

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def parties(uows: SqlUnitOfWorkFactory, engine: Engine) -> tuple[str, str]:
    """Two participants, one in CN and one in RU, written straight into the tables."""
    participants.add_entity(uows(), "CN", "CNY")
    participants.add_entity(uows(), "RU", "RUB")
    with engine.begin() as connection:
        connection.execute(
            insert(ParticipantRow),
            [
                {"id": "CN-1", "entity": "CN", "name": "Heihe Soy", "created_at": NOW},
                {"id": "RU-1", "entity": "RU", "name": "Amur Timber", "created_at": NOW},
            ],
        )
    return "CN-1", "RU-1"


def invoice_row(n: int = 1, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"inv_{n:032d}",
        "invoice_number": f"N-{n}",
        "exporter_id": "CN-1",
        "exporter_entity": "CN",
        "importer_id": "RU-1",
        "importer_entity": "RU",
        "currency": "CNY",
        "amount": 100_00,
        "outstanding": 100_00,
        "issue_date": date(2026, 11, 1),
        "due_date": date(2026, 12, 1),
        "hs_code": "1201",
        "description": "",
        "status": "awaiting_confirmation",
        "priority": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }
    row.update(overrides)
    return row


def write(engine: Engine, table: Any, *rows: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(table), list(rows))


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def test_a_valid_row_is_accepted(engine: Engine, parties: tuple[str, str]) -> None:
    write(engine, InvoiceRow, invoice_row())

    assert count(engine, InvoiceRow) == 1


BROKEN_INVOICES: list[tuple[str, dict[str, Any]]] = [
    ("zero amount", {"amount": 0, "outstanding": 0}),
    ("negative amount", {"amount": -100, "outstanding": 0}),
    ("negative outstanding", {"outstanding": -1}),
    ("outstanding above amount", {"outstanding": 100_01}),
    ("lowercase currency", {"currency": "cny"}),
    ("two-letter currency", {"currency": "CN"}),
    ("unknown status", {"status": "paid"}),
    ("same entity", {"importer_id": "CN-1", "importer_entity": "CN"}),
    ("due before issue", {"due_date": date(2026, 10, 1)}),
    ("unknown exporter", {"exporter_id": "CN-404"}),
    ("unknown importer", {"importer_id": "RU-404"}),
    ("unknown entity", {"importer_entity": "KZ"}),
    ("missing amount", {"amount": None}),
]


def test_an_invoice_row_that_breaks_an_invariant_is_refused_by_the_database(
    engine: Engine, parties: tuple[str, str], subtests: pytest.Subtests
) -> None:
    for name, overrides in BROKEN_INVOICES:
        with subtests.test(name), pytest.raises(IntegrityError):
            write(engine, InvoiceRow, invoice_row(**overrides))

    assert count(engine, InvoiceRow) == 0


def test_the_same_invoice_number_from_the_same_exporter_is_refused_by_the_database(
    engine: Engine, parties: tuple[str, str]
) -> None:
    write(engine, InvoiceRow, invoice_row(1, invoice_number="DUP"))

    with pytest.raises(IntegrityError):
        write(engine, InvoiceRow, invoice_row(2, invoice_number="DUP"))
    write(engine, InvoiceRow, invoice_row(3, invoice_number="dup"))

    assert count(engine, InvoiceRow) == 2


def test_the_same_invoice_id_twice_is_refused_by_the_database(
    engine: Engine, parties: tuple[str, str]
) -> None:
    write(engine, InvoiceRow, invoice_row(1))

    with pytest.raises(IntegrityError):
        write(engine, InvoiceRow, invoice_row(1, invoice_number="OTHER"))


def test_an_event_of_an_unknown_invoice_is_refused_by_the_database(
    engine: Engine, parties: tuple[str, str]
) -> None:
    event = {"invoice_id": "inv_404", "to_status": "eligible", "actor": "x", "at": NOW}

    with pytest.raises(IntegrityError):
        write(engine, InvoiceEventRow, event)


BROKEN_ENTITIES: list[tuple[str, dict[str, Any]]] = [
    ("lowercase currency", {"currency": "cny"}),
    ("two-letter currency", {"currency": "KT"}),
    ("one-letter code", {"code": "C"}),
]


def test_an_entity_row_that_breaks_an_invariant_is_refused_by_the_database(
    engine: Engine, uows: SqlUnitOfWorkFactory, subtests: pytest.Subtests
) -> None:
    row = {"code": "KZ", "currency": "KZT", "name": "Kazakhstan", "created_at": NOW}
    for name, overrides in BROKEN_ENTITIES:
        with subtests.test(name), pytest.raises(IntegrityError):
            write(engine, EntityRow, row | overrides)


def test_a_participant_of_an_unknown_entity_is_refused_by_the_database(
    engine: Engine, uows: SqlUnitOfWorkFactory
) -> None:
    with pytest.raises(IntegrityError):
        write(
            engine, ParticipantRow, {"id": "XX-1", "entity": "XX", "name": "x", "created_at": NOW}
        )


BROKEN_KEYS: list[tuple[str, dict[str, Any]]] = [
    ("unknown role", {"role": "root"}),
    ("trader without participant", {"role": "trader"}),
    ("operator without entity", {"role": "operator", "entity": None}),
    ("admin with participant", {"role": "admin", "participant_id": "CN-1"}),
    ("duplicate key hash", {"key_hash": "same"}),
]


def test_an_api_key_row_that_breaks_an_invariant_is_refused_by_the_database(
    engine: Engine, parties: tuple[str, str], subtests: pytest.Subtests
) -> None:
    write(engine, ApiKeyRow, api_key_row("key_1", key_hash="same"))
    for name, overrides in BROKEN_KEYS:
        with subtests.test(name), pytest.raises(IntegrityError):
            write(engine, ApiKeyRow, api_key_row("key_2", **overrides))

    assert count(engine, ApiKeyRow) == 1


def api_key_row(key_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": key_id,
        "key_hash": key_id.ljust(64, "0"),
        "key_prefix": "ck_",
        "role": "operator",
        "entity": "CN",
        "participant_id": None,
        "label": "",
        "created_at": NOW,
    }
    return row | overrides


def test_a_rule_of_an_unknown_kind_or_twice_is_refused_by_the_database(
    engine: Engine, uows: SqlUnitOfWorkFactory
) -> None:
    rule = {"kind": "blocked_goods", "value": "93", "description": "", "created_at": NOW}

    with pytest.raises(IntegrityError):
        write(engine, ComplianceRuleRow, rule)
    with pytest.raises(IntegrityError):
        write(engine, ComplianceRuleRow, rule | {"kind": "embargo", "value": "01"})
