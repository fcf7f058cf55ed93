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
from typing import Any

from clearing.domain.ledger.journal import (
    SETTLEMENT_ACCOUNT,
    JournalEntry,
    Posting,
    mirror_account,
    participant_account,
)
from clearing.domain.netting import NettingResult, net
from clearing.domain.obligations import RECORD_COLUMNS, Policy, from_record, to_record
from clearing.domain.rates import RateSet


def cycle_record(result: NettingResult, cycle_id: str) -> dict[str, Any]:
    """What an auditor needs to re-run a cycle's netting with no database (DESIGN §5).

    Obligations are rows of :data:`~clearing.domain.obligations.RECORD_COLUMNS`, named in the
    record's own ``columns`` so that :func:`replay_cycle` reads each value by its name.
    """
    return {
        "cycle_id": cycle_id,
        "digest": result.digest,
        "policy": result.policy.value,
        "rates": result.rates.to_json(),
        "columns": list(RECORD_COLUMNS),
        "obligations": [to_record(o) for o in result.obligations],
    }


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
    participants: dict[str, int] = defaultdict(int)
    # Mirror flows are kept gross, (entity, direction) -> amount, so the book shows what was
    # matched in each direction even where it nets to zero.
    mirrors: dict[tuple[str, int], int] = defaultdict(int)
    for index, obligation in enumerate(result.obligations):
        if result.settled_values[index] == 0:
            continue
        if obligation.debtor_jurisdiction == entity:
            leg = result.debtor_legs[index]
            participants[participant_account(obligation.debtor_id)] += leg
            mirrors[(obligation.creditor_jurisdiction, -1)] -= leg
        elif obligation.creditor_jurisdiction == entity:
            leg = result.creditor_legs[index]
            participants[participant_account(obligation.creditor_id)] -= leg
            mirrors[(obligation.debtor_jurisdiction, 1)] += leg
    postings = [
        Posting(account, currency, amount) for account, amount in sorted(participants.items())
    ]
    postings.extend(
        Posting(mirror_account(other), currency, amount)
        for (other, _direction), amount in sorted(mirrors.items())
        if amount
    )
    return [p for p in postings if p.amount]
