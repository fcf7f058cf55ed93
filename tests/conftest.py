"""Shared test configuration: Hypothesis profiles (``fast`` by default, ``ci`` thorough) and a
throwaway PostgreSQL database built by the migrations."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("fast", max_examples=60, deadline=None)
settings.register_profile(
    "ci",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


# --- a throwaway PostgreSQL database, built by the migrations ---------------------------------

ADMIN_URL = os.environ.get(
    "TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the session, migrated to head, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    from clearing.adapters.persistence.database import upgrade

    name = f"clearing_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[object]:
    from clearing.adapters.persistence.database import make_engine

    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def uows(engine: object) -> object:
    """A unit-of-work factory on a database emptied of everything but its migrations' data."""
    from sqlalchemy import Engine, text

    from clearing.adapters.persistence.tables import Base
    from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
    from clearing.use_cases.compliance import reset_rules

    assert isinstance(engine, Engine)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        # Journal tables refuse TRUNCATE by trigger; a replica session does not fire triggers.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # The chain's head row is data the migration seeds; put it back.
        connection.execute(
            text("INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, :genesis)"),
            {"genesis": "0" * 64},
        )
    factory = SqlUnitOfWorkFactory(engine)
    reset_rules(factory())
    return factory
