"""The operators' bank page: importing the entity's bank statement (camt.054, camt.053 or CSV),
what it matched, the imported lines, and the suspense list with its three ways out (assign to a
participant's due pay-in, match to a pay-in recorded by hand, return to the payer).

The statement is read exactly as ``POST /v1/bank-statements`` reads it, by its media type; the
suspense actions run the use cases of ``/v1/suspense/{id}/…``. Auditors read the lists.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import HTMLResponse, Response

from clearing.domain.access import Role
from clearing.domain.bank import OPEN_SUSPENSE, BankEntry, BankStatement, Reconciliation
from clearing.domain.errors import ClearingError, InvalidInput
from clearing.domain.payments import return_reference
from clearing.entrypoints import bootstrap
from clearing.use_cases import bank, cycles, suspense
from clearing.use_cases.bank import ImportReport
from clearing.use_cases.settlement import AWAITING_PAY_INS
from clearing.use_cases.validation import check_id_cursor
from service.errors import status_of
from service.ui.common import PAGE_SIZE, PageRoute, SignedIn, Viewer

router = APIRouter(prefix="/ui/bank", include_in_schema=False, route_class=PageRoute)

#: What a file's name says it is, for browsers that upload it as a generic type.
_BY_SUFFIX = {".xml": "application/xml", ".csv": "text/csv"}
#: How many recent cycles the assign form offers as awaiting pay-ins.
RECENT_CYCLES = 5

IdCursor = Annotated[str | None, Query(max_length=64)]


@router.get("", response_class=HTMLResponse)
def bank_page(
    viewer: SignedIn,
    status: str = "",
    cursor: IdCursor = None,
    suspense_cursor: IdCursor = None,
) -> Response:
    return _page(viewer, status=status, cursor=cursor, suspense_cursor=suspense_cursor)


def _page(
    viewer: Viewer,
    *,
    http_status: int = 200,
    status: str = "",
    cursor: str | None = None,
    suspense_cursor: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """The import form, the suspense list and the imported lines (filtered by ``status``)."""
    viewer.require(Role.OPERATOR, Role.AUDITOR)
    try:
        shown = {Reconciliation(status)} if status else None
    except ValueError:
        raise InvalidInput(f"{status!r} is not a line status", field="status") from None
    entries = bank.bank_entries(
        viewer.uow(), viewer.principal, shown, check_id_cursor(cursor), PAGE_SIZE
    )
    waiting = bank.bank_entries(
        viewer.uow(), viewer.principal, OPEN_SUSPENSE, check_id_cursor(suspense_cursor), PAGE_SIZE
    )
    operator = viewer.role is Role.OPERATOR
    shown_by = {"status": status, "cursor": cursor, "suspense_cursor": suspense_cursor}
    return viewer.page(
        "bank.html",
        http_status,
        entries=entries,
        suspense=waiting,
        statuses=list(Reconciliation),
        filtered_by=status,
        names=viewer.names(),
        operator=operator,
        awaiting=_cycles_awaiting_pay_ins(viewer) if operator and waiting else [],
        return_references={e.id: return_reference(e.id) for e in entries if _returned(e)},
        next_url=_next(entries, "cursor", shown_by),
        next_suspense_url=_next(waiting, "suspense_cursor", shown_by),
        **context,
    )


def _returned(entry: BankEntry) -> bool:
    return entry.status is Reconciliation.RETURNED


def _next(found: list[BankEntry], cursor: str, shown_by: dict[str, str | None]) -> str | None:
    """The page after ``found``, its list's ``cursor`` moved on and the other list kept."""
    if len(found) < PAGE_SIZE:
        return None
    kept = {name: value for name, value in shown_by.items() if value and name != cursor}
    return "/ui/bank?" + urlencode({**kept, cursor: found[-1].id})


def _cycles_awaiting_pay_ins(viewer: Viewer) -> list[str]:
    """The cycles a suspense credit may be assigned to (at most one is active at a time)."""
    recent = cycles.list_cycles(viewer.uow(), viewer.principal, None, RECENT_CYCLES)
    return [c.id for c in recent if c.status in AWAITING_PAY_INS]


# -- importing a statement ----------------------------------------------------------------------


