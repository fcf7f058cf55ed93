"""What one entity may see of a netting run (DESIGN §5, §7): the obligations of the corridors
that touch it, with their results; its own positions; the run's totals and metrics; and, of
everything else, only the leaf hashes of the digest. That is enough to recompute the root digest
every entity approves, and no more: with three or more entities, the corridors between two
others stay hidden.

A disclosure is a JSON object; amounts and values are integers of minor units (obligations'
outstanding in their currency, values in base, legs in the jurisdictions' currencies).
:func:`disclosed_digest` recomputes the root from it alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from clearing.domain.canonical import canonical_json, sha256_hex
from clearing.domain.netting.columns import ObligationColumns, civil_from_days, days_from_civil
from clearing.domain.netting.digest import (
    RESULT_INTEGERS,
    SNAPSHOT_TEXT,
    SNAPSHOT_TEXT_AFTER,
    corridor_leaf,
    positions_leaf,
    root_document,
)
from clearing.domain.netting.lines import LineMovement
from clearing.domain.netting.results import (
    CorridorTotal,
    JurisdictionTotal,
    Metrics,
    NettingResult,
    Position,
    ResultColumns,
)
from clearing.domain.obligations import Policy
from clearing.domain.rates import RateSet

#: The columns of a disclosed obligation row, in order.
ROW_COLUMNS = (
    *SNAPSHOT_TEXT,
    *SNAPSHOT_TEXT_AFTER,
    "outstanding",
    "due_date",
    "priority",
    "sequence",
    *RESULT_INTEGERS,
)
_TEXT = (*SNAPSHOT_TEXT, *SNAPSHOT_TEXT_AFTER)


def corridor_name(source: str, target: str) -> str:
    return f"corridor:{source}>{target}"


def disclosure(result: NettingResult, cycle_id: str, entity: str) -> dict[str, Any]:
    """What ``entity`` may see of ``result`` (see the module's documentation)."""
    snapshot, columns = result.snapshot, result.columns
    debtors = np.asarray(snapshot.debtor_jurisdiction.to_pylist(), dtype=object)
    creditors = np.asarray(snapshot.creditor_jurisdiction.to_pylist(), dtype=object)
    seen = np.flatnonzero((debtors == entity) | (creditors == entity))
    leaves: dict[str, str] = {}
    for source, target in sorted({(c.source, c.target) for c in result.corridors}):
        if entity not in (source, target):
            rows = np.flatnonzero((debtors == source) & (creditors == target))
            leaves[corridor_name(source, target)] = corridor_leaf(snapshot, columns, rows)
    for code in sorted(result.rates.jurisdictions):
        theirs = [p for p in result.positions if p.jurisdiction == code]
        if code != entity and theirs:
            leaves[f"positions:{code}"] = positions_leaf(theirs)
    return {
        "cycle_id": cycle_id,
        "entity": entity,
        "digest": result.digest,
        "policy": result.policy.value,
        "rates": result.rates.to_json(),
        "corridors": [[c.source, c.target, c.submitted, c.settled] for c in result.corridors],
        "totals": [[t.jurisdiction, t.currency, t.pay_in, t.pay_out] for t in result.jurisdictions],
        "metrics": _metrics_json(result.metrics),
        "columns": list(ROW_COLUMNS),
        "obligations": _rows(snapshot, columns, seen),
        "positions": [
            [p.participant_id, p.currency, p.pay_in, p.pay_out]
            for p in result.positions
            if p.jurisdiction == entity
        ],
        "leaves": leaves,
        # The root hashes the lines that moved (DESIGN §4 step 7), so an entity checking it
        # needs what they drew and repaid, even between two others: that much, and nothing
        # else of those lines (their limits and history stay with their two entities).
        "lines": [
            [m.line_id, m.source, m.target, m.currency, m.drawn, m.repaid, m.balance]
            for m in result.lines
            if m.moved
        ],
    }


def disclosed_digest(record: Mapping[str, Any]) -> str:
    """The root digest recomputed from a disclosure alone: equal to the approved digest when
    the disclosed rows, positions and leaves are the ones the run had."""
    rates = RateSet.from_json(record["rates"])
    codes = sorted(rates.jurisdictions)
    names = list(record["columns"])
    rows = [dict(zip(names, row, strict=True)) for row in record["obligations"]]
    leaves = dict(record["leaves"])
    by_corridor: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["debtor_jurisdiction"], row["creditor_jurisdiction"])
        by_corridor.setdefault(key, []).append(row)
    for (source, target), members in by_corridor.items():
        members.sort(key=lambda row: row["obligation_id"].encode())
        snapshot, results = _columns(members)
        everything = np.arange(len(members), dtype=np.intp)
        leaves[corridor_name(source, target)] = corridor_leaf(snapshot, results, everything)
    entity = str(record["entity"])
    own = [
        Position(str(p), entity, str(c), int(i), int(o), 0, 0) for p, c, i, o in record["positions"]
    ]
    if own and entity in codes:
        leaves[f"positions:{entity}"] = positions_leaf(sorted(own, key=_id_order))
    document = root_document(
        Policy(record["policy"]),
        rates,
        [CorridorTotal(str(a), str(b), int(c), int(d)) for a, b, c, d in record["corridors"]],
        [JurisdictionTotal(str(a), str(b), int(c), int(d)) for a, b, c, d in record["totals"]],
        _metrics(record["metrics"]),
        leaves,
        [
            LineMovement(str(i), str(a), str(b), str(c), int(d), int(r), int(bal))
            for i, a, b, c, d, r, bal in record.get("lines", ())
        ],
    )
    return sha256_hex(canonical_json(document))


