"""A settled cycle's postings in each entity's book, and the record an auditor replays.

For a settled cycle each entity's book moves like this (amounts in its currency):

* ``discharge``: each debtor leg debits the importer (``participant:<id>``, it now owes the
  entity) and credits ``mirror:<creditor's entity>``; each creditor leg credits the exporter
  (the entity owes it) and debits ``mirror:<debtor's entity>``;
* ``pay_in``: the importer's domestic payment debits ``settlement`` and credits the importer;
* ``pay_out``: the exporter's payment credits ``settlement`` and debits the exporter.

Afterwards every participant's movement is zero, ``settlement`` paid out what it received, and
the mirror accounts sum to zero: nothing is owed across the border.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from clearing.domain.collector import collection_paused
from clearing.domain.ledger.journal import (
    SETTLEMENT_ACCOUNT,
    JournalEntry,
    Posting,
    mirror_account,
    participant_account,
)
from clearing.domain.money import format_minor_column, places_of
from clearing.domain.netting import SNAPSHOT_COLUMNS, NettingResult, net
from clearing.domain.netting.columns import EPOCH, TEXT_COLUMNS, ObligationColumns
from clearing.domain.obligations import RECORD_COLUMNS, Policy, from_record
from clearing.domain.rates import RateSet


def cycle_record(result: NettingResult, cycle_id: str) -> dict[str, Any]:
    """What an auditor needs to re-run a cycle's netting with no database (DESIGN §5).

    Obligations are rows of :data:`~clearing.domain.obligations.RECORD_COLUMNS`, named in the
    record's own ``columns`` so that :func:`replay_cycle` reads each value by its name. Built
    from the result's columns (each row as :func:`~clearing.domain.obligations.to_record` writes
    it), not from an obligation value per row.
    """
    return {
        "cycle_id": cycle_id,
        "digest": result.digest,
        "policy": result.policy.value,
        "rates": result.rates.to_json(),
        "columns": list(RECORD_COLUMNS),
        "obligations": _record_rows(result.snapshot),
    }


def _record_rows(snapshot: ObligationColumns) -> list[list[str | int]]:
    """The snapshot's rows as :func:`~clearing.domain.obligations.to_record` writes them."""
    columns: dict[str, list[Any]] = {
        name: getattr(snapshot, name).to_pylist() for name in TEXT_COLUMNS
    }
    columns["outstanding"] = _amounts(snapshot.outstanding, snapshot.currency)
    days = snapshot.due_date.tolist()
    calendar = {day: (EPOCH + timedelta(days=day)).isoformat() for day in set(days)}
    columns["due_date"] = [calendar[day] for day in days]
    columns["priority"] = snapshot.priority.tolist()
    columns["sequence"] = snapshot.sequence.tolist()
    with collection_paused():  # a row is a new list, and none forms a cycle
        return list(map(list, zip(*(columns[name] for name in SNAPSHOT_COLUMNS), strict=True)))


def _amounts(outstanding: npt.NDArray[Any], currencies: pa.Array) -> list[str]:
    """:func:`~clearing.domain.money.format_amount` of each amount in its currency."""
    formatted: list[str] = format_minor_column(outstanding, places_of(currencies)).to_pylist()
    return formatted


def replay_cycle(record: Mapping[str, Any]) -> NettingResult:
    """Re-run the netting of a cycle from its :func:`cycle_record`."""
    rates = RateSet.from_json(record["rates"])
    columns = record["columns"]
    obligations = [
        from_record(dict(zip(columns, row, strict=True))) for row in record["obligations"]
    ]
    return net(obligations, rates, Policy(record["policy"]))


