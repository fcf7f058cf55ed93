"""The digest of a netting run, version 2 (DESIGN §4 step 7; the byte layout is docs/digest.md).

Two levels: a leaf per corridor (its obligations' snapshot and result columns, in obligation-id
order) and per jurisdiction (its positions, in participant-id order), each the SHA-256 of a
binary encoding of its columns; and a root, the SHA-256 of the canonical JSON of the run's
totals, metrics, the lines that moved and the leaves' hashes. Columns are encoded from arrays,
without building text per row: integers as little-endian signed 64-bit, text as UTF-8 with a
32-bit little-endian length before each value, dates as their ISO text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from clearing.domain.canonical import canonical_json, sha256_hex
from clearing.domain.errors import InvalidInput
from clearing.domain.money import format_rate
from clearing.domain.netting.columns import ObligationColumns, civil_from_days
from clearing.domain.netting.lines import LineMovement
from clearing.domain.netting.results import (
    CorridorTotal,
    JurisdictionTotal,
    Metrics,
    Position,
    ResultColumns,
)
from clearing.domain.obligations import Policy
from clearing.domain.rates import RateSet

VERSION = 2
#: The columns of a corridor leaf, in order, and where each comes from.
SNAPSHOT_TEXT = ("obligation_id", "debtor_id", "debtor_jurisdiction", "creditor_id")
SNAPSHOT_TEXT_AFTER = ("creditor_jurisdiction", "currency")
RESULT_INTEGERS = ("value", "settled_value", "settled", "debtor_leg", "creditor_leg")
#: Threads hashing corridor leaves at once (a run has a few corridors; two per pair of
#: jurisdictions).
LEAF_THREADS = 4


def run_digest(
    policy: Policy,
    rates: RateSet,
    corridor_hashes: dict[str, str],
    codes: Sequence[str],
    corridors: Sequence[CorridorTotal],
    jurisdictions: Sequence[JurisdictionTotal],
    positions: Sequence[Position],
    metrics: Metrics,
    lines: Sequence[LineMovement] = (),
) -> str:
    """The root digest, from the corridors' leaves (:func:`corridor_leaves`) and the run's
    positions, totals, metrics and lines."""
    leaves = dict(corridor_hashes)
    for code in codes:
        own = [p for p in positions if p.jurisdiction == code]
        if own:
            leaves[f"positions:{code}"] = positions_leaf(own)
    return sha256_hex(
        canonical_json(
            root_document(policy, rates, corridors, jurisdictions, metrics, leaves, lines)
        )
    )


def root_document(
    policy: Policy,
    rates: RateSet,
    corridors: Sequence[CorridorTotal],
    jurisdictions: Sequence[JurisdictionTotal],
    metrics: Metrics,
    leaves: dict[str, str],
    lines: Sequence[LineMovement] = (),
) -> dict[str, Any]:
    """What the root hashes (amounts in minor units). Rate source and ``as_of`` are left out.

    ``lines`` appear only when one drew or repaid: the ones that did, in id order, as
    ``[id, from, to, currency, drawn, repaid, balance after]``; so a run without lines, or
    with lines that moved nothing, has the digest it would have without the feature."""
    document = {
        "version": VERSION,
        "base": rates.base,
        "policy": policy.value,
        "jurisdictions": dict(sorted(rates.jurisdictions.items())),
        "rates": {c: format_rate(r) for c, r in sorted(rates.rates.items())},
        "corridors": [[c.source, c.target, c.submitted, c.settled] for c in corridors],
        "totals": [[t.jurisdiction, t.currency, t.pay_in, t.pay_out] for t in jurisdictions],
        "metrics": {
            "submitted_value": metrics.submitted_value,
            "settled_value": metrics.settled_value,
            "obligations_settled": metrics.obligations_settled,
            "netting_efficiency": metrics.netting_efficiency,
            "domestic_liquidity_saved": metrics.domestic_liquidity_saved,
        },
        "leaves": dict(sorted(leaves.items())),
    }
    moved = sorted((line for line in lines if line.moved), key=lambda line: line.line_id)
    if moved:
        document["lines"] = [
            [m.line_id, m.source, m.target, m.currency, m.drawn, m.repaid, m.balance] for m in moved
        ]
    return document


def corridor_leaves(
    snapshot: ObligationColumns,
    results: ResultColumns,
    corridor: npt.NDArray[np.int64],
    codes: Sequence[str],
) -> dict[str, str]:
    """The hash of each corridor's rows, named ``corridor:<source>><target>``. ``snapshot``
    and ``results`` are in obligation-id order; ``corridor`` codes each row's corridor as
    ``debtor side · len(codes) + creditor side``.

    The leaves are independent and their work (Arrow takes, SHA-256 of large buffers) runs
    outside the GIL, so they are hashed on threads of their own."""
    keys = np.unique(corridor).tolist()
    names = [f"corridor:{codes[k // len(codes)]}>{codes[k % len(codes)]}" for k in keys]
    with ThreadPoolExecutor(max_workers=LEAF_THREADS) as pool:
        hashes = pool.map(
            lambda key: corridor_leaf(snapshot, results, np.flatnonzero(corridor == key)), keys
        )
        return dict(zip(names, hashes, strict=True))


def corridor_leaf(
    snapshot: ObligationColumns, results: ResultColumns, rows: npt.NDArray[np.intp]
) -> str:
    """The hash of one corridor's rows (already in obligation-id order)."""
    taken = pa.array(rows, pa.int64())
    digest = hashlib.sha256()
    for name in SNAPSHOT_TEXT + SNAPSHOT_TEXT_AFTER:
        digest.update(encode_text(getattr(snapshot, name).take(taken)))
    digest.update(encode_integers(snapshot.outstanding[rows]))
    digest.update(encode_dates(snapshot.due_date[rows]))
    digest.update(encode_integers(snapshot.priority[rows]))
    digest.update(encode_integers(snapshot.sequence[rows]))
    for name in RESULT_INTEGERS:
        digest.update(encode_integers(getattr(results, name)[rows]))
    return digest.hexdigest()


