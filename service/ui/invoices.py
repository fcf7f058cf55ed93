"""Invoice pages: the list each role may see (traders: their own), one invoice with its history
and the actions its parties and operators may take, submitting one invoice or a CSV of them,
and the operators' stale queue with bulk release to conventional settlement.

Every page runs the use cases the API runs, with the same validation (``InvoiceIn``); who may
see and do what is decided there.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from clearing.domain.access import Principal, Role
from clearing.domain.ageing import AgeingKind, AgeingRule, days_overdue, flagged_by
from clearing.domain.compliance import PRIORITY_CLASS
from clearing.domain.errors import ClearingError, InvalidInput
from clearing.domain.invoices import LIFECYCLE, Action, Invoice, InvoiceDraft, Status
from clearing.domain.money import format_amount
from clearing.domain.rates import check_jurisdiction
from clearing.entrypoints import bootstrap
from clearing.use_cases import ageing, invoices
from clearing.use_cases.invoices import MAX_BATCH, InvoiceSearch
from clearing.use_cases.ports import UnitOfWork
from service.errors import status_of
from service.schemas import InvoiceIn
from service.ui import common
from service.ui.common import PageRoute, SignedIn, Viewer
from service.ui.i18n import N_, translations

router = APIRouter(prefix="/ui/invoices", include_in_schema=False, route_class=PageRoute)

#: The fields of one invoice on the form and in a CSV header, in the order shown: the columns
#: of an invoices file but the exporter's (the trader submitting is the exporter).
INVOICE_FIELDS: tuple[str, ...] = (
    *(column for column in bootstrap.INVOICE_COLUMNS if column != "exporter_id"),
    "description",
)
#: A CSV may leave this column out (the description is optional).
OPTIONAL_FIELDS = frozenset({"description"})
#: A corridor as typed: the exporter's entity, an arrow (or ``->``, ``>``, ``-``, ``/``, a
#: space) and the importer's entity, e.g. ``RU→CN``.
_CORRIDOR = re.compile(r"\s*([A-Za-z]+)\s*(?:→|->|>|-|/|\s)\s*([A-Za-z]+)\s*")
_CURSOR = re.compile(r"[0-9]{1,18}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: The list's filters, as GET parameters (blank: not filtered).
FILTERS = (
    "status",
    "counterparty",
    "corridor",
    "cycle",
    "issued_from",
    "issued_to",
    "due_from",
    "due_to",
    "stale",
)


# -- the list -----------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def invoice_list(viewer: SignedIn, cursor: str = "") -> Response:
    query = viewer.request.query_params
    filters = {name: query.get(name, "").strip() for name in FILTERS}
    page: dict[str, Any] = {
        "filters": filters,
        "statuses": list(Status),
        "names": viewer.names(),
        "invoices": [],
        "next_url": None,
        "filtered": any(filters.values()),
        "mine": viewer.role is Role.TRADER,
    }
    try:
        search = _search(filters)
        found = invoices.list_invoices(
            viewer.uow(),
            viewer.principal,
            search=search,
            status=filters["status"] or None,
            cycle_id=filters["cycle"] or None,
            stale={"yes": True, "no": False}.get(filters["stale"]),
            after_sequence=_cursor(cursor),
            limit=common.PAGE_SIZE,
        )
    except InvalidInput as invalid:
        return viewer.page("invoices.html", 422, error=viewer.explain(invalid), **page)
    if len(found) == common.PAGE_SIZE:
        shown = {name: value for name, value in filters.items() if value}
        page["next_url"] = "/ui/invoices?" + urlencode({**shown, "cursor": str(found[-1].sequence)})
    page["invoices"] = found
    return viewer.page("invoices.html", **page)


def _search(filters: dict[str, str]) -> InvoiceSearch:
    if filters["stale"] not in ("", "yes", "no"):
        raise InvalidInput("must be any, yes or no", field="stale")
    return InvoiceSearch(
        counterparty=filters["counterparty"] or None,
        corridor=_corridor(filters["corridor"]),
        issued_from=_day(filters["issued_from"], "issued_from"),
        issued_to=_day(filters["issued_to"], "issued_to"),
        due_from=_day(filters["due_from"], "due_from"),
        due_to=_day(filters["due_to"], "due_to"),
    )


def _corridor(text: str) -> tuple[str, str] | None:
    if not text:
        return None
    found = _CORRIDOR.fullmatch(text)
    if found is None:
        raise InvalidInput(
            "must be the exporter's entity and the importer's, such as RU→CN", field="corridor"
        )
    exporter, importer = (
        check_jurisdiction(code.upper(), field="corridor") for code in found.groups()
    )
    return exporter, importer


def _day(text: str, name: str) -> date | None:
    if not text:
        return None
    if _DATE.fullmatch(text):
        with suppress(ValueError):  # 2026-02-30 has the shape of a date but is none
            return date.fromisoformat(text)
    raise InvalidInput("must be a date such as 2026-12-31", field=name)


def _cursor(text: str) -> int | None:
    if not text:
        return None
    if not _CURSOR.fullmatch(text):
        raise InvalidInput("is not a cursor from a previous page", field="cursor")
    return int(text)


# -- submitting ---------------------------------------------------------------------------------


@router.get("/new", response_class=HTMLResponse)
def new_invoice_form(viewer: SignedIn) -> Response:
    viewer.require(Role.TRADER)
    return _form(viewer, dict.fromkeys(INVOICE_FIELDS, ""))


@router.post("/new", response_class=HTMLResponse)
def submit_invoice(
    viewer: SignedIn,
    invoice_number: Annotated[str, Form()] = "",
    importer_id: Annotated[str, Form()] = "",
    currency: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    issue_date: Annotated[str, Form()] = "",
    due_date: Annotated[str, Form()] = "",
    hs_code: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    viewer.require(Role.TRADER)
    values = {
        "invoice_number": invoice_number,
        "importer_id": importer_id,
        "currency": currency,
        "amount": amount,
        "issue_date": issue_date,
        "due_date": due_date,
        "hs_code": hs_code,
        "description": description,
    }
    try:
        draft = _draft(values)
    except ValidationError as invalid:
        problems = _field_problems(invalid)
        summary = viewer.gettext(
            "Please check these fields: %(fields)s", fields=", ".join(problems)
        )
        return _form(viewer, values, 422, error=summary, problems=problems)
    try:
        invoice = invoices.submit_invoice(viewer.uow(), viewer.principal, draft)
    except ClearingError as refused:
        problems = {refused.field: refused.message} if refused.field else {}
        return _form(
            viewer, values, status_of(refused), error=viewer.explain(refused), problems=problems
        )
    url = f"/ui/invoices/{invoice.id}"
    if invoice.rejection is not None:
        return viewer.back(
            url,
            error=viewer.gettext(
                "Invoice %(number)s was rejected by compliance rule %(rule)s: %(reason)s",
                number=invoice.invoice_number,
                rule=invoice.rejection.rule,
                reason=invoice.rejection.reason,
            ),
        )
    return viewer.back(
        url,
        message=viewer.gettext(
            "Invoice %(number)s submitted; it awaits the importer's confirmation.",
            number=invoice.invoice_number,
        ),
    )


def _draft(values: dict[str, str]) -> InvoiceDraft:
    """The draft exactly as the API's ``InvoiceIn`` validates it."""
    return InvoiceIn.model_validate(values).to_draft()


