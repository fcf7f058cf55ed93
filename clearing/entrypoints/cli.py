"""The ``clearing`` command: pure netting of files, and the operating commands of DESIGN §10."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO, NoReturn, TextIO

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
from clearing.adapters.files.obligations_columns import read_obligation_columns
from clearing.adapters.files.result import result_json
from clearing.domain import ledger
from clearing.domain.access import Principal, Role
from clearing.domain.compliance import RuleKind
from clearing.domain.errors import ClearingError, InvalidInput
from clearing.domain.netting import NettingResult, net
from clearing.domain.obligations import Policy
from clearing.domain.payments import Debtor
from clearing.entrypoints.server import ServerLimits
from clearing.entrypoints.terminal import print_figures
from clearing.use_cases import audit, compliance, keys, participants
from clearing.use_cases.ports import UnitOfWorkFactory
from clearing.use_cases.validation import MAX_PAGE

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
entities_app = typer.Typer(help="Clearing entities, one per jurisdiction.")
keys_app = typer.Typer(help="API keys. A key is shown once and stored only as a hash.")
rules_app = typer.Typer(help="Compliance rules: blocked goods, priority goods, blocked parties.")
app.add_typer(audit_app, name="audit", no_args_is_help=True)
app.add_typer(db_app, name="db", no_args_is_help=True)
app.add_typer(entities_app, name="entities", no_args_is_help=True)
app.add_typer(keys_app, name="keys", no_args_is_help=True)
app.add_typer(rules_app, name="rules", no_args_is_help=True)

EXIT_BAD_INPUT = 2
EXIT_VERIFY_FAILED = 1
EXIT_DATABASE_UNAVAILABLE = 1
#: Who the CLI acts as for admin commands: whoever may run it holds the database itself.
CLI_ADMIN = Principal("cli", Role.ADMIN)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``message`` as plain text (never as markup), on one line, and exit with ``code``."""
    console = Console(stderr=True, soft_wrap=True)
    console.print("error:", style="bold red", end=" ")
    console.print(message, markup=False, highlight=False)
    raise typer.Exit(code)


@app.command("net")
def net_command(
    obligations: Annotated[
        Path, typer.Argument(help="OBLIGATIONS.csv: one cross-border obligation per row.")
    ],
    rates: Annotated[
        Path, typer.Option("--rates", help="RATES.json: base, jurisdictions and FX rates.")
    ],
    policy: Annotated[
        Policy, typer.Option(help="How matched value is allocated within a corridor.")
    ] = Policy.FIFO,
    output: Annotated[
        Path | None,
        typer.Option(help="Write RESULT.json here and print a summary; default: JSON on stdout."),
    ] = None,
) -> None:
    """Net a file of obligations with fixed rates, without any database."""
    try:
        rate_set = files.read_rates(rates)
        snapshot = read_obligation_columns(obligations, rate_set)
        try:
            result = net(snapshot, rate_set, policy)
        except InvalidInput:
            # What the core refuses (a duplicate id, say) the row reader names by line and field.
            files.read_obligations(obligations, rate_set)
            raise
        # The document is built as it is written, so writing it is inside the guard too.
        document = result_json(result)
        if output is None:
            write_overlapped(sys.stdout.buffer, document)
            sys.stdout.flush()
            return
        _write_output(output, document)
    except ClearingError as error:
        _fail(str(error))
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
        _fail(f"--output {path}: cannot be written ({error.strerror})")


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
        report = audit.verify(_uows()())
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
        _fail(f"{path}: cannot be read ({error.strerror})")
    except ClearingError as error:
        _fail(f"{path}: {error}")


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
    uows = _uows()
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
        _fail(f"--output {path}: cannot be written ({error.strerror})")


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


def _uows() -> UnitOfWorkFactory:
    """The database's units of work, once it is known to answer and to be migrated."""
    from clearing.entrypoints.bootstrap import ready_unit_of_work_factory

    try:
        return ready_unit_of_work_factory()
    except ClearingError as error:
        _fail_on_database(error)


