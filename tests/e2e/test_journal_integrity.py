"""The journal defends itself twice: the database refuses to change it, and the hash chain names
any entry changed behind the database's back (DESIGN §5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from clearing.entrypoints.cli import app as cli
from tests.e2e.conftest import MakeWorld
from tests.e2e.world import Json, World, assert_ledger_closed


@pytest.fixture
def pilot(make_world: MakeWorld) -> World:
    """A smaller pilot than the suite's: CN and RU with two traders each."""
    return make_world(("CN", "RU"), 2)


@pytest.fixture
def settled(pilot: World) -> Json:
    """One settled cycle in which both entities have payers and payees: six journal entries."""
    (c0, c1), (r0, r1) = pilot.traders["CN"], pilot.traders["RU"]
    pilot.invoice(r0, c0, "5000.00")
    pilot.invoice(r1, c1, "420.00", currency="USD")
    pilot.invoice(c0, r1, "2100.50")
    pilot.invoice(c1, r0, "30000.00", currency="RUB")
    cycle = pilot.settle()
    report = pilot.verify()
    assert report["ok"] is True, report
    assert report["entries"] == 6
    return cycle


def _entries(connection: Connection) -> list[tuple[int, str]]:
    return [
        (int(s), str(h))
        for s, h in connection.execute(text("SELECT seq, hash FROM journal_entries ORDER BY seq"))
    ]


@pytest.mark.parametrize(
    ("change", "symptom"),
    [
        ("amount = amount + 100", "does not balance"),
        ("account = 'participant:FORGED'", "hash does not match"),
    ],
    ids=["amount", "account"],
)
def test_a_posting_changed_behind_the_triggers_back_is_named_by_its_seq(
    pilot: World, settled: Json, tmp_path: Path, change: str, symptom: str
) -> None:
    untouched = pilot.journal()
    with pilot.engine.begin() as connection:
        # As the table owner, with triggers off for this transaction only.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        changed = connection.execute(
            text(
                f"UPDATE journal_postings SET {change} "
                "WHERE seq = 3 AND line = (SELECT min(line) FROM journal_postings WHERE seq = 3)"
            )
        )
        assert changed.rowcount == 1

    report = pilot.verify()
    assert report["ok"] is False
    named = {p["seq"] for p in report["problems"] if "seq" in p}
    assert named == {3}, report["problems"]
    assert any(symptom in p["message"] for p in report["problems"] if p.get("seq") == 3)

    # The export shows the change and the offline verifier names the same entry.
    tampered = pilot.journal()
    assert len(tampered) == len(untouched) == 6
    assert tampered[2] != untouched[2]
    assert tampered[:2] == untouched[:2]
    assert tampered[3:] == untouched[3:]
    export = tmp_path / "tampered.jsonl"
    export.write_text("\n".join(tampered) + "\n", encoding="utf-8")
    outcome = CliRunner().invoke(cli, ["audit", "verify", "--from-file", str(export)])
    assert outcome.exit_code == 1, outcome.output
    assert "FAILED at entry 3:" in " ".join(outcome.output.split())

    # The untouched export still verifies: the chain proves which copy is genuine.
    genuine = tmp_path / "genuine.jsonl"
    genuine.write_text("\n".join(untouched) + "\n", encoding="utf-8")
    outcome = CliRunner().invoke(cli, ["audit", "verify", "--from-file", str(genuine)])
    assert outcome.exit_code == 0, outcome.output


def test_a_truncated_export_is_told_apart_from_the_whole_by_the_head_hash(
    pilot: World, settled: Json
) -> None:
    lines = pilot.journal()
    head = pilot.verify()["head_hash"]
    assert json.loads(lines[-1])["hash"] == head
    assert all(json.loads(line)["hash"] != head for line in lines[:-1])


