"""Set-based writes: COPY on PostgreSQL (about twice SQLAlchemy Core's rate here), one
multi-row INSERT elsewhere. Never one ORM object at a time. And their counterpart for the one
bulk read of a cycle, a cut-off's hundred thousand eligible invoices: plain tuples from the
driver's cursor on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Select, Table, insert
from sqlalchemy.orm import Session

#: Rows of CSV sent to COPY per write.
_CSV_BATCH = 16_384


def copy_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> int:
    """Write ``rows`` into ``table`` in the current transaction: COPY on PostgreSQL."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        count = 0
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    batch = [dict(zip(columns, row, strict=True)) for row in rows]
    if batch:
        session.execute(insert(table), batch)
    return len(batch)


def copy_columns(session: Session, table: Table, columns: pa.Table) -> int:
    """Write the rows of ``columns`` (named as the table's) into ``table`` in the current
    transaction, on PostgreSQL: as CSV written from the columns in C, every value quoted (so an
    empty text is not read as NULL), with no Python object per row."""
    connection = session.connection()
    assert connection.dialect.name == "postgresql"
    raw = connection.connection.driver_connection
    statement = f"COPY {table.name} ({', '.join(columns.column_names)}) FROM STDIN (FORMAT csv)"
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for batch in columns.to_batches(_CSV_BATCH):
            sink = pa.BufferOutputStream()
            pa_csv.write_csv(batch, sink, options)
            copy.write(sink.getvalue().to_pybytes())
    return int(columns.num_rows)


def fetch_rows(session: Session, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """Every row of ``statement``, in the current transaction, as a plain tuple: straight from
    the driver's cursor on PostgreSQL (SQLAlchemy's result rows cost about as much again as
    the fetch itself), through the session elsewhere."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(str(compiled), compiled.params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows
    return [tuple(row) for row in session.execute(statement)]
