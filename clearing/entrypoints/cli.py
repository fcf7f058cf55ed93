"""The ``clearing`` command: pure netting of files, and the operating commands of DESIGN §10."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, BinaryIO, TextIO

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from clearing.adapters.files import netting as files
from clearing.adapters.files.journal import read_json_lines
from clearing.adapters.files.lines import read_lines
from clearing.adapters.files.obligations_columns import read_obligation_columns
from clearing.adapters.files.result import result_json
from clearing.domain import ledger
from clearing.domain.access import Principal, Role
from clearing.domain.errors import ClearingError, Conflict, InvalidInput
from clearing.domain.money import format_amount
from clearing.domain.netting import NettingResult, net
from clearing.domain.obligations import Policy
from clearing.entrypoints.cli_admin import entities_app, keys_app, rules_app
from clearing.entrypoints.cli_ageing import ageing_app
from clearing.entrypoints.cli_bank import bank_app
from clearing.entrypoints.cli_lines import lines_app
from clearing.entrypoints.cli_report import report_app
from clearing.entrypoints.cli_support import (
    EXIT_BAD_INPUT,
    EXIT_NOT_NOW,
    EXIT_VERIFY_FAILED,
    database_uows,
    fail,
    fail_on_database,
)
from clearing.entrypoints.server import ServerLimits
from clearing.entrypoints.terminal import print_figures
from clearing.use_cases import audit
from clearing.use_cases.ports import UnitOfWorkFactory

app = typer.Typer(
    name="clearing",
    help="Barter clearing and settlement netting between mirrored clearing entities.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(help="Verify the ledger: hash chain, balances and every cycle's digest.")
db_app = typer.Typer(
    help="The database named by DATABASE_URL (default: ./clearing.db). Every command that "
    "opens it exits 2 when the URL is bad or the database is not migrated, and 1 when its "
    "server cannot be reached."
)
app.add_typer(ageing_app, name="ageing", no_args_is_help=True)
app.add_typer(audit_app, name="audit", no_args_is_help=True)
app.add_typer(bank_app, name="bank", no_args_is_help=True)
app.add_typer(db_app, name="db", no_args_is_help=True)
app.add_typer(entities_app, name="entities", no_args_is_help=True)
app.add_typer(keys_app, name="keys", no_args_is_help=True)
app.add_typer(lines_app, name="lines", no_args_is_help=True)
app.add_typer(rules_app, name="rules", no_args_is_help=True)
app.add_typer(report_app, name="report", no_args_is_help=True)


@app.command("net")
def net_command(
    obligations: Annotated[
        Path, typer.Argument(help="OBLIGATIONS.csv: one cross-border obligation per row.")
    ],
    rates: Annotated[
        Path, typer.Option("--rates", help="RATES.json: base, jurisdictions and FX rates.")
    ],
    policy: Annotated[
        Policy,
        typer.Option(
            help="How matched value is allocated: fifo or pro_rata within each corridor, "
            "or setoff so that participants move the least money."
        ),
    ] = Policy.FIFO,
    output: Annotated[
        Path | None,
        typer.Option(help="Write RESULT.json here and print a summary; default: JSON on stdout."),
    ] = None,
    lines: Annotated[
        Path | None,
        typer.Option(
            "--lines",
            help="LINES.json: liquidity lines that may fund what does not match, or be repaid.",
        ),
    ] = None,
) -> None:
    """Net a file of obligations with fixed rates, without any database."""
    try:
        rate_set = files.read_rates(rates)
        line_terms = () if lines is None else read_lines(lines, rate_set)
        snapshot = read_obligation_columns(obligations, rate_set)
        try:
            result = net(snapshot, rate_set, policy, line_terms)
        except InvalidInput:
            # What the core refuses (a duplicate id, say) the row reader names by line and field.
            files.read_obligations(obligations, rate_set)
            raise
        # The document is built as it is written, so writing it is inside the guard too.
        document = result_json(result, with_lines=lines is not None)
        if output is None:
            write_overlapped(sys.stdout.buffer, document)
            sys.stdout.flush()
            return
        _write_output(output, document)
    except ClearingError as error:
        fail(str(error))
    print_summary(result, Console())
    Console().print(f"Result written to {output}", highlight=False)


def write_overlapped(stream: BinaryIO, chunks: Iterable[bytes | memoryview]) -> None:
    """Write ``chunks`` in order, each on a second thread while the next is produced (a file
    write releases the GIL), so building a large document and writing it overlap."""
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending: Future[int] | None = None
        for chunk in chunks:
            if pending is not None:
                pending.result()
            pending = writer.submit(stream.write, chunk)
        if pending is not None:
            pending.result()


def _write_output(path: Path, content: str | Iterable[bytes | memoryview]) -> None:
    """Write the file ``--output`` names, or fail naming the option."""
    try:
        _write_atomically(path, content)
    except OSError as error:
        fail(f"--output {path}: cannot be written ({error.strerror})")


def _write_atomically(path: Path, content: str | Iterable[bytes | memoryview]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    # mkstemp makes the file private (0600); a written result is as readable as any new file.
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(temporary, 0o666 & ~mask)
    chunks = [content.encode("utf-8")] if isinstance(content, str) else content
    try:
        with os.fdopen(handle, "wb") as stream:
            write_overlapped(stream, chunks)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def print_summary(result: NettingResult, console: Console) -> None:
    """A readable summary of a netting run: corridors, domestic totals, metrics, digest."""
    print_figures(console, result.figures, result.base, title="Corridors")
    for m in result.lines:
        console.print(
            f"line {m.line_id} {m.source}->{m.target}: drawn "
            f"{format_amount(m.drawn, m.currency)}, repaid {format_amount(m.repaid, m.currency)}, "
            f"balance {format_amount(m.balance, m.currency)} {m.currency}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"{len(result.positions):,} participants paying or paid; digest {result.digest}",
        highlight=False,
        soft_wrap=True,
    )


@audit_app.command("verify")
def audit_verify(
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="Verify an exported journal (JSON lines), no database."),
    ] = None,
) -> None:
    """Check the hash chain, the balances and every cycle's digest; exit 1 if anything fails."""
    if from_file is None:
        report = audit.verify(database_uows()())
    else:
        report = ledger.verify_journal(_read_journal(from_file))
    _print_report(report)
    if not report.ok:
        raise typer.Exit(EXIT_VERIFY_FAILED)


