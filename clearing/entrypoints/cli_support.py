"""What every ``clearing`` command shares: exit codes, one-line errors, and the database's
units of work once it is known to answer."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from clearing.domain.access import Principal, Role
from clearing.domain.errors import ClearingError
from clearing.use_cases.ports import UnitOfWorkFactory

EXIT_BAD_INPUT = 2
EXIT_VERIFY_FAILED = 1
EXIT_DATABASE_UNAVAILABLE = 1
#: A request that the state of things refuses for now (a cycle not yet settled, say).
EXIT_NOT_NOW = 1
#: Who the CLI acts as for admin commands: whoever may run it holds the database itself.
CLI_ADMIN = Principal("cli", Role.ADMIN)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``message`` as plain text (never as markup), on one line, and exit with ``code``."""
    console = Console(stderr=True, soft_wrap=True)
    console.print("error:", style="bold red", end=" ")
    console.print(message, markup=False, highlight=False)
    raise typer.Exit(code)


def database_uows() -> UnitOfWorkFactory:
    """The database's units of work, once it is known to answer and to be migrated."""
    from clearing.entrypoints.bootstrap import ready_unit_of_work_factory

    try:
        return ready_unit_of_work_factory()
    except ClearingError as error:
        fail_on_database(error)


def fail_on_database(error: ClearingError) -> NoReturn:
    """Exit 1 when the server cannot be reached (trying again may do), 2 when the URL or the
    database needs fixing."""
    from clearing.entrypoints.bootstrap import DatabaseUnavailable

    unavailable = isinstance(error, DatabaseUnavailable)
    fail(str(error), EXIT_DATABASE_UNAVAILABLE if unavailable else EXIT_BAD_INPUT)