def _id_order(position: Position) -> bytes:
    return position.participant_id.encode()


def _rows(
    snapshot: ObligationColumns, columns: ResultColumns, rows: np.ndarray[Any, Any]
) -> list[list[Any]]:
    taken = pa.array(rows, pa.int64())
    year, month, day = civil_from_days(snapshot.due_date[rows])
    dates = [f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in zip(year, month, day, strict=True)]
    values: list[list[Any]] = [getattr(snapshot, name).take(taken).to_pylist() for name in _TEXT]
    values += [
        snapshot.outstanding[rows].tolist(),
        dates,
        snapshot.priority[rows].tolist(),
        snapshot.sequence[rows].tolist(),
    ]
    values += [getattr(columns, name)[rows].tolist() for name in RESULT_INTEGERS]
    return [list(row) for row in zip(*values, strict=True)]


def _columns(rows: Sequence[Mapping[str, Any]]) -> tuple[ObligationColumns, ResultColumns]:
    def text(name: str) -> pa.Array:
        return pa.array([str(row[name]) for row in rows], pa.string())

    def integers(name: str) -> np.ndarray[Any, Any]:
        return np.array([int(row[name]) for row in rows], dtype=object)

    parts = np.array([[int(x) for x in str(row["due_date"]).split("-")] for row in rows])
    snapshot = ObligationColumns(
        **{name: text(name) for name in _TEXT},
        outstanding=integers("outstanding"),
        due_date=days_from_civil(parts[:, 0], parts[:, 1], parts[:, 2]),
        priority=integers("priority").astype(np.int64),
        sequence=integers("sequence").astype(np.int64),
    )
    return snapshot, ResultColumns(*(integers(name) for name in RESULT_INTEGERS))


def _metrics_json(metrics: Metrics) -> dict[str, Any]:
    return {
        "submitted_value": metrics.submitted_value,
        "settled_value": metrics.settled_value,
        "obligations_settled": metrics.obligations_settled,
        "netting_efficiency": metrics.netting_efficiency,
        "domestic_liquidity_saved": metrics.domestic_liquidity_saved,
    }


def _metrics(document: Mapping[str, Any]) -> Metrics:
    return Metrics(
        submitted_value=int(document["submitted_value"]),
        settled_value=int(document["settled_value"]),
        obligations_settled=int(document["obligations_settled"]),
        netting_efficiency=str(document["netting_efficiency"]),
        domestic_liquidity_saved=str(document["domestic_liquidity_saved"]),
    )