def _read_journal(path: Path) -> list[dict[str, Any]]:
    try:
        size = path.stat().st_size
        documents: list[dict[str, Any]] = []
        with open(path, encoding="utf-8") as handle, _progress() as progress:
            task = progress.add_task(f"reading {path.name}", total=size)
            for _number, document in read_json_lines(_tracked(handle, progress, task)):
                documents.append(document)
        return documents
    except OSError as error:
        fail(f"{path}: cannot be read ({error.strerror})")
    except ClearingError as error:
        fail(f"{path}: {error}")


def _tracked(lines: Iterable[str], progress: Progress, task: TaskID) -> Iterator[str]:
    for line in lines:
        progress.advance(task, len(line.encode("utf-8")))
        yield line


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


@audit_app.command("export")
def audit_export(
    output: Annotated[Path, typer.Option(help="Where to write the journal as JSON lines.")],
) -> None:
    """Export the whole journal as JSON lines, for `audit verify --from-file`."""
    uows = database_uows()
    with uows() as uow:
        total = uow.ledger.count()
        lines = 0
        with _progress() as progress, _opened_output(output) as handle:
            task = progress.add_task("exporting the journal", total=total)
            for document in uow.ledger.iterate_documents():
                handle.write(ledger.json_line(document) + "\n")
                lines += 1
                progress.advance(task)
    Console().print(f"{lines} entries written to {output}", highlight=False)


def _opened_output(path: Path) -> TextIO:
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as error:
        fail(f"--output {path}: cannot be written ({error.strerror})")


