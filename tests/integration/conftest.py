"""Fixtures of the integration tests: empty databases for the migrations to build."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from clearing.adapters.persistence.database import make_engine, upgrade
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import ADMIN_URL


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A PostgreSQL database with nothing in it, dropped after the test."""
    name = f"clearing_empty_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """An SQLite file that does not exist yet (the embedded default)."""
    return f"sqlite:///{tmp_path / 'clearing.db'}"


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_url(request: pytest.FixtureRequest) -> str:
    """Each kind of empty database the migrations must build."""
    fixture = "empty_postgres_url" if request.param == "postgresql" else "empty_sqlite_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def sqlite_uows(tmp_path: Path) -> Iterator[SqlUnitOfWorkFactory]:
    """Units of work on a fresh SQLite file built by the migrations."""
    url = f"sqlite:///{tmp_path / 'clearing.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def sql_uows(request: pytest.FixtureRequest) -> SqlUnitOfWorkFactory:
    """Units of work on the throwaway PostgreSQL database, then on a SQLite file."""
    fixture = "uows" if request.param == "postgresql" else "sqlite_uows"
    found: SqlUnitOfWorkFactory = request.getfixturevalue(fixture)
    return found
