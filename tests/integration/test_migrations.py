"""The schema is built by the Alembic migrations, on PostgreSQL and on SQLite alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select

from clearing.adapters.persistence.database import (
    alembic_config,
    current_revision,
    make_engine,
    upgrade,
)
from clearing.adapters.persistence.tables import Base, ComplianceRuleRow


@contextmanager
def opened(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def rule_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(ComplianceRuleRow)) or 0)


def test_migrations_build_every_table_on_an_empty_database(empty_url: str) -> None:
    upgrade(empty_url)

    with opened(empty_url) as engine:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert current_revision(engine) == head()
        assert rule_count(engine) >= 27


def test_migrations_are_idempotent(empty_url: str) -> None:
    upgrade(empty_url)
    with opened(empty_url) as engine:
        rules = rule_count(engine)

    upgrade(empty_url)
    upgrade(empty_url)

    with opened(empty_url) as engine:
        assert current_revision(engine) == head()
        assert rule_count(engine) == rules


def test_the_migrated_schema_matches_the_tables_without_drift(empty_url: str) -> None:
    upgrade(empty_url)

    command.check(alembic_config(empty_url))


def test_the_seeded_rules_are_the_shipped_default(empty_url: str) -> None:
    upgrade(empty_url)

    with opened(empty_url) as engine, engine.connect() as connection:
        rows = set(connection.execute(select(ComplianceRuleRow.kind, ComplianceRuleRow.value)))
    assert ("blocked_goods", "93") in rows
    assert {("priority_goods", f"{chapter:02d}") for chapter in range(1, 25)} <= rows
    assert ("priority_goods", "30") in rows
    assert ("priority_goods", "9018") in rows


def test_the_test_database_is_at_the_head_revision_without_drift(
    database_url: str, engine: Engine
) -> None:
    assert current_revision(engine) == head()

    command.check(alembic_config(database_url))
