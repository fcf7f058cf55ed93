"""``OBLIGATIONS.csv`` read straight into columns, with vectorised checks.

Arrow's CSV reader parses the file in C; every field is then checked column by column with the
same rules as the row reader (:func:`clearing.adapters.files.netting.parse_obligations`), but
only ever more strictly: anything the vectorised checks cannot vouch for — a bad field, unusual
text, a duplicate id — sends the file to the row reader, which accepts it or names the first bad
line and field exactly as it always has. So a valid file is read fast and a bad one is reported
precisely, and both readers accept exactly the same files.
"""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as arrow_csv

from clearing.adapters.files.netting import OBLIGATION_COLUMNS, REQUIRED_COLUMNS, read_obligations
from clearing.domain.errors import InvalidInput
from clearing.domain.money import MAX_MINOR_UNITS, exponent
from clearing.domain.netting.columns import ObligationColumns, days_from_civil
from clearing.domain.rates import RateSet

#: Printable ASCII without spaces: the identifiers the fast path accepts (a subset of the row
#: reader's 1 to 128 characters without whitespace or control characters).
_IDENTIFIER = r"^[!-~]{1,128}$"
_AMOUNT = r"^(?P<whole>[0-9]{1,15})(?:\.(?P<fraction>[0-9]+))?$"
_INTEGER = r"^-?[0-9]{1,18}$"


class _NotVouched(Exception):
    """The fast path cannot vouch for the file; the row reader decides."""


def read_obligation_columns(path: str | Path, rates: RateSet) -> ObligationColumns:
    """Read an ``OBLIGATIONS.csv`` file into columns, checking every row against ``rates``;
    bad input raises :class:`~clearing.adapters.files.netting.FileInputError` naming the file,
    line and field."""
    try:
        return _read_vouched(Path(path), rates)
    except _NotVouched:
        return ObligationColumns.of(read_obligations(path, rates))


