"""The digest of a netting run (DESIGN §4 step 7): SHA-256 of the canonical JSON of everything
that determines the result — snapshot, rates, policy, result columns, totals and metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from clearing.domain.canonical import Encoded, canonical_json, column_json, digest_encoded
from clearing.domain.money import format_rate
from clearing.domain.netting.results import (
    SNAPSHOT_COLUMNS,
    CorridorTotal,
    JurisdictionTotal,
    Metrics,
    Position,
)
from clearing.domain.obligations import Policy
from clearing.domain.rates import RateSet


def run_digest(
    policy: Policy,
    rates: RateSet,
    snapshot: Mapping[str, Sequence[Any]],
    results: Mapping[str, list[int]],
    corridors: Sequence[CorridorTotal],
    jurisdictions: Sequence[JurisdictionTotal],
    positions: Sequence[Position],
    metrics: Metrics,
) -> str:
    """SHA-256 of the canonical JSON of the run; ``snapshot`` holds the
    :data:`SNAPSHOT_COLUMNS` in obligation-id order (due dates as dates)."""
    columns = {name: snapshot[name] for name in SNAPSHOT_COLUMNS}
    iso: dict[date, str] = {}
    columns["due_date"] = [
        iso.get(d) or iso.setdefault(d, d.isoformat()) for d in snapshot["due_date"]
    ]
    small = digest_summary(policy, rates, corridors, jurisdictions, positions, metrics)
    document: dict[str, Encoded] = {key: canonical_json(value) for key, value in small.items()}
    document["snapshot"] = {name: column_json(column) for name, column in columns.items()}
    document["results"] = {name: column_json(column) for name, column in results.items()}
    return digest_encoded(document)


def digest_summary(
    policy: Policy,
    rates: RateSet,
    corridors: Sequence[CorridorTotal],
    jurisdictions: Sequence[JurisdictionTotal],
    positions: Sequence[Position],
    metrics: Metrics,
) -> dict[str, Any]:
    """The digested members other than the per-obligation columns (amounts in minor units)."""
    return {
        "base": rates.base,
        "policy": policy.value,
        "jurisdictions": dict(sorted(rates.jurisdictions.items())),
        "rates": {c: format_rate(r) for c, r in sorted(rates.rates.items())},
        "corridors": [[c.source, c.target, c.submitted, c.settled] for c in corridors],
        "totals": [[t.jurisdiction, t.currency, t.pay_in, t.pay_out] for t in jurisdictions],
        "positions": [
            [p.jurisdiction, p.participant_id, p.currency, p.pay_in, p.pay_out] for p in positions
        ],
        "metrics": {
            "submitted_value": metrics.submitted_value,
            "settled_value": metrics.settled_value,
            "obligations_settled": metrics.obligations_settled,
            "netting_efficiency": metrics.netting_efficiency,
            "domestic_liquidity_saved": metrics.domestic_liquidity_saved,
        },
    }
