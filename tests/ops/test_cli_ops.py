"""The operating commands: demo, import, audit verify and export, payment files."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearing.domain.parties import Entity
from clearing.entrypoints.cli import app
from clearing.use_cases import invoices
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.pilot import Pilot, settle

runner = CliRunner()


def test_the_demo_tells_the_pilot_story_over_three_cycles_on_an_embedded_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = runner.invoke(app, ["demo"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "clearing-demo.db").exists()
    output = result.output
    assert "rejected by compliance" in output
    assert "disputed" in output
    # A line confirmed by the other entity lifts November's settled share...
    assert "confirmed by the RU operator" in output
    assert re.search(r"cycle 2 settled: .* drew 20000000\.00 CNY", output)
    # ... what two cycles carried is released from the stale queue ...
    assert re.search(r"Stale queue: [1-9][0-9]* obligations released .* carried 2 cycles", output)
    # ... and December's reversed flow repays the line before anything is carried.
    assert re.search(r"cycle 3 settled: .* repaid 20000000\.00 CNY", output)
    assert "Imbalance over cycles" in output
    assert "Still carried, by age in days" in output
    assert "Cycle 3 (settled)" in output
    assert "Audit verified" in output
    assert "3 cycles re-netted" in output


def test_audit_verify_checks_the_database_and_an_exported_file(
    pilot: Pilot, on_test_database: str, tmp_path: Path
) -> None:
    settle(pilot)
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "ok" in verified.output
    journal = tmp_path / "journal.jsonl"
    exported = runner.invoke(app, ["audit", "export", "--output", str(journal)])
    assert exported.exit_code == 0, exported.output
    from_file = runner.invoke(app, ["audit", "verify", "--from-file", str(journal)])
    assert from_file.exit_code == 0, from_file.output
    lines = journal.read_text().splitlines()
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    failed = runner.invoke(app, ["audit", "verify", "--from-file", str(tampered)])
    assert failed.exit_code == 1
    assert "FAILED at entry 2" in failed.output


def test_commands_on_an_unmigrated_database_say_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 2
    assert "clearing db upgrade" in result.output


def test_payments_writes_a_pain_001_file_and_csv_for_a_settled_cycle(
    pilot: Pilot, on_test_database: str, tmp_path: Path
) -> None:
    cycle = settle(pilot)
    target = tmp_path / "ru.xml"
    result = runner.invoke(app, ["payments", cycle.id, "--entity", "RU", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "pain.001.001.09" in target.read_text()
    as_csv = runner.invoke(app, ["payments", cycle.id, "--entity", "CN", "--format", "csv"])
    assert as_csv.exit_code == 0
    assert as_csv.output.startswith("entity,participant_id,name,bank_account,bank_code,purpose")


def test_payments_of_a_cycle_not_settled_exit_1_naming_its_status_and_write_nothing(
    pilot: Pilot, on_test_database: str, tmp_path: Path
) -> None:
    target = tmp_path / "cn.xml"
    result = runner.invoke(
        app, ["payments", pilot.cycle.id, "--entity", "CN", "--output", str(target)]
    )
    assert result.exit_code == 1
    assert f"cycle {pilot.cycle.id} is proposed" in result.output
    assert not target.exists()


def test_payments_with_nothing_to_pay_write_no_file_and_say_so(
    pilot: Pilot, on_test_database: str, tmp_path: Path
) -> None:
    cycle = settle(pilot)
    with pilot.uows() as uow:  # KZ has no leg in a CN-RU cycle (nor a bank yet): it pays nothing
        uow.entities.add(Entity("KZ", "KZT", "Kazakhstan"))
        uow.commit()
    target = tmp_path / "kz.xml"

    result = runner.invoke(app, ["payments", cycle.id, "--entity", "KZ", "--output", str(target)])

    assert result.exit_code == 0, result.output
    assert f"nothing to pay for cycle {cycle.id} from KZ: no file written" in result.output
    assert not target.exists()


def test_import_submits_a_csv_through_the_use_cases_and_reports_each_refusal(
    pilot: Pilot, on_test_database: str, tmp_path: Path
) -> None:
    exporter = pilot.principals["cn1"].participant_id
    importer = pilot.principals["ru1"].participant_id
    path = tmp_path / "invoices.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "exporter_id",
                "invoice_number",
                "importer_id",
                "currency",
                "amount",
                "issue_date",
                "due_date",
                "hs_code",
                "description",
            ]
        )
        for number in range(25):
            writer.writerow(
                [
                    exporter,
                    f"IMP-{number}",
                    importer,
                    "CNY",
                    "1000.00",
                    "2026-11-01",
                    "2026-12-01",
                    "0808",
                    "apples",
                ]
            )
        writer.writerow(
            [
                exporter,
                "IMP-ARMS",
                importer,
                "CNY",
                "5.00",
                "2026-11-01",
                "2026-12-01",
                "9302",
                "pistols",
            ]
        )
        writer.writerow(
            [
                exporter,
                "IMP-BAD",
                importer,
                "CNY",
                "1.001",
                "2026-11-01",
                "2026-12-01",
                "0808",
                "apples",
            ]
        )
    result = runner.invoke(app, ["import", str(path), "--entity", "CN", "--confirm"])
    assert result.exit_code == 2, result.output
    assert "25 accepted, 1 rejected by compliance, 1 refused" in result.output
    assert "line 28" in result.output
    eligible = [
        i
        for i in all_invoices(pilot.uows, pilot)
        if i.invoice_number.startswith("IMP-") and i.status.value == "eligible"
    ]
    assert len(eligible) == 25


def all_invoices(uows: UnitOfWorkFactory, pilot: Pilot) -> list:  # type: ignore[type-arg]
    return invoices.list_invoices(uows(), pilot.principals["auditor"], limit=500)


def test_keys_list_shows_no_secret_and_keys_revoke_refuses_the_key_at_once(
    on_test_database: str,
) -> None:
    created = runner.invoke(app, ["keys", "create", "--role", "auditor", "--label", "audit desk"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip()

    listed = runner.invoke(app, ["keys", "list"])

    assert listed.exit_code == 0, listed.output
    assert secret not in listed.output
    (row,) = [line.split("\t") for line in listed.output.splitlines() if "audit desk" in line]
    key_id, role, entity, participant, prefix, _created, state, label = row
    assert (role, entity, participant, prefix, state, label) == (
        "auditor", "-", "-", secret[:10], "active", "audit desk"
    )  # fmt: skip

    revoked = runner.invoke(app, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    assert f"key {key_id} revoked at" in revoked.output
    after = runner.invoke(app, ["keys", "list"]).output
    assert "active" not in next(line for line in after.splitlines() if key_id in line)
    unknown = runner.invoke(app, ["keys", "revoke", "key_nobody"])
    assert unknown.exit_code == 2
    assert "no key key_nobody" in unknown.output


def test_an_entity_is_added_with_four_eyes_and_an_admin_changes_it_and_its_bank(
    on_test_database: str,
) -> None:
    command = ["entities", "add", "EYES", "--currency", "MNT", "--name", "Ulaanbaatar"]
    added = runner.invoke(app, [*command, "--approvals", "2"])
    assert added.exit_code == 0, added.output
    assert "2 approvals by different operators per cycle; no bank account yet" in added.output
    assert "EYES\tMNT\t2\t-\t-\tUlaanbaatar" in runner.invoke(app, ["entities", "list"]).output

    changed = runner.invoke(
        app, ["entities", "set", "EYES", "--approvals", "1", "--bank-code", "golomnub",
              "--account", "4100 1234 5678"]
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    assert "one approval per cycle; pays from account 410012345678 at GOLOMNUB" in changed.output
    listed = runner.invoke(app, ["entities", "list"]).output
    assert "EYES\tMNT\t1\tGOLOMNUB\t410012345678\tUlaanbaatar" in listed

    refusals = {
        ("--approvals", "3"): "must be 1 or 2",
        ("--bank-code", "12345"): "is not a bank code",
        ("--account", "a b c !"): "must be 1 to 34 letters",
    }
    for (option, value), message in refusals.items():
        refused = runner.invoke(app, ["entities", "set", "EYES", option, value])
        assert refused.exit_code == 2, refused.output
        assert message in refused.output
    assert runner.invoke(app, ["entities", "set", "NOPE", "--approvals", "2"]).exit_code == 2
    assert runner.invoke(app, ["entities", "set", "EYES"]).exit_code == 2
