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
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as arrow_csv

from clearing.adapters.files.netting import OBLIGATION_COLUMNS, REQUIRED_COLUMNS, read_obligations
from clearing.domain.errors import InvalidInput
from clearing.domain.money import MAX_MINOR_UNITS, exponent
from clearing.domain.netting.columns import ObligationColumns
from clearing.domain.rates import RateSet

#: Printable ASCII without spaces: the identifiers the fast path accepts (a subset of the row
#: reader's 1 to 128 characters without whitespace or control characters).
_IDENTIFIER = r"^[!-~]{1,128}$"
_AMOUNT = r"^(?P<whole>[0-9]{1,15})(?:\.(?P<fraction>[0-9]+))?$"
_INTEGER = r"^-?[0-9]{1,18}$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


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
    cells = {name: _ascii_trimmed(table.column(str(i))) for name, i in raw.items()}
    return _columns(cells, rates, table.num_rows)


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


def _columns(cells: dict[str, pa.Array], rates: RateSet, rows: int) -> ObligationColumns:
    for name in ("obligation_id", "debtor_id", "creditor_id"):
        _require(pc.match_substring_regex(cells[name], _IDENTIFIER))
    jurisdictions = pa.array(sorted(rates.jurisdictions), pa.string())
    for name in ("debtor_jurisdiction", "creditor_jurisdiction"):
        _require(pc.is_in(cells[name], value_set=jurisdictions))
    _require(pc.not_equal(cells["debtor_jurisdiction"], cells["creditor_jurisdiction"]))
    currencies = sorted(pc.unique(cells["currency"]).to_pylist())
    try:
        exponents = {c: exponent(c) for c in currencies}
    except InvalidInput:
        raise _NotVouched from None
    if rates.missing(currencies):
        raise _NotVouched
    if pc.count_distinct(cells["obligation_id"]).as_py() != rows:
        raise _NotVouched
    _require_one_home_per_participant(cells)
    return ObligationColumns(
        obligation_id=cells["obligation_id"],
        debtor_id=cells["debtor_id"],
        debtor_jurisdiction=cells["debtor_jurisdiction"],
        creditor_id=cells["creditor_id"],
        creditor_jurisdiction=cells["creditor_jurisdiction"],
        currency=cells["currency"],
        outstanding=_amounts(cells["amount"], cells["currency"], exponents),
        due_date=_dates(cells["due_date"]),
        priority=_integers(cells.get("priority"), rows),
        sequence=_integers(cells.get("sequence"), rows),
    )


def _require_one_home_per_participant(cells: dict[str, pa.Array]) -> None:
    parties = pc.dictionary_encode(pa.concat_arrays([cells["debtor_id"], cells["creditor_id"]]))
    homes = pc.dictionary_encode(
        pa.concat_arrays([cells["debtor_jurisdiction"], cells["creditor_jurisdiction"]])
    )
    party = np.asarray(parties.indices, dtype=np.int64)
    home = np.asarray(homes.indices, dtype=np.int64)
    first = np.full(len(parties.dictionary), -1, dtype=np.int64)
    first[party] = home
    if np.any(first[party] != home):
        raise _NotVouched


def _amounts(text: pa.Array, currency: pa.Array, exponents: dict[str, int]) -> np.ndarray:
    _require(pc.match_substring_regex(text, _AMOUNT))
    parts = pc.extract_regex(text, _AMOUNT)
    whole = np.asarray(pc.cast(parts.field("whole"), pa.int64()), dtype=np.int64)
    fraction = parts.field("fraction")
    places = np.zeros(len(text), dtype=np.int64)
    for code, minor in exponents.items():
        places[np.asarray(pc.equal(currency, code), dtype=bool)] = minor
    digits = np.asarray(pc.utf8_length(fraction), dtype=np.int64)
    if np.any(digits > places):
        raise _NotVouched
    minor_units = whole * 10**places
    for minor in sorted(set(exponents.values()) - {0}):
        rows = np.flatnonzero(places == minor)
        padded = pc.utf8_rpad(fraction.take(pa.array(rows)), width=minor, padding="0")
        minor_units[rows] += np.asarray(pc.cast(padded, pa.int64()), dtype=np.int64)
    if len(minor_units) and (minor_units.min() <= 0 or minor_units.max() > MAX_MINOR_UNITS):
        raise _NotVouched
    return minor_units


def _dates(text: pa.Array) -> np.ndarray:
    _require(pc.match_substring_regex(text, _DATE))
    try:
        parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    except pa.ArrowInvalid:
        raise _NotVouched from None
    if parsed.null_count:
        raise _NotVouched
    # A lenient parser may roll 2026-02-30 over: the date must read back as written.
    _require(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), text))
    seconds = np.asarray(parsed.cast(pa.int64()), dtype=np.int64)
    days = seconds // 86400
    # Year 1 is the first the row reader accepts (0001-01-01 is day -719162).
    if len(days) and days.min() < -719162:
        raise _NotVouched
    return days


def _integers(text: pa.Array | None, rows: int) -> np.ndarray:
    if text is None:
        return np.zeros(rows, dtype=np.int64)
    present = pc.not_equal(text, "")
    _require(pc.or_(pc.invert(present), pc.match_substring_regex(text, _INTEGER)))
    filled = pc.if_else(present, text, "0")
    return np.asarray(pc.cast(filled, pa.int64()), dtype=np.int64)
