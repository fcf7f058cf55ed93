"""Use cases. Each takes a unit of work, checks who may act, changes state and commits.

Nothing here knows HTTP or SQL: the service shell maps the domain errors to answers, and
``clearing.persistence`` implements the unit of work.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, TypeVar

from clearing.access import Principal, Role
from clearing.compliance import Rule, check_rule, default_rules, normalise_hs_code, screen
from clearing.errors import ClearingError, Conflict, Forbidden, InvalidInput, NotFound
from clearing.money import check_currency, parse_amount
from clearing.obligations import (
    OPEN_STATES,
    Dispute,
    Invoice,
    Rejection,
    Status,
    confirmation_differences,
    require_status,
)
from clearing.parties import Entity, Participant
from clearing.ports import InvoiceEvent, InvoiceFilter, StoredAnswer, UnitOfWork
from clearing.rates import check_jurisdiction

MAX_BATCH = 1000
MAX_PAGE = 500
_TEXT_LIMITS = {"invoice_number": 64, "description": 2000, "reason": 2000, "name": 200}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

T = TypeVar("T")


# --- entities, keys, principals ---------------------------------------------------------------


def add_entity(uow: UnitOfWork, code: str, currency: str, name: str | None = None) -> Entity:
    """Register a jurisdiction's clearing entity (an operating command, not an API call)."""
    entity = Entity(
        check_jurisdiction(code, field="code"), check_currency(currency), name or f"{code} clearing"
    )
    with uow:
        uow.entities.add(entity)
        uow.commit()
    return entity


