"""The fake repositories of parties, keys, rules, idempotent answers, invoices, the journal and
the counts: the semantics of their SQL namesakes in :mod:`clearing.adapters.persistence`."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from clearing.domain.access import ApiKey, Principal, Role
from clearing.domain.ageing import AgeingRule, CarriedTotal, carried_totals
from clearing.domain.bank import BankEntry, Reconciliation
from clearing.domain.compliance import Rule
from clearing.domain.errors import Conflict
from clearing.domain.idempotency import StoredAnswer
from clearing.domain.imbalance import CarriedObligation
from clearing.domain.invoices import POOL, Dispute, Invoice, InvoiceEvent, InvoiceFilter, Status
from clearing.domain.ledger import ChainedEntry, stored_document
from clearing.domain.parties import Entity, Participant, ParticipantVersion
from tests.fakes.tables import (
    ApiKeyRow,
    JournalRow,
    Repository,
    Tables,
    as_json,
    now,
    refuse_unless,
)

# --- parties, keys, rules, idempotency ----------------------------------------------------------


class FakeEntities(Repository):
    def add(self, entity: Entity) -> None:
        tables = self._write
        if entity.code in tables.entities:
            raise Conflict(f"entity {entity.code} exists already", field="code")
        refuse_unless(2 <= len(entity.code) <= 8, "entities.code_length")
        refuse_unless(
            len(entity.currency) == 3 and entity.currency.upper() == entity.currency,
            "entities.currency_iso",
        )
        refuse_unless(entity.approvals_required in (1, 2), "entities.approvals_one_or_two")
        tables.entities[entity.code] = entity

    def get(self, code: str) -> Entity | None:
        return self._read.entities.get(code)

    def list(self) -> list[Entity]:
        return [e for _code, e in sorted(self._read.entities.items())]

    def save(self, entity: Entity) -> None:
        tables = self._write
        refuse_unless(entity.approvals_required in (1, 2), "entities.approvals_one_or_two")
        stored = tables.entities.get(entity.code)
        if stored is not None:  # an UPDATE of no row changes nothing
            tables.entities[entity.code] = replace(
                stored,
                approvals_required=entity.approvals_required,
                bank_code=entity.bank_code,
                account=entity.account,
            )


class FakeParticipants(Repository):
    def add(self, participant: Participant) -> None:
        tables = self._write
        refuse_unless(participant.id not in tables.participants, "participants primary key")
        refuse_unless(participant.entity in tables.entities, "participants.entity -> entities")
        tables.participants[participant.id] = participant

    def save(self, participant: Participant) -> None:
        tables = self._write
        stored = tables.participants.get(participant.id)
        if stored is not None:  # an UPDATE of no row changes nothing
            tables.participants[participant.id] = replace(
                stored,
                name=participant.name,
                bank_account=participant.bank_account,
                bank_code=participant.bank_code,
            )

    def add_version(self, version: ParticipantVersion) -> None:
        tables = self._write
        refuse_unless(
            version.participant_id in tables.participants,
            "participant_versions -> participants",
        )
        key = (version.participant_id, version.version)
        if key in tables.participant_versions:
            raise Conflict(f"participant {version.participant_id} was changed meanwhile; try again")
        tables.participant_versions[key] = version

    def versions(self, participant_id: str) -> list[ParticipantVersion]:
        return [
            v
            for (p, _n), v in sorted(self._read.participant_versions.items())
            if p == participant_id
        ]

    def get(self, participant_id: str) -> Participant | None:
        return self._read.participants.get(participant_id)

    def get_many(self, ids: Iterable[str]) -> dict[str, Participant]:
        stored = self._read.participants
        return {i: stored[i] for i in sorted(set(ids)) if i in stored}

    def list(self, entity: str | None, after: str | None, limit: int) -> list[Participant]:
        found = [
            p
            for p_id, p in sorted(self._read.participants.items())
            if (entity is None or p.entity == entity) and (after is None or p_id > after)
        ]
        return found[:limit]


class FakeApiKeys(Repository):
    def add(self, principal: Principal, key_hash: str, key_prefix: str, label: str) -> None:
        tables = self._write
        refuse_unless(key_hash not in tables.api_keys, "api_keys.key_hash unique")
        refuse_unless(
            all(k.principal.id != principal.id for k in tables.api_keys.values()),
            "api_keys primary key",
        )
        refuse_unless(
            principal.entity is None or principal.entity in tables.entities,
            "api_keys.entity -> entities",
        )
        refuse_unless(
            principal.participant_id is None or principal.participant_id in tables.participants,
            "api_keys.participant_id -> participants",
        )
        refuse_unless(
            (principal.role is Role.TRADER) == (principal.participant_id is not None),
            "api_keys.trader_has_participant",
        )
        refuse_unless(
            principal.role not in (Role.TRADER, Role.OPERATOR) or principal.entity is not None,
            "api_keys.bound_to_entity",
        )
        tables.api_keys[key_hash] = ApiKeyRow(principal, key_hash, key_prefix, label, now())

    def by_hash(self, key_hash: str) -> Principal | None:
        found = self._read.api_keys.get(key_hash)
        return found.principal if found and found.revoked_at is None else None

    def list(self, after: str | None, limit: int) -> list[ApiKey]:
        rows = sorted(self._read.api_keys.values(), key=lambda row: row.principal.id)
        return [_api_key(r) for r in rows if after is None or r.principal.id > after][:limit]

    def revoke(self, key_id: str) -> ApiKey | None:
        tables = self._write
        for key_hash, row in tables.api_keys.items():
            if row.principal.id == key_id:
                if row.revoked_at is None:
                    row = tables.api_keys[key_hash] = replace(row, revoked_at=now())
                return _api_key(row)
        return None


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.principal, row.label, row.key_prefix, row.created_at, row.revoked_at)


class FakeRules(Repository):
    def list(self) -> list[Rule]:
        return [rule for _key, rule in sorted(self._read.rules.items())]

    def add(self, rule: Rule) -> None:
        tables = self._write
        key = (rule.kind.value, rule.value)
        if key in tables.rules:
            raise Conflict(f"rule {rule.name} exists already", field="value")
        tables.rules[key] = rule

    def remove(self, rule: Rule) -> bool:
        return self._write.rules.pop((rule.kind.value, rule.value), None) is not None


class FakeAgeingRules(Repository):
    def list(self) -> list[AgeingRule]:
        return [rule for _key, rule in sorted(self._read.ageing_rules.items())]

    def add(self, rule: AgeingRule) -> None:
        tables = self._write
        key = (rule.kind.value, rule.threshold)
        if key in tables.ageing_rules:
            raise Conflict(f"ageing rule {rule.name} exists already", field="threshold")
        refuse_unless(rule.threshold >= 1, "ageing_rules.threshold_positive")
        tables.ageing_rules[key] = rule

    def remove(self, rule: AgeingRule) -> bool:
        key = (rule.kind.value, rule.threshold)
        return self._write.ageing_rules.pop(key, None) is not None


class FakeIdempotencyRecords(Repository):
    def lock(self, principal_id: str, key: str) -> None:
        """Nothing to wait for: one thread runs the use cases here."""

    def get(self, principal_id: str, key: str) -> StoredAnswer | None:
        found = self._read.idempotency.get((principal_id, key))
        return StoredAnswer(found.request_hash, as_json(found.answer)) if found else None

    def add(self, principal_id: str, key: str, answer: StoredAnswer) -> None:
        tables = self._write
        refuse_unless((principal_id, key) not in tables.idempotency, "idempotency primary key")
        tables.idempotency[(principal_id, key)] = StoredAnswer(
            answer.request_hash, as_json(answer.answer)
        )


# --- invoices -----------------------------------------------------------------------------------


def as_stored(invoice: Invoice) -> Invoice:
    """The invoice as its row gives it back: a dispute only while disputed, a rejection only
    with a rule, dispute fields through JSON, never stale (that is a reading)."""
    dispute = invoice.dispute
    rejection = invoice.rejection
    return replace(
        invoice,
        stale=False,
        dispute=Dispute(
            as_json(dispute.fields) if dispute else {}, dispute.reason if dispute else ""
        )
        if invoice.status is Status.DISPUTED
        else None,
        rejection=rejection if rejection is not None and rejection.rule else None,
    )


def check_invoice(tables: Tables, invoice: Invoice) -> None:
    """The invoice table's foreign keys and checks."""
    for participant, entity in (
        (invoice.exporter_id, invoice.exporter_entity),
        (invoice.importer_id, invoice.importer_entity),
    ):
        refuse_unless(participant in tables.participants, "invoices -> participants")
        refuse_unless(entity in tables.entities, "invoices -> entities")
    refuse_unless(invoice.amount > 0, "invoices.amount_positive")
    refuse_unless(0 <= invoice.outstanding <= invoice.amount, "invoices.outstanding_bounds")
    refuse_unless(invoice.exporter_entity != invoice.importer_entity, "invoices.cross_border")
    refuse_unless(invoice.issue_date <= invoice.due_date, "invoices.issued_before_due")


