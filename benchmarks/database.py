"""The benchmarks' PostgreSQL plumbing: a throwaway database migrated to head, psycopg URLs,
raw ``COPY ... FROM STDIN`` (timed or not) and the columns of ``invoices`` it fills.

Shared by ``ingest.py`` and ``cycle.py``; imported as a sibling module.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from clearing.adapters.persistence.database import upgrade

from common import stopwatch

#: The local server's maintenance database, as a role allowed to create databases.
LOCAL_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

#: The columns of ``invoices`` a benchmark fills with COPY, in that order.
INVOICE_COLUMNS = (
    "id",
    "invoice_number",
    "exporter_id",
    "exporter_entity",
    "importer_id",
    "importer_entity",
    "currency",
    "amount",
    "outstanding",
    "issue_date",
    "due_date",
    "hs_code",
    "description",
    "status",
    "priority",
    "created_at",
    "updated_at",
)


def default_admin_url(variable: str) -> str:
    """The admin URL from the environment ``variable``, else the local server."""
    return os.environ.get(variable, LOCAL_ADMIN_URL)


def new_database_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def plain_url(url: str) -> str:
    """The URL as psycopg takes it (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def server_version(admin_url: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        version = admin.execute("SHOW server_version").fetchone()
    return str(version[0]) if version else "?"


@contextmanager
def throwaway_database(admin_url: str, name: str) -> Iterator[str]:
    """Database ``name``, created and migrated to head; yields its URL and is dropped
    afterwards, whatever happens."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_into(
    cursor: psycopg.Cursor[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Write ``rows`` into ``columns`` of ``table`` with ``COPY ... FROM STDIN``."""
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def timed_copy(
    connection: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> float:
    """COPY ``rows`` into ``table`` in one transaction; the seconds taken, commit included."""
    elapsed = stopwatch()
    with connection.cursor() as cursor:
        copy_into(cursor, table, columns, rows)
    connection.commit()
    return elapsed()
