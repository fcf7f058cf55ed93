"""The operating commands of DESIGN §10: `clearing db upgrade`, `entities add`, `keys create`."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from typer.testing import CliRunner

from clearing.adapters.persistence.database import make_engine
from clearing.adapters.persistence.tables import Base
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.domain.access import Principal, Role
from clearing.entrypoints.cli import app as cli
from clearing.use_cases import keys, participants
from service.app import create_app


@pytest.fixture
def runner(
    database_url: str, uows: SqlUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    """A CLI runner whose ``clearing`` works on the (emptied) test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def test_db_upgrade_builds_an_empty_database_and_is_idempotent(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_url)

    first = CliRunner().invoke(cli, ["db", "upgrade"])
    second = CliRunner().invoke(cli, ["db", "upgrade"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "up to date" in " ".join(second.output.split())
    engine = make_engine(empty_url)
    try:
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_upgrade_does_not_print_a_password(
    empty_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = empty_postgres_url.replace("postgres@", "postgres:s3cret-pw@", 1)
    monkeypatch.setenv("DATABASE_URL", url)

    result = CliRunner().invoke(cli, ["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert "s3cret-pw" not in result.output


def test_entities_add_registers_an_entity(runner: CliRunner, uows: SqlUnitOfWorkFactory) -> None:
    result = runner.invoke(cli, ["entities", "add", "CN", "--currency", "CNY", "--name", "Heihe"])

    assert result.exit_code == 0, result.output
    assert "CN" in result.output
    with uows() as uow:
        entity = uow.entities.get("CN")
    assert entity is not None
    assert (entity.currency, entity.name) == ("CNY", "Heihe")


BAD_ENTITY_COMMANDS = [
    ["entities", "add", "CN", "--currency", "XYZ"],
    ["entities", "add", "CN", "--currency", "cny"],
    ["entities", "add", "C", "--currency", "CNY"],
    ["entities", "add", "RU", "--currency", "RUB"],
    ["entities", "add", "CN"],
]


def test_entities_add_refuses_bad_or_duplicate_entities_and_changes_nothing(
    runner: CliRunner, uows: SqlUnitOfWorkFactory, subtests: pytest.Subtests
) -> None:
    participants.add_entity(uows(), "RU", "RUB", "Russia")
    for args in BAD_ENTITY_COMMANDS:
        with subtests.test(args=args):
            result = runner.invoke(cli, args)

            assert result.exit_code == 2, result.output
            assert "Traceback" not in result.output
            with uows() as uow:
                assert [e.code for e in uow.entities.list()] == ["RU"]


def created_key(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, ["keys", "create", *args])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    assert result.stdout == lines[0] + "\n"
    return lines[0]


def test_keys_create_prints_the_key_alone_and_the_key_authenticates(
    runner: CliRunner, uows: SqlUnitOfWorkFactory
) -> None:
    participants.add_entity(uows(), "CN", "CNY")

    key = created_key(runner, "--role", "admin", "--label", "bootstrap")

    assert key.startswith("ck_")
    assert len(key) >= 40
    principal = keys.authenticate(uows(), key)
    assert principal is not None
    assert principal.role is Role.ADMIN
    with TestClient(create_app(uows)) as client:
        response = client.post(
            "/v1/participants",
            json={"name": "Heihe Soy", "entity": "CN"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert response.status_code == 201, response.text


def test_keys_create_binds_operators_and_traders(
    runner: CliRunner, uows: SqlUnitOfWorkFactory
) -> None:
    participants.add_entity(uows(), "CN", "CNY")
    participants.add_entity(uows(), "RU", "RUB")
    admin, _ = keys.create_key(uows(), "admin")
    participant = participants.register_participant(
        uows(), Principal("p", Role.ADMIN), name="Amur Timber", entity="RU"
    )

    operator = created_key(runner, "--role", "operator", "--entity", "CN")
    trader = created_key(runner, "--role", "trader", "--participant", participant.id)
    auditor = created_key(runner, "--role", "auditor")

    as_operator = keys.authenticate(uows(), operator)
    assert as_operator is not None
    assert (as_operator.role, as_operator.entity, as_operator.participant_id) == (
        Role.OPERATOR,
        "CN",
        None,
    )
    as_trader = keys.authenticate(uows(), trader)
    assert as_trader is not None
    assert (as_trader.role, as_trader.entity, as_trader.participant_id) == (
        Role.TRADER,
        "RU",
        participant.id,
    )
    as_auditor = keys.authenticate(uows(), auditor)
    assert as_auditor is not None
    assert as_auditor.role is Role.AUDITOR
    assert len({admin, operator, trader, auditor}) == 4


BAD_KEY_COMMANDS = [
    ["--role", "root"],
    ["--role", "operator"],
    ["--role", "operator", "--entity", "XX"],
    ["--role", "trader"],
    ["--role", "trader", "--participant", "RU-404"],
    ["--role", "admin", "--entity", "CN"],
    ["--role", "auditor", "--participant", "RU-404"],
]


def test_keys_create_refuses_a_bad_binding_and_prints_no_key(
    runner: CliRunner, uows: SqlUnitOfWorkFactory, subtests: pytest.Subtests
) -> None:
    participants.add_entity(uows(), "CN", "CNY")
    for args in BAD_KEY_COMMANDS:
        with subtests.test(args=args):
            result = runner.invoke(cli, ["keys", "create", *args])

            assert result.exit_code == 2, result.output
            assert "ck_" not in result.stdout
            assert "Traceback" not in result.output
    with uows() as uow:
        assert uow.session.execute(Base.metadata.tables["api_keys"].select()).first() is None


def test_a_key_is_stored_only_as_a_hash(runner: CliRunner, uows: SqlUnitOfWorkFactory) -> None:
    key = created_key(runner, "--role", "auditor")

    with uows() as uow:
        stored = [
            tuple(row) for row in uow.session.execute(Base.metadata.tables["api_keys"].select())
        ]
    assert stored
    assert not any(key in str(value) for row in stored for value in row)
    assert any(keys.hash_key(key) in row for row in stored)