def into_the_pool(invoice: Invoice, stamp: datetime) -> Invoice:
    """An invoice stored into the pool without a first eligibility is eligible from ``stamp``."""
    if invoice.status in POOL and invoice.first_eligible_at is None:
        return replace(invoice, first_eligible_at=stamp)
    return invoice


def record_events(tables: Tables, events: Iterable[InvoiceEvent], at: datetime) -> None:
    for event in events:
        refuse_unless(event.invoice_id in tables.invoices, "invoice_events -> invoices")
        details = as_json(event.details) if event.details is not None else None
        tables.invoice_events.append(replace(event, details=details, at=at.isoformat()))


class FakeInvoices(Repository):
    def add_many(self, invoices: Sequence[Invoice], actor: str) -> list[Invoice]:
        if not invoices:
            return []
        tables = self._write
        stamp = now()
        # The sequence numbers are taken first, and stay taken if the rows are refused.
        numbered = [
            into_the_pool(
                replace(i, sequence=next(self._uow.store.invoice_sequence), stale=False), stamp
            )
            for i in invoices
        ]
        numbers = {(i.exporter_id, i.invoice_number) for i in tables.invoices.values()}
        ids = set(tables.invoices)
        for invoice in numbered:  # one statement: all rows go in, or none
            key = (invoice.exporter_id, invoice.invoice_number)
            if key in numbers or invoice.id in ids:
                raise Conflict(
                    "an invoice with this number from this exporter exists already",
                    field="invoice_number",
                )
            check_invoice(tables, invoice)
            numbers.add(key)
            ids.add(invoice.id)
        tables.invoices.update((i.id, as_stored(i)) for i in numbered)
        record_events(
            tables,
            (
                InvoiceEvent(
                    i.id, None, i.status.value, actor, i.rejection.reason if i.rejection else None
                )
                for i in numbered
            ),
            stamp,
        )
        return numbered

    def get(self, invoice_id: str, *, for_update: bool = False) -> Invoice | None:
        return self._read.invoices.get(invoice_id)

    def existing_numbers(self, exporter_id: str, numbers: Iterable[str]) -> set[str]:
        wanted = set(numbers)
        return {
            i.invoice_number
            for i in self._read.invoices.values()
            if i.exporter_id == exporter_id and i.invoice_number in wanted
        }

    def save(self, invoice: Invoice, event: InvoiceEvent) -> None:
        """Store a transition; the stored sequence is kept, whatever ``invoice`` carries."""
        tables = self._write
        before = tables.invoices.get(invoice.id)
        if before is not None:
            changed = replace(invoice, sequence=before.sequence)
            check_invoice(tables, changed)
            tables.invoices[invoice.id] = as_stored(changed)
        record_events(tables, [event], now())

    def add_events(self, events: Sequence[InvoiceEvent]) -> None:
        record_events(self._write, events, now())

    def history(self, invoice_id: str) -> list[InvoiceEvent]:
        return [
            replace(e, details=as_json(e.details) if e.details is not None else None)
            for e in self._read.invoice_events
            if e.invoice_id == invoice_id
        ]

    @staticmethod
    def _stale(invoice: Invoice, filters: InvoiceFilter) -> bool:
        if filters.stale_test is None:
            raise ValueError("a filter by staleness needs the test to apply")
        return filters.stale_test.flags(invoice.status, invoice.cycles_carried, invoice.due_date)

    def carried(self) -> list[CarriedObligation]:
        pool = sorted(
            (i for i in self._read.invoices.values() if i.status in POOL),
            key=lambda i: i.sequence,
        )
        return [
            CarriedObligation(
                i.importer_entity,
                i.exporter_entity,
                i.currency,
                i.outstanding,
                _first_eligible(i),
                i.due_date,
            )
            for i in pool
        ]

    def carried_by_age(self, as_of: datetime) -> list[CarriedTotal]:
        return carried_totals(
            (
                (c.source, c.target, c.currency, c.outstanding, c.first_eligible_at, c.due_date)
                for c in self.carried()
            ),
            as_of,
        )

    def list(self, filters: InvoiceFilter) -> list[Invoice]:
        scope = filters.scope
        found = [
            invoice
            for invoice in sorted(self._read.invoices.values(), key=lambda i: i.sequence)
            if (filters.after_sequence is None or invoice.sequence > filters.after_sequence)
            and (filters.status is None or invoice.status.value == filters.status)
            and (filters.cycle_id is None or invoice.cycle_id == filters.cycle_id)
            and (filters.stale is None or self._stale(invoice, filters) == filters.stale)
            and (
                scope.admits(invoice.exporter_id, invoice.exporter_entity)
                or scope.admits(invoice.importer_id, invoice.importer_entity)
            )
        ]
        return found[: filters.limit]


