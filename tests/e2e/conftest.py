"""Fixtures of the end-to-end tests: the real application on the throwaway PostgreSQL database
(``uows`` empties it before each test) and worlds of two or three mirrored entities."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from service.app import create_app
from tests.e2e.world import CURRENCIES, World, build_world

MakeWorld = Callable[..., World]


@pytest.fixture
def app_client(uows: SqlUnitOfWorkFactory) -> Iterator[TestClient]:
    """The real application; a server error fails the test with its traceback."""
    with TestClient(create_app(uows)) as client:
        yield client


@pytest.fixture
def make_world(app_client: TestClient, uows: SqlUnitOfWorkFactory, engine: Engine) -> MakeWorld:
    def make(codes: tuple[str, ...] = ("CN", "RU"), traders_per_entity: int = 3) -> World:
        entities = {code: CURRENCIES[code] for code in codes}
        return build_world(app_client, uows, engine, entities, traders_per_entity)

    return make


@pytest.fixture
def pilot(make_world: MakeWorld) -> World:
    """The two-entity pilot: CN (CNY) and RU (RUB), four traders each."""
    return make_world(("CN", "RU"), 4)


@pytest.fixture
def trio(make_world: MakeWorld) -> World:
    """A regional network of three entities: CN (CNY), RU (RUB), KZ (KZT), three traders each."""
    return make_world(("CN", "RU", "KZ"), 3)
