"""``RESULT.json`` written from columns (DESIGN §10).

A small result is written indented, for reading. A large one is written compact: the
per-obligation array is built as text column by column in Arrow (decimal strings formatted in C,
one JSON object per row joined element-wise) and the rest of the document by orjson, so that a
million obligations take about as long as dumping the document would.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from clearing.adapters.files.netting import result_document
from clearing.domain.money import exponent
from clearing.domain.netting import NettingResult

#: Up to this many obligations the result is indented for reading.
READABLE_RESULT_SIZE = 5_000
#: Text that a JSON string may hold without escaping (what ``json.dumps`` leaves alone).
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'


def result_json(result: NettingResult) -> bytes:
    """The RESULT.json document of ``result``, as UTF-8 bytes ending in a newline."""
    if len(result.snapshot) <= READABLE_RESULT_SIZE:
        text = json.dumps(
            result_document(result, with_obligations=True), ensure_ascii=False, indent=1
        )
        return (text + "\n").encode("utf-8")
    placeholder = f"obligations-{uuid.uuid4().hex}"
    document = result_document(result, with_obligations=False)
    document["obligations"] = placeholder
    head = orjson.dumps(document)
    marker = orjson.dumps(placeholder)
    before, after = head.split(marker, 1)
    return before + b"[" + _obligations_text(result) + b"]" + after + b"\n"


def _obligations_text(result: NettingResult) -> bytes:
    """The ``obligations`` array's members, comma-separated, as the row writer would write them."""
    snapshot, columns = result.snapshot, result.columns
    jurisdictions = result.rates.jurisdictions
    base = result.base
    currency = snapshot.currency
    debtor_currency = _mapped(snapshot.debtor_jurisdiction, jurisdictions)
    creditor_currency = _mapped(snapshot.creditor_jurisdiction, jurisdictions)
    remaining = np.asarray(snapshot.outstanding) - np.asarray(columns.settled)
    pieces: list[Any] = [
        '{"obligation_id":',
        _json_strings(snapshot.obligation_id),
        ',"currency":"',
        currency,
        '","outstanding":"',
        _decimal(snapshot.outstanding, currency),
        '","settled":"',
        _decimal(columns.settled, currency),
        '","remaining":"',
        _decimal(remaining, currency),
        '","value":"',
        _decimal(columns.value, base),
        '","settled_value":"',
        _decimal(columns.settled_value, base),
        '","debtor_leg":{"currency":"',
        debtor_currency,
        '","amount":"',
        _decimal(columns.debtor_leg, debtor_currency),
        '"},"creditor_leg":{"currency":"',
        creditor_currency,
        '","amount":"',
        _decimal(columns.creditor_leg, creditor_currency),
        '"}}',
    ]
    rows = pc.binary_join_element_wise(*pieces, "")
    return ",".join(rows.to_pylist()).encode("utf-8")


def _mapped(codes: pa.Array, currencies: Any) -> pa.Array:
    """Each jurisdiction's currency."""
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
    escaped = [json.dumps(value, ensure_ascii=False) for value in text.take(rows).to_pylist()]
    values = plain.to_pylist()
    for row, literal in zip(rows.tolist(), escaped, strict=True):
        values[row] = literal
    return pa.array(values, pa.string())


def _decimal(minor: npt.NDArray[Any], currency: pa.Array | str) -> pa.Array:
    """Non-negative minor units as decimal strings in major units of each row's currency."""
    if isinstance(currency, str):
        places = np.full(len(minor), exponent(currency), dtype=np.int64)
    else:
        places = np.zeros(len(minor), dtype=np.int64)
        for code in pc.unique(currency).to_pylist():
            places[np.asarray(pc.equal(currency, code), dtype=bool)] = exponent(code)
    integers = pa.array(minor.tolist()) if minor.dtype == object else pa.array(minor)
    digits = pc.cast(integers, pa.string())
    widths = np.unique(places).tolist()
    if len(widths) == 1:
        return _with_point(digits, widths[0])
    formatted = np.empty(len(minor), dtype=object)
    for width in widths:
        rows = np.flatnonzero(places == width)
        part = _with_point(digits.take(pa.array(rows)), width)
        formatted[rows] = part.to_numpy(zero_copy_only=False)
    return pa.array(formatted, pa.string())


def _with_point(digits: pa.Array, places: int) -> pa.Array:
    """``12345`` with 2 places is ``123.45``; ``5`` is ``0.05``."""
    if not places:
        return digits
    padded = pc.utf8_lpad(digits, width=places + 1, padding="0")
    whole = pc.utf8_slice_codeunits(padded, 0, -places)
    fraction = pc.utf8_slice_codeunits(padded, -places)
    return pc.binary_join_element_wise(whole, fraction, ".")