def cycle_entries(
    result: NettingResult, cycle_id: str, *, with_record: bool = True
) -> list[JournalEntry]:
    """Every entity's entries for a settled cycle: discharge, pay-ins, pay-outs.

    The first entry carries the :func:`cycle_record` when ``with_record`` is set.
    """
    entries: list[JournalEntry] = []
    record = cycle_record(result, cycle_id) if with_record else None
    for total in result.jurisdictions:
        discharge = _discharge_postings(result, total.jurisdiction, total.currency)
        if not discharge:
            continue
        entries.append(
            JournalEntry(
                entity=total.jurisdiction,
                kind="discharge",
                postings=tuple(discharge),
                cycle_id=cycle_id,
                cycle=record if not entries else None,
            )
        )
        positions = [p for p in result.positions if p.jurisdiction == total.jurisdiction]
        payers = {p.participant_id: -p.net for p in positions if p.net < 0}
        payees = {p.participant_id: p.net for p in positions if p.net > 0}
        for kind, amounts, sign in (("pay_in", payers, 1), ("pay_out", payees, -1)):
            if amounts:
                entries.append(
                    payment_entry(total.jurisdiction, total.currency, cycle_id, kind, amounts, sign)
                )
    return entries


def payment_entry(
    entity: str,
    currency: str,
    cycle_id: str,
    kind: str,
    amounts: Mapping[str, int],
    sign: int,
) -> JournalEntry:
    """Domestic payments: ``sign`` +1 for money received (pay-ins), -1 for money paid out."""
    postings = [
        Posting(participant_account(participant), currency, -sign * amount)
        for participant, amount in sorted(amounts.items())
    ]
    postings.append(Posting(SETTLEMENT_ACCOUNT, currency, sign * sum(amounts.values())))
    return JournalEntry(entity=entity, kind=kind, postings=tuple(postings), cycle_id=cycle_id)


def _discharge_postings(result: NettingResult, entity: str, currency: str) -> list[Posting]:
    """The discharge entry's postings, from the result's columns: only the rows that settled
    something and touch ``entity`` are read as values."""
    snapshot, columns = result.snapshot, result.columns
    settled = columns.settled_value != 0
    debtors = _is(snapshot.debtor_jurisdiction, entity)
    creditors = _is(snapshot.creditor_jurisdiction, entity)
    by_participant: dict[str, int] = defaultdict(int)
    # Mirror flows are kept gross, (entity, direction) -> amount, so the book shows what was
    # matched in each direction even where it nets to zero.
    mirrors: dict[tuple[str, int], int] = defaultdict(int)
    # A debtor leg where the debtor is in this entity; else a creditor leg where the creditor is.
    as_debtor = np.flatnonzero(settled & debtors)
    as_creditor = np.flatnonzero(settled & ~debtors & creditors)
    for rows, party, other, legs, sign in (
        (as_debtor, snapshot.debtor_id, snapshot.creditor_jurisdiction, columns.debtor_leg, -1),
        (as_creditor, snapshot.creditor_id, snapshot.debtor_jurisdiction, columns.creditor_leg, 1),
    ):
        taken = pa.array(rows, pa.int64())
        gross: dict[str, int] = defaultdict(int)
        for participant, jurisdiction, leg in zip(
            party.take(taken).to_pylist(),
            other.take(taken).to_pylist(),
            legs[rows].tolist(),
            strict=True,
        ):
            by_participant[participant] -= sign * leg
            gross[jurisdiction] += leg
        for jurisdiction, total in gross.items():
            mirrors[(jurisdiction, sign)] += sign * total
    participants = {participant_account(p): amount for p, amount in by_participant.items()}
    postings = [
        Posting(account, currency, amount) for account, amount in sorted(participants.items())
    ]
    postings.extend(
        Posting(mirror_account(other), currency, amount)
        for (other, _direction), amount in sorted(mirrors.items())
        if amount
    )
    return [p for p in postings if p.amount]


def _is(column: pa.Array, value: str) -> npt.NDArray[np.bool_]:
    equal: npt.NDArray[np.bool_] = pc.equal(column, value).to_numpy(zero_copy_only=False)
    return equal