def _field_problems(invalid: ValidationError) -> dict[str, str]:
    problems: dict[str, str] = {}
    for error in invalid.errors():
        name = str(error["loc"][-1]) if error.get("loc") else "invoice"
        problems.setdefault(name, str(error["msg"]))
    return problems


def _form(
    viewer: Viewer, values: dict[str, str], status: int = 200, **context: Any
) -> HTMLResponse:
    return viewer.page(
        "invoice_new.html",
        status,
        values=values,
        fields=INVOICE_FIELDS,
        max_rows=MAX_BATCH,
        **{"problems": {}, **context},
    )


@router.get("/template.csv")
def csv_template(viewer: SignedIn) -> Response:
    viewer.require(Role.TRADER)
    return Response(
        ",".join(INVOICE_FIELDS) + "\r\n",
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="invoices.csv"'},
    )


class UnreadableUpload(Exception):
    """The file cannot be taken as a whole: nothing in it is submitted."""


@dataclass
class RowOutcome:
    """One data row of an upload: its line in the file (the header is line 1), the invoice
    number it gave, and the invoice created (perhaps rejected by compliance) or why not."""

    row: int
    invoice_number: str
    invoice: Invoice | None = None
    error: str | None = None


@router.post("/upload", response_class=HTMLResponse)
def upload_invoices(viewer: SignedIn, file: Annotated[UploadFile, File()]) -> Response:
    viewer.require(Role.TRADER)
    blank = dict.fromkeys(INVOICE_FIELDS, "")
    try:
        rows = _csv_rows(viewer, file.file.read())
    except UnreadableUpload as unreadable:
        return _form(viewer, blank, 422, error=str(unreadable))
    outcomes = [RowOutcome(line, row.get("invoice_number") or "") for line, row in rows]
    drafts: list[InvoiceDraft] = []
    submitted: list[RowOutcome] = []
    for outcome, (_line, row) in zip(outcomes, rows, strict=True):
        try:
            drafts.append(_draft(row))
            submitted.append(outcome)
        except ValidationError as invalid:
            outcome.error = "; ".join(f"{k}: {v}" for k, v in _field_problems(invalid).items())
    if drafts:
        results = invoices.submit_invoices(viewer.uow(), viewer.principal, drafts)
        for outcome, result in zip(submitted, results, strict=True):
            if isinstance(result, ClearingError):
                outcome.error = viewer.explain(result)
            else:
                outcome.invoice = result
    created = sum(1 for outcome in outcomes if outcome.invoice is not None)
    summary = viewer.gettext(
        "%(created)s of %(rows)s rows created.", created=created, rows=len(outcomes)
    )
    return _form(viewer, blank, outcomes=outcomes, summary=summary)