def hash_key(key: str) -> str:
    """Keys are 256-bit random tokens, so one SHA-256 is a sufficient one-way hash."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    uow: UnitOfWork,
    role: Role | str,
    *,
    entity: str | None = None,
    participant_id: str | None = None,
    label: str = "",
) -> tuple[str, Principal]:
    """Create a principal and its API key; the key is returned once and stored only hashed."""
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(f"{role!r} is not a role", field="role") from None
    with uow:
        if role is Role.TRADER:
            if participant_id is None:
                raise InvalidInput("a trader key needs --participant", field="participant")
            participant = uow.participants.get(participant_id)
            if participant is None:
                raise NotFound(f"no participant {participant_id}", field="participant")
            if entity is not None and entity != participant.entity:
                raise InvalidInput(
                    f"participant {participant_id} is registered with {participant.entity}",
                    field="entity",
                )
            entity = participant.entity
        elif participant_id is not None:
            raise InvalidInput("only a trader key names a participant", field="participant")
        if role is Role.OPERATOR:
            if entity is None:
                raise InvalidInput("an operator key needs --entity", field="entity")
            if uow.entities.get(entity) is None:
                raise NotFound(f"no entity {entity}", field="entity")
        elif role in (Role.AUDITOR, Role.ADMIN) and entity is not None:
            raise InvalidInput(f"an {role.value} key is not bound to an entity", field="entity")
        key = f"ck_{secrets.token_urlsafe(32)}"
        principal = Principal(f"key_{secrets.token_hex(8)}", role, entity, participant_id)
        uow.api_keys.add(principal, hash_key(key), key[:10], label)
        uow.commit()
    return key, principal


def authenticate(uow: UnitOfWork, key: str) -> Principal | None:
    with uow:
        return uow.api_keys.by_hash(hash_key(key))


# --- participants -----------------------------------------------------------------------------


def register_participant(
    uow: UnitOfWork,
    principal: Principal,
    *,
    name: str,
    entity: str | None = None,
    tax_id: str | None = None,
    bank_account: str | None = None,
) -> Participant:
    """An operator registers a trader with its own entity; an admin with the entity it names."""
    principal.require(Role.OPERATOR, Role.ADMIN)
    if principal.role is Role.OPERATOR:
        if entity is not None and entity != principal.entity:
            raise InvalidInput(
                "an operator registers participants with its own entity", field="entity"
            )
        entity = principal.entity
    if entity is None:
        raise InvalidInput(
            "is required: the entity to register the participant with", field="entity"
        )
    name = check_text(name, "name")
    with uow:
        if uow.entities.get(entity) is None:
            raise InvalidInput(f"no entity {entity}", field="entity")
        participant = Participant(
            id=f"{entity}-{secrets.token_hex(5).upper()}",
            entity=entity,
            name=name,
            tax_id=_optional_text(tax_id, "tax_id", 64),
            bank_account=_optional_text(bank_account, "bank_account", 64),
        )
        uow.participants.add(participant)
        uow.commit()
    return participant


def get_participant(uow: UnitOfWork, principal: Principal, participant_id: str) -> Participant:
    with uow:
        participant = uow.participants.get(participant_id)
    if participant is None or not _sees_participant(principal, participant):
        raise NotFound(f"no participant {participant_id}")
    return participant


def list_participants(
    uow: UnitOfWork, principal: Principal, after: str | None, limit: int
) -> list[Participant]:
    limit = check_limit(limit)
    if principal.role is Role.TRADER:
        participant_id = principal.participant_id or ""
        if after is not None and after >= participant_id:
            return []
        return [get_participant(uow, principal, participant_id)]
    entity = principal.entity if principal.role is Role.OPERATOR else None
    with uow:
        return uow.participants.list(entity, after, limit)


def _sees_participant(principal: Principal, participant: Participant) -> bool:
    if principal.role in (Role.ADMIN, Role.AUDITOR):
        return True
    if principal.role is Role.OPERATOR:
        return participant.entity == principal.entity
    return participant.id == principal.participant_id


# --- invoices ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    """An invoice as submitted; amounts are still decimal strings in major units."""

    invoice_number: str
    importer_id: str
    currency: str
    amount: str
    issue_date: date
    due_date: date
    hs_code: str
    description: str = ""
    exporter_id: str | None = None


def submit_invoice(uow: UnitOfWork, principal: Principal, draft: InvoiceDraft) -> Invoice:
    """Submit one invoice as its exporter; a compliance rejection is recorded and returned."""
    (outcome,) = submit_invoices(uow, principal, [draft])
    if isinstance(outcome, ClearingError):
        raise outcome
    return outcome


def submit_invoices(
    uow: UnitOfWork, principal: Principal, drafts: Sequence[InvoiceDraft]
) -> list[Invoice | ClearingError]:
    """Submit up to :data:`MAX_BATCH` invoices; each item succeeds or fails on its own.

    Valid items are inserted together in one statement; invalid ones change nothing.
    """
    principal.require(Role.TRADER, Role.OPERATOR)
    if len(drafts) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} invoices per batch", field="invoices")
    with uow:
        rules = uow.rules.list()
        exporters = _exporters(uow, principal, drafts)
        importers = uow.participants.get_many(d.importer_id for d in drafts)
        outcomes: list[Invoice | ClearingError] = []
        seen: set[tuple[str, str]] = set()
        for draft in drafts:
            try:
                invoice = _new_invoice(principal, draft, exporters, importers, rules)
                key = (invoice.exporter_id, invoice.invoice_number)
                if key in seen:
                    raise Conflict(
                        "the same invoice number appears twice in this batch",
                        field="invoice_number",
                    )
                seen.add(key)
                outcomes.append(invoice)
            except ClearingError as error:
                outcomes.append(error)
        _refuse_stored_duplicates(uow, outcomes)
        fresh = [o for o in outcomes if isinstance(o, Invoice)]
        stored = iter(uow.invoices.add_many(fresh, principal.id))
        result = [next(stored) if isinstance(o, Invoice) else o for o in outcomes]
        uow.commit()
    return result


def _exporters(
    uow: UnitOfWork, principal: Principal, drafts: Sequence[InvoiceDraft]
) -> dict[str, Participant]:
    if principal.role is Role.TRADER:
        ids = {principal.participant_id or ""}
    else:
        ids = {d.exporter_id for d in drafts if d.exporter_id}
    return uow.participants.get_many(ids)


def _refuse_stored_duplicates(uow: UnitOfWork, outcomes: list[Invoice | ClearingError]) -> None:
    by_exporter: dict[str, list[int]] = {}
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, Invoice):
            by_exporter.setdefault(outcome.exporter_id, []).append(index)
    for exporter_id, indexes in by_exporter.items():
        numbers = [outcomes[i].invoice_number for i in indexes]  # type: ignore[union-attr]
        taken = uow.invoices.existing_numbers(exporter_id, numbers)
        for index in indexes:
            invoice = outcomes[index]
            if isinstance(invoice, Invoice) and invoice.invoice_number in taken:
                outcomes[index] = Conflict(
                    f"invoice {invoice.invoice_number} from {exporter_id} was submitted already",
                    field="invoice_number",
                )


def _new_invoice(
    principal: Principal,
    draft: InvoiceDraft,
    exporters: dict[str, Participant],
    importers: dict[str, Participant],
    rules: list[Rule],
) -> Invoice:
    if principal.role is Role.TRADER:
        if draft.exporter_id not in (None, principal.participant_id):
            raise InvalidInput(
                "a trader submits invoices as their exporter only", field="exporter_id"
            )
        exporter = exporters[principal.participant_id or ""]
    else:
        if not draft.exporter_id:
            raise InvalidInput("is required: a participant of your entity", field="exporter_id")
        found = exporters.get(draft.exporter_id)
        if found is None or found.entity != principal.entity:
            raise InvalidInput(
                f"no participant {draft.exporter_id} in {principal.entity}", field="exporter_id"
            )
        exporter = found
    number = check_text(draft.invoice_number, "invoice_number")
    importer = importers.get(draft.importer_id)
    if importer is None:
        raise InvalidInput(f"no participant {draft.importer_id}", field="importer_id")
    if importer.entity == exporter.entity:
        raise InvalidInput(
            f"importer and exporter are both registered with {importer.entity}; "
            "only cross-border invoices are cleared",
            field="importer_id",
        )
    currency = check_currency(draft.currency)
    amount = parse_amount(draft.amount, currency)
    if draft.due_date < draft.issue_date:
        raise InvalidInput("is before issue_date", field="due_date")
    hs_code = normalise_hs_code(draft.hs_code)
    description = check_text(draft.description, "description", required=False)
    screening = screen(hs_code, (exporter.id, importer.id), rules)
    return Invoice(
        id=f"inv_{uuid.uuid4().hex}",
        invoice_number=number,
        exporter_id=exporter.id,
        exporter_entity=exporter.entity,
        importer_id=importer.id,
        importer_entity=importer.entity,
        currency=currency,
        amount=amount,
        outstanding=amount,
        issue_date=draft.issue_date,
        due_date=draft.due_date,
        hs_code=hs_code,
        description=description,
        status=Status.REJECTED if screening.rejected_by else Status.AWAITING_CONFIRMATION,
        priority=screening.priority,
        sequence=0,
        rejection=Rejection(screening.rejected_by.name, screening.reason)
        if screening.rejected_by
        else None,
    )


def get_invoice(uow: UnitOfWork, principal: Principal, invoice_id: str) -> Invoice:
    principal.require(Role.TRADER, Role.OPERATOR, Role.AUDITOR)
    with uow:
        invoice = uow.invoices.get(invoice_id)
    return _visible(principal, invoice, invoice_id)


def invoice_history(uow: UnitOfWork, principal: Principal, invoice_id: str) -> list[InvoiceEvent]:
    get_invoice(uow, principal, invoice_id)
    with uow:
        return uow.invoices.history(invoice_id)


def list_invoices(
    uow: UnitOfWork,
    principal: Principal,
    *,
    status: str | None = None,
    cycle_id: str | None = None,
    after_sequence: int | None = None,
    limit: int = 100,
) -> list[Invoice]:
    principal.require(Role.TRADER, Role.OPERATOR, Role.AUDITOR)
    if status is not None and status not in {s.value for s in Status}:
        raise InvalidInput(f"{status!r} is not an invoice status", field="status")
    filters = InvoiceFilter(
        limit=check_limit(limit),
        after_sequence=after_sequence,
        status=status,
        cycle_id=cycle_id,
        entity=principal.entity if principal.role is Role.OPERATOR else None,
        participant_id=principal.participant_id if principal.role is Role.TRADER else None,
    )
    with uow:
        return uow.invoices.list(filters)


def confirm_invoice(
    uow: UnitOfWork, principal: Principal, invoice_id: str, currency: str, amount: str
) -> Invoice:
    """The importer confirms by echoing currency and amount; a mismatch disputes the invoice."""
    principal.require(Role.TRADER)
    check_currency(currency)
    with uow:
        invoice = _for_party(uow, principal, invoice_id, "importer", "confirm")
        require_status(invoice, {Status.AWAITING_CONFIRMATION, Status.DISPUTED}, "confirm")
        echoed = parse_amount(amount, currency)
        differences = confirmation_differences(invoice, currency, echoed, amount)
        if differences:
            reason = "the importer's confirmation differs from the invoice"
            changed = replace(invoice, status=Status.DISPUTED, dispute=Dispute(differences, reason))
            details: dict[str, Any] | None = {"fields": differences}
        else:
            changed = replace(invoice, status=Status.ELIGIBLE, dispute=None)
            reason, details = "confirmed by the importer", None
        uow.invoices.save(changed, _event(invoice, changed, principal, reason, details))
        uow.commit()
    return changed


def dispute_invoice(uow: UnitOfWork, principal: Principal, invoice_id: str, reason: str) -> Invoice:
    principal.require(Role.TRADER)
    reason = check_text(reason, "reason")
    with uow:
        invoice = _for_party(uow, principal, invoice_id, "importer", "dispute")
        require_status(invoice, {Status.AWAITING_CONFIRMATION, Status.ELIGIBLE}, "dispute")
        changed = replace(invoice, status=Status.DISPUTED, dispute=Dispute({}, reason))
        uow.invoices.save(changed, _event(invoice, changed, principal, reason))
        uow.commit()
    return changed


def cancel_invoice(uow: UnitOfWork, principal: Principal, invoice_id: str, reason: str) -> Invoice:
    principal.require(Role.TRADER)
    reason = check_text(reason, "reason")
    with uow:
        invoice = _for_party(uow, principal, invoice_id, "exporter", "cancel")
        require_status(invoice, OPEN_STATES, "cancel")
        changed = replace(invoice, status=Status.CANCELLED)
        uow.invoices.save(changed, _event(invoice, changed, principal, reason))
        uow.commit()
    return changed


def release_invoice(uow: UnitOfWork, principal: Principal, invoice_id: str, reason: str) -> Invoice:
    """An operator sends an invoice to conventional settlement outside the engine."""
    principal.require(Role.OPERATOR)
    reason = check_text(reason, "reason")
    with uow:
        invoice = _visible(principal, uow.invoices.get(invoice_id, for_update=True), invoice_id)
        require_status(invoice, OPEN_STATES, "release")
        changed = replace(invoice, status=Status.RELEASED)
        uow.invoices.save(changed, _event(invoice, changed, principal, reason))
        uow.commit()
    return changed


def _for_party(
    uow: UnitOfWork, principal: Principal, invoice_id: str, side: str, action: str
) -> Invoice:
    invoice = _visible(principal, uow.invoices.get(invoice_id, for_update=True), invoice_id)
    party = invoice.importer_id if side == "importer" else invoice.exporter_id
    if party != principal.participant_id:
        raise Forbidden(f"only the {side} may {action} this invoice")
    return invoice


def _visible(principal: Principal, invoice: Invoice | None, invoice_id: str) -> Invoice:
    if invoice is None or not principal.sees_parties(
        (invoice.exporter_id, invoice.exporter_entity),
        (invoice.importer_id, invoice.importer_entity),
    ):
        raise NotFound(f"no invoice {invoice_id}")
    return invoice


def _event(
    before: Invoice,
    after: Invoice,
    principal: Principal,
    reason: str | None,
    details: dict[str, Any] | None = None,
) -> InvoiceEvent:
    return InvoiceEvent(
        after.id, before.status.value, after.status.value, principal.id, reason, details
    )


# --- compliance rules -------------------------------------------------------------------------


def list_rules(uow: UnitOfWork) -> list[Rule]:
    with uow:
        return uow.rules.list()


def add_rule(uow: UnitOfWork, kind: str, value: str, description: str = "") -> Rule:
    rule = check_rule(kind, value)
    rule = replace(rule, description=description)
    with uow:
        uow.rules.add(rule)
        uow.commit()
    return rule


def remove_rule(uow: UnitOfWork, kind: str, value: str) -> None:
    rule = check_rule(kind, value)
    with uow:
        if not uow.rules.remove(rule):
            raise NotFound(f"no rule {rule.name}")
        uow.commit()


def reset_rules(uow: UnitOfWork) -> list[Rule]:
    """Restore the shipped default rules (other rules are kept)."""
    with uow:
        present = {(r.kind, r.value) for r in uow.rules.list()}
        for rule in default_rules():
            if (rule.kind, rule.value) not in present:
                uow.rules.add(rule)
        uow.commit()
        return uow.rules.list()


# --- idempotency ------------------------------------------------------------------------------


class _DeferredCommit:
    """Wraps a unit of work so that a use case's commit waits until its answer is recorded."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self.commit_requested = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)

    def __enter__(self) -> _DeferredCommit:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def commit(self) -> None:
        self.commit_requested = True

    def rollback(self) -> None:
        self._uow.rollback()


