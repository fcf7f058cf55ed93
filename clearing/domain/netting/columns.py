"""A snapshot of obligations as columns: what the netting core reads (DESIGN §4).

Text columns are Arrow string arrays (ids and codes; the core sorts and codes them in C), the
rest numpy arrays: ``outstanding``, ``priority`` and ``sequence`` as signed 64-bit integers
(``outstanding`` in minor units of ``currency``; an amount beyond 64 bits is kept as an exact
Python int in an object array) and ``due_date`` as days since 1970-01-01. Readers build these
straight from a CSV file or a database cursor; :meth:`ObligationColumns.of` builds them from
:class:`~clearing.domain.obligations.Obligation` values, a convenience for small inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from clearing.domain.obligations import RECORD_COLUMNS, Obligation

IntArray = npt.NDArray[np.int64]
#: Day 0 of ``due_date``.
EPOCH = date(1970, 1, 1)
_EPOCH_ORDINAL = EPOCH.toordinal()
#: The snapshot's columns, the fields of an obligation in order: the obligation record's, with
#: the amount as what is outstanding.
SNAPSHOT_COLUMNS = tuple("outstanding" if c == "amount" else c for c in RECORD_COLUMNS)
#: The text columns: ids, jurisdictions and the currency, the first six of the snapshot's.
TEXT_COLUMNS = SNAPSHOT_COLUMNS[:6]


@dataclass(frozen=True)
class ObligationColumns:
    """One row per obligation, in any order (the core puts them in obligation-id order)."""

    obligation_id: pa.Array
    debtor_id: pa.Array
    debtor_jurisdiction: pa.Array
    creditor_id: pa.Array
    creditor_jurisdiction: pa.Array
    currency: pa.Array
    outstanding: npt.NDArray[Any]
    due_date: IntArray
    priority: IntArray
    sequence: IntArray

    def __len__(self) -> int:
        return len(self.obligation_id)

    @classmethod
    def of(cls, obligations: Iterable[Obligation]) -> ObligationColumns:
        rows = list(obligations)

        def text(name: str) -> pa.Array:
            return pa.array([getattr(o, name) for o in rows], pa.string())

        return cls(
            **{name: text(name) for name in TEXT_COLUMNS},
            outstanding=integers([o.outstanding for o in rows]),
            due_date=np.fromiter(
                (o.due_date.toordinal() - _EPOCH_ORDINAL for o in rows), np.int64, len(rows)
            ),
            priority=np.fromiter((o.priority for o in rows), np.int64, len(rows)),
            sequence=np.fromiter((o.sequence for o in rows), np.int64, len(rows)),
        )

    @classmethod
    def from_lists(cls, lists: dict[str, list[Any]]) -> ObligationColumns:
        """Columns from Python lists named as :data:`SNAPSHOT_COLUMNS` (due dates as dates),
        as a database cursor yields them."""
        return cls(
            **{name: pa.array(lists[name], pa.string()) for name in TEXT_COLUMNS},
            outstanding=integers(lists["outstanding"]),
            due_date=np.array(lists["due_date"], dtype="datetime64[D]").astype(np.int64),
            priority=np.array(lists["priority"], dtype=np.int64),
            sequence=np.array(lists["sequence"], dtype=np.int64),
        )

    def to_lists(self) -> dict[str, list[Any]]:
        """The columns as Python lists named as :data:`SNAPSHOT_COLUMNS` (due dates as dates)."""
        lists: dict[str, list[Any]] = {
            name: getattr(self, name).to_pylist() for name in TEXT_COLUMNS
        }
        lists["outstanding"] = self.outstanding.tolist()
        days = self.due_date.tolist()
        calendar = {day: EPOCH + timedelta(days=day) for day in set(days)}
        lists["due_date"] = [calendar[day] for day in days]
        lists["priority"] = self.priority.tolist()
        lists["sequence"] = self.sequence.tolist()
        return lists

    def take(self, indices: npt.NDArray[np.intp]) -> ObligationColumns:
        """The rows at ``indices``, in that order."""
        arrow_indices = pa.array(indices, pa.int64())
        return ObligationColumns(
            **{name: getattr(self, name).take(arrow_indices) for name in TEXT_COLUMNS},
            outstanding=self.outstanding[indices],
            due_date=self.due_date[indices],
            priority=self.priority[indices],
            sequence=self.sequence[indices],
        )

    def obligations(self) -> Iterator[Obligation]:
        """The rows as :class:`Obligation` values (for reading a result, not for netting)."""
        lists = self.to_lists()
        return map(Obligation, *(lists[name] for name in SNAPSHOT_COLUMNS))


def integers(values: Sequence[int]) -> npt.NDArray[Any]:
    """Signed 64-bit integers when every value fits, else exact Python ints (an object array)."""
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        exact: npt.NDArray[np.object_] = np.array([int(v) for v in values], dtype=object)
        return exact


def civil_from_days(
    days: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Year, month and day of the proleptic Gregorian calendar, from days since 1970-01-01
    (H. Hinnant's ``civil_from_days``, in integers)."""
    shifted = days + 719468
    era = np.floor_divide(shifted, 146097)
    day_of_era = shifted - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = np.where(month_index < 10, month_index + 3, month_index - 9)
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, day


def days_from_civil(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's ``days_from_civil``)."""
    year = year - (month <= 2)
    era = np.floor_divide(year, 400)
    year_of_era = year - era * 400
    day_of_year = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days: npt.NDArray[np.int64] = era * 146097 + day_of_era - 719468
    return days