def _csv_rows(viewer: Viewer, data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The data rows of an uploaded CSV, each with its line (the header is line 1) and its
    cells keyed by the header; refuses the whole file when it is not UTF-8 text, its header is
    not the invoice fields, or it has no or too many rows."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableUpload(viewer.gettext("The file is not UTF-8 text (CSV).")) from None
    first_line = text.partition("\n")[0]
    # Spreadsheets in many locales write semicolons between cells.
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip() for name in reader.fieldnames or []]
        if not header:
            raise UnreadableUpload(viewer.gettext("The file is empty."))
        _check_header(viewer, header)
        reader.fieldnames = header
        rows: list[tuple[int, dict[str, str]]] = []
        for row in reader:
            if len(rows) == MAX_BATCH:
                raise UnreadableUpload(
                    viewer.gettext("At most %(rows)s rows per file.", rows=MAX_BATCH)
                )
            rows.append((reader.line_num, _cells(row)))
    except csv.Error as unreadable:
        raise UnreadableUpload(
            viewer.gettext("The file cannot be read as CSV: %(problem)s", problem=str(unreadable))
        ) from None
    if not rows:
        raise UnreadableUpload(viewer.gettext("The file has a header but no invoice rows."))
    return rows


def _check_header(viewer: Viewer, header: list[str]) -> None:
    missing = [
        name for name in INVOICE_FIELDS if name not in header and name not in OPTIONAL_FIELDS
    ]
    unknown = [name for name in header if name not in INVOICE_FIELDS]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if missing or unknown or repeated:
        raise UnreadableUpload(
            viewer.gettext(
                "The header row must name the columns %(expected)s; "
                "missing: %(missing)s; unknown: %(unknown)s; repeated: %(repeated)s.",
                expected=", ".join(INVOICE_FIELDS),
                missing=", ".join(missing) or "-",
                unknown=", ".join(unknown) or "-",
                repeated=", ".join(repeated) or "-",
            )
        )


