"""Invoices: submission by exporters (one, a batch, or a bulk import), confirmation by
importers, and their side exits (DESIGN §6)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from typing import Any

from clearing.domain.access import Principal, Role
from clearing.domain.compliance import Screen, normalise_hs_code, screener
from clearing.domain.errors import ClearingError, Conflict, Forbidden, InvalidInput, NotFound
from clearing.domain.invoices import (
    LIFECYCLE,
    Action,
    Dispute,
    Invoice,
    InvoiceDraft,
    InvoiceEvent,
    InvoiceFilter,
    Rejection,
    Status,
    check_dates,
    confirmation_differences,
    require_transition,
)
from clearing.domain.money import check_currency, format_amount, parse_amount
from clearing.domain.parties import Participant
from clearing.use_cases.ageing import flag_stale, stale_test_at
from clearing.use_cases.ports import UnitOfWork, UnitOfWorkFactory
from clearing.use_cases.validation import MAX_PAGE, check_limit, check_text

MAX_BATCH = 1000


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
        screening = screener(uow.rules.list())
        exporters = _exporters(uow, principal, drafts)
        importers = uow.participants.get_many(d.importer_id for d in drafts)
        outcomes: list[Invoice | ClearingError] = []
        seen: set[tuple[str, str]] = set()
        for draft in drafts:
            try:
                invoice = _new_invoice(principal, draft, exporters, importers, screening)
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
    screening: Screen,
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
    check_dates(draft.issue_date, draft.due_date)
    hs_code = normalise_hs_code(draft.hs_code)
    description = check_text(draft.description, "description", required=False)
    screened = screening(hs_code, exporter.id, importer.id)
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
        status=LIFECYCLE[Action.SUBMIT].outcome(normal=screened.rejected_by is None),
        priority=screened.priority,
        sequence=0,
        rejection=Rejection(screened.rejected_by.name, screened.reason)
        if screened.rejected_by
        else None,
    )


def get_invoice(
    uow: UnitOfWork, principal: Principal, invoice_id: str, *, as_of: datetime | None = None
) -> Invoice:
    """The invoice, flagged ``stale`` by the ageing rules as of ``as_of`` (now)."""
    principal.require(Role.TRADER, Role.OPERATOR, Role.AUDITOR)
    with uow:
        invoice = _visible(principal, uow.invoices.get(invoice_id), invoice_id)
        (aged,) = flag_stale([invoice], stale_test_at(uow, as_of))
    return aged


def invoice_history(uow: UnitOfWork, principal: Principal, invoice_id: str) -> list[InvoiceEvent]:
    get_invoice(uow, principal, invoice_id)
    with uow:
        return uow.invoices.history(invoice_id)


@dataclass(frozen=True, slots=True)
class InvoiceSearch:
    """What narrows a listing beyond status, cycle and stale: a counterparty (exporter or
    importer), a corridor (exporter's entity, importer's entity) and date ranges, each bound
    inclusive; ``None`` does not narrow."""

    counterparty: str | None = None
    corridor: tuple[str, str] | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    due_from: date | None = None
    due_to: date | None = None

    @property
    def narrows(self) -> bool:
        return any(getattr(self, criterion.name) is not None for criterion in fields(self))

    def matches(self, invoice: Invoice) -> bool:
        if self.counterparty is not None and self.counterparty not in (
            invoice.exporter_id,
            invoice.importer_id,
        ):
            return False
        if self.corridor is not None and self.corridor != (
            invoice.exporter_entity,
            invoice.importer_entity,
        ):
            return False
        return _within(invoice.issue_date, self.issued_from, self.issued_to) and _within(
            invoice.due_date, self.due_from, self.due_to
        )


def _within(day: date, first: date | None, last: date | None) -> bool:
    return (first is None or first <= day) and (last is None or day <= last)


def list_invoices(
    uow: UnitOfWork,
    principal: Principal,
    *,
    search: InvoiceSearch | None = None,
    status: str | None = None,
    cycle_id: str | None = None,
    stale: bool | None = None,
    after_sequence: int | None = None,
    limit: int = 100,
    as_of: datetime | None = None,
) -> list[Invoice]:
    """The invoices the caller may see, in submission order, each flagged ``stale`` by the
    ageing rules as of ``as_of`` (now); ``stale=True`` lists the stale queue (DESIGN §6a). Up to
    ``limit`` invoices after ``after_sequence``, so the last one's sequence is the next page's
    cursor.

    Storage filters scope, status, cycle and stale; ``search`` (counterparty, corridor, dates)
    is matched here, reading on page by page until ``limit`` invoices match or the invoices
    end."""
    search = search or InvoiceSearch()
    principal.require(Role.TRADER, Role.OPERATOR, Role.AUDITOR)
    if status is not None and status not in {s.value for s in Status}:
        raise InvalidInput(f"{status!r} is not an invoice status", field="status")
    if stale is not None and not isinstance(stale, bool):
        raise InvalidInput("must be true or false", field="stale")
    limit = check_limit(limit)
    found: list[Invoice] = []
    with uow:
        test = stale_test_at(uow, as_of)
        cursor = after_sequence
        while True:
            read = MAX_PAGE if search.narrows else limit
            page = uow.invoices.list(
                InvoiceFilter(
                    limit=read,
                    after_sequence=cursor,
                    status=status,
                    cycle_id=cycle_id,
                    stale=stale,
                    stale_test=test,
                    scope=principal.scope,
                )
            )
            found.extend(invoice for invoice in page if search.matches(invoice))
            if len(found) >= limit or len(page) < read:
                return flag_stale(found[:limit], test)
            cursor = page[-1].sequence


def confirm_invoice(
    uow: UnitOfWork, principal: Principal, invoice_id: str, currency: str, amount: str
) -> Invoice:
    """The importer confirms by echoing currency and amount; a mismatch disputes the invoice."""
    principal.require(Role.TRADER)
    check_currency(currency)
    with uow:
        invoice = _for_party(uow, principal, invoice_id, "importer", "confirm")
        transition = require_transition(invoice, Action.CONFIRM)
        echoed = parse_amount(amount, currency)
        differences = confirmation_differences(invoice, currency, echoed, amount)
        if differences:
            reason = "the importer's confirmation differs from the invoice"
            disputed = transition.outcome(normal=False)
            changed = replace(invoice, status=disputed, dispute=Dispute(differences, reason))
            details: dict[str, Any] | None = {"fields": differences}
        else:
            changed = replace(
                invoice,
                status=transition.outcome(),
                dispute=None,
                first_eligible_at=invoice.first_eligible_at or datetime.now(UTC),
            )
            reason, details = "confirmed by the importer", None
        uow.invoices.save(changed, _event(invoice, changed, principal, reason, details))
        (aged,) = flag_stale([changed], stale_test_at(uow))
        uow.commit()
    return aged


def dispute_invoice(uow: UnitOfWork, principal: Principal, invoice_id: str, reason: str) -> Invoice:
    """The importer disputes the invoice, with a reason (shown to both sides)."""
    return _side_exit(uow, principal, invoice_id, reason, Action.DISPUTE)


def cancel_invoice(uow: UnitOfWork, principal: Principal, invoice_id: str, reason: str) -> Invoice:
    """The exporter cancels the invoice before a cycle takes it."""
    return _side_exit(uow, principal, invoice_id, reason, Action.CANCEL)


def release_invoice(uow: UnitOfWork, principal: Principal, invoice_id: str, reason: str) -> Invoice:
    """An operator sends an invoice to conventional settlement outside the engine."""
    return _side_exit(uow, principal, invoice_id, reason, Action.RELEASE)


def release_invoices(
    uow: UnitOfWork, principal: Principal, invoice_ids: Sequence[str], reason: str
) -> list[Invoice | ClearingError]:
    """An operator sends up to :data:`MAX_BATCH` invoices to conventional settlement at once
    (from the stale queue, say), with one reason; each succeeds or fails on its own, and the
    answer is in the order asked. Invoices are locked in id order, as every bulk change does."""
    principal.require(Role.OPERATOR)
    reason = check_text(reason, "reason")
    if not invoice_ids:
        raise InvalidInput("name at least one invoice", field="invoice_ids")
    if len(invoice_ids) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} invoices at once", field="invoice_ids")
    if len(set(invoice_ids)) != len(invoice_ids):
        raise InvalidInput("names an invoice twice", field="invoice_ids")
    outcomes: dict[str, Invoice | ClearingError] = {}
    with uow:
        for invoice_id in sorted(invoice_ids):
            try:
                found = uow.invoices.get(invoice_id, for_update=True)
                invoice = _visible(principal, found, invoice_id)
                transition = require_transition(invoice, Action.RELEASE)
                changed = replace(invoice, status=transition.outcome(), dispute=None)
                uow.invoices.save(changed, _event(invoice, changed, principal, reason))
                outcomes[invoice_id] = changed
            except ClearingError as refused:
                outcomes[invoice_id] = refused
        uow.commit()
    return [outcomes[invoice_id] for invoice_id in invoice_ids]


#: Who takes each side exit: the invoice's importer or exporter, or (``None``) an operator.
_SIDE_EXIT_BY: dict[Action, str | None] = {
    Action.DISPUTE: "importer",
    Action.CANCEL: "exporter",
    Action.RELEASE: None,
}


def _side_exit(
    uow: UnitOfWork, principal: Principal, invoice_id: str, reason: str, action: Action
) -> Invoice:
    side = _SIDE_EXIT_BY[action]
    principal.require(Role.TRADER if side else Role.OPERATOR)
    reason = check_text(reason, "reason")
    with uow:
        if side is None:
            invoice = _visible(principal, uow.invoices.get(invoice_id, for_update=True), invoice_id)
        else:
            invoice = _for_party(uow, principal, invoice_id, side, action.value)
        transition = require_transition(invoice, action)
        # Only a disputed invoice carries its dispute (as it is stored and shown).
        dispute = Dispute({}, reason) if action is Action.DISPUTE else None
        changed = replace(invoice, status=transition.outcome(), dispute=dispute)
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


@dataclass
class ImportOutcome:
    """What a bulk import did: counts, and each refused item's index and error."""

    accepted: int = 0
    rejected: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)


