"""``RESULT.json`` written from columns (DESIGN §10).

A small result is written indented, for reading. A large one is written compact: the arrays of
obligations and positions are built as text column by column (decimal strings formatted by
numpy, one JSON object per row joined element-wise in Arrow, on two threads) and the rest of the
document by orjson, so that a million obligations cost about what dumping the document would.
The obligations come in slices of rows, so a writer can write one while the next is built.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from clearing.adapters.files.netting import result_document
from clearing.domain.money import exponent, format_minor_column, places_of
from clearing.domain.netting import NettingResult

#: Up to this many obligations the result is indented for reading.
READABLE_RESULT_SIZE = 5_000
#: Text that a JSON string may hold without escaping (what ``json.dumps`` leaves alone).
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'
#: Threads building the text of the obligations' columns (Arrow kernels, outside the GIL).
TEXT_THREADS = 2
#: Obligations per slice of RESULT.json's text (a writer writes one while the next is built).
SLICE_ROWS = 131_072
#: Bytes of the document, or a view of Arrow's buffer holding them (written without a copy).
Chunk = bytes | memoryview


def result_json(result: NettingResult, *, with_lines: bool | None = None) -> Iterator[Chunk]:
    """The RESULT.json document of ``result`` as UTF-8 chunks, built as they are asked for, to
    be written in order; the last ends in a newline. ``with_lines`` as
    :func:`~clearing.adapters.files.netting.result_document` has it."""
    if len(result.snapshot) <= READABLE_RESULT_SIZE:
        document = result_document(result, with_lines=with_lines)
        yield (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
        return
    document = result_document(result, with_rows=False, with_lines=with_lines)
    arrays: dict[str, Callable[[NettingResult], Iterator[Chunk]]] = {
        "obligations": _obligations_chunks,
        "positions": _positions_text,
    }
    placeholders = {name: f"{name}-{uuid.uuid4().hex}" for name in arrays}
    document.update(placeholders)
    rest = orjson.dumps(document)
    # Splice each array's text in where its placeholder stands, in document order.
    marks = sorted((rest.index(orjson.dumps(placeholders[name])), name) for name in arrays)
    at = 0
    for position, name in marks:
        yield rest[at:position]
        yield b"["
        yield from arrays[name](result)
        yield b"]"
        at = position + len(orjson.dumps(placeholders[name]))
    yield rest[at:]
    yield b"\n"


def _obligations_chunks(result: NettingResult) -> Iterator[Chunk]:
    for start in range(0, len(result.snapshot), SLICE_ROWS):
        if start:
            yield b","
        yield from _obligations_text(result, slice(start, start + SLICE_ROWS))


def _obligations_text(result: NettingResult, rows: slice) -> list[Chunk]:
    """The JSON objects of the obligations in ``rows`` (a slice with a step of 1)."""
    start, count = rows.start, rows.stop - rows.start

    def text(column: pa.Array) -> pa.Array:
        return column.slice(start, count)

    currency = text(result.snapshot.currency)
    places = places_of(currency)
    base_places = np.full(len(currency), exponent(result.base), dtype=np.int64)
    jurisdictions = result.rates.jurisdictions
    debtor_currency = _currency_of(text(result.snapshot.debtor_jurisdiction), jurisdictions)
    creditor_currency = _currency_of(text(result.snapshot.creditor_jurisdiction), jurisdictions)
    outstanding = np.asarray(result.snapshot.outstanding)[rows]
    columns = result.columns
    settled = np.asarray(columns.settled)[rows]
    remaining = outstanding - settled
    # Each column's text is built by Arrow kernels outside the GIL: two threads share them.
    with ThreadPoolExecutor(max_workers=TEXT_THREADS) as pool:
        texts = [
            pool.submit(_json_strings, text(result.snapshot.obligation_id)),
            *(
                pool.submit(format_minor_column, amounts, amount_places)
                for amounts, amount_places in (
                    (outstanding, places),
                    (settled, places),
                    (remaining, places),
                    (np.asarray(columns.value)[rows], base_places),
                    (np.asarray(columns.settled_value)[rows], base_places),
                    (np.asarray(columns.debtor_leg)[rows], places_of(debtor_currency)),
                    (np.asarray(columns.creditor_leg)[rows], places_of(creditor_currency)),
                )
            ),
        ]
        ids, outstanding_text, settled_text, left, value, settled_value, debtor, creditor = (
            built.result() for built in texts
        )
    return _objects(
        '{"obligation_id":',
        ids,
        ',"currency":"',
        currency,
        '","outstanding":"',
        outstanding_text,
        '","settled":"',
        settled_text,
        '","remaining":"',
        left,
        '","value":"',
        value,
        '","settled_value":"',
        settled_value,
        '","debtor_leg":{"currency":"',
        debtor_currency,
        '","amount":"',
        debtor,
        '"},"creditor_leg":{"currency":"',
        creditor_currency,
        '","amount":"',
        creditor,
        '"}}',
    )


def _positions_text(result: NettingResult) -> Iterator[Chunk]:
    positions = result.positions
    if not positions:
        return iter(())
    currency = pa.array([p.currency for p in positions], pa.string())
    places = places_of(currency)

    def amounts(values: list[int]) -> pa.Array:
        try:
            return format_minor_column(np.array(values, dtype=np.int64), places)
        except OverflowError:
            return format_minor_column(np.array(values, dtype=object), places)

    return iter(
        _objects(
            '{"participant_id":',
            _json_strings(pa.array([p.participant_id for p in positions], pa.string())),
            ',"jurisdiction":"',
            pa.array([p.jurisdiction for p in positions], pa.string()),
            '","currency":"',
            currency,
            '","pay_in":"',
            amounts([p.pay_in for p in positions]),
            '","pay_out":"',
            amounts([p.pay_out for p in positions]),
            '","net":"',
            amounts([p.net for p in positions]),
            '"}',
        )
    )


def _objects(*pieces: pa.Array | str) -> list[Chunk]:
    """One JSON object per row, each the concatenation of ``pieces``, joined by commas: as
    chunks, one per share of the rows, each share joined in Arrow on a thread of its own."""
    rows = next(len(piece) for piece in pieces if not isinstance(piece, str))
    if not rows:
        return []
    share = -(-rows // TEXT_THREADS)
    starts = range(0, rows, share)

    def joined(start: int) -> Chunk:
        part = [p if isinstance(p, str) else p.slice(start, share) for p in pieces]
        return _text_of(pc.binary_join_element_wise(*part, ",", ""))

    with ThreadPoolExecutor(max_workers=TEXT_THREADS) as pool:
        parts = list(pool.map(joined, starts))
    chunks: list[Chunk] = []
    for part in parts:
        chunks += [b",", part] if chunks else [part]
    return chunks


def _text_of(rows: pa.Array) -> Chunk:
    """The rows' text back to back, without the separator after the last."""
    _validity, offset_buffer, data_buffer = rows.buffers()
    offsets = np.frombuffer(offset_buffer, dtype="<i4")[rows.offset : rows.offset + len(rows) + 1]
    return memoryview(data_buffer)[int(offsets[0]) : int(offsets[-1]) - 1]


def _currency_of(codes: pa.Array, currencies: Mapping[str, str]) -> pa.Array:
    labels = sorted(currencies)
    index = pc.index_in(codes, value_set=pa.array(labels, pa.string()))
    return pa.array([currencies[code] for code in labels], pa.string()).take(index)


def _json_strings(text: pa.Array) -> pa.Array:
    """Each value as a JSON string literal (quoted; escaped where JSON needs it)."""
    plain = pc.binary_join_element_wise('"', text, '"', "")
    escape = pc.match_substring_regex(text, _NEEDS_ESCAPE)
    if not pc.any(escape).as_py():
        return plain
    rows = np.flatnonzero(np.asarray(escape, dtype=bool))
    values = plain.to_pylist()
    for row, value in zip(rows.tolist(), text.take(pa.array(rows)).to_pylist(), strict=True):
        values[row] = json.dumps(value, ensure_ascii=False)
    return pa.array(values, pa.string())