def _fail_on_database(error: ClearingError) -> NoReturn:
    """Exit 1 when the server cannot be reached (trying again may do), 2 when the URL or the
    database needs fixing."""
    from clearing.entrypoints.bootstrap import DatabaseUnavailable

    unavailable = isinstance(error, DatabaseUnavailable)
    _fail(str(error), EXIT_DATABASE_UNAVAILABLE if unavailable else EXIT_BAD_INPUT)


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
        _fail_on_database(error)
    console.print(f"database at {where} is up to date", highlight=False)


@entities_app.command("add")
def entities_add(
    code: Annotated[str, typer.Argument(help="Jurisdiction code, e.g. CN.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 settlement currency, e.g. CNY.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    approvals: Annotated[
        int,
        typer.Option(help="Operators who approve each cycle: 1, or 2 (four eyes)."),
    ] = 1,
) -> None:
    """Register a jurisdiction's clearing entity."""
    try:
        entity = participants.add_entity(_uows()(), code, currency, name, approvals)
    except ClearingError as error:
        _fail(str(error))
    Console().print(
        f"entity {entity.code} settles in {entity.currency}; "
        f"{_approvals_text(entity.approvals_required)} per cycle",
        highlight=False,
    )


@entities_app.command("approvals")
def entities_approvals(
    code: Annotated[str, typer.Argument(help="Jurisdiction code, e.g. CN.")],
    count: Annotated[int, typer.Argument(help="1, or 2 for four eyes.")],
) -> None:
    """Set how many operators approve each cycle for an entity (from the next proposal on)."""
    try:
        entity = participants.set_approvals_required(_uows()(), CLI_ADMIN, code, count)
    except ClearingError as error:
        _fail(str(error))
    typer.echo(f"entity {entity.code}: {_approvals_text(entity.approvals_required)} per cycle")


def _approvals_text(count: int) -> str:
    return "one approval" if count == 1 else f"{count} approvals by different operators"


@entities_app.command("list")
def entities_list() -> None:
    """List the clearing entities: code, currency, approvals per cycle, name."""
    with _uows()() as uow:
        for entity in uow.entities.list():
            typer.echo(
                f"{entity.code}\t{entity.currency}\t{entity.approvals_required}\t{entity.name}"
            )


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="The principal's role.")],
    entity: Annotated[str | None, typer.Option(help="Entity code (operators).")] = None,
    participant: Annotated[str | None, typer.Option(help="Participant id (traders).")] = None,
    label: Annotated[str, typer.Option(help="A note on whose key this is.")] = "",
) -> None:
    """Create an API key and print it, alone, on stdout."""
    try:
        key, _principal = keys.create_key(
            _uows()(), role, entity=entity, participant_id=participant, label=label
        )
    except ClearingError as error:
        _fail(str(error))
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    """List every key without its secret: id, role, entity, participant, prefix, created,
    revoked (or "active"), label; tab-separated."""
    uows = _uows()
    after: str | None = None
    while True:
        try:
            found = keys.list_keys(uows(), CLI_ADMIN, after, MAX_PAGE)
        except ClearingError as error:
            _fail(str(error))
        for key in found:
            principal = key.principal
            revoked = key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "active"
            fields = (
                principal.id,
                principal.role.value,
                principal.entity or "-",
                principal.participant_id or "-",
                key.prefix,
                key.created_at.isoformat(timespec="seconds"),
                revoked,
                key.label,
            )
            typer.echo("\t".join(fields))
        if len(found) < MAX_PAGE:
            return
        after = found[-1].principal.id


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `clearing keys list`).")],
) -> None:
    """Revoke a key: the next request made with it is refused."""
    try:
        key = keys.revoke_key(_uows()(), CLI_ADMIN, key_id)
    except ClearingError as error:
        _fail(str(error))
    when = key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else ""
    typer.echo(f"key {key.principal.id} revoked at {when}")


@rules_app.command("list")
def rules_list() -> None:
    """List the compliance rules in force."""
    for rule in compliance.list_rules(_uows()()):
        typer.echo(f"{rule.kind.value}\t{rule.value}\t{rule.description}")