def _first_eligible(invoice: Invoice) -> datetime:
    if invoice.first_eligible_at is None:  # confirming gives one, and so does add_many
        raise ValueError(f"invoice {invoice.id} is in the pool with no first eligibility")
    return invoice.first_eligible_at


# --- the ledger and the counts ------------------------------------------------------------------


class FakeLedger(Repository):
    """The journal: entries stored in their parts, read back as documents exactly as found."""

    def head(self, *, for_update: bool = False) -> tuple[int, str]:
        return self._read.head

    def append(self, entries: Sequence[ChainedEntry]) -> int:
        if not entries:
            return 0
        tables = self._write
        count = 0
        for c in entries:
            refuse_unless(c.seq not in tables.journal, "journal_entries primary key")
            refuse_unless(
                all(row.hash != c.hash for row in tables.journal.values()),
                "journal_entries.hash unique",
            )
            refuse_unless(c.entry.entity in tables.entities, "journal_entries -> entities")
            postings = tuple((p.account, p.currency, p.amount) for p in c.entry.postings)
            record = as_json(dict(c.entry.cycle)) if c.entry.cycle is not None else None
            tables.journal[c.seq] = JournalRow(
                c.seq,
                c.entry.entity,
                c.entry.cycle_id,
                c.entry.kind,
                record,
                c.prev_hash,
                c.hash,
                postings,
                as_json(dict(c.entry.details)) if c.entry.details is not None else None,
            )
            count += len(postings)
        tables.head = (entries[-1].seq, entries[-1].hash)
        return count

    def documents(
        self, after: int = 0, limit: int | None = None, entity: str | None = None
    ) -> list[dict[str, Any]]:
        rows = [
            row
            for seq, row in sorted(self._read.journal.items())
            if seq > after and (entity is None or row.entity == entity)
        ]
        return [_document(row) for row in (rows if limit is None else rows[:limit])]

    def cycle_movements(self, cycle_ids: Sequence[str]) -> dict[tuple[str, str], int]:
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for row in self._read.journal.values():
            if row.cycle_id in cycle_ids:
                for account, _currency, amount in row.postings:
                    totals[(row.entity, account)] += amount
        return dict(totals)

    def iterate_documents(self, batch: int = 500) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            page = self.documents(after, batch)
            if not page:
                return
            yield from page
            after = page[-1]["seq"]

    def balances(self, entity: str | None = None) -> dict[tuple[str, str, str], int]:
        totals: dict[tuple[str, str, str], int] = defaultdict(int)
        for row in self._read.journal.values():
            if entity is None or row.entity == entity:
                for account, currency, amount in row.postings:
                    totals[(row.entity, account, currency)] += amount
        return dict(sorted(totals.items()))

    def count(self) -> int:
        return len(self._read.journal)


