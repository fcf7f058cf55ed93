"""The ledger pages (DESIGN §5, §7): verification, balances and the newest entries; the journal
paged by sequence; the journal as JSON lines (the API's export, which ``clearing audit verify
--from-file`` checks offline) and the balances as CSV.

An auditor sees every entity's books and verifies the whole journal; an operator sees its own
entity's book (its export carries each cycle's disclosure to it) and verifies that book.

Verifying reads the whole journal and re-nets every settled cycle, so a page does not do it on
every view: the journal only grows, and a verification stays good while its head stands. Each
view reads the head (one row) and shows the verification done at that head, for the viewer's
scope, if the app has one; "Verify again" runs it anew.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from clearing.domain.access import Role
from clearing.domain.errors import InvalidInput
from clearing.domain.ledger import VerificationReport, json_line
from clearing.domain.money import format_amount, parse_signed_amount
from clearing.use_cases import audit
from clearing.use_cases.validation import MAX_JOURNAL_SEQ
from service.ui.common import PAGE_SIZE, PageRoute, SignedIn, Viewer

router = APIRouter(prefix="/ui/ledger", include_in_schema=False, route_class=PageRoute)

#: Entries per journal page.
JOURNAL_PAGE = PAGE_SIZE
#: The newest entries the ledger page shows.
NEWEST = 10
#: Entries read per request while the export streams.
EXPORT_BATCH = 1000
#: Verifications an app keeps (one per scope and head; the oldest used goes first).
KEPT_VERIFICATIONS = 16
#: Characters of an entry's hash a table shows.
HASH_PREFIX = 12

Seq = Annotated[int | None, Query(ge=0, le=MAX_JOURNAL_SEQ)]


# -- verification, kept per head ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    """A verification report, when it was made, and the journal head (``seq``) it was made at."""

    report: VerificationReport
    at: datetime
    seq: int


class Verifications:
    """The verifications an app has made, by the viewer's scope (an entity, or ``None`` for
    the whole journal) and the head hash they were made at; bounded, least recently used out."""

    def __init__(self, size: int = KEPT_VERIFICATIONS) -> None:
        self._size = size
        self._found: OrderedDict[tuple[str | None, str], Verification] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str | None, str]) -> Verification | None:
        with self._lock:
            found = self._found.get(key)
            if found is not None:
                self._found.move_to_end(key)
            return found

    def put(self, key: tuple[str | None, str], verification: Verification) -> None:
        with self._lock:
            self._found[key] = verification
            self._found.move_to_end(key)
            while len(self._found) > self._size:
                self._found.popitem(last=False)


def verifications(request: Request) -> Verifications:
    """The app's verifications (made on first use: each app, and each test's, has its own)."""
    state = request.app.state
    found: Verifications | None = getattr(state, "ledger_verifications", None)
    if found is None:
        found = state.ledger_verifications = Verifications()
    return found


def verification(viewer: Viewer, *, again: bool = False) -> Verification:
    """The verification at the journal's current head for the viewer's scope: the one kept,
    unless ``again`` or there is none, in which case it runs now and is kept."""
    seq, head_hash = audit.head(viewer.uow(), viewer.principal)
    key = (viewer.principal.scope.entity, head_hash)
    kept = verifications(viewer.request)
    found = None if again else kept.get(key)
    if found is None:
        found = Verification(_verify(viewer), datetime.now(UTC), seq)
        kept.put(key, found)
    return found


def _verify(viewer: Viewer) -> VerificationReport:
    """The whole journal for an auditor; an operator's own entity's book."""
    if viewer.role is Role.OPERATOR:
        return audit.verify_book(viewer.uow(), viewer.principal)
    return audit.verify(viewer.uow(), viewer.principal)


# -- the pages ----------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def ledger_page(viewer: SignedIn) -> Response:
    viewer.require(Role.AUDITOR, Role.OPERATOR)
    checked = verification(viewer)
    # A settled cycle leaves every participant's account at zero: only the others are shown
    # (the CSV has them all), which keeps the page small whatever the number of participants.
    balances = audit.ledger_balances(viewer.uow(), viewer.principal)
    shown = _balance_rows({key: minor for key, minor in balances.items() if minor})
    after = audit.page_before(viewer.uow(), viewer.principal, checked.seq + 1, NEWEST)
    documents = (
        [] if after is None else audit.ledger_entries(viewer.uow(), viewer.principal, after, NEWEST)
    )
    return viewer.page(
        "ledger.html",
        checked=checked,
        balances=shown,
        zero_balances=len(balances) - len(shown),
        entries=list(reversed(_rows(viewer, documents))),
        names=viewer.names_of(_participants_of(shown)),
        scope=viewer.principal.scope.entity,
    )


@router.post("/verify")
def verify_again(viewer: SignedIn) -> Response:
    viewer.require(Role.AUDITOR, Role.OPERATOR)
    report = verification(viewer, again=True).report
    if report.ok:
        return viewer.back(
            "/ui/ledger",
            message=viewer.ngettext(
                "Verified again: %(count)s entry.",
                "Verified again: %(count)s entries.",
                report.entries,
            ),
        )
    return viewer.back(
        "/ui/ledger",
        error=viewer.ngettext(
            "Verification failed: %(count)s problem.",
            "Verification failed: %(count)s problems.",
            len(report.problems),
        ),
    )


@router.get("/journal", response_class=HTMLResponse)
def journal_page(viewer: SignedIn, after: Seq = None, before: Seq = None) -> Response:
    """``after`` a sequence number (the page's entries follow it), or the page ``before`` one;
    neither: the first page."""
    viewer.require(Role.AUDITOR, Role.OPERATOR)
    if before is not None:
        after = audit.page_before(viewer.uow(), viewer.principal, before, JOURNAL_PAGE) or 0
    start = after or 0
    documents = audit.ledger_entries(viewer.uow(), viewer.principal, start, JOURNAL_PAGE)
    head_seq, _hash = audit.head(viewer.uow(), viewer.principal)
    rows = _rows(viewer, documents)
    more = len(rows) == JOURNAL_PAGE and rows[-1].seq < head_seq
    return viewer.page(
        "journal.html",
        entries=rows,
        next_url=_journal_url(after=rows[-1].seq) if more else None,
        previous_url=_journal_url(before=rows[0].seq if rows else start + 1) if start else None,
        first_url=_journal_url() if start else None,
        newest_url=_journal_url(before=head_seq + 1) if more else None,
        head_seq=head_seq,
        scope=viewer.principal.scope.entity,
    )


@router.get("/journal.jsonl")
def journal_export(viewer: SignedIn) -> Response:
    """The journal as the API exports it (``GET /v1/ledger/entries``), up to the head it had
    when asked, read a batch at a time as it streams."""
    viewer.require(Role.AUDITOR, Role.OPERATOR)
    head_seq, _hash = audit.head(viewer.uow(), viewer.principal)
    first = audit.ledger_entries(viewer.uow(), viewer.principal, 0, EXPORT_BATCH)
    name = f"journal-{viewer.principal.scope.entity or 'all'}-{head_seq}.jsonl"
    return StreamingResponse(
        _json_lines(viewer, first, head_seq),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/balances.csv")
def balances_csv(viewer: SignedIn) -> Response:
    viewer.require(Role.AUDITOR, Role.OPERATOR)
    balances = audit.ledger_balances(viewer.uow(), viewer.principal)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["entity", "account", "currency", "balance"])
    for (entity, account, currency), balance in balances.items():
        writer.writerow([entity, account, currency, format_amount(balance, currency)])
    name = f"balances-{viewer.principal.scope.entity or 'all'}.csv"
    return Response(
        text.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _json_lines(viewer: Viewer, batch: list[dict[str, Any]], head_seq: int) -> Iterator[str]:
    while batch:
        for document in batch:
            if int(document["seq"]) > head_seq:
                return
            yield json_line(document) + "\n"
        if len(batch) < EXPORT_BATCH:
            return
        after = int(batch[-1]["seq"])
        batch = audit.ledger_entries(viewer.uow(), viewer.principal, after, EXPORT_BATCH)


def _journal_url(**cursor: int) -> str:
    return f"/ui/ledger/journal?{urlencode(cursor)}" if cursor else "/ui/ledger/journal"


# -- what the tables show -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Posting:
    """A posting as a table shows it: ``minor`` units, or the stored ``text`` if unreadable."""

    account: str
    currency: str
    minor: int | None
    text: str


@dataclass(frozen=True, slots=True)
class EntryRow:
    seq: int
    entity: str
    kind: str
    cycle_id: str | None
    at: datetime | None
    postings: tuple[Posting, ...]
    hash: str
    participant_id: str | None
    reference: str | None


def _rows(viewer: Viewer, documents: list[dict[str, Any]]) -> list[EntryRow]:
    """Entries for a table; an entry without a time of its own (a cycle's discharge and line
    entries) shows when its cycle settled."""
    untimed = {
        str(d["cycle_id"]) for d in documents if d.get("cycle_id") and _recorded_at(d) is None
    }
    settled = audit.settlement_times(viewer.uow(), viewer.principal, untimed) if untimed else {}
    rows: list[EntryRow] = []
    for document in documents:
        details = document.get("details") or {}
        cycle_id = str(document["cycle_id"]) if document.get("cycle_id") else None
        rows.append(
            EntryRow(
                seq=int(document["seq"]),
                entity=str(document.get("entity", "")),
                kind=str(document.get("kind", "")),
                cycle_id=cycle_id,
                at=_recorded_at(document) or (settled.get(cycle_id) if cycle_id else None),
                postings=tuple(_posting(p) for p in document.get("postings", ())),
                hash=str(document.get("hash", "")),
                participant_id=_text(details.get("participant_id")),
                reference=_text(details.get("reference") or details.get("bank_reference")),
            )
        )
    return rows


def _recorded_at(document: Mapping[str, Any]) -> datetime | None:
    details = document.get("details")
    stamp = details.get("recorded_at") if isinstance(details, Mapping) else None
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return None


def _posting(posting: Mapping[str, Any]) -> Posting:
    account, currency, text = (str(posting.get(k, "")) for k in ("account", "currency", "amount"))
    try:
        minor: int | None = parse_signed_amount(text, currency)
    except InvalidInput:
        minor = None
    return Posting(account, currency, minor, text)


def _text(value: object) -> str | None:
    return str(value) if value else None


@dataclass(frozen=True, slots=True)
class BalanceRow:
    entity: str
    account: str
    currency: str
    minor: int


def _participants_of(rows: list[BalanceRow]) -> set[str]:
    prefix = "participant:"
    return {row.account[len(prefix) :] for row in rows if row.account.startswith(prefix)}


def _balance_rows(balances: Mapping[tuple[str, str, str], int]) -> list[BalanceRow]:
    return [BalanceRow(*key, balance) for key, balance in sorted(balances.items())]