@rules_app.command("add")
def rules_add(
    kind: Annotated[RuleKind, typer.Argument(help="The kind of rule.")],
    value: Annotated[str, typer.Argument(help="HS code prefix, or participant id.")],
    description: Annotated[str, typer.Option(help="Why the rule exists.")] = "",
) -> None:
    """Add a rule; it applies to the next submission and the next cut-off."""
    try:
        rule = compliance.add_rule(_uows()(), kind, value, description)
    except ClearingError as error:
        _fail(str(error))
    Console().print(f"added {rule.name}", highlight=False)


@rules_app.command("remove")
def rules_remove(
    kind: Annotated[RuleKind, typer.Argument(help="The kind of rule.")],
    value: Annotated[str, typer.Argument(help="HS code prefix, or participant id.")],
) -> None:
    """Remove a rule."""
    try:
        compliance.remove_rule(_uows()(), kind, value)
    except ClearingError as error:
        _fail(str(error))
    Console().print(f"removed {kind.value}:{value}", highlight=False)


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
        _fail(str(error))
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    _uows()  # fails with what to do unless the database answers and is migrated
    limits = ServerLimits(header_timeout, body_timeout, max_connections, threads)
    server.run(create_app(uows), host, port, limits)


@app.command("demo")
def demo(
    database: Annotated[
        str | None,
        typer.Option(help="Database URL; default: a fresh SQLite file ./clearing-demo.db."),
    ] = None,
) -> None:
    """A whole pilot month, end to end, on the embedded database: invoices from two dozen
    traders, one netting cycle approved by both entities, paid in, settled and audited."""
    from clearing.entrypoints import demo as pilot
    from clearing.entrypoints.bootstrap import unit_of_work_factory, upgrade_database

    console = Console()
    if database is None:
        Path("clearing-demo.db").unlink(missing_ok=True)
        database = "sqlite:///clearing-demo.db"
    try:
        where = upgrade_database(database)
    except ClearingError as error:
        _fail_on_database(error)
    console.print(f"Pilot database: {where}", highlight=False)
    try:
        pilot.run(unit_of_work_factory(database, pooled=False), console)
    except ClearingError as error:
        _fail(f"the demo stopped: {error}", code=1)


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
        _fail(str(error))
    uows = _uows()
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
    cycle_id: Annotated[str, typer.Argument(help="A settled (or approved) cycle.")],
    entity: Annotated[str, typer.Option(help="The entity whose bank pays out.")],
    file_format: Annotated[
        str, typer.Option("--format", help="pain001 (ISO 20022) or csv.")
    ] = "pain001",
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """The entity's pay-outs and refunds of a cycle as an ISO 20022 pain.001 file or CSV."""
    try:
        content = payment_file(_uows(), cycle_id, entity, file_format)
    except ClearingError as error:
        _fail(str(error))
    if output is None:
        sys.stdout.write(content)
    else:
        _write_output(output, content)
        Console(stderr=True).print(f"written to {output}", highlight=False)


def payment_file(uows: UnitOfWorkFactory, cycle_id: str, entity: str, file_format: str) -> str:
    """``pain001``: the pay-outs and refunds; ``csv``: every instruction, pay-ins included.
    The command acts as the entity's operator."""
    from clearing.adapters.files import payments
    from clearing.use_cases import settlement

    operator = Principal(f"cli:{entity}", Role.OPERATOR, entity)
    if file_format == "csv":
        instructions = settlement.payment_instructions(uows(), operator, cycle_id, entity)
        return payments.instructions_csv(instructions)
    if file_format != "pain001":
        raise InvalidInput(
            f"{file_format!r} is not a payment file format; use pain001 or csv", field="format"
        )
    payer, transfers = settlement.payment_transfers(uows(), operator, cycle_id, entity)
    now = datetime.now(UTC)
    document = payments.pain_001(
        message_id=f"{cycle_id}-{entity}",
        debtor=Debtor(entity, payer.name, f"{entity}-SETTLEMENT"),
        transfers=transfers,
        created_at=now,
        execution_date=now.date().isoformat(),
    )
    return document.decode("utf-8")


def main() -> None:
    app()