@router.post("/statements", response_class=HTMLResponse)
def import_statement(viewer: SignedIn, file: Annotated[UploadFile, File()]) -> Response:
    """The operator's entity's statement: credits quoting a due pay-in's reference are recorded
    as pay-ins, the others wait in suspense, debits confirm pay-outs and refunds."""
    viewer.require(Role.OPERATOR)
    try:
        report = bank.import_statement(viewer.uow(), viewer.principal, _statement(file))
    except ClearingError as error:
        return _page(viewer, http_status=status_of(error), error=viewer.explain(error))
    summary = viewer.gettext(
        "Statement imported. Lines read: %(entries)s; matched: %(matched)s; to suspense or "
        "unexplained: %(unmatched)s; imported before: %(duplicates)s; pending: %(pending)s.",
        entries=len(report.lines),
        matched=report.matched,
        unmatched=report.unmatched,
        duplicates=report.duplicates,
        pending=report.pending,
    )
    return _page(viewer, report=report, report_rows=_report_rows(report), message=summary)


def _statement(upload: UploadFile) -> BankStatement:
    """The upload read as its media type says (``POST /v1/bank-statements``'s rule); a browser's
    generic type (``application/octet-stream``, a spreadsheet's) falls back to the name's
    suffix."""
    media_type = (upload.content_type or "").split(";")[0].strip().lower()
    if media_type not in bootstrap.STATEMENT_READERS:
        media_type = _BY_SUFFIX.get(PurePath(upload.filename or "").suffix.lower(), media_type)
    return bootstrap.statement_reader(media_type)(upload.file.read())


def _report_rows(report: ImportReport) -> list[dict[str, Any]]:
    """Each line of an import as the page lists it: ``status`` is a reconciliation state, or
    ``duplicate`` for a line imported before."""
    return [
        {
            "reference": line.reference,
            "status": line.entry.status.value if line.entry else "duplicate",
            "entry": line.entry,
        }
        for line in report.lines
    ]


# -- the suspense list --------------------------------------------------------------------------


@router.post("/suspense/{entry_id}/assign")
def assign(
    viewer: SignedIn,
    entry_id: str,
    cycle_id: Annotated[str, Form()] = "",
    participant_id: Annotated[str, Form()] = "",
) -> Response:
    """Record the credit as the participant's pay-in for a cycle awaiting it."""
    try:
        entry = suspense.assign_suspense(
            viewer.uow(), viewer.principal, entry_id, cycle_id.strip(), participant_id.strip()
        )
    except ClearingError as error:
        return viewer.back("/ui/bank", error=viewer.explain(error))
    return viewer.back(
        "/ui/bank",
        message=viewer.gettext(
            "%(reference)s recorded as the pay-in of %(participant)s in cycle %(cycle)s.",
            reference=entry.line.key,
            participant=entry.participant_id or "",
            cycle=entry.cycle_id or "",
        ),
    )


@router.post("/suspense/{entry_id}/match")
def match(viewer: SignedIn, entry_id: str, pay_in_id: Annotated[str, Form()] = "") -> Response:
    """The credit is the bank's record of a pay-in recorded by hand under another reference."""
    try:
        entry = suspense.match_suspense(viewer.uow(), viewer.principal, entry_id, pay_in_id.strip())
    except ClearingError as error:
        return viewer.back("/ui/bank", error=viewer.explain(error))
    return viewer.back(
        "/ui/bank",
        message=viewer.gettext(
            "%(reference)s matched to pay-in %(pay_in)s.",
            reference=entry.line.key,
            pay_in=entry.pay_in_id or "",
        ),
    )


@router.post("/suspense/{entry_id}/return")
def send_back(viewer: SignedIn, entry_id: str, reason: Annotated[str, Form()] = "") -> Response:
    """Send the credit back to its payer, with the reason."""
    try:
        entry = suspense.return_suspense(viewer.uow(), viewer.principal, entry_id, reason)
    except ClearingError as error:
        return viewer.back("/ui/bank", error=viewer.explain(error))
    return viewer.back(
        "/ui/bank",
        message=viewer.gettext(
            "%(reference)s is to be returned to its payer; the transfer quotes %(quoted)s.",
            reference=entry.line.key,
            quoted=return_reference(entry.id),
        ),
    )
