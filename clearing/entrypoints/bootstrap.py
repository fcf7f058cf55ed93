"""The composition root: the one place that wires the adapters into the use cases.

The command line, the demo and the HTTP service all get their units of work here, on the
database named by ``DATABASE_URL`` (an SQLite file in the working directory when unset), and
the HTTP service gets the file formats it offers for download, and the statements it reads,
here too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from clearing.adapters.files.bank_statements import read_camt, read_statement_csv
from clearing.adapters.files.imbalance import imbalance_csv, imbalance_document
from clearing.adapters.files.invoices import INVOICE_COLUMNS
from clearing.adapters.files.payments import instructions_csv, pain_001, transfers_csv
from clearing.adapters.persistence.database import (
    DatabaseUnavailable,
    NullPool,
    check_connection,
    create_database_if_missing,
    database_url,
    display_url,
    make_engine,
    upgrade,
)
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.domain.bank import BankStatement
from clearing.domain.errors import InvalidInput
from clearing.domain.payments import PaymentOrder
from clearing.use_cases.ports import UnitOfWorkFactory

__all__ = [
    "INVOICE_COLUMNS",
    "DatabaseUnavailable",
    "check_payment_format",
    "create_database_if_missing",
    "imbalance_csv",
    "imbalance_document",
    "instructions_csv",
    "payment_file",
    "read_camt",
    "read_statement_csv",
    "ready_unit_of_work_factory",
    "statement_reader",
    "unit_of_work_factory",
    "upgrade_database",
]


def unit_of_work_factory(url: str | None = None, *, pooled: bool = True) -> UnitOfWorkFactory:
    """Units of work on the database at ``url`` (default: ``DATABASE_URL``).

    A long-running process (the service) keeps a connection pool; a command (``pooled=False``)
    closes each connection with its session instead of leaving it to linger.
    """
    engine = make_engine(url) if pooled else make_engine(url, poolclass=NullPool)
    return SqlUnitOfWorkFactory(engine)


def ready_unit_of_work_factory(url: str | None = None) -> UnitOfWorkFactory:
    """Unpooled units of work, once the database is known to answer and to be migrated;
    :class:`~clearing.domain.errors.NotReady` otherwise (:class:`DatabaseUnavailable` when the
    server does not answer), and :class:`~clearing.domain.errors.InvalidInput` for a bad URL."""
    engine = make_engine(url, poolclass=NullPool)
    check_connection(engine)
    factory = SqlUnitOfWorkFactory(engine)
    factory.check_schema()
    return factory


def upgrade_database(url: str | None = None) -> str:
    """Apply the migrations (idempotent); returns the database's URL without its password."""
    upgrade(url)
    return display_url(database_url(url))


#: How a bank statement is read, by the media type it comes as: camt.053/camt.054 or CSV.
STATEMENT_READERS: dict[str, Callable[[bytes], BankStatement]] = {
    "application/xml": read_camt,
    "text/xml": read_camt,
    "text/csv": read_statement_csv,
}


def statement_reader(media_type: str) -> Callable[[bytes], BankStatement]:
    """The reader of a statement sent as ``media_type``; any other type is refused."""
    try:
        return STATEMENT_READERS[media_type]
    except KeyError:
        raise InvalidInput(
            f"{media_type or 'no content type'} is not a statement: send camt.053/camt.054 as "
            "application/xml, or CSV as text/csv",
            field="Content-Type",
        ) from None


#: The payment file formats, and the media type of each.
PAYMENT_FORMATS = {"pain001": "application/xml", "csv": "text/csv"}


def check_payment_format(file_format: str) -> str:
    if file_format not in PAYMENT_FORMATS:
        raise InvalidInput(
            f"{file_format!r} is not a payment file format; use pain001 or csv", field="format"
        )
    return file_format


def payment_file(order: PaymentOrder, file_format: str) -> str:
    """A payment order as ISO 20022 ``pain001`` (pain.001.001.09) or ``csv``; the order holds
    at least one transfer."""
    if check_payment_format(file_format) == "csv":
        return transfers_csv(order)
    message_id = f"{order.cycle_id}-{order.debtor.entity}"
    return pain_001(message_id, order, datetime.now(UTC)).decode("utf-8")
