"""Metrics for Prometheus, request ids, JSON logs and the readiness check."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from service.app import create_app
from service.observability import configure_logging
from tests.pilot import Pilot


def test_metrics_count_requests_cycles_and_invoices_by_status(pilot: Pilot) -> None:
    client = TestClient(create_app(pilot.uows))
    headers = {"Authorization": f"Bearer {pilot.keys['auditor']}"}
    assert client.get(f"/v1/cycles/{pilot.cycle.id}", headers=headers).status_code == 200
    text = client.get("/metrics").text
    assert (
        'clearing_http_requests_total{method="GET",route="/v1/cycles/{cycle_id}",status="200"}'
        in text
    )
    assert "clearing_http_request_seconds_bucket" in text
    assert 'clearing_cycles{status="proposed"} 1.0' in text
    assert 'clearing_invoices{status="in_cycle"}' in text
    assert "clearing_netting_seconds" in text


def test_closing_a_cycle_through_the_api_records_its_duration(pilot: Pilot) -> None:
    client = TestClient(create_app(pilot.uows))
    operator = {"Authorization": f"Bearer {pilot.keys['op-CN']}"}
    reason = {"reason": "rates revised"}
    assert (
        client.post(
            f"/v1/cycles/{pilot.cycle.id}/reject", json=reason, headers=operator
        ).status_code
        == 200
    )
    cycle = client.post("/v1/cycles", json={"policy": "pro_rata"}, headers=operator).json()
    rates = {
        "base": "CNY",
        "jurisdictions": {"CN": "CNY", "RU": "RUB"},
        "rates": {"CNY": "1", "RUB": "0.08", "USD": "7.2"},
    }
    assert (
        client.put(f"/v1/cycles/{cycle['id']}/rates", json=rates, headers=operator).status_code
        == 200
    )
    assert client.post(f"/v1/cycles/{cycle['id']}/close", headers=operator).status_code == 200
    assert "clearing_netting_seconds_count 1.0" in client.get("/metrics").text


def test_every_answer_carries_a_request_id_and_echoes_the_callers(
    uows: SqlUnitOfWorkFactory,
) -> None:
    client = TestClient(create_app(uows))
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32
    answer = client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert answer.headers["X-Request-ID"] == "trace-42"


def test_readiness_touches_the_database(uows: SqlUnitOfWorkFactory) -> None:
    client = TestClient(create_app(uows))
    assert client.get("/readyz").json() == {"status": "ready", "database": "ok"}


def test_readiness_fails_when_the_database_does_not_answer() -> None:
    from clearing.adapters.persistence.database import make_engine

    unreachable = SqlUnitOfWorkFactory(make_engine("postgresql://nobody@127.0.0.1:1/none"))
    client = TestClient(create_app(unreachable))
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    unreachable.engine.dispose()


def test_logs_are_json_lines_carrying_the_request_id(
    uows: SqlUnitOfWorkFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("INFO")
        client = TestClient(create_app(uows))
        client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    request_lines = [line for line in lines if line.get("logger") == "clearing.http"]
    assert request_lines
    assert request_lines[-1]["request_id"] == "abc-123"
    assert request_lines[-1]["status"] == 200
    assert request_lines[-1]["route"] == "/healthz"
