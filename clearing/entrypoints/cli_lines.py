"""The ``clearing lines`` commands (DESIGN §4b, §10): list the liquidity lines, propose one,
confirm one or its new limit, and propose a new limit. Each change acts as an operator of the
entity it names (whoever may run them holds the database itself), so the record still shows
which entity proposed and which confirmed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from clearing.domain.access import Principal, Role
from clearing.domain.errors import ClearingError, Conflict
from clearing.domain.money import format_amount
from clearing.entrypoints.cli_support import EXIT_NOT_NOW, database_uows, fail
from clearing.use_cases import lines
from clearing.use_cases.lines import LineView
from clearing.use_cases.validation import MAX_PAGE

lines_app = typer.Typer(help="Liquidity lines between two entities: funding the imbalance.")

#: Who lists and reads lines from the command line: it sees every line, as an auditor does.
_READER = Principal("cli", Role.AUDITOR)

#: Wide enough for every column of ``clearing lines list`` at full length.
_TABLE_WIDTH = 140

ActingEntity = Annotated[
    str | None,
    typer.Option(
        "--entity", help="The entity whose operator acts (see each command for the default)."
    ),
]


def _operator(entity: str) -> Principal:
    if not entity.strip():
        fail("name the entity whose operator acts (--entity)")
    return Principal(f"cli:{entity}", Role.OPERATOR, entity)


def _refused(error: ClearingError) -> NoReturn:
    """Exit 1 for what the state of things refuses for now, 2 for bad input."""
    if isinstance(error, Conflict):
        fail(str(error), EXIT_NOT_NOW)
    fail(str(error))


def _act(run: Callable[[], LineView]) -> None:
    try:
        view = run()
    except ClearingError as error:
        _refused(error)
    typer.echo(_summary(view))


@lines_app.command("list")
def list_command(
    entity: Annotated[
        str | None, typer.Option(help="Only the lines this entity is party to.")
    ] = None,
) -> None:
    """Every line (or an entity's): its limit, balance and status, and who must confirm what."""
    reader = _operator(entity) if entity else _READER
    uows = database_uows()
    found: list[LineView] = []
    after: str | None = None
    try:
        while True:
            page = lines.list_lines(uows(), reader, after, MAX_PAGE)
            found += page
            if len(page) < MAX_PAGE:
                break
            after = page[-1].line.id
    except ClearingError as error:
        _refused(error)
    table = Table()
    for name in ("id", "funds", "currency", "limit", "balance", "status", "awaiting", "moves"):
        table.add_column(name, no_wrap=True)
    for view in found:
        line = view.line
        table.add_row(
            line.id,
            f"{line.source} → {line.target}",
            line.currency,
            format_amount(line.limit, line.currency),
            format_amount(line.balance, line.currency),
            line.status.value,
            _awaiting(view),
            str(len(view.movements)),
        )
    # Ids and amounts are never cut short: a narrower terminal wraps the table's lines instead.
    Console(width=max(Console().width, _TABLE_WIDTH)).print(table)


@lines_app.command("add")
def add_command(
    source: Annotated[str, typer.Option("--from", help="The entity whose importers it funds.")],
    target: Annotated[str, typer.Option("--to", help="The entity whose exporters it pays.")],
    currency: Annotated[str, typer.Option(help="One of the two entities' currencies.")],
    limit: Annotated[str, typer.Option(help="The limit in major units, e.g. 5000000.00.")],
    entity: ActingEntity = None,
) -> None:
    """Propose a line funding the corridor FROM -> TO, as an operator of --entity (default:
    FROM); it is pending until the other entity confirms it."""
    acting = _operator(entity or source)
    _act(lambda: lines.propose_line(database_uows()(), acting, source, target, currency, limit))


@lines_app.command("confirm")
def confirm_command(
    line_id: Annotated[str, typer.Argument(help="The line.")],
    entity: ActingEntity = None,
) -> None:
    """Confirm a pending line, or its pending limit, as an operator of --entity (default: the
    entity it waits for, the one that did not propose it)."""

    def run() -> LineView:
        uows = database_uows()
        acting = entity or lines.get_line(uows(), _READER, line_id).line.awaiting
        if acting is None:
            raise Conflict(f"line {line_id} has nothing waiting to be confirmed", field="status")
        return lines.confirm_line(uows(), _operator(acting), line_id)

    _act(run)


@lines_app.command("limit")
def limit_command(
    line_id: Annotated[str, typer.Argument(help="The line.")],
    limit: Annotated[str, typer.Argument(help="The new limit in major units.")],
    entity: ActingEntity = None,
) -> None:
    """Propose a new limit for an active line, as an operator of --entity (default: the entity
    the line funds, FROM); it takes effect once the other entity confirms it."""

    def run() -> LineView:
        uows = database_uows()
        acting = entity or lines.get_line(uows(), _READER, line_id).line.source
        return lines.change_limit(uows(), _operator(acting), line_id, limit)

    _act(run)


def _awaiting(view: LineView) -> str:
    line = view.line
    if line.awaiting is None:
        return ""
    if line.pending_change is not None:
        change = format_amount(line.pending_change.limit, line.currency)
        return f"{line.awaiting} (limit {change})"
    return line.awaiting


def _summary(view: LineView) -> str:
    line = view.line
    waiting = f", awaiting {_awaiting(view)}" if line.awaiting else ""
    return (
        f"{line.id}: {line.source} → {line.target} in {line.currency}, limit "
        f"{format_amount(line.limit, line.currency)}, balance "
        f"{format_amount(line.balance, line.currency)}, {line.status.value}{waiting}"
    )
