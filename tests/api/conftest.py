"""Fixtures of the API tests: a client on the real app and a world built through the use cases.

Everything is function-scoped on top of ``uows``, which empties the database before each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from service.app import create_app
from tests.api.support import World, build_world


@pytest.fixture
def client(uows: SqlUnitOfWorkFactory) -> Iterator[TestClient]:
    """The real application on the throwaway database; server errors become 500 answers."""
    with TestClient(create_app(uows), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def world(client: TestClient, uows: SqlUnitOfWorkFactory) -> World:
    return build_world(client, uows)
