"""Request and answer shapes (pydantic v2), kept apart from the domain objects.

Requests forbid unknown fields, so clients cannot set server-owned ones (ids, status,
outstanding, timestamps). Amounts are decimal strings; a JSON number is refused.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr

from clearing.domain.cycles import CycleStatus
from clearing.domain.invoices import InvoiceDraft, Status
from clearing.domain.obligations import Policy
from clearing.use_cases.invoices import MAX_BATCH

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    """Only a ``YYYY-MM-DD`` string is a date here: not a number, not a timestamp."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date string in the format YYYY-MM-DD")
    return value


#: A calendar date given as ``YYYY-MM-DD`` (validated the same way in JSON and Python mode).
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4000)


class ParticipantIn(Strict):
    name: StrictStr = Field(min_length=1, max_length=200, examples=["Heihe Soybean Trading Co."])
    entity: StrictStr | None = Field(
        default=None, description="Only for admins: the entity to register with.", examples=["CN"]
    )
    tax_id: StrictStr | None = Field(default=None, max_length=64)
    bank_account: StrictStr | None = Field(
        default=None, max_length=64, description="1 to 34 letters, digits, '/' or '-'."
    )
    bank_code: StrictStr | None = Field(
        default=None,
        max_length=64,
        description="The account's bank: a BIC, a CNAPS code (12 digits) or a BIK (9 digits).",
        examples=["BKCHCNBJ"],
    )


class ParticipantPatchIn(Strict):
    """What an operator may change of a participant; what is not given stays."""

    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    bank_account: StrictStr | None = Field(default=None, max_length=64)
    bank_code: StrictStr | None = Field(default=None, max_length=64)


class ParticipantOut(BaseModel):
    id: str
    entity: str
    name: str
    tax_id: str | None
    bank_account: str | None
    bank_code: str | None


class InvoiceIn(Strict):
    invoice_number: StrictStr = Field(min_length=1, max_length=64, examples=["HH-2026-0042"])
    importer_id: StrictStr = Field(min_length=1, max_length=64, examples=["RU-4F2A9C01D2"])
    currency: StrictStr = Field(examples=["CNY"])
    amount: StrictStr = Field(description="Decimal string in major units.", examples=["125000.50"])
    issue_date: IsoDate = Field(examples=["2026-11-02"])
    due_date: IsoDate = Field(examples=["2026-12-31"])
    hs_code: StrictStr = Field(description="HS code, 2 to 10 digits.", examples=["120190"])
    description: StrictStr = Field(default="", max_length=2000, examples=["Soybeans, 400 t"])
    exporter_id: StrictStr | None = Field(
        default=None, description="Operators' batch items only: the exporter of their entity."
    )

    def to_draft(self) -> InvoiceDraft:
        """The draft the use cases take: the same fields, amounts still decimal strings."""
        # The validated fields as they are (what ``model_dump()`` copies, without the copy).
        return InvoiceDraft(**self.__dict__)


class InvoiceBatchIn(Strict):
    invoices: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=(
            "Invoices shaped as for `POST /v1/invoices` (`InvoiceIn`); an operator's name "
            "`exporter_id`. Each item is validated on its own: an invalid one gets its own 422."
        ),
    )


class ConfirmIn(Strict):
    currency: StrictStr = Field(examples=["CNY"])
    amount: StrictStr = Field(examples=["125000.50"])


class ReasonIn(Strict):
    reason: StrictStr = Field(min_length=1, max_length=2000, examples=["goods not delivered"])


class OpenCycleIn(Strict):
    policy: Policy = Field(default=Policy.FIFO, description="How matched value is allocated.")


class RatesIn(Strict):
    base: StrictStr = Field(examples=["CNY"])
    jurisdictions: dict[str, StrictStr] = Field(examples=[{"CN": "CNY", "RU": "RUB"}])
    rates: dict[str, StrictStr] = Field(examples=[{"CNY": "1", "RUB": "0.0781", "USD": "7.10"}])
    source: StrictStr = Field(default="", examples=["PBoC central parity"])
    as_of: StrictStr = Field(default="", examples=["2026-11-20T10:00:00Z"])


class ApproveIn(Strict):
    digest: StrictStr = Field(min_length=64, max_length=64)


