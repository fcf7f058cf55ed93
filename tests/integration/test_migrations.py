"""The migrations build exactly the schema the models describe, and every revision can be
undone and redone, on PostgreSQL and on the embedded SQLite file."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from clearing.adapters.persistence.database import alembic_config, make_engine
from clearing.adapters.persistence.tables import Base, PayInRow
from tests.conftest import ADMIN_URL


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    name = f"clearing_migrations_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_the_migrated_postgresql_schema_is_the_schema_of_the_models(empty_postgres: str) -> None:
    command.upgrade(alembic_config(empty_postgres), "head")

    engine = make_engine(empty_postgres)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()

    assert differences == []


@pytest.mark.postgres
def test_every_revision_is_undone_and_redone_on_postgresql(empty_postgres: str) -> None:
    round_trip(empty_postgres)


def test_every_revision_is_undone_and_redone_on_sqlite(tmp_path: Path) -> None:
    round_trip(f"sqlite:///{tmp_path / 'clearing.db'}")


def round_trip(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    assert current == ScriptDirectory.from_config(config).get_current_head()


def insert_cycle_with_a_pay_in(url: str, status: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO cycles (id, number, status, policy, opened_by, opened_at) "
                    "VALUES ('cyc_1', 1, :status, 'fifo', 'key_op', '2026-11-30 09:00:00+00:00')"
                ),
                {"status": status},
            )
            connection.execute(
                text(
                    "INSERT INTO pay_ins (id, cycle_id, participant_id, entity, currency, amount, "
                    "bank_reference, recorded_by, recorded_at) VALUES ('pay_1', 'cyc_1', 'CN-1', "
                    "'CN', 'CNY', 100, 'BANK-1', 'key_op', '2026-11-30 23:30:00+00:00')"
                )
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_pay_ins_recorded_before_value_dates_take_their_utc_recording_day(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'clearing.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("empty_postgres")
    )
    command.upgrade(alembic_config(url), "0007")
    insert_cycle_with_a_pay_in(url, "settled")

    command.upgrade(alembic_config(url), "head")

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            value_date = connection.scalar(select(PayInRow.value_date))
    finally:
        engine.dispose()
    assert value_date == date(2026, 11, 30)


def test_the_journal_upgrade_waits_for_cycles_part_paid_to_settle(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clearing.db'}"
    command.upgrade(alembic_config(url), "0008")
    insert_cycle_with_a_pay_in(url, "settling")

    with pytest.raises(RuntimeError, match="not yet settled"):
        command.upgrade(alembic_config(url), "head")
