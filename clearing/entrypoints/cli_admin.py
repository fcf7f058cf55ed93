"""The ``clearing`` commands that set up who and what takes part: entities, API keys and
compliance rules (admin commands: whoever may run them holds the database itself)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from clearing.domain.access import Role
from clearing.domain.compliance import RuleKind
from clearing.domain.errors import ClearingError
from clearing.domain.parties import Entity
from clearing.entrypoints.cli_support import CLI_ADMIN, database_uows, fail
from clearing.use_cases import compliance, keys, participants
from clearing.use_cases.validation import MAX_PAGE

entities_app = typer.Typer(help="Clearing entities, one per jurisdiction.")
keys_app = typer.Typer(help="API keys. A key is shown once and stored only as a hash.")
rules_app = typer.Typer(help="Compliance rules: blocked goods, priority goods, blocked parties.")

#: The options ``entities add`` and ``entities set`` share.
EntityCode = Annotated[str, typer.Argument(help="Jurisdiction code, e.g. CN.")]
_APPROVALS_HELP = "Operators who approve each cycle: 1, or 2 (four eyes)."
BankCode = Annotated[
    str | None, typer.Option(help="The entity's bank: BIC, CNAPS (12 digits) or BIK.")
]
Account = Annotated[str | None, typer.Option(help="The entity's settlement account at that bank.")]


@entities_app.command("add")
def entities_add(
    code: EntityCode,
    currency: Annotated[str, typer.Option(help="ISO 4217 settlement currency, e.g. CNY.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    approvals: Annotated[int, typer.Option(help=_APPROVALS_HELP)] = 1,
    bank_code: BankCode = None,
    account: Account = None,
) -> None:
    """Register a jurisdiction's clearing entity."""
    try:
        entity = participants.add_entity(
            database_uows()(), code, currency, name, approvals, bank_code=bank_code, account=account
        )
    except ClearingError as error:
        fail(str(error))
    Console().print(f"entity {entity.code} settles in {entity.currency}", highlight=False)
    typer.echo(_entity_line(entity))


@entities_app.command("set")
def entities_set(
    code: EntityCode,
    approvals: Annotated[int | None, typer.Option(help=_APPROVALS_HELP)] = None,
    bank_code: BankCode = None,
    account: Account = None,
) -> None:
    """Change an entity (an admin's command): how many operators approve each cycle (from the
    next proposal on), its bank and its settlement account."""
    try:
        entity = participants.update_entity(
            database_uows()(),
            CLI_ADMIN,
            code,
            approvals_required=approvals,
            bank_code=bank_code,
            account=account,
        )
    except ClearingError as error:
        fail(str(error))
    typer.echo(_entity_line(entity))


def _entity_line(entity: Entity) -> str:
    approvals = (
        "one approval"
        if entity.approvals_required == 1
        else f"{entity.approvals_required} approvals by different operators"
    )
    bank = (
        f"pays from account {entity.account} at {entity.bank_code}"
        if entity.account and entity.bank_code
        else "no bank account yet"
    )
    return f"entity {entity.code}: {approvals} per cycle; {bank}"


@entities_app.command("list")
def entities_list() -> None:
    """List the clearing entities: code, currency, approvals per cycle, bank code, account,
    name (tab-separated)."""
    with database_uows()() as uow:
        for entity in uow.entities.list():
            fields = (
                entity.code,
                entity.currency,
                str(entity.approvals_required),
                entity.bank_code or "-",
                entity.account or "-",
                entity.name,
            )
            typer.echo("\t".join(fields))


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
            database_uows()(), role, entity=entity, participant_id=participant, label=label
        )
    except ClearingError as error:
        fail(str(error))
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    """List every key without its secret: id, role, entity, participant, prefix, created,
    revoked (or "active"), label; tab-separated."""
    uows = database_uows()
    after: str | None = None
    while True:
        try:
            found = keys.list_keys(uows(), CLI_ADMIN, after, MAX_PAGE)
        except ClearingError as error:
            fail(str(error))
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
        key = keys.revoke_key(database_uows()(), CLI_ADMIN, key_id)
    except ClearingError as error:
        fail(str(error))
    when = key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else ""
    typer.echo(f"key {key.principal.id} revoked at {when}")


@rules_app.command("list")
def rules_list() -> None:
    """List the compliance rules in force."""
    for rule in compliance.list_rules(database_uows()()):
        typer.echo(f"{rule.kind.value}\t{rule.value}\t{rule.description}")


@rules_app.command("add")
def rules_add(
    kind: Annotated[RuleKind, typer.Argument(help="The kind of rule.")],
    value: Annotated[str, typer.Argument(help="HS code prefix, or participant id.")],
    description: Annotated[str, typer.Option(help="Why the rule exists.")] = "",
) -> None:
    """Add a rule; it applies to the next submission and the next cut-off."""
    try:
        rule = compliance.add_rule(database_uows()(), kind, value, description)
    except ClearingError as error:
        fail(str(error))
    Console().print(f"added {rule.name}", highlight=False)


@rules_app.command("remove")
def rules_remove(
    kind: Annotated[RuleKind, typer.Argument(help="The kind of rule.")],
    value: Annotated[str, typer.Argument(help="HS code prefix, or participant id.")],
) -> None:
    """Remove a rule."""
    try:
        compliance.remove_rule(database_uows()(), kind, value)
    except ClearingError as error:
        fail(str(error))
    Console().print(f"removed {kind.value}:{value}", highlight=False)