class PayInIn(Strict):
    participant_id: StrictStr
    currency: StrictStr = Field(examples=["RUB"])
    amount: StrictStr = Field(examples=["150000.00"])
    bank_reference: StrictStr = Field(min_length=1, max_length=140, examples=["SBER-2026-11-7781"])
    value_date: IsoDate | None = Field(
        default=None, description="The day the bank credited the money; today when omitted."
    )


class DefaultIn(Strict):
    participant_id: StrictStr
    reason: StrictStr = Field(min_length=1, max_length=2000)


#: An amount as the API answers it: a decimal string in major units of the currency beside it.
Amount = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["125000.50"])]
#: A time as ISO 8601 text, in UTC.
Timestamp = Annotated[str, Field(examples=["2026-11-30T10:00:00+00:00"])]


class RatesOut(BaseModel):
    base: str
    jurisdictions: dict[str, str]
    rates: dict[str, str]
    source: str
    as_of: str


class CorridorOut(BaseModel):
    """One direction between two jurisdictions, valued in the cycle's base currency."""

    model_config = ConfigDict(populate_by_name=True)

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    submitted: Amount
    settled: Amount
    carried: Amount


class JurisdictionOut(BaseModel):
    """A jurisdiction's domestic totals, in its own currency."""

    jurisdiction: str
    currency: str
    pay_in: Amount
    pay_out: Amount


class MetricsOut(BaseModel):
    """Values in the base currency; ratios are six-place decimal strings."""

    submitted_value: Amount
    settled_value: Amount
    carried_value: Amount
    obligations: int
    cross_border_payments_avoided: int
    cross_border_value_avoided: Amount
    netting_efficiency: str
    domestic_liquidity_saved: str
    #: The participants' net pay-ins; under ``setoff``, what it saved against ``fifo``.
    money_moved: Amount | None = None
    setoff_saved: Amount | None = None


class ParticipantVersionOut(BaseModel):
    """One version of a participant's details, with who set it and when (1: registration)."""

    version: int
    name: str
    bank_account: str | None
    bank_code: str | None
    changed_by: str
    changed_at: Timestamp


class PayInOut(BaseModel):
    """A domestic payment recorded as received for a cycle, as the bank credited it."""

    id: str
    participant_id: str
    entity: str
    currency: str
    amount: Amount
    bank_reference: str
    value_date: str | None = Field(description="YYYY-MM-DD; null for a carried pay-in.")
    recorded_by: str
    recorded_at: Timestamp | None
    carried_from: str | None = Field(description="The superseded cycle it was carried from.")


class BankEntryOut(BaseModel):
    """A line of the entity's bank statement as imported, and what it was matched to."""

    id: str
    entity: str
    entry_reference: str = Field(
        description="The bank's own reference for the booking, with /<n> for the n-th "
        "transaction of a batch booking."
    )
    direction: Literal["credit", "debit"]
    currency: str
    amount: Amount
    value_date: str = Field(description="YYYY-MM-DD")
    remittance: str = Field(description="The payer's reference or text, as the bank gave it.")
    end_to_end_id: str
    counterparty_name: str
    status: Literal["matched", "suspense", "assigned", "returned", "confirmed", "unmatched"]
    cycle_id: str | None
    participant_id: str | None
    purpose: Literal["pay_in", "pay_out", "refund", "return"] | None
    pay_in_id: str | None = Field(description="The pay-in a credit was recorded as, or is.")
    note: str = Field(description="Why it matched nothing, or why it was returned.")
    imported_by: str
    imported_at: Timestamp
    resolved_by: str | None
    resolved_at: Timestamp | None
    return_reference: str | None = Field(
        description="For a returned credit: the RF reference its return transfer quotes, which "
        "confirms it when the bank's debit comes back on a statement."
    )


class ImportedLineOut(BaseModel):
    entry_reference: str
    status: Literal[
        "matched", "suspense", "assigned", "returned", "confirmed", "unmatched", "duplicate"
    ]
    id: str | None = Field(description="The stored entry; null for a duplicate.")
    cycle_id: str | None
    participant_id: str | None
    note: str


