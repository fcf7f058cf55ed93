"""docker-compose.yml is for users (no Docker engine runs here): check it agrees with the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from clearing.adapters.persistence.database import database_url

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def test_compose_runs_postgres_a_one_shot_migration_and_the_api() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "api"}
    assert services["migrate"]["command"] == ["clearing", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_api_and_the_migration_use_the_same_database_as_the_app_would() -> None:
    services = compose()["services"]
    postgres = services["postgres"]["environment"]
    urls = {services[name]["environment"]["DATABASE_URL"] for name in ("migrate", "api")}
    assert len(urls) == 1
    (url,) = urls
    expected = (
        f"postgresql://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    assert url == expected
    assert database_url(url).startswith("postgresql+psycopg://")


def test_the_api_port_matches_the_serve_command_and_the_health_checks() -> None:
    api = compose()["services"]["api"]
    command = api["command"]
    port = command[command.index("--port") + 1]
    assert api["ports"] == [f"{port}:{port}"]
    assert f"127.0.0.1:{port}/readyz" in " ".join(api["healthcheck"]["test"])
    assert "pg_isready" in " ".join(compose()["services"]["postgres"]["healthcheck"]["test"])


def test_postgres_keeps_its_data_in_a_named_volume() -> None:
    document = compose()
    volume = document["services"]["postgres"]["volumes"][0].split(":")[0]
    assert volume in document["volumes"]


def test_the_dockerfile_serves_the_same_port_and_checks_readiness() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "EXPOSE 8000" in dockerfile
    assert "/readyz" in dockerfile
    assert '"clearing", "serve"' in dockerfile
