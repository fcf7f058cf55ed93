"""The columnar reader of OBLIGATIONS.csv accepts exactly what the row reader accepts, and reads
it to the same obligations; what it cannot vouch for, the row reader reports."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearing.adapters.files import obligations_columns
from clearing.adapters.files.netting import FileInputError, read_obligations
from clearing.adapters.files.obligations_columns import read_obligation_columns
from clearing.domain.money import format_amount
from clearing.domain.netting.columns import ObligationColumns
from clearing.domain.obligations import RECORD_COLUMNS, Obligation
from clearing.domain.rates import RateSet
from tests.unit.strategies import Instance, instances


def csv_text(obligations: list[Obligation], padding: str, extra: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*RECORD_COLUMNS, *(["note"] if extra else [])])
    for o in obligations:
        cells = [
            o.obligation_id,
            o.debtor_id,
            o.debtor_jurisdiction,
            o.creditor_id,
            o.creditor_jurisdiction,
            o.currency,
            format_amount(o.outstanding, o.currency),
            o.due_date.isoformat(),
            str(o.priority),
            str(o.sequence),
        ]
        writer.writerow(
            [f"{padding}{cell}{padding}" for cell in cells] + (["x, y"] if extra else [])
        )
    return buffer.getvalue()


def as_lists(columns: ObligationColumns) -> list[Obligation]:
    return sorted(columns.obligations(), key=lambda o: o.obligation_id)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(instances(min_obligations=1), st.sampled_from(["", " ", "\t"]), st.booleans())
def test_the_columnar_reader_reads_a_valid_file_as_the_row_reader_does(
    tmp_path: Path, instance: Instance, padding: str, extra: bool
) -> None:
    path = tmp_path / "obligations.csv"
    path.write_text(csv_text(list(instance.obligations), padding, extra), encoding="utf-8")
    fast = read_obligation_columns(path, instance.rates)
    rows = read_obligations(path, instance.rates)
    assert as_lists(fast) == sorted(rows, key=lambda o: o.obligation_id)


RATES = RateSet.from_json(
    {
        "base": "CNY",
        "jurisdictions": {"CN": "CNY", "RU": "RUB"},
        "rates": {"CNY": "1", "RUB": "0.0781"},
    }
)


def test_a_plain_file_is_read_without_the_row_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "obligations.csv"
    path.write_text(
        ",".join(RECORD_COLUMNS)
        + "\no2,RU-A,RU,CN-A,CN,RUB,150.5,2026-11-30,1,"
        + "\no1,CN-A,CN,RU-A,RU,CNY,10.00,2026-12-31,,7\n"
    )

    def refuse(*_args: object) -> None:
        raise AssertionError("the row reader was used")

    monkeypatch.setattr(obligations_columns, "read_obligations", refuse)
    read = as_lists(read_obligation_columns(path, RATES))
    assert [(o.obligation_id, o.outstanding, o.priority, o.sequence) for o in read] == [
        ("o1", 1000, 0, 7),
        ("o2", 15050, 1, 0),
    ]


BAD_ROWS = {
    "an impossible date": ("2026-02-30", "due_date"),
    "a year zero": ("0000-01-01", "due_date"),
    "a zero amount": ("0.00", "amount"),
    "too many decimals": ("1.001", "amount"),
    "an amount over the limit": ("1000000000000.01", "amount"),
    "a space in an id": ("o 1", "obligation_id"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_a_file_the_columnar_reader_cannot_vouch_for_is_reported_by_the_row_reader(
    tmp_path: Path, case: str
) -> None:
    value, field = BAD_ROWS[case]
    cells = {
        "obligation_id": "o1",
        "debtor_id": "CN-A",
        "debtor_jurisdiction": "CN",
        "creditor_id": "RU-A",
        "creditor_jurisdiction": "RU",
        "currency": "CNY",
        "amount": "10.00",
        "due_date": "2026-12-31",
        "priority": "0",
        "sequence": "1",
    }
    cells[field] = value
    path = tmp_path / "obligations.csv"
    path.write_text(",".join(RECORD_COLUMNS) + "\n" + ",".join(cells.values()) + "\n")
    from clearing.domain.rates import RateSet

    rates = RateSet.from_json(
        {
            "base": "CNY",
            "jurisdictions": {"CN": "CNY", "RU": "RUB"},
            "rates": {"CNY": "1", "RUB": "0.0781"},
        }
    )
    with pytest.raises(FileInputError) as fast:
        read_obligation_columns(path, rates)
    with pytest.raises(FileInputError) as rows:
        read_obligations(path, rates)
    assert str(fast.value) == str(rows.value)
    assert fast.value.line == 2
    assert fast.value.field == field
