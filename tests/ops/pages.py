"""Signing a test client in to the pages."""

from __future__ import annotations

from fastapi.testclient import TestClient


def sign_in(client: TestClient, key: str, next_page: str = "") -> str:
    """Sign ``client`` in to the pages with ``key``; the page it is sent to."""
    answer = client.post("/ui/login", data={"key": key, "next": next_page}, follow_redirects=False)
    assert answer.status_code == 303
    return str(answer.headers["location"])
