"""Engines, sessions and migrations.

``DATABASE_URL`` names the database (an SQLAlchemy URL; a plain ``postgresql://`` URL is run
with psycopg 3). Unset, it is the embedded default: an SQLite file in the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from clearing.domain.errors import InvalidInput, NotReady

__all__ = [
    "DatabaseUnavailable",
    "NullPool",
    "check_connection",
    "create_database_if_missing",
    "database_url",
    "make_engine",
    "session_factory",
    "upgrade",
]

DEFAULT_SQLITE_FILE = "clearing.db"
MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"
SUPPORTED_BACKENDS = ("postgresql", "sqlite")
#: The database every PostgreSQL server has, to look for or create the one the URL names.
MAINTENANCE_DATABASE = "postgres"


class DatabaseUnavailable(NotReady):
    """The server could not be reached or refused what was asked: perhaps only for now."""


def database_url(url: str | None = None) -> str:
    """The URL to use: ``url``, else ``DATABASE_URL``, else the SQLite file; normalised.

    :class:`InvalidInput` when it is not a URL of a supported database."""
    chosen = url or os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_FILE}"
    parsed = _parsed(chosen)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _parsed(chosen: str) -> URL:
    try:
        parsed = make_url(chosen)
    except (ArgumentError, ValueError):
        raise InvalidInput(
            f"{_shown_url(chosen)} is not a database URL such as "
            "postgresql://user@host/name or sqlite:///clearing.db",
            field="DATABASE_URL",
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise InvalidInput(
            f"{backend} is not supported; use postgresql://… or sqlite:///…", field="DATABASE_URL"
        )
    return parsed


def _shown_url(chosen: str) -> str:
    # Credentials come before an "@": a URL that may hold a password is not repeated.
    return "the URL" if "@" in chosen else repr(chosen)


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str | None = None, **options: Any) -> Engine:
    resolved = database_url(url)
    if resolved.startswith("sqlite"):
        engine = _created_engine(resolved, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if "poolclass" not in options:
        options.setdefault("pool_size", 10)
        options.setdefault("max_overflow", 20)
    options.setdefault("pool_pre_ping", True)
    return _created_engine(resolved, **options)


def _created_engine(url: str | URL, **options: Any) -> Engine:
    try:
        return create_engine(url, **options)
    except (ArgumentError, ImportError) as error:
        raise InvalidInput(
            f"{_displayed(make_url(url))} needs a database driver that is not installed ({error})",
            field="DATABASE_URL",
        ) from None


def check_connection(engine: Engine) -> None:
    """Connect once: :class:`NotReady` saying to run ``clearing db upgrade`` when the server
    has no such database, :class:`DatabaseUnavailable` when it cannot be reached or refuses."""
    try:
        engine.connect().close()
    except OperationalError as error:
        if _is_missing(engine.url):
            raise NotReady(
                f"there is no database {engine.url.database} at {_server(engine.url)}: "
                "run `clearing db upgrade` to create it"
            ) from None
        raise DatabaseUnavailable(
            f"cannot connect to the database at {_displayed(engine.url)}: {_reason(error)}"
        ) from None


def create_database_if_missing(url: str | None = None) -> str | None:
    """Create the PostgreSQL database ``url`` names if its server answers without it; its URL
    (password hidden) when it was created, ``None`` when there was nothing to create."""
    engine = make_engine(url, poolclass=NullPool)  # a bad URL or driver is named as given
    resolved = engine.url
    engine.dispose()
    if not _is_missing(resolved):
        return None
    name = resolved.database or ""
    maintenance = _maintenance_engine(resolved)
    try:
        with maintenance.connect() as connection:
            quoted = maintenance.dialect.identifier_preparer.quote(name)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
    except DBAPIError as error:
        raise DatabaseUnavailable(
            f"cannot create the database {name} at {_server(resolved)}: {_reason(error)}"
        ) from None
    finally:
        maintenance.dispose()
    return _displayed(resolved)


def _is_missing(url: URL) -> bool:
    """Whether ``url``'s PostgreSQL server answers and has no database of its name."""
    if url.get_backend_name() != "postgresql" or not url.database:
        return False
    maintenance = _maintenance_engine(url)
    try:
        with maintenance.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).first()
    except DBAPIError:
        return False
    finally:
        maintenance.dispose()
    return found is None


def _maintenance_engine(url: URL) -> Engine:
    return _created_engine(
        url.set(database=MAINTENANCE_DATABASE),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
    )


def _server(url: URL) -> str:
    return _displayed(url._replace(database=None))


def _displayed(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _reason(error: DBAPIError) -> str:
    """The driver's own words, on one line."""
    return " ".join(str(error.orig).split())


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent), once the database is known to answer."""
    engine = make_engine(url, poolclass=NullPool)
    try:
        check_connection(engine)
    finally:
        engine.dispose()
    command.upgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