def answer_once(
    uows: Callable[[], UnitOfWork],
    principal: Principal,
    key: str | None,
    request_hash: str,
    run: Callable[[UnitOfWork], tuple[int, Any]],
) -> tuple[int, Any]:
    """Run ``run`` once per idempotency key: a repeat with the same request gets the first
    answer; with another request, :class:`Conflict`. Only successful answers are recorded."""
    if key is None:
        return run(uows())
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise InvalidInput("must be 1 to 200 printable characters", field="Idempotency-Key")
    for attempt in range(3):
        with uows() as uow:
            uow.idempotency.lock(principal.id, key)
            stored = uow.idempotency.get(principal.id, key)
            if stored is not None:
                if stored.request_hash != request_hash:
                    raise Conflict(
                        "this Idempotency-Key was used with another request",
                        field="Idempotency-Key",
                    )
                return stored.status_code, stored.body
            deferred = _DeferredCommit(uow)
            try:
                status, body = run(deferred)
            except Conflict:
                if attempt < 2:
                    continue
                raise
            if deferred.commit_requested:
                if status < 300:
                    uow.idempotency.add(principal.id, key, StoredAnswer(request_hash, status, body))
                try:
                    uow.commit()
                except Conflict:
                    if attempt < 2:
                        continue
                    raise
            return status, body
    raise Conflict("the request kept conflicting with concurrent ones; try again")


# --- validation helpers -----------------------------------------------------------------------


def check_text(value: Any, field: str, *, required: bool = True) -> str:
    limit = _TEXT_LIMITS.get(field, 200)
    if not isinstance(value, str):
        raise InvalidInput("must be a string", field=field)
    text = value.strip()
    if required and not text:
        raise InvalidInput("is required", field=field)
    if len(text) > limit:
        raise InvalidInput(f"is longer than {limit} characters", field=field)
    if _CONTROL.search(text if field != "description" else text.replace("\n", "")):
        raise InvalidInput("contains control characters", field=field)
    return text


def _optional_text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or _CONTROL.search(value):
        raise InvalidInput(f"must be at most {limit} printable characters", field=field)
    return value.strip() or None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"must be between 1 and {MAX_PAGE}", field="limit")
    return limit
