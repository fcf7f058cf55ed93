"""``clearing report``: reports over cycles, read as an auditor would (whoever may run them holds
the database itself)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from clearing.domain.access import Principal, Role
from clearing.domain.errors import ClearingError
from clearing.entrypoints.cli_support import database_uows, fail
from clearing.entrypoints.terminal import print_imbalance
from clearing.use_cases import reports

report_app = typer.Typer(help="Reports over cycles.")
CLI_AUDITOR = Principal("cli:auditor", Role.AUDITOR)


class ReportFormat(enum.StrEnum):
    TABLE = "table"
    CSV = "csv"


@report_app.command("imbalance")
def imbalance(
    report_format: Annotated[
        ReportFormat, typer.Option("--format", help="A table, or the CSV of one row per cycle.")
    ] = ReportFormat.TABLE,
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of standard output.")
    ] = None,
    from_cycle: Annotated[int | None, typer.Option(help="The first cycle number.")] = None,
    to_cycle: Annotated[int | None, typer.Option(help="The last cycle number.")] = None,
) -> None:
    """Submitted, settled, carried and line use per cycle and corridor (base currency), and
    what is still carried by age and overdue."""
    from clearing.entrypoints.bootstrap import imbalance_csv

    try:
        report = reports.imbalance(database_uows()(), CLI_AUDITOR, from_cycle, to_cycle)
    except ClearingError as error:
        fail(str(error))
    if report_format is ReportFormat.CSV:
        text = imbalance_csv(report)
    else:
        console = Console(record=output is not None, width=140, quiet=output is not None)
        print_imbalance(console, report)
        text = console.export_text() if output is not None else ""
    if output is None:
        if text:
            typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"{output}: cannot be written ({error.strerror})")
    typer.echo(f"wrote {output}", err=True)