def _print_report(report: ledger.VerificationReport) -> None:
    console = Console()
    if report.ok:
        console.print(
            f"[green]ok[/]: {report.entries} entries, {report.cycles} cycles re-netted to their "
            f"digests; head {report.head_hash}",
            highlight=False,
        )
        return
    first = report.problems[0]
    where = f"entry {first.seq}" if first.seq is not None else f"cycle {first.cycle_id}"
    console.print(f"[bold red]FAILED[/] at {where}: {first.message}", highlight=False)
    for problem in report.problems[1:]:
        other = f"entry {problem.seq}" if problem.seq is not None else f"cycle {problem.cycle_id}"
        console.print(f"  also {other}: {problem.message}", highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations (idempotent), first creating the PostgreSQL database if its server
    has none of that name. Exits 2 for a bad DATABASE_URL, 1 when the server cannot be reached."""
    from clearing.entrypoints.bootstrap import create_database_if_missing, upgrade_database

    console = Console(soft_wrap=True)
    try:
        created = create_database_if_missing()
        if created is not None:
            console.print(f"created the database {created}", highlight=False)
        where = upgrade_database()
    except ClearingError as error:
        fail_on_database(error)
    console.print(f"database at {where} is up to date", highlight=False)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    header_timeout: Annotated[
        float,
        typer.Option(
            envvar="CLEARING_HEADER_TIMEOUT",
            help="Seconds a client may take to send all of a request's headers.",
        ),
    ] = ServerLimits.header_timeout,
    body_timeout: Annotated[
        float,
        typer.Option(
            envvar="CLEARING_BODY_TIMEOUT",
            help="Seconds a client may take to send all of a request's body.",
        ),
    ] = ServerLimits.body_timeout,
    max_connections: Annotated[
        int,
        typer.Option(
            envvar="CLEARING_MAX_CONNECTIONS",
            help="Open connections beyond which a new one is answered 503.",
        ),
    ] = ServerLimits.max_connections,
    threads: Annotated[
        int,
        typer.Option(
            envvar="CLEARING_THREADS",
            help="Worker threads for database-bound requests (the database pool's size).",
        ),
    ] = ServerLimits.threads,
) -> None:
    """Run the HTTP API and the operators' pages (JSON logs on stderr, level from LOG_LEVEL)."""
    from clearing.entrypoints import faults, server
    from clearing.entrypoints.bootstrap import unit_of_work_factory
    from service.app import create_app
    from service.observability import configure_logging

    try:
        uows = faults.from_environment(unit_of_work_factory())
    except ValueError as error:
        fail(str(error))
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    database_uows()  # fails with what to do unless the database answers and is migrated
    limits = ServerLimits(header_timeout, body_timeout, max_connections, threads)
    server.run(create_app(uows), host, port, limits)


@app.command("demo")
def demo(
    database: Annotated[
        str | None,
        typer.Option(help="Database URL; default: a fresh SQLite file ./clearing-demo.db."),
    ] = None,
) -> None:
    """A three-month pilot, end to end, on the embedded database: a skewed month carried, a
    liquidity line lifting the next, stale obligations released, a reversing month repaying
    the line; then the imbalance report and the audit."""
    from clearing.entrypoints import demo as pilot
    from clearing.entrypoints.bootstrap import unit_of_work_factory, upgrade_database

    console = Console()
    if database is None:
        Path("clearing-demo.db").unlink(missing_ok=True)
        database = "sqlite:///clearing-demo.db"
    try:
        where = upgrade_database(database)
    except ClearingError as error:
        fail_on_database(error)
    console.print(f"Pilot database: {where}", highlight=False)
    try:
        pilot.run(unit_of_work_factory(database, pooled=False), console)
    except ClearingError as error:
        fail(f"the demo stopped: {error}", code=1)


@app.command("import")
def import_invoices(
    invoices: Annotated[Path, typer.Argument(help="CSV of invoices (see README).")],
    entity: Annotated[str, typer.Option(help="The entity whose exporters submit them.")],
    confirm: Annotated[
        bool, typer.Option(help="Also confirm each accepted invoice as its importer.")
    ] = False,
) -> None:
    """Submit a CSV of invoices through the same use cases as the API, in batches of 1,000."""
    from clearing.adapters.files.invoices import read_invoices
    from clearing.use_cases import invoices as invoice_cases

    try:
        lines = read_invoices(invoices)
    except ClearingError as error:
        fail(str(error))
    uows = database_uows()
    with _progress() as progress:
        task = progress.add_task(f"importing {invoices.name}", total=len(lines))
        outcome = invoice_cases.import_invoices(
            uows,
            entity,
            [line.draft for line in lines],
            confirm=confirm,
            advance=lambda n: progress.advance(task, n),
        )
    console = Console()
    console.print(
        f"{outcome.accepted} accepted, {outcome.rejected} rejected by compliance, "
        f"{len(outcome.failures)} refused",
        highlight=False,
    )
    for index, message in outcome.failures[:20]:
        console.print(f"  line {lines[index].line}: {message}", highlight=False)
    if outcome.failures:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command("payments")
def payments_command(
    cycle_id: Annotated[str, typer.Argument(help="A settled cycle.")],
    entity: Annotated[str, typer.Option(help="The entity whose bank pays out.")],
    file_format: Annotated[
        str, typer.Option("--format", help="pain001 (ISO 20022 pain.001.001.09) or csv.")
    ] = "pain001",
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """The entity's pay-outs of a settled cycle and the refunds due, as an ISO 20022 pain.001
    file or CSV. A cycle that is not settled has nothing to release (exit 1); when there is
    nothing to pay, no file is written and a message says so (exit 0)."""
    try:
        content = payment_file(database_uows(), cycle_id, entity, file_format)
    except Conflict as error:
        fail(str(error), EXIT_NOT_NOW)
    except ClearingError as error:
        fail(str(error))
    if content is None:
        Console(stderr=True).print(
            f"nothing to pay for cycle {cycle_id} from {entity}: no file written", highlight=False
        )
        return
    if output is None:
        sys.stdout.write(content)
    else:
        _write_output(output, content)
        Console(stderr=True).print(f"written to {output}", highlight=False)


def payment_file(
    uows: UnitOfWorkFactory, cycle_id: str, entity: str, file_format: str
) -> str | None:
    """The entity's payment order for the cycle as ``pain001`` or ``csv``; ``None`` when it
    has nothing to pay. The command acts as the entity's operator."""
    from clearing.entrypoints import bootstrap
    from clearing.use_cases import settlement

    bootstrap.check_payment_format(file_format)
    operator = Principal(f"cli:{entity}", Role.OPERATOR, entity)
    order = settlement.payment_order(uows(), operator, cycle_id, entity)
    if not order.transfers:
        return None
    return bootstrap.payment_file(order, file_format)


def main() -> None:
    app()
