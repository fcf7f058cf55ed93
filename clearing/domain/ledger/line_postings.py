"""Liquidity lines in the books (DESIGN §4b, §5): what a settling cycle's lines moved in each
entity's book, the line terms a cycle record carries, and the balances the journal shows.

A line between entities A and B funds the corridor A -> B. When a cycle draws on it, A's
importers pay in more than A's exporters are paid out: A's entity holds the difference at its
bank, owed to B's entity, which paid its exporters that much more than it received. A
repayment is the reverse. In each entity's own currency, the line's *flow* ``f`` is what the
entity's bank account took in beyond what it paid out because of the line (negative: paid out
beyond what came in). Each entity's book shows it in two steps:

* in the cycle's ``discharge``, the matched legs' mirror postings net to zero, and the part a
  line funded sits on ``line:<id>`` (``line:<id>`` ``-f``, ``mirror:<other>`` ``+f``);
* a ``line`` entry then books it across the border (``line:<id>`` ``+f``, ``mirror:<other>``
  ``-f``), naming the line, what it drew or repaid and its balance after, in the line's
  currency.

So ``line:<id>`` nets to zero in every settled cycle, the settlement account takes in what it
pays out plus the flows, and each entity's mirror accounts sum to minus the flows: over all
cycles, to what the lines carry, in the entity's own currency.

Each line's flow at each of its ends is the netting's (``LineMovement.source_flow`` and
``target_flow``, :mod:`clearing.domain.netting.lines`): the books post exactly what the
jurisdictions' pay-ins and pay-outs differ by.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clearing.domain.errors import InvalidInput
from clearing.domain.ledger.journal import (
    JournalEntry,
    Posting,
    line_account,
    mirror_account,
)
from clearing.domain.money import format_amount, parse_signed_amount
from clearing.domain.netting import NettingResult
from clearing.domain.netting.lines import LineMovement, LineTerms

#: The kind of the journal entry that books a line's flow across the border.
LINE_ENTRY = "line"


@dataclass(frozen=True, slots=True)
class LineFlow:
    """A line's flow in one entity's book: ``amount`` minor units of the entity's currency
    (positive: the entity holds it for ``other``; negative: ``other`` owes it to the entity)."""

    movement: LineMovement
    entity: str
    other: str
    amount: int


def line_flows(result: NettingResult, entity: str) -> list[LineFlow]:
    """The flows of the lines ``result`` moved, in ``entity``'s book (see the module's
    documentation), in line-id order; a flow of nothing is left out."""
    flows = [
        LineFlow(m, entity, m.target, m.source_flow)
        if entity == m.source
        else LineFlow(m, entity, m.source, m.target_flow)
        for m in sorted(result.lines, key=lambda m: m.line_id)
        if m.moved and entity in (m.source, m.target)
    ]
    return [flow for flow in flows if flow.amount]


def discharge_postings(flows: Iterable[LineFlow], currency: str) -> list[Posting]:
    """The discharge's part of each flow: it sits on the line's account."""
    postings: list[Posting] = []
    for flow in flows:
        postings.append(Posting(line_account(flow.movement.line_id), currency, -flow.amount))
        postings.append(Posting(mirror_account(flow.other), currency, flow.amount))
    return postings


def line_entry(flow: LineFlow, currency: str, cycle_id: str) -> JournalEntry:
    """The ``line`` entry booking a flow across the border, with the line's movement."""
    m = flow.movement
    return JournalEntry(
        entity=flow.entity,
        kind=LINE_ENTRY,
        postings=(
            Posting(line_account(m.line_id), currency, flow.amount),
            Posting(mirror_account(flow.other), currency, -flow.amount),
        ),
        cycle_id=cycle_id,
        details={
            "line_id": m.line_id,
            "from": m.source,
            "to": m.target,
            "currency": m.currency,
            "drawn": format_amount(m.drawn, m.currency),
            "repaid": format_amount(m.repaid, m.currency),
            "balance": format_amount(m.balance, m.currency),
        },
    )


# --- the line terms a cycle record carries --------------------------------------------------


def terms_to_record(terms: Sequence[LineTerms]) -> list[dict[str, str]]:
    """Line terms as a cycle record carries them (the shape of ``LINES.json``): decimal
    strings in major units of each line's currency, in line-id order."""
    return [
        {
            "id": t.line_id,
            "from": t.source,
            "to": t.target,
            "currency": t.currency,
            "limit": format_amount(t.limit, t.currency),
            "balance": format_amount(t.balance, t.currency),
        }
        for t in sorted(terms, key=lambda t: t.line_id)
    ]


def terms_from_record(record: Mapping[str, Any]) -> tuple[LineTerms, ...]:
    """The line terms of a cycle record (none when it names no line)."""
    return tuple(
        LineTerms(
            str(line["id"]),
            str(line["from"]),
            str(line["to"]),
            str(line["currency"]),
            parse_signed_amount(str(line["limit"]), str(line["currency"]), field="limit"),
            parse_signed_amount(str(line["balance"]), str(line["currency"]), field="balance"),
        )
        for line in record.get("lines", ())
    )


def recorded_movement(details: Mapping[str, Any]) -> LineMovement:
    """The movement a ``line`` entry's details name, amounts in minor units."""
    currency = str(details["currency"])

    def amount(name: str) -> int:
        return parse_signed_amount(str(details[name]), currency, field=name)

    return LineMovement(
        str(details["line_id"]),
        str(details["from"]),
        str(details["to"]),
        currency,
        amount("drawn"),
        amount("repaid"),
        amount("balance"),
    )


def journal_line_balances(entries: Iterable[JournalEntry]) -> dict[str, int]:
    """Each line's balance after the last settled cycle that moved it, as the journal's
    ``line`` entries record it (minor units of the line's currency)."""
    found: dict[str, int] = {}
    for entry in entries:
        if entry.kind == LINE_ENTRY and entry.details is not None:
            try:
                movement = recorded_movement(entry.details)
            except (KeyError, InvalidInput):
                continue  # reported by the replay check
            found[movement.line_id] = movement.balance
    return found


def booked_flows(entries: Iterable[JournalEntry]) -> dict[str, int]:
    """Per entity, the line flows the ``line`` entries booked (minor units of its currency):
    what its settlement account took in beyond what it paid out because of lines."""
    flows: dict[str, int] = {}
    for entry in entries:
        if entry.kind != LINE_ENTRY:
            continue
        for posting in entry.postings:
            if posting.account.startswith("line:"):
                flows[entry.entity] = flows.get(entry.entity, 0) + posting.amount
    return flows
