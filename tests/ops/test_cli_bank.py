"""``clearing bank``: a statement imported from a file on PostgreSQL prints the import's JSON
(the API's answer), a re-import records nothing, and the suspense list is worked from the
command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clearing.entrypoints.cli import app
from clearing.use_cases import cycles, settlement
from tests.bank_files import Line, camt
from tests.pilot import ENTITY_BANKS, Pilot

runner = CliRunner()


def test_bank_import_matches_a_camt_054_and_the_suspense_list_is_worked_from_the_cli(
    pilot: Pilot, on_test_database: str, tmp_path: Path
) -> None:
    cycle = pilot.cycle
    for entity in cycle.required_approvals:
        assert cycle.digest is not None
        cycle = cycles.approve_cycle(
            pilot.uows(), pilot.principals[f"op-{entity}"], cycle.id, cycle.digest
        )
    views = settlement.cycle_positions(pilot.uows(), pilot.principals["op-CN"], cycle.id)
    lines = [
        Line(f"CN-{n}", v.outstanding, "CNY", remittance=v.payment_reference or "")
        for n, v in enumerate(views)
        if v.outstanding
    ]
    lines.append(Line("CN-STRAY", 5_00, "CNY", remittance="unknown", structured=False))
    statement = tmp_path / "camt054.xml"
    statement.write_bytes(camt(lines, account=ENTITY_BANKS["CN"][1]))

    first = runner.invoke(app, ["bank", "import", str(statement), "--entity", "CN"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert (report["matched"], report["unmatched"], report["duplicates"]) == (len(lines) - 1, 1, 0)
    again = json.loads(
        runner.invoke(app, ["bank", "import", str(statement), "--entity", "CN"]).output
    )
    assert (again["matched"], again["duplicates"]) == (0, len(lines))

    listed = runner.invoke(app, ["bank", "suspense", "list", "--entity", "CN"])
    assert listed.exit_code == 0, listed.output
    assert "CN-STRAY" in listed.output
    [stray] = [line for line in report["lines"] if line["status"] == "suspense"]
    returned = runner.invoke(
        app, ["bank", "suspense", "return", stray["id"], "--entity", "CN", "--reason", "unknown"]
    )
    assert returned.exit_code == 0, returned.output
    assert "the return transfer quotes RF" in returned.output
    twice = runner.invoke(
        app, ["bank", "suspense", "return", stray["id"], "--entity", "CN", "--reason", "again"]
    )
    assert twice.exit_code == 1
    assert "returned, not in suspense" in twice.output


def test_bank_import_refuses_an_invalid_statement_naming_the_element_and_exits_2(
    pilot: Pilot, on_test_database: str, tmp_path: Path
) -> None:
    statement = tmp_path / "bad.xml"
    statement.write_bytes(camt([Line("E-1", 100)]).replace(b"<CdtDbtInd>CRDT", b"<CdtDbtInd>BOTH"))
    refused = runner.invoke(app, ["bank", "import", str(statement), "--entity", "CN"])
    assert refused.exit_code == 2
    assert "CdtDbtInd" in refused.output
    missing = runner.invoke(app, ["bank", "import", str(tmp_path / "none.xml"), "--entity", "CN"])
    assert missing.exit_code == 2
    assert "cannot be read" in missing.output
