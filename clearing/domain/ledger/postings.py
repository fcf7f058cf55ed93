"""A settled cycle's postings in each entity's book, and the record an auditor replays.

For a settled cycle each entity's book moves like this (amounts in its currency):

* ``discharge``: each debtor leg debits the importer (``participant:<id>``, it now owes the
  entity) and credits ``mirror:<creditor's entity>``; each creditor leg credits the exporter
  (the entity owes it) and debits ``mirror:<debtor's entity>``;
* ``pay_in``, one entry per payment as it is recorded: the importer's domestic payment debits
  ``settlement`` and credits the importer;
* ``refund``, as it falls due (a defaulter's pay-ins, an excess): it debits the participant and
  credits ``settlement``;
* ``pay_out``, one entry per payee as the cycle settles: it credits ``settlement`` and debits the
  exporter.

A bank credit that matches no due pay-in is journaled as it is imported (``suspense``: it debits
``settlement`` and credits ``suspense``, owed to whoever sent it, in no cycle). An operator then
assigns it, a pay-in that debits ``suspense`` instead of ``settlement``, returns it
(``suspense_return``: it debits ``suspense`` and credits ``settlement``), or finds it is the
bank's record of a pay-in recorded by hand (``suspense_matched``, the same postings: the pay-in
counted the money already).

Each money entry names its participant, bank reference or reason, value date and who recorded
it when. After a cycle settles, over it and the cycles it superseded, every participant's
movement is zero, ``settlement`` paid out what it received plus the net flow of the liquidity
lines, and the mirror accounts sum to minus that flow (zero without lines: nothing else is owed
across the border). How a line's draw or repayment is booked: :mod:`.line_postings`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from clearing.domain.bank import StatementLine
from clearing.domain.collector import collection_paused
from clearing.domain.cycles import PayIn, Refund
from clearing.domain.ledger.journal import (
    SETTLEMENT_ACCOUNT,
    SUSPENSE_ACCOUNT,
    JournalEntry,
    Posting,
    mirror_account,
    participant_account,
)
from clearing.domain.ledger.line_postings import (
    discharge_postings,
    line_entry,
    line_flows,
    terms_from_record,
    terms_to_record,
)
from clearing.domain.money import format_minor_column, places_of
from clearing.domain.netting import SNAPSHOT_COLUMNS, NettingResult, net
from clearing.domain.netting.columns import EPOCH, TEXT_COLUMNS, ObligationColumns
from clearing.domain.netting.lines import LineTerms
from clearing.domain.obligations import RECORD_COLUMNS, Policy, from_record
from clearing.domain.payments import Purpose, cycle_payment_reference
from clearing.domain.rates import RateSet


def cycle_record(
    result: NettingResult, cycle_id: str, line_terms: Sequence[LineTerms] = ()
) -> dict[str, Any]:
    """What an auditor needs to re-run a cycle's netting with no database (DESIGN §5).

    Obligations are rows of :data:`~clearing.domain.obligations.RECORD_COLUMNS`, named in the
    record's own ``columns`` so that :func:`replay_cycle` reads each value by its name. Built
    from the result's columns (each row as :func:`~clearing.domain.obligations.to_record` writes
    it), not from an obligation value per row. A cycle netted with liquidity lines carries
    their terms as it netted with them (``lines``); one without carries none.
    """
    record: dict[str, Any] = {
        "cycle_id": cycle_id,
        "digest": result.digest,
        "policy": result.policy.value,
        "rates": result.rates.to_json(),
        "columns": list(RECORD_COLUMNS),
        "obligations": _record_rows(result.snapshot),
    }
    if line_terms:
        record["lines"] = terms_to_record(line_terms)
    return record


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
    """Re-run the netting of a cycle from its :func:`cycle_record`, with its line terms."""
    rates = RateSet.from_json(record["rates"])
    columns = record["columns"]
    obligations = [
        from_record(dict(zip(columns, row, strict=True))) for row in record["obligations"]
    ]
    return net(obligations, rates, Policy(record["policy"]), lines=terms_from_record(record))


def cycle_entries(
    result: NettingResult,
    cycle_id: str,
    *,
    released_by: str,
    released_at: datetime,
    predecessors: Sequence[str] = (),
    with_record: bool = True,
    cycle_number: int | None = None,
    line_terms: Sequence[LineTerms] = (),
) -> list[JournalEntry]:
    """Every entity's entries as a cycle settles: its discharge, the ``line`` entries of the
    liquidity lines it moved (:mod:`.line_postings`), then each pay-out as it is released (one
    entry per payee, to reconcile with the bank line by line). The pay-ins were journaled as
    they were recorded (:func:`pay_in_entry`).

    The first entry carries the :func:`cycle_record` (with the ``line_terms`` the cycle netted
    with) when ``with_record`` is set; each discharge names the cycles this one superseded
    (their pay-ins and refunds close with it). Each pay-out carries the reference its transfer
    quotes (with the cycle's ``cycle_number``; ``<cycle>/<participant>`` without one).
    """
    entries: list[JournalEntry] = []
    record = cycle_record(result, cycle_id, line_terms) if with_record else None
    chain_details = {"predecessors": list(predecessors)} if predecessors else None
    for total in result.jurisdictions:
        flows = line_flows(result, total.jurisdiction)
        discharge = _discharge_postings(result, total.jurisdiction, total.currency)
        discharge += discharge_postings(flows, total.currency)
        if not discharge:
            continue
        entries.append(
            JournalEntry(
                entity=total.jurisdiction,
                kind="discharge",
                postings=tuple(discharge),
                cycle_id=cycle_id,
                cycle=record if not entries else None,
                details=chain_details,
            )
        )
        entries += [line_entry(flow, total.currency, cycle_id) for flow in flows]
        entries += [
            _money_entry(
                p.jurisdiction,
                p.currency,
                cycle_id,
                "pay_out",
                p.participant_id,
                -p.net,
                {
                    "reference": (
                        f"{cycle_id}/{p.participant_id}"
                        if cycle_number is None
                        else cycle_payment_reference(
                            cycle_number, cycle_id, p.participant_id, Purpose.PAY_OUT
                        )
                    ),
                    "value_date": released_at.date().isoformat(),
                    "recorded_by": released_by,
                    "recorded_at": released_at.isoformat(),
                },
            )
            for p in result.positions
            if p.jurisdiction == total.jurisdiction and p.net > 0
        ]
    return entries


def pay_in_entry(
    pay_in: PayIn, recorded_at: datetime, *, from_suspense: bool = False
) -> JournalEntry:
    """A pay-in as it is recorded: the bank credited the entity's settlement account (or, for
    a credit assigned from suspense, the money moves from ``suspense`` to the participant)."""
    return _money_entry(
        pay_in.entity,
        pay_in.currency,
        pay_in.cycle_id,
        "pay_in",
        pay_in.participant_id,
        pay_in.amount,
        {
            "bank_reference": pay_in.bank_reference,
            "value_date": pay_in.value_date.isoformat() if pay_in.value_date else None,
            "recorded_by": pay_in.recorded_by,
            "recorded_at": recorded_at.isoformat(),
        },
        SUSPENSE_ACCOUNT if from_suspense else SETTLEMENT_ACCOUNT,
    )


def suspense_entry(
    entity: str, line: StatementLine, reason: str, recorded_by: str, recorded_at: datetime
) -> JournalEntry:
    """A bank credit that matched no due pay-in, as it is imported: the money is in the
    settlement account, owed to whoever sent it."""
    return JournalEntry(
        entity=entity,
        kind="suspense",
        postings=(
            Posting(SETTLEMENT_ACCOUNT, line.currency, line.amount),
            Posting(SUSPENSE_ACCOUNT, line.currency, -line.amount),
        ),
        details={**_line_details(line), "reason": reason, **_who(recorded_by, recorded_at)},
    )


def suspense_release_entry(
    entity: str,
    line: StatementLine,
    reason: str,
    recorded_by: str,
    recorded_at: datetime,
    *,
    kind: str = "suspense_return",
) -> JournalEntry:
    """A suspense credit leaving suspense other than as a pay-in: sent back to its payer
    (``suspense_return``), or found to be the bank's record of a pay-in recorded by hand, which
    the journal holds already (``suspense_matched``)."""
    return JournalEntry(
        entity=entity,
        kind=kind,
        postings=(
            Posting(SUSPENSE_ACCOUNT, line.currency, line.amount),
            Posting(SETTLEMENT_ACCOUNT, line.currency, -line.amount),
        ),
        details={**_line_details(line), "reason": reason, **_who(recorded_by, recorded_at)},
    )


def _line_details(line: StatementLine) -> dict[str, Any]:
    return {
        "bank_reference": line.key,
        "value_date": line.value_date.isoformat(),
        "remittance": line.remittance,
        "counterparty": line.counterparty_name,
    }


def _who(recorded_by: str, recorded_at: datetime) -> dict[str, str]:
    return {"recorded_by": recorded_by, "recorded_at": recorded_at.isoformat()}


def refund_entry(refund: Refund, recorded_by: str, recorded_at: datetime) -> JournalEntry:
    """A refund as it falls due: the entity owes the participant its money back."""
    return _money_entry(
        refund.entity,
        refund.currency,
        refund.cycle_id,
        "refund",
        refund.participant_id,
        -refund.amount,
        {"reason": refund.reason, **_who(recorded_by, recorded_at)},
    )


def _money_entry(
    entity: str,
    currency: str,
    cycle_id: str,
    kind: str,
    participant_id: str,
    received: int,
    details: dict[str, Any],
    account: str = SETTLEMENT_ACCOUNT,
) -> JournalEntry:
    """Money between ``account`` (the settlement account unless said) and a participant:
    ``received`` minor units in (negative: paid out)."""
    return JournalEntry(
        entity=entity,
        kind=kind,
        postings=(
            Posting(account, currency, received),
            Posting(participant_account(participant_id), currency, -received),
        ),
        cycle_id=cycle_id,
        details={"participant_id": participant_id, **details},
    )


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
