"""Answers as JSON: domain values formatted for the API (amounts as decimal strings in major
units of the currency named beside them). Every figure comes computed from the domain; nothing
here derives one."""

from __future__ import annotations

from typing import Any

from clearing.domain.access import ApiKey
from clearing.domain.bank import BankEntry, Reconciliation
from clearing.domain.cycles import Cycle, PayIn, Refund
from clearing.domain.invoices import Invoice, InvoiceEvent
from clearing.domain.lines import LineEvent
from clearing.domain.money import format_amount
from clearing.domain.netting import Settlement
from clearing.domain.netting.lines import LineMovement
from clearing.domain.parties import Participant, ParticipantVersion
from clearing.domain.payments import return_reference
from clearing.use_cases.lines import LineView
from clearing.use_cases.settlement import PositionView


def participant_json(participant: Participant) -> dict[str, Any]:
    return {
        "id": participant.id,
        "entity": participant.entity,
        "name": participant.name,
        "tax_id": participant.tax_id,
        "bank_account": participant.bank_account,
        "bank_code": participant.bank_code,
    }


def participant_version_json(version: ParticipantVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "name": version.name,
        "bank_account": version.bank_account,
        "bank_code": version.bank_code,
        "changed_by": version.changed_by,
        "changed_at": version.changed_at.isoformat(),
    }


def pay_in_json(pay_in: PayIn) -> dict[str, Any]:
    return {
        "id": pay_in.id,
        "participant_id": pay_in.participant_id,
        "entity": pay_in.entity,
        "currency": pay_in.currency,
        "amount": format_amount(pay_in.amount, pay_in.currency),
        "bank_reference": pay_in.bank_reference,
        "value_date": pay_in.value_date.isoformat() if pay_in.value_date else None,
        "recorded_by": pay_in.recorded_by,
        "recorded_at": pay_in.recorded_at.isoformat() if pay_in.recorded_at else None,
        "carried_from": pay_in.carried_from,
    }


def bank_entry_json(entry: BankEntry) -> dict[str, Any]:
    line = entry.line
    return {
        "id": entry.id,
        "entity": entry.entity,
        "entry_reference": line.key,
        "direction": line.direction.value,
        "currency": line.currency,
        "amount": format_amount(line.amount, line.currency),
        "value_date": line.value_date.isoformat(),
        "remittance": line.remittance,
        "end_to_end_id": line.end_to_end_id,
        "counterparty_name": line.counterparty_name,
        "status": entry.status.value,
        "cycle_id": entry.cycle_id,
        "participant_id": entry.participant_id,
        "purpose": entry.purpose.value if entry.purpose else None,
        "pay_in_id": entry.pay_in_id,
        "note": entry.note,
        "imported_by": entry.imported_by,
        "imported_at": entry.imported_at.isoformat(),
        "resolved_by": entry.resolved_by,
        "resolved_at": entry.resolved_at.isoformat() if entry.resolved_at else None,
        "return_reference": (
            return_reference(entry.id) if entry.status is Reconciliation.RETURNED else None
        ),
    }


