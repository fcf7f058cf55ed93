"""The README's test command works on a fresh machine: it installs what its tests need."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dry_run_of(target: str) -> str:
    # ``make -n`` prints every recipe line without running it, whatever is already installed.
    return subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_the_readme_names_make_test_as_the_test_command() -> None:
    assert re.search(r"^make test\b", (ROOT / "README.md").read_text(), re.MULTILINE)


def test_make_test_installs_dev_tools_browser_curl_and_jq_before_running_the_suite() -> None:
    recipe = dry_run_of("test")
    installs_tools = recipe.index("pip install")
    # chromium for the browser tests, curl and jq for the README's tour: whichever is missing.
    looks_for_tools = recipe.index("for tool in chromium curl jq")
    installs_browser = recipe.index("apt-get install -y -qq $missing")
    runs_suite = recipe.index("pytest")
    assert looks_for_tools < installs_browser
    assert installs_tools < runs_suite
    assert installs_browser < runs_suite


def test_ci_runs_the_readme_test_command() -> None:
    assert re.search(r"^make test$", (ROOT / ".ci/run").read_text(), re.MULTILINE)