def _cells(row: dict[str | None, Any]) -> dict[str, str]:
    """A row's cells by column; a short row's missing cells are blank, and a long row's extra
    cells become an unknown field that validation names."""
    cells = {
        str(name): (value if isinstance(value, str) else "")
        for name, value in row.items()
        if name is not None
    }
    if row.get(None):
        cells["extra_cells"] = ",".join(row[None])
    return cells


# -- the stale queue ----------------------------------------------------------------------------


@router.get("/stale", response_class=HTMLResponse)
def stale_queue(viewer: SignedIn, cursor: str = "") -> Response:
    viewer.require(Role.OPERATOR, Role.AUDITOR)
    found = invoices.list_invoices(
        viewer.uow(),
        viewer.principal,
        stale=True,
        after_sequence=_cursor(cursor),
        limit=common.PAGE_SIZE,
    )
    next_url = (
        "/ui/invoices/stale?" + urlencode({"cursor": str(found[-1].sequence)})
        if len(found) == common.PAGE_SIZE
        else None
    )
    return viewer.page(
        "stale.html",
        invoices=found,
        why=_why_stale(viewer, found),
        names=viewer.names(),
        next_url=next_url,
        can_release=viewer.role is Role.OPERATOR,
        releasable={i.id for i in found if i.status in LIFECYCLE[Action.RELEASE].sources},
    )