class BankImportOut(BaseModel):
    """What a statement import did, line by line."""

    entries: int = Field(description="Booked lines read from the statement.")
    matched: int = Field(description="Credits recorded as pay-ins and debits confirmed.")
    unmatched: int = Field(description="Credits sent to suspense and debits not explained.")
    duplicates: int = Field(description="Lines imported before: nothing recorded again.")
    pending: int = Field(description="Entries not yet booked, left for a later statement.")
    lines: list[ImportedLineOut]


class MatchIn(Strict):
    pay_in_id: StrictStr = Field(min_length=1, max_length=80)


class StatementFingerprint(BaseModel):
    """What makes two statement uploads the same request (for ``Idempotency-Key``)."""

    media_type: str
    sha256: str


class AssignIn(Strict):
    cycle_id: StrictStr = Field(min_length=1, max_length=40)
    participant_id: StrictStr = Field(min_length=1, max_length=64)


class KeyOut(BaseModel):
    """An API key without its secret: whose it is and whether it still authenticates."""

    id: str
    role: str
    entity: str | None
    participant_id: str | None
    label: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    created_at: Timestamp
    revoked_at: Timestamp | None


class CycleLineOut(BaseModel):
    """What a cycle does to a liquidity line, in the line's currency (``balance`` after it)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    currency: str
    drawn: Amount
    repaid: Amount
    balance: Amount


class ApprovalOut(BaseModel):
    entity: str
    digest: str
    principal_id: str = Field(description="The key of the operator who approved.")
    approved_at: Timestamp


class CycleOut(BaseModel):
    id: str
    number: int
    status: CycleStatus
    policy: Policy
    digest: str | None
    base: str | None
    rates: RatesOut | None
    corridors: list[CorridorOut]
    jurisdictions: list[JurisdictionOut]
    metrics: MetricsOut | None
    approvals: list[ApprovalOut]
    required_approvals: list[str]
    approvals_needed: dict[str, int] = Field(
        description="Per entity with legs, the approvals it asks for: 2 under four eyes."
    )
    missing_approvals: list[str]
    superseded_by: str | None
    predecessor_id: str | None
    defaulted: list[str]
    note: str | None
    opened_at: Timestamp
    closed_by: str | None = Field(description="The key of the operator who proposed the cycle.")
    closed_at: Timestamp | None
    settled_at: Timestamp | None
    lines: list[CycleLineOut] = Field(
        description="Each liquidity line the cycle nets with: what it draws or repays."
    )


class LineIn(Strict):
    """A liquidity line funding the corridor ``from -> to`` (DESIGN §4b)."""

    source: StrictStr = Field(alias="from", max_length=8, examples=["CN"])
    target: StrictStr = Field(alias="to", max_length=8, examples=["RU"])
    currency: StrictStr = Field(
        max_length=3, description="One of the two entities' currencies.", examples=["CNY"]
    )
    limit: StrictStr = Field(
        description="Decimal string in major units; 0 lends nothing.", examples=["5000000.00"]
    )


class LimitIn(Strict):
    limit: StrictStr = Field(
        description="The new limit, a decimal string in major units; never below the balance.",
        examples=["7500000.00"],
    )


class LineMovementOut(BaseModel):
    """What a settled cycle did to the line, in its currency (``balance`` after the cycle)."""

    cycle_id: str
    drawn: Amount
    repaid: Amount
    balance: Amount


class LimitChangeOut(BaseModel):
    limit: Amount
    entity: str
    proposed_by: str
    proposed_at: Timestamp


class LineEventOut(BaseModel):
    action: Literal["proposed", "confirmed", "limit_proposed", "limit_confirmed"]
    limit: Amount
    entity: str
    actor: str
    at: Timestamp


class LineOut(BaseModel):
    """A liquidity line: amounts in its currency; ``awaiting`` names the entity whose operator
    must confirm the line or its ``pending_limit``."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    currency: str
    limit: Amount
    balance: Amount
    status: Literal["pending", "active"]
    proposed_by: str
    proposed_at: Timestamp
    confirmed_by: str | None
    confirmed_at: Timestamp | None
    pending_limit: LimitChangeOut | None
    awaiting: str | None
    movements: list[LineMovementOut]
    history: list[LineEventOut]


