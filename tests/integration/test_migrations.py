"""The migrations build exactly the schema the models describe, and every revision can be
undone and redone, on PostgreSQL and on the embedded SQLite file."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from clearing.adapters.persistence.database import alembic_config, make_engine
from clearing.adapters.persistence.tables import Base
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
