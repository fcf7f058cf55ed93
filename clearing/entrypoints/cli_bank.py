"""The ``clearing bank`` commands: import an entity's bank statement, and work its suspense
list. Each acts as the entity's operator (whoever may run them holds the database itself)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from clearing.domain.access import Principal, Role
from clearing.domain.bank import OPEN_SUSPENSE
from clearing.domain.errors import ClearingError, Conflict
from clearing.domain.money import format_amount
from clearing.domain.payments import return_reference
from clearing.entrypoints.cli_support import EXIT_NOT_NOW, database_uows, fail
from clearing.use_cases import bank, suspense
from clearing.use_cases.validation import MAX_PAGE

bank_app = typer.Typer(help="Bank reconciliation: statements in, and the suspense list.")
suspense_app = typer.Typer(help="Bank credits that matched no due pay-in.")
bank_app.add_typer(suspense_app, name="suspense", no_args_is_help=True)

Entity = Annotated[str, typer.Option(help="The entity whose bank account it is, e.g. CN.")]


def _operator(entity: str) -> Principal:
    return Principal(f"cli:{entity}", Role.OPERATOR, entity)


@bank_app.command("import")
def import_command(
    statement: Annotated[
        Path, typer.Argument(help="camt.053.001.08 / camt.054.001.08 XML, or CSV.")
    ],
    entity: Entity,
) -> None:
    """Import a bank statement: credits quoting a due pay-in's RF reference become pay-ins,
    others wait in suspense; debits confirm released pay-outs and refunds. Prints what it did
    as JSON; a line imported before is counted as a duplicate and records nothing."""
    from clearing.adapters.files.bank_statements import read_statement

    try:
        content = statement.read_bytes()
    except OSError as error:
        fail(f"{statement}: cannot be read ({error.strerror})")
    try:
        report = bank.import_statement(
            database_uows()(), _operator(entity), read_statement(content)
        )
    except ClearingError as error:
        fail(f"{statement}: {error}")
    typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))


@suspense_app.command("list")
def suspense_list(entity: Entity) -> None:
    """The credits waiting in suspense."""
    try:
        found = bank.bank_entries(
            database_uows()(), _operator(entity), OPEN_SUSPENSE, None, MAX_PAGE
        )
    except ClearingError as error:
        fail(str(error))
    table = Table("id", "bank reference", "value date", "amount", "remittance", "why")
    for entry in found:
        line = entry.line
        table.add_row(
            entry.id,
            line.key,
            line.value_date.isoformat(),
            f"{format_amount(line.amount, line.currency)} {line.currency}",
            line.remittance,
            entry.note,
        )
    Console().print(table)


@suspense_app.command("assign")
def suspense_assign(
    entry_id: Annotated[str, typer.Argument(help="The suspense entry.")],
    entity: Entity,
    cycle: Annotated[str, typer.Option(help="The cycle awaiting the pay-in.")],
    participant: Annotated[str, typer.Option(help="The participant who paid.")],
) -> None:
    """Record a suspense credit as the participant's pay-in for the cycle."""
    try:
        entry = suspense.assign_suspense(
            database_uows()(), _operator(entity), entry_id, cycle, participant
        )
    except Conflict as error:
        fail(str(error), EXIT_NOT_NOW)
    except ClearingError as error:
        fail(str(error))
    typer.echo(f"{entry.id} assigned to {participant} in {cycle}")


@suspense_app.command("match")
def suspense_match(
    entry_id: Annotated[str, typer.Argument(help="The suspense entry.")],
    entity: Entity,
    pay_in: Annotated[str, typer.Option(help="The pay-in recorded by hand that it is.")],
) -> None:
    """Settle a suspense credit as the bank's record of a pay-in recorded by hand."""
    try:
        entry = suspense.match_suspense(database_uows()(), _operator(entity), entry_id, pay_in)
    except Conflict as error:
        fail(str(error), EXIT_NOT_NOW)
    except ClearingError as error:
        fail(str(error))
    typer.echo(f"{entry.id} is the bank's record of pay-in {pay_in}")


@suspense_app.command("return")
def suspense_return(
    entry_id: Annotated[str, typer.Argument(help="The suspense entry.")],
    entity: Entity,
    reason: Annotated[str, typer.Option(help="Why the money goes back.")],
) -> None:
    """Send a suspense credit back to its payer."""
    try:
        entry = suspense.return_suspense(database_uows()(), _operator(entity), entry_id, reason)
    except Conflict as error:
        fail(str(error), EXIT_NOT_NOW)
    except ClearingError as error:
        fail(str(error))
    typer.echo(
        f"{entry.id} returned: {reason}; the return transfer quotes {return_reference(entry.id)}"
    )
