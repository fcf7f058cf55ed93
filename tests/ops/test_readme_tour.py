"""The README's tour with curl is docs/tour.sh, word for word, and runs as it is written: on a
database it creates, against the real server, to a settled cycle and a verified journal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import ADMIN_URL
from tests.ops.live_server import free_port

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
TOUR_HEADING = "### A tour with curl"
#: The tour takes about twenty seconds; past this, it is stopped with its server.
TOUR_SECONDS = 120


def readme_tour() -> str:
    """The first ```bash block after the tour's heading in README.md."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(TOUR_HEADING, 1)[1]
    found = re.search(r"^```bash\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    assert found is not None, "the tour section has no ```bash block"
    return found.group(1)


@pytest.fixture
def tour_database_url() -> Iterator[str]:
    """The URL of a database that does not exist yet (the tour creates it); dropped afterwards."""
    name = f"clearing_tour_{uuid.uuid4().hex[:12]}"
    yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_tour(
    script: Path, database_url: str, out: Path
) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run ``script`` with bash from the repository's root, with the installed ``clearing`` on
    PATH, and tell whether it left a process running (its server). Whatever of its process
    group is left, on a timeout too, is stopped."""
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": database_url,
        "PORT": str(free_port()),
        "OUT": str(out),
    }
    process = subprocess.Popen(
        ["bash", str(script)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=TOUR_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
        pytest.fail(f"the tour took over {TOUR_SECONDS} s\n{stdout}\n{stderr}")
    finally:
        left_running = _stop_leftovers(process.pid)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return result, left_running


def _stop_leftovers(group: int) -> bool:
    """Kill what still runs of the tour's process group; whether anything did."""
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def test_the_readmes_tour_is_docs_tour_sh_word_for_word() -> None:
    assert readme_tour() == (ROOT / "docs" / "tour.sh").read_text(encoding="utf-8")


def test_the_readmes_tour_runs_literally_to_a_settled_cycle_and_a_verified_journal(
    tour_database_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "tour.sh"
    script.write_text(readme_tour(), encoding="utf-8")
    out = tmp_path / "out"

    result, left_running = run_tour(script, tour_database_url, out)

    report = f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 0, report
    assert not left_running, "the tour left its server running"
    assert "created the database" in result.stdout, report
    assert "AT-001: CNY 125000.00, eligible" in result.stdout, report
    assert "HS-001: RUB 1000000.00, eligible" in result.stdout, report
    assert '"carried":"46900.00"' in result.stdout, report
    assert "RU approved; the cycle is approved" in result.stdout, report
    assert "cycle settling" in result.stdout, report
    assert '{"entries":2,"matched":1,"unmatched":1,"duplicates":0}' in result.stdout, report
    assert "RUB 5000.00 returned" in result.stdout, report
    assert re.search(r"^cycle cyc_\S+ settled$", result.stdout, re.MULTILINE), report
    assert '{"ok":true,' in result.stdout, report
    assert re.search(r"^ok: \d+ entries, 1 cycles re-netted", result.stdout, re.MULTILINE), report
    assert result.stdout.rstrip().endswith("== tour complete"), report
    for entity, total in (("CN", "78100.00"), ("RU", "1000000.00")):
        payments = (out / f"pain001-{entity}.xml").read_text(encoding="utf-8")
        assert "pain.001.001.09" in payments
        assert f"<CtrlSum>{total}</CtrlSum>" in payments
    assert (out / "journal.jsonl").read_text(encoding="utf-8").count("\n") >= 8
