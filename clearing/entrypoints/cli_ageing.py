"""``clearing ageing``: the ageing rules that flag invoices of the pool as stale (DESIGN §6a);
admin commands, as ``clearing rules`` (whoever may run them holds the database itself)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from clearing.domain.ageing import AgeingKind
from clearing.domain.errors import ClearingError
from clearing.entrypoints.cli_support import database_uows, fail
from clearing.use_cases import ageing

ageing_app = typer.Typer(
    help="Ageing rules: an invoice in the pool is stale once carried so many cycles, or so "
    "many days overdue."
)

Kind = Annotated[AgeingKind, typer.Argument(help="The kind of rule.")]
Threshold = Annotated[
    int, typer.Argument(help="Cycles carried, or days past the due date, from 1 on.")
]


@ageing_app.command("list")
def ageing_list() -> None:
    """List the ageing rules in force: kind, threshold, description (tab-separated)."""
    for rule in ageing.list_ageing_rules(database_uows()()):
        typer.echo(f"{rule.kind.value}\t{rule.threshold}\t{rule.description}")


@ageing_app.command("add")
def ageing_add(
    kind: Kind,
    threshold: Threshold,
    description: Annotated[str, typer.Option(help="Why the rule exists.")] = "",
) -> None:
    """Add a rule; every invoice read from now on is flagged by it."""
    try:
        rule = ageing.add_ageing_rule(database_uows()(), kind, threshold, description)
    except ClearingError as error:
        fail(str(error))
    Console().print(f"added {rule.name}", highlight=False)


@ageing_app.command("remove")
def ageing_remove(kind: Kind, threshold: Threshold) -> None:
    """Remove a rule."""
    try:
        ageing.remove_ageing_rule(database_uows()(), kind, threshold)
    except ClearingError as error:
        fail(str(error))
    Console().print(f"removed {kind.value}:{threshold}", highlight=False)


@ageing_app.command("reset")
def ageing_reset() -> None:
    """Restore the shipped default rules (others are kept), and list the rules in force."""
    for rule in ageing.reset_ageing_rules(database_uows()()):
        typer.echo(f"{rule.kind.value}\t{rule.threshold}\t{rule.description}")
