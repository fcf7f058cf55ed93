"""``clearing report imbalance`` on PostgreSQL: the table a person reads and the CSV a
spreadsheet reads carry the same figures as the API."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

from clearing.domain.money import format_amount
from clearing.entrypoints.cli import app
from tests.pilot import Pilot, settle

runner = CliRunner()


def test_the_imbalance_report_prints_a_table_and_writes_the_csv_of_one_row_per_corridor(
    pilot: Pilot, on_test_database: str, tmp_path: Path
) -> None:
    cycle = settle(pilot)
    assert cycle.summary is not None
    assert cycle.rates is not None
    base = cycle.rates.base

    table = runner.invoke(app, ["report", "imbalance"], env={"COLUMNS": "160"})
    assert table.exit_code == 0, table.output
    assert "Imbalance over cycles" in table.output
    assert "Still carried, by age in days" in table.output
    for corridor in cycle.summary.corridors:
        assert format_amount(corridor.submitted, base) in table.output

    written = tmp_path / "imbalance.csv"
    exported = runner.invoke(
        app, ["report", "imbalance", "--format", "csv", "--output", str(written)]
    )
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(written.read_text(encoding="utf-8"))))
    assert [(r["cycle_number"], r["from"], r["to"], r["carried"]) for r in rows] == [
        (str(cycle.number), c.source, c.target, format_amount(c.carried, base))
        for c in cycle.summary.corridors
    ]


def test_a_backwards_cycle_range_is_refused_naming_the_option(
    pilot: Pilot, on_test_database: str
) -> None:
    refused = runner.invoke(app, ["report", "imbalance", "--from-cycle", "3", "--to-cycle", "2"])
    assert refused.exit_code == 2
    assert "from_cycle" in refused.output