def key_json(key: ApiKey) -> dict[str, Any]:
    principal = key.principal
    return {
        "id": principal.id,
        "role": principal.role.value,
        "entity": principal.entity,
        "participant_id": principal.participant_id,
        "label": key.label,
        "prefix": key.prefix,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def invoice_json(invoice: Invoice) -> dict[str, Any]:
    # ``dispute`` and ``rejection`` are always present (null when not relevant), as in every
    # answer shaped by ``InvoiceOut``.
    return {
        "id": invoice.id,
        "invoice_number": invoice.invoice_number,
        "exporter_id": invoice.exporter_id,
        "exporter_entity": invoice.exporter_entity,
        "importer_id": invoice.importer_id,
        "importer_entity": invoice.importer_entity,
        "currency": invoice.currency,
        "amount": format_amount(invoice.amount, invoice.currency),
        "outstanding": format_amount(invoice.outstanding, invoice.currency),
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "hs_code": invoice.hs_code,
        "description": invoice.description,
        "status": invoice.status.value,
        "priority": invoice.priority,
        "sequence": invoice.sequence,
        "cycle_id": invoice.cycle_id,
        "dispute": (
            {"fields": invoice.dispute.fields, "reason": invoice.dispute.reason}
            if invoice.dispute is not None
            else None
        ),
        "rejection": (
            {"rule": invoice.rejection.rule, "reason": invoice.rejection.reason}
            if invoice.rejection is not None
            else None
        ),
        "first_eligible_at": (
            invoice.first_eligible_at.isoformat() if invoice.first_eligible_at else None
        ),
        "cycles_carried": invoice.cycles_carried,
        "stale": invoice.stale,
    }


def event_json(event: InvoiceEvent) -> dict[str, Any]:
    return {
        "from": event.from_status,
        "to": event.to_status,
        "actor": event.actor,
        "reason": event.reason,
        "details": event.details,
        "at": event.at,
    }


def cycle_json(cycle: Cycle) -> dict[str, Any]:
    base = cycle.rates.base if cycle.rates else None
    body: dict[str, Any] = {
        "id": cycle.id,
        "number": cycle.number,
        "status": cycle.status.value,
        "policy": cycle.policy.value,
        "digest": cycle.digest,
        "base": base,
        "rates": cycle.rates.to_json() if cycle.rates else None,
        "corridors": [],
        "jurisdictions": [],
        "metrics": None,
        "approvals": [
            {
                "entity": a.entity,
                "digest": a.digest,
                "principal_id": a.principal_id,
                "approved_at": a.approved_at.isoformat(),
            }
            for a in cycle.approvals
        ],
        "required_approvals": list(cycle.required_approvals),
        "approvals_needed": {e: cycle.approvals_needed_by(e) for e in cycle.required_approvals},
        "missing_approvals": list(cycle.missing_approvals),
        "superseded_by": cycle.superseded_by,
        "predecessor_id": cycle.predecessor_id,
        "defaulted": list(cycle.defaulted),
        "note": cycle.note,
        "opened_at": cycle.opened_at.isoformat(),
        "closed_by": cycle.closed_by,
        "closed_at": cycle.closed_at.isoformat() if cycle.closed_at else None,
        "settled_at": cycle.settled_at.isoformat() if cycle.settled_at else None,
        "lines": [cycle_line_json(m) for m in cycle.lines],
    }
    figures = cycle.summary
    if figures is not None and base is not None:
        metrics = figures.metrics
        body["corridors"] = [c.to_json(base) for c in figures.corridors]
        body["jurisdictions"] = [t.to_json() for t in figures.jurisdictions]
        body["metrics"] = {
            "submitted_value": format_amount(metrics.submitted_value, base),
            "settled_value": format_amount(metrics.settled_value, base),
            "carried_value": format_amount(metrics.carried_value, base),
            "obligations": figures.obligations,
            "cross_border_payments_avoided": metrics.obligations_settled,
            "cross_border_value_avoided": format_amount(metrics.settled_value, base),
            "netting_efficiency": metrics.netting_efficiency,
            "domestic_liquidity_saved": metrics.domestic_liquidity_saved,
            "money_moved": _optional_amount(figures.money_moved, base),
            "setoff_saved": _optional_amount(figures.setoff_saved, base),
        }
    return body


def _optional_amount(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_amount(minor, currency)


def cycle_line_json(movement: LineMovement) -> dict[str, Any]:
    currency = movement.currency
    return {
        "id": movement.line_id,
        "from": movement.source,
        "to": movement.target,
        "currency": currency,
        "drawn": format_amount(movement.drawn, currency),
        "repaid": format_amount(movement.repaid, currency),
        "balance": format_amount(movement.balance, currency),
    }


def line_json(view: LineView) -> dict[str, Any]:
    line = view.line
    currency = line.currency
    change = line.pending_change
    return {
        "id": line.id,
        "from": line.source,
        "to": line.target,
        "currency": currency,
        "limit": format_amount(line.limit, currency),
        "balance": format_amount(line.balance, currency),
        "status": line.status.value,
        "proposed_by": line.proposed_by,
        "proposed_at": line.proposed_at.isoformat(),
        "confirmed_by": line.confirmed_by,
        "confirmed_at": line.confirmed_at.isoformat() if line.confirmed_at else None,
        "pending_limit": (
            {
                "limit": format_amount(change.limit, currency),
                "entity": change.entity,
                "proposed_by": change.proposed_by,
                "proposed_at": change.proposed_at.isoformat(),
            }
            if change is not None
            else None
        ),
        "awaiting": line.awaiting,
        "movements": [
            {
                "cycle_id": m.cycle_id,
                "drawn": format_amount(m.drawn, currency),
                "repaid": format_amount(m.repaid, currency),
                "balance": format_amount(m.balance, currency),
            }
            for m in view.movements
        ],
        "history": [line_event_json(e, currency) for e in view.history],
    }


def line_event_json(event: LineEvent, currency: str) -> dict[str, Any]:
    return {
        "action": event.action.value,
        "limit": format_amount(event.limit, currency),
        "entity": event.entity,
        "actor": event.actor,
        "at": event.at.isoformat(),
    }


def position_json(view: PositionView) -> dict[str, Any]:
    p = view.position
    return {
        "participant_id": p.participant_id,
        "entity": p.jurisdiction,
        "currency": p.currency,
        "pay_in": format_amount(p.pay_in, p.currency),
        "pay_out": format_amount(p.pay_out, p.currency),
        "net": format_amount(p.net, p.currency),
        "due": format_amount(view.due, p.currency),
        "received": format_amount(view.received, p.currency),
        "refunded": format_amount(view.refunded, p.currency),
        "outstanding_pay_in": format_amount(view.outstanding, p.currency),
        "payment_reference": view.payment_reference,
        "pay_out_confirmed_by": view.pay_out_confirmed_by,
    }


def settlement_json(s: Settlement, cycle: Cycle) -> dict[str, Any]:
    o = s.obligation
    jurisdictions = cycle.rates.jurisdictions if cycle.rates else {}
    base = cycle.rates.base if cycle.rates else o.currency
    debtor_currency = jurisdictions.get(o.debtor_jurisdiction, o.currency)
    creditor_currency = jurisdictions.get(o.creditor_jurisdiction, o.currency)
    return {
        "obligation_id": o.obligation_id,
        "debtor_id": o.debtor_id,
        "debtor_entity": o.debtor_jurisdiction,
        "creditor_id": o.creditor_id,
        "creditor_entity": o.creditor_jurisdiction,
        "currency": o.currency,
        "outstanding": format_amount(o.outstanding, o.currency),
        "settled": format_amount(s.settled, o.currency),
        "remaining": format_amount(s.remaining, o.currency),
        "value": format_amount(s.value, base),
        "settled_value": format_amount(s.settled_value, base),
        "debtor_leg": leg_json(s.debtor_leg, debtor_currency),
        "creditor_leg": leg_json(s.creditor_leg, creditor_currency),
    }


def leg_json(amount: int, currency: str) -> dict[str, str]:
    return {"currency": currency, "amount": format_amount(amount, currency)}


def refund_json(refund: Refund) -> dict[str, Any]:
    return {
        "participant_id": refund.participant_id,
        "entity": refund.entity,
        "currency": refund.currency,
        "amount": format_amount(refund.amount, refund.currency),
        "reason": refund.reason,
    }


def balance_json(entity: str, account: str, currency: str, balance: int) -> dict[str, str]:
    return {
        "entity": entity,
        "account": account,
        "currency": currency,
        "balance": format_amount(balance, currency),
    }
