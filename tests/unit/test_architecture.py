"""The dependency direction of DESIGN §9, enforced on the source text."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = {"sqlalchemy", "alembic", "fastapi", "pydantic", "starlette", "uvicorn"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def engine_files() -> list[Path]:
    return sorted((ROOT / "clearing").rglob("*.py"))


def test_the_engine_outside_persistence_imports_no_framework() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in FRAMEWORKS
        )
        for path in engine_files()
        if "persistence" not in path.relative_to(ROOT / "clearing").parts and path.name != "cli.py"
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}


def test_the_engine_never_imports_the_http_service() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in engine_files()
        if path.name != "cli.py"
        and any(m.split(".")[0] == "service" for m in imported_modules(path))
    ]
    assert offenders == []


def test_only_persistence_imports_sqlalchemy() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in [*engine_files(), *sorted((ROOT / "service").rglob("*.py"))]
        if "persistence" not in path.parts
        and any(m.split(".")[0] == "sqlalchemy" for m in imported_modules(path))
    ]
    assert offenders == []


def test_the_pure_domain_does_no_io_and_uses_no_floats() -> None:
    pure = [
        "money",
        "rounding",
        "netting",
        "ledger",
        "circulation",
        "canonical",
        "rates",
        "obligations",
        "errors",
    ]
    for name in pure:
        path = ROOT / "clearing" / f"{name}.py"
        source = path.read_text(encoding="utf-8")
        assert "float(" not in source, name
        assert "open(" not in source, name