def import_invoices(
    uows: UnitOfWorkFactory,
    entity: str,
    drafts: Sequence[InvoiceDraft],
    *,
    confirm: bool = False,
    advance: Callable[[int], None] = lambda _count: None,
) -> ImportOutcome:
    """Submit the drafts as the entity's operator, in batches; optionally confirm each accepted
    invoice as its importer (for loading pilot data both sides have already agreed)."""
    operator = Principal(f"cli:{entity}", Role.OPERATOR, entity)
    outcome = ImportOutcome()
    for start in range(0, len(drafts), MAX_BATCH):
        batch = drafts[start : start + MAX_BATCH]
        results = submit_invoices(uows(), operator, batch)
        for index, result in enumerate(results, start=start):
            if isinstance(result, ClearingError):
                outcome.failures.append((index, str(result)))
            elif result.status is Status.REJECTED:
                outcome.rejected += 1
            else:
                outcome.accepted += 1
                if confirm:
                    _confirm_as_importer(uows, result)
        advance(len(batch))
    return outcome


def _confirm_as_importer(uows: UnitOfWorkFactory, invoice: Invoice) -> None:
    importer = Principal(
        f"cli:{invoice.importer_id}", Role.TRADER, invoice.importer_entity, invoice.importer_id
    )
    confirm_invoice(
        uows(),
        importer,
        invoice.id,
        invoice.currency,
        format_amount(invoice.amount, invoice.currency),
    )