REFUSED = (
    "UPDATE journal_postings SET amount = amount + 1 WHERE seq = 1",
    "UPDATE journal_entries SET kind = 'other' WHERE seq = 1",
    "DELETE FROM journal_postings WHERE seq = 6",
    "DELETE FROM journal_entries WHERE seq = 6",
    "TRUNCATE journal_postings",
    "TRUNCATE journal_entries, journal_postings",
)


def test_the_database_refuses_to_update_delete_or_truncate_the_journal(
    pilot: World, settled: Json
) -> None:
    before = pilot.journal()
    for statement in REFUSED:
        with (
            pytest.raises(IntegrityError, match="the journal is append-only") as refused,
            pilot.engine.begin() as connection,
        ):
            connection.execute(text(statement))
        assert statement.split()[0] in str(refused.value)
    assert pilot.journal() == before
    assert pilot.verify()["ok"] is True
    assert_ledger_closed(pilot)


def test_an_unbalanced_entry_inserted_directly_is_refused_when_its_transaction_commits(
    pilot: World, settled: Json
) -> None:
    participant = pilot.trader("CN", 0).id
    with pilot.engine.connect() as connection:
        seq, head = connection.execute(text("SELECT seq, hash FROM ledger_head")).one()
        assert (seq, head) == _entries(connection)[-1]
        connection.rollback()
        transaction = connection.begin()
        connection.execute(
            text(
                "INSERT INTO journal_entries "
                "(seq, entity, cycle_id, kind, cycle_record, prev_hash, hash, created_at) "
                "VALUES (:seq, 'CN', NULL, 'manual', NULL, :prev, :hash, :at)"
            ),
            {"seq": seq + 1, "prev": head, "hash": "f" * 64, "at": datetime.now(UTC)},
        )
        connection.execute(
            text(
                "INSERT INTO journal_postings (seq, line, entity, account, currency, amount) "
                "VALUES (:seq, 1, 'CN', 'settlement', 'CNY', 10000), "
                "(:seq, 2, 'CN', :account, 'CNY', -9999)"
            ),
            {"seq": seq + 1, "account": f"participant:{participant}"},
        )
        # Each statement was accepted: the check is deferred to the commit, which refuses.
        with pytest.raises(IntegrityError, match="does not balance"):
            transaction.commit()
        connection.rollback()
        assert _entries(connection)[-1][0] == seq

    report = pilot.verify()
    assert (report["ok"], report["entries"], report["problems"]) == (True, 6, [])
    assert_ledger_closed(pilot)


def test_an_entry_with_no_postings_is_refused_and_a_forged_balanced_one_is_named_by_the_audit(
    pilot: World, settled: Json
) -> None:
    participant = pilot.trader("CN", 0).id
    with pilot.engine.connect() as connection:
        seq, head = connection.execute(text("SELECT seq, hash FROM ledger_head")).one()
        connection.rollback()
        values = {"seq": seq + 1, "prev": head, "hash": "e" * 64, "at": datetime.now(UTC)}
        insert_entry = text(
            "INSERT INTO journal_entries "
            "(seq, entity, cycle_id, kind, cycle_record, prev_hash, hash, created_at) "
            "VALUES (:seq, 'CN', NULL, 'manual', NULL, :prev, :hash, :at)"
        )
        transaction = connection.begin()
        connection.execute(insert_entry, values)
        with pytest.raises(IntegrityError, match="has no postings"):
            transaction.commit()
        connection.rollback()

        # Balanced, so the database takes it; but its hash does not fit the chain.
        with connection.begin():
            connection.execute(insert_entry, values)
            connection.execute(
                text(
                    "INSERT INTO journal_postings (seq, line, entity, account, currency, amount) "
                    "VALUES (:seq, 1, 'CN', 'settlement', 'CNY', 500), "
                    "(:seq, 2, 'CN', :account, 'CNY', -500)"
                ),
                {"seq": seq + 1, "account": f"participant:{participant}"},
            )
    report = pilot.verify()
    assert report["ok"] is False
    assert report["entries"] == 7
    assert {p.get("seq") for p in report["problems"]} >= {seq + 1}
