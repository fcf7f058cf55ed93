"""The layers of DESIGN §9, enforced by folder on the source text: a module's path says what it
may import, so a new module is checked the day it is added."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "clearing"
FRAMEWORKS = {"fastapi", "pydantic", "starlette", "uvicorn", "typer", "rich", "jinja2"}
STORAGE = {"sqlalchemy", "alembic", "psycopg"}
#: The third-party libraries the pure domain may use: arrays and columns, the flow solver,
#: currency data.
DOMAIN_LIBRARIES = {"numpy", "pyarrow", "ortools", "iso4217"}
#: Standard-library modules that reach outside the process.
INPUT_OUTPUT = {"os", "io", "pathlib", "socket", "subprocess", "shutil", "tempfile", "sqlite3"}
INPUT_OUTPUT |= {"csv", "urllib", "http", "logging", "sys", "xml"}
LONGEST_MODULE = 600


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (function-level imports count too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules_in(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def offenders(paths: list[Path], forbidden: Callable[[str], bool]) -> dict[str, list[str]]:
    """``{path: [imports]}`` for each file importing a module ``forbidden(name)`` is true of."""
    found = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if forbidden(m))
        for path in paths
    }
    return {path: names for path, names in found.items() if names}


def top(module: str) -> str:
    return module.split(".")[0]


def layer(module: str) -> str | None:
    """``domain``, ``use_cases``, ``adapters`` or ``entrypoints`` for the engine's modules."""
    parts = module.split(".")
    return parts[1] if parts[0] == "clearing" and len(parts) > 1 else None


def test_the_domain_imports_only_the_standard_library_and_its_own_libraries() -> None:
    def impure(module: str) -> bool:
        name = top(module)
        if name == "clearing":
            return layer(module) != "domain"
        if name in sys.stdlib_module_names:
            return name in INPUT_OUTPUT
        return name not in DOMAIN_LIBRARIES

    assert offenders(modules_in("clearing/domain"), impure) == {}


def test_the_domain_does_no_io_and_uses_no_floats() -> None:
    for path in modules_in("clearing/domain"):
        source = path.read_text(encoding="utf-8")
        assert "float(" not in source, path
        assert "open(" not in source, path


def test_the_use_cases_import_no_framework_and_no_adapter() -> None:
    def outside(module: str) -> bool:
        if top(module) == "clearing":
            return layer(module) not in ("domain", "use_cases")
        return top(module) in FRAMEWORKS | STORAGE or top(module) == "service"

    assert offenders(modules_in("clearing/use_cases"), outside) == {}


def test_the_adapters_import_the_domain_and_no_other_layer() -> None:
    def upward(module: str) -> bool:
        return top(module) == "service" or layer(module) in ("use_cases", "entrypoints")

    assert offenders(modules_in("clearing/adapters"), upward) == {}


def test_only_the_persistence_adapter_and_the_migrations_import_the_storage_libraries() -> None:
    everything_else = [
        path
        for path in modules_in("clearing", "service")
        if not path.is_relative_to(ENGINE / "adapters" / "persistence")
    ]
    assert offenders(everything_else, lambda m: top(m) in STORAGE) == {}


def test_the_service_reaches_the_adapters_only_through_the_composition_root() -> None:
    def around(module: str) -> bool:
        if layer(module) == "adapters":
            return True
        return layer(module) == "entrypoints" and not module.startswith(
            "clearing.entrypoints.bootstrap"
        )

    assert offenders(modules_in("service"), around) == {}


def test_the_engine_never_imports_the_http_service_but_to_serve_it() -> None:
    engine = [path for path in modules_in("clearing") if path != ENGINE / "entrypoints" / "cli.py"]
    assert offenders(engine, lambda m: top(m) == "service") == {}


def test_no_module_of_the_engine_or_the_service_is_longer_than_about_six_hundred_lines() -> None:
    lengths = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in modules_in("clearing", "service")
    }
    assert {path: n for path, n in lengths.items() if n > LONGEST_MODULE} == {}