class PositionOut(BaseModel):
    """A participant's one net domestic payment for the cycle, in its jurisdiction's currency."""

    participant_id: str
    entity: str
    currency: str
    pay_in: Amount
    pay_out: Amount
    net: Amount
    due: Amount
    received: Amount
    refunded: Amount
    outstanding_pay_in: Amount
    payment_reference: str | None = Field(
        description="ISO 11649 reference (RF…) to quote when paying in; null when nothing is due.",
        examples=["RF21C12P9VU1OBCEF"],
    )
    pay_out_confirmed_by: str | None = Field(
        default=None,
        description="The bank's entry reference of the statement debit that confirmed the "
        "pay-out; null until one is imported.",
    )


class LegOut(BaseModel):
    currency: str
    amount: Amount


class SettlementOut(BaseModel):
    """What the cycle discharged of one obligation, and the domestic legs it made."""

    obligation_id: str
    debtor_id: str
    debtor_entity: str
    creditor_id: str
    creditor_entity: str
    currency: str
    outstanding: Amount
    settled: Amount
    remaining: Amount
    value: Amount
    settled_value: Amount
    debtor_leg: LegOut
    creditor_leg: LegOut


class RefundOut(BaseModel):
    participant_id: str
    entity: str
    currency: str
    amount: Amount
    reason: str


class StatementOut(BaseModel):
    cycle_id: str
    cycle_status: CycleStatus
    participant_id: str
    position: PositionOut | None
    obligations: list[SettlementOut]
    refunds: list[RefundOut]


class BalanceOut(BaseModel):
    entity: str
    account: str
    currency: str
    balance: Amount


class ProblemOut(BaseModel):
    """A problem found by verification, at a journal ``seq`` or a cycle."""

    seq: int | None = None
    cycle_id: str | None = None
    message: str


class VerificationOut(BaseModel):
    ok: bool
    entries: int
    cycles: int
    head_hash: str
    problems: list[ProblemOut]


class EventOut(BaseModel):
    """One transition in an invoice's status history."""

    model_config = ConfigDict(populate_by_name=True)

    from_status: Status | None = Field(alias="from")
    to_status: Status = Field(alias="to")
    actor: str
    reason: str | None
    details: dict[str, Any] | None
    at: Timestamp | None


class DisputeOut(BaseModel):
    fields: dict[str, dict[str, str]]
    reason: str


class RejectionOut(BaseModel):
    rule: str
    reason: str


class InvoiceOut(BaseModel):
    id: str
    invoice_number: str
    exporter_id: str
    exporter_entity: str
    importer_id: str
    importer_entity: str
    currency: str
    amount: str
    outstanding: str
    issue_date: date
    due_date: date
    hs_code: str
    description: str
    status: Status
    priority: int
    sequence: int
    cycle_id: str | None
    dispute: DisputeOut | None = None
    rejection: RejectionOut | None = None
    first_eligible_at: Timestamp | None = Field(
        description="When the invoice first became eligible; its age runs from here."
    )
    cycles_carried: int = Field(
        description="Cycles that snapshotted the invoice without settling it in full."
    )
    stale: bool = Field(
        description="Flagged by the ageing rules: carried too many cycles or overdue too long."
    )


class ReleaseIn(Strict):
    """Invoices to send to conventional settlement at once, with one reason."""

    invoice_ids: list[StrictStr] = Field(min_length=1, max_length=1000)
    reason: StrictStr = Field(min_length=1, max_length=2000, examples=["stale: carried 6 cycles"])


class BatchItemOut(BaseModel):
    status: int
    invoice: InvoiceOut | None = None
    error: dict[str, str] | None = None


class BatchOut(BaseModel):
    results: list[BatchItemOut]


Item = TypeVar("Item", bound=BaseModel)


class Page(BaseModel, Generic[Item]):
    """A page of a list; ``next_cursor`` is null on the last page."""

    items: list[Item]
    next_cursor: str | None


class ErrorOut(BaseModel):
    code: str
    message: str
    field: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No valid API key"},
    403: {"model": ErrorOut, "description": "The key's role may not do this"},
    404: {"model": ErrorOut, "description": "Not found, or not visible to the caller"},
    409: {"model": ErrorOut, "description": "Conflict: duplicate, wrong state, stale digest"},
    422: {"model": ErrorOut, "description": "Invalid input; `field` names the culprit"},
}