def _read_vouched(path: Path, rates: RateSet) -> ObligationColumns:
    header = _header(path)
    if any(name not in header for name in REQUIRED_COLUMNS) or len(set(header)) != len(header):
        raise _NotVouched
    raw = {name: header.index(name) for name in OBLIGATION_COLUMNS if name in header}
    try:
        table = arrow_csv.read_csv(
            path,
            read_options=arrow_csv.ReadOptions(
                column_names=list(map(str, range(len(header)))), skip_rows=1
            ),
            parse_options=arrow_csv.ParseOptions(newlines_in_values=False),
            convert_options=arrow_csv.ConvertOptions(
                include_columns=[str(i) for i in raw.values()],
                column_types={str(i): pa.string() for i in raw.values()},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError):
        raise _NotVouched from None
    if table.num_rows == 0:
        raise _NotVouched
    # Column checks are Arrow and numpy kernels outside the GIL: two threads share them.
    with ThreadPoolExecutor(max_workers=2) as pool:
        trimmed = pool.map(lambda i: _ascii_trimmed(table.column(str(i))), raw.values())
        cells = dict(zip(raw, trimmed, strict=True))
        return _columns(cells, rates, table.num_rows, pool)


def _header(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            row = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        raise _NotVouched from None
    if row is None:
        raise _NotVouched
    return [name.strip() for name in row]


def _ascii_trimmed(column: pa.ChunkedArray) -> pa.Array:
    array = column.combine_chunks()
    if not pc.all(pc.string_is_ascii(array)).as_py():
        raise _NotVouched
    return pc.ascii_trim_whitespace(array)


def _require(condition: pa.Array | pa.Scalar) -> None:
    value = pc.all(condition).as_py() if isinstance(condition, pa.Array) else condition.as_py()
    if not value:
        raise _NotVouched


def _columns(
    cells: dict[str, pa.Array], rates: RateSet, rows: int, pool: ThreadPoolExecutor
) -> ObligationColumns:
    identifiers = [
        pool.submit(_require_identifiers, cells[name])
        for name in ("obligation_id", "debtor_id", "creditor_id")
    ]
    due_dates = pool.submit(_dates, cells["due_date"])
    priorities = pool.submit(_integers, cells.get("priority"), rows)
    sequences = pool.submit(_integers, cells.get("sequence"), rows)
    jurisdictions = sorted(rates.jurisdictions)
    debtor_side = _index_in(cells["debtor_jurisdiction"], jurisdictions)
    creditor_side = _index_in(cells["creditor_jurisdiction"], jurisdictions)
    if np.any(debtor_side == creditor_side):
        raise _NotVouched
    currencies = sorted(pc.unique(cells["currency"]).to_pylist())
    try:
        exponents = [exponent(c) for c in currencies]
    except InvalidInput:
        raise _NotVouched from None
    if rates.missing(currencies):
        raise _NotVouched
    places = np.array(exponents, dtype=np.int64)[_index_in(cells["currency"], currencies)]
    outstanding = _amounts(cells["amount"], places)
    for checked in identifiers:
        checked.result()
    # Duplicate ids, and a participant in two jurisdictions, are found by the netting core as
    # it codes them; the command then lets the row reader name the line (see ``clearing net``).
    return ObligationColumns(
        obligation_id=cells["obligation_id"],
        debtor_id=cells["debtor_id"],
        debtor_jurisdiction=cells["debtor_jurisdiction"],
        creditor_id=cells["creditor_id"],
        creditor_jurisdiction=cells["creditor_jurisdiction"],
        currency=cells["currency"],
        outstanding=outstanding,
        due_date=due_dates.result(),
        priority=priorities.result(),
        sequence=sequences.result(),
    )


def _require_identifiers(column: pa.Array) -> None:
    _require(pc.match_substring_regex(column, _IDENTIFIER))


def _index_in(column: pa.Array, labels: list[str]) -> npt.NDArray[np.int64]:
    found = pc.index_in(column, value_set=pa.array(labels, pa.string()))
    if found.null_count:
        raise _NotVouched
    return np.asarray(found, dtype=np.int64)


def _amounts(text: pa.Array, places: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    _require(pc.match_substring_regex(text, _AMOUNT))
    parts = pc.extract_regex(text, _AMOUNT)
    whole = np.asarray(pc.cast(parts.field("whole"), pa.int64()), dtype=np.int64)
    fraction = parts.field("fraction")
    digits = np.asarray(pc.utf8_length(fraction), dtype=np.int64)
    if np.any(digits > places):
        raise _NotVouched
    minor_units = whole * 10**places
    for minor in sorted(set(places.tolist()) - {0}):
        rows = np.flatnonzero(places == minor)
        padded = pc.utf8_rpad(fraction.take(pa.array(rows)), width=minor, padding="0")
        minor_units[rows] += np.asarray(pc.cast(padded, pa.int64()), dtype=np.int64)
    if len(minor_units) and (minor_units.min() <= 0 or minor_units.max() > MAX_MINOR_UNITS):
        raise _NotVouched
    return minor_units


_DIGIT_PLACES = [0, 1, 2, 3, 5, 6, 8, 9]


def _dates(text: pa.Array) -> npt.NDArray[np.int64]:
    """``YYYY-MM-DD`` read from the column's bytes, ten per value, checked as a calendar date."""
    count = len(text)
    _validity, offset_buffer, data_buffer = text.buffers()
    offsets = np.frombuffer(offset_buffer, dtype="<i4")[text.offset : text.offset + count + 1]
    if count == 0 or np.any(np.diff(offsets) != 10):
        raise _NotVouched
    start = int(offsets[0])
    cells = np.frombuffer(data_buffer, dtype=np.uint8)[start : start + 10 * count]
    cells = cells.reshape(count, 10)
    if np.any(cells[:, [4, 7]] != ord("-")):
        raise _NotVouched
    digits: npt.NDArray[np.int64] = cells[:, _DIGIT_PLACES].astype(np.int64) - ord("0")
    if np.any((digits < 0) | (digits > 9)):
        raise _NotVouched
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    month: npt.NDArray[np.int64] = digits[:, 4] * 10 + digits[:, 5]
    day: npt.NDArray[np.int64] = digits[:, 6] * 10 + digits[:, 7]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    longest = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)]
    longest = longest + ((month == 2) & leap)
    if np.any((year < 1) | (month < 1) | (month > 12) | (day < 1) | (day > longest)):
        raise _NotVouched
    return days_from_civil(year, month, day)


def _integers(text: pa.Array | None, rows: int) -> npt.NDArray[np.int64]:
    if text is None:
        return np.zeros(rows, dtype=np.int64)
    present = pc.not_equal(text, "")
    _require(pc.or_(pc.invert(present), pc.match_substring_regex(text, _INTEGER)))
    filled = pc.if_else(present, text, "0")
    return np.asarray(pc.cast(filled, pa.int64()), dtype=np.int64)