def _document(row: JournalRow) -> dict[str, Any]:
    record = as_json(row.cycle_record) if row.cycle_record is not None else None
    details = as_json(row.details) if row.details is not None else None
    document = stored_document(
        row.seq, row.entity, row.cycle_id, row.kind, row.postings, row.prev_hash, record, details
    )
    document["hash"] = row.hash
    return document


class FakeStats(Repository):
    def cycles_by_status(self) -> dict[str, int]:
        return dict(Counter(c.status.value for c in self._read.cycles.values()))

    def invoices_by_status(self) -> dict[str, int]:
        return dict(Counter(i.status.value for i in self._read.invoices.values()))


class FakeBankEntries(Repository):
    """Imported bank statement lines, unique per (entity, entry reference, transaction)."""

    def add(self, entries: Sequence[BankEntry]) -> None:
        tables = self._write
        for entry in entries:
            refuse_unless(entry.id not in tables.bank_entries, "bank_entries primary key")
            refuse_unless(entry.entity in tables.entities, "bank_entries -> entities")
            refuse_unless(entry.line.amount > 0, "bank_entries.amount_positive")
            if any(
                (e.entity, e.line.entry_reference, e.line.transaction)
                == (entry.entity, entry.line.entry_reference, entry.line.transaction)
                for e in tables.bank_entries.values()
            ):
                raise Conflict("a line of this statement was imported meanwhile")
            tables.bank_entries[entry.id] = entry

    def known(self, entity: str, references: Iterable[str]) -> set[str]:
        wanted = set(references)
        return {
            e.line.entry_reference
            for e in self._read.bank_entries.values()
            if e.entity == entity and e.line.entry_reference in wanted
        }

    def get(self, entry_id: str, *, for_update: bool = False) -> BankEntry | None:
        return self._read.bank_entries.get(entry_id)

    def save(self, entry: BankEntry) -> None:
        tables = self._write
        refuse_unless(entry.id in tables.bank_entries, "bank entry stored before it is saved")
        tables.bank_entries[entry.id] = entry

    def matched(self, cycle_ids: Collection[str]) -> list[BankEntry]:
        return sorted(
            (e for e in self._read.bank_entries.values() if e.cycle_id in cycle_ids),
            key=lambda e: (e.imported_at, e.id),
        )

    def list(
        self,
        entity: str | None,
        statuses: Collection[Reconciliation] | None,
        after: str | None,
        limit: int,
    ) -> list[BankEntry]:
        found = [
            e
            for entry_id, e in sorted(self._read.bank_entries.items())
            if (entity is None or e.entity == entity)
            and (statuses is None or e.status in statuses)
            and (after is None or entry_id > after)
        ]
        return found[:limit]
