"""The repository of the journal: chained entries appended set-based, read back as documents."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from clearing.adapters.persistence.copying import copy_rows
from clearing.adapters.persistence.rows import now
from clearing.adapters.persistence.tables import (
    JournalEntryRow,
    JournalPostingRow,
    LedgerHeadRow,
)
from clearing.domain.ledger import GENESIS_HASH, ChainedEntry, stored_document


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def head(self, *, for_update: bool = False) -> tuple[int, str]:
        query = select(LedgerHeadRow).where(LedgerHeadRow.id == 1)
        if for_update:
            query = query.with_for_update()
        row = self.session.scalars(query).first()
        return (row.seq, row.hash) if row else (0, GENESIS_HASH)

    def append(self, entries: Sequence[ChainedEntry]) -> int:
        """Store chained entries after the current head and move the head. Returns postings."""
        if not entries:
            return 0
        stamp = now()
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            # COPY, as the postings: a settlement appends an entry per pay-out. A cycle's record
            # (its whole snapshot: ten megabytes for a hundred thousand obligations) is
            # serialised once, in C, and sent as JSON text.
            copy_rows(
                self.session,
                JournalEntryRow.__table__,  # type: ignore[arg-type]
                _ENTRY_COLUMNS,
                (
                    (
                        c.seq,
                        c.entry.entity,
                        c.entry.cycle_id,
                        c.entry.kind,
                        _json_text(c.entry.cycle) if c.entry.cycle is not None else None,
                        _json_text(c.entry.details) if c.entry.details is not None else None,
                        c.prev_hash,
                        c.hash,
                        stamp,
                    )
                    for c in entries
                ),
            )
        else:
            self.session.execute(
                insert(JournalEntryRow),
                [
                    {
                        "seq": c.seq,
                        "entity": c.entry.entity,
                        "cycle_id": c.entry.cycle_id,
                        "kind": c.entry.kind,
                        "cycle_record": dict(c.entry.cycle) if c.entry.cycle is not None else None,
                        "details": dict(c.entry.details) if c.entry.details is not None else None,
                        "prev_hash": c.prev_hash,
                        "hash": c.hash,
                        "created_at": stamp,
                    }
                    for c in entries
                ],
            )
        bulk = connection.dialect.name == "postgresql" and len(entries) >= _BULK_ENTRIES
        if bulk:
            _analyze(connection, "journal_entries")
        count = copy_rows(
            self.session,
            JournalPostingRow.__table__,  # type: ignore[arg-type]
            ["seq", "line", "entity", "account", "currency", "amount"],
            (
                (c.seq, line, c.entry.entity, p.account, p.currency, p.amount)
                for c in entries
                for line, p in enumerate(c.entry.postings, start=1)
            ),
        )
        if bulk:
            _analyze(connection, "journal_postings")
        last = entries[-1]
        self.session.execute(
            update(LedgerHeadRow).where(LedgerHeadRow.id == 1).values(seq=last.seq, hash=last.hash)
        )
        return count

    def documents(
        self, after: int = 0, limit: int | None = None, entity: str | None = None
    ) -> list[dict[str, Any]]:
        """Stored entries after ``after``, as their exported documents, exactly as found."""
        query = (
            select(JournalEntryRow).where(JournalEntryRow.seq > after).order_by(JournalEntryRow.seq)
        )
        if entity is not None:
            query = query.where(JournalEntryRow.entity == entity)
        if limit is not None:
            query = query.limit(limit)
        rows = list(self.session.scalars(query))
        if not rows:
            return []
        postings: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
        for seq, account, currency, amount in self.session.execute(
            select(
                JournalPostingRow.seq,
                JournalPostingRow.account,
                JournalPostingRow.currency,
                JournalPostingRow.amount,
            )
            .where(JournalPostingRow.seq.between(rows[0].seq, rows[-1].seq))
            .order_by(JournalPostingRow.seq, JournalPostingRow.line)
        ):
            postings[seq].append((account, currency, amount))
        return [_document(row, postings.get(row.seq, [])) for row in rows]

    def cycle_movements(self, cycle_ids: Sequence[str]) -> dict[tuple[str, str], int]:
        entry, posting = JournalEntryRow, JournalPostingRow
        totals = self.session.execute(
            select(posting.entity, posting.account, func.sum(posting.amount))
            .join(entry, entry.seq == posting.seq)
            .where(entry.cycle_id.in_(cycle_ids))
            .group_by(posting.entity, posting.account)
        )
        return {(entity, account): int(total) for entity, account, total in totals}

    def iterate_documents(self, batch: int = 500) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            page = self.documents(after, batch)
            if not page:
                return
            yield from page
            after = page[-1]["seq"]

    def balances(self, entity: str | None = None) -> dict[tuple[str, str, str], int]:
        query = (
            select(
                JournalPostingRow.entity,
                JournalPostingRow.account,
                JournalPostingRow.currency,
                func.sum(JournalPostingRow.amount),
            )
            .group_by(
                JournalPostingRow.entity, JournalPostingRow.account, JournalPostingRow.currency
            )
            .order_by(JournalPostingRow.entity, JournalPostingRow.account)
        )
        if entity is not None:
            query = query.where(JournalPostingRow.entity == entity)
        return {(e, a, c): int(total) for e, a, c, total in self.session.execute(query)}

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(JournalEntryRow)) or 0)


def _document(row: JournalEntryRow, postings: list[tuple[str, str, int]]) -> dict[str, Any]:
    document = stored_document(
        row.seq,
        row.entity,
        row.cycle_id,
        row.kind,
        postings,
        row.prev_hash,
        row.cycle_record,
        row.details,
    )
    document["hash"] = row.hash
    return document


#: The columns of an entry's row, in the order :meth:`LedgerRepository.append` COPYs them.
_ENTRY_COLUMNS = (
    "seq",
    "entity",
    "cycle_id",
    "kind",
    "cycle_record",
    "details",
    "prev_hash",
    "hash",
    "created_at",
)
#: Entries appended at once from which the tables' statistics are refreshed first.
_BULK_ENTRIES = 256


def _analyze(connection: Any, table: str) -> None:
    """Refresh a journal table's planner statistics within the transaction, after a bulk
    insert: each posting's foreign-key check and each entry's deferred balance check then look
    rows up by index. Planned on statistics from before (a young journal looks empty), they scan
    the table once per row: a cycle's ten thousand money entries took half a minute."""
    connection.exec_driver_sql(f"ANALYZE {table}")


def _json_text(record: Mapping[str, Any]) -> str:
    """A cycle record as JSON text: by orjson, or by the standard library for what orjson does
    not take (an integer beyond 64 bits)."""
    try:
        return orjson.dumps(dict(record)).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(dict(record), ensure_ascii=False, separators=(",", ":"))