def positions_leaf(positions: Sequence[Position]) -> str:
    """The hash of one jurisdiction's positions, given in participant-id order (code point
    order, which is UTF-8 byte order)."""
    ordered = positions
    digest = hashlib.sha256()
    digest.update(encode_text(pa.array([p.participant_id for p in ordered], pa.string())))
    digest.update(encode_text(pa.array([p.currency for p in ordered], pa.string())))
    digest.update(encode_integers(np.array([p.pay_in for p in ordered], dtype=object)))
    digest.update(encode_integers(np.array([p.pay_out for p in ordered], dtype=object)))
    return digest.hexdigest()


# --- encodings ----------------------------------------------------------------------------------

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def encode_integers(column: npt.NDArray[Any]) -> bytes:
    """Little-endian signed 64-bit integers; a value outside that range is refused."""
    if column.dtype == object:
        if len(column) and (min(column) < _INT64_MIN or max(column) > _INT64_MAX):
            raise InvalidInput(
                "an amount or value exceeds the signed 64-bit range of the digest",
                field="outstanding",
            )
        column = column.astype(np.int64)
    return column.astype("<i8", copy=False).tobytes()


def encode_text(column: pa.Array) -> bytes:
    """Each value as its UTF-8 length (32-bit little-endian) and bytes, joined in Arrow."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.type != pa.string():
        column = column.cast(pa.string())
    count = len(column)
    if not count:
        return b""
    lengths = np.asarray(pc.binary_length(column), dtype="<u4")
    prefixes = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4), count, [None, pa.py_buffer(lengths.tobytes())]
    ).cast(pa.binary())
    joined = pc.binary_join_element_wise(prefixes, column.cast(pa.binary()), b"")
    _validity, offset_buffer, data_buffer = joined.buffers()
    offsets = np.frombuffer(offset_buffer, dtype="<i4")
    start = int(offsets[joined.offset])
    end = int(offsets[joined.offset + count])
    encoded: bytes = data_buffer.to_pybytes()[start:end]
    return encoded


def encode_dates(days: npt.NDArray[np.int64]) -> bytes:
    """Days since 1970-01-01 as ISO ``YYYY-MM-DD`` text, each with its length (10) before it."""
    year, month, day = civil_from_days(days)
    digits = np.empty((len(days), 14), dtype=np.uint8)
    digits[:, 0:4] = np.frombuffer((10).to_bytes(4, "little"), dtype=np.uint8)
    for column, (number, width) in zip((4, 9, 12), ((year, 4), (month, 2), (day, 2)), strict=True):
        for place in range(width):
            digits[:, column + width - 1 - place] = (number // 10**place) % 10 + ord("0")
    digits[:, 8] = digits[:, 11] = ord("-")
    return digits.tobytes()