@router.post("/stale/release")
def release_stale(
    viewer: SignedIn,
    reason: Annotated[str, Form()] = "",
    invoice_ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    url = "/ui/invoices/stale"
    try:
        outcomes = invoices.release_invoices(
            viewer.uow(), viewer.principal, invoice_ids or [], reason
        )
    except ClearingError as refused:
        return viewer.back(url, error=viewer.explain(refused))
    released = sum(1 for outcome in outcomes if isinstance(outcome, Invoice))
    refusals = [
        f"{invoice_id}: {viewer.explain(outcome)}"
        for invoice_id, outcome in zip(invoice_ids or [], outcomes, strict=True)
        if isinstance(outcome, ClearingError)
    ]
    message = translations(viewer.language).ngettext(
        "%(count)s invoice released to conventional settlement.",
        "%(count)s invoices released to conventional settlement.",
        released,
    ) % {"count": viewer.formats.number(released)}
    error = (
        viewer.gettext("Not released: %(refusals)s", refusals="; ".join(refusals))
        if refusals
        else None
    )
    return viewer.back(url, message=message, error=error)


def _today() -> date:
    """The day the ageing rules are applied as of (UTC), as the use cases do."""
    return datetime.now(UTC).date()


def _why_stale(viewer: Viewer, found: list[Invoice]) -> dict[str, list[str]]:
    """For each stale invoice, the ageing rules that flag it, with its own figure."""
    rules = ageing.list_ageing_rules(viewer.uow())
    today = _today()
    return {
        invoice.id: [
            _reason(viewer, rule, invoice, today)
            for rule in flagged_by(
                rules, invoice.status, invoice.cycles_carried, invoice.due_date, today
            )
        ]
        for invoice in found
        if invoice.stale
    }


def _reason(viewer: Viewer, rule: AgeingRule, invoice: Invoice, today: date) -> str:
    number = viewer.formats.number
    if rule.kind is AgeingKind.CYCLES_CARRIED:
        return viewer.gettext(
            "cycles carried: %(count)s (rule: %(threshold)s)",
            count=number(invoice.cycles_carried),
            threshold=number(rule.threshold),
        )
    return viewer.gettext(
        "days overdue: %(days)s (rule: %(threshold)s)",
        days=number(days_overdue(invoice.due_date, today)),
        threshold=number(rule.threshold),
    )


#: A side exit taking a reason: ``use_case(uow, principal, invoice_id, reason)``.
SideExit = Callable[[UnitOfWork, Principal, str, str], Invoice]


# -- one invoice --------------------------------------------------------------------------------


@router.get("/{invoice_id}", response_class=HTMLResponse)
def invoice_page(viewer: SignedIn, invoice_id: str) -> Response:
    invoice = invoices.get_invoice(viewer.uow(), viewer.principal, invoice_id)
    history = invoices.invoice_history(viewer.uow(), viewer.principal, invoice_id)
    principal = viewer.principal
    party = principal.participant_id if principal.role is Role.TRADER else None

    def may(action: Action, role: Role, side: str | None = None) -> bool:
        if principal.role is not role or invoice.status not in LIFECYCLE[action].sources:
            return False
        return side is None or party == getattr(invoice, f"{side}_id")

    return viewer.page(
        "invoice.html",
        invoice=invoice,
        history=[(event, _moment(event.at)) for event in history],
        names=viewer.names(),
        priority_goods=invoice.priority == PRIORITY_CLASS,
        why_stale=_why_stale(viewer, [invoice]).get(invoice.id, []),
        echo_amount=format_amount(invoice.amount, invoice.currency),
        can_confirm=may(Action.CONFIRM, Role.TRADER, "importer"),
        can_dispute=may(Action.DISPUTE, Role.TRADER, "importer"),
        can_cancel=may(Action.CANCEL, Role.TRADER, "exporter"),
        can_release=may(Action.RELEASE, Role.OPERATOR),
    )


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@router.post("/{invoice_id}/confirm")
def confirm(
    viewer: SignedIn,
    invoice_id: str,
    currency: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
) -> Response:
    url = f"/ui/invoices/{invoice_id}"
    try:
        invoice = invoices.confirm_invoice(
            viewer.uow(), viewer.principal, invoice_id, currency.strip(), amount.strip()
        )
    except ClearingError as refused:
        return viewer.back(url, error=viewer.explain(refused))
    if invoice.status is Status.DISPUTED and invoice.dispute is not None:
        return viewer.back(
            url,
            message=viewer.gettext(
                "Your confirmation differs from the invoice (%(fields)s), so the invoice is "
                "now disputed.",
                fields=", ".join(invoice.dispute.fields),
            ),
        )
    return viewer.back(
        url, message=viewer.gettext("Confirmed: the invoice is eligible for netting.")
    )


@router.post("/{invoice_id}/dispute")
def dispute(viewer: SignedIn, invoice_id: str, reason: Annotated[str, Form()] = "") -> Response:
    return _side_exit(
        viewer, invoice_id, reason, invoices.dispute_invoice, N_("Disputed: %(reason)s")
    )


@router.post("/{invoice_id}/cancel")
def cancel(viewer: SignedIn, invoice_id: str, reason: Annotated[str, Form()] = "") -> Response:
    return _side_exit(
        viewer, invoice_id, reason, invoices.cancel_invoice, N_("Cancelled: %(reason)s")
    )


@router.post("/{invoice_id}/release")
def release(viewer: SignedIn, invoice_id: str, reason: Annotated[str, Form()] = "") -> Response:
    return _side_exit(
        viewer,
        invoice_id,
        reason,
        invoices.release_invoice,
        N_("Released to conventional settlement: %(reason)s"),
    )


def _side_exit(
    viewer: Viewer,
    invoice_id: str,
    reason: str,
    use_case: SideExit,
    done: str,
) -> Response:
    url = f"/ui/invoices/{invoice_id}"
    try:
        use_case(viewer.uow(), viewer.principal, invoice_id, reason)
    except ClearingError as refused:
        return viewer.back(url, error=viewer.explain(refused))
    return viewer.back(url, message=viewer.gettext(done, reason=reason.strip()))
