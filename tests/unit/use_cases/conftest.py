"""Fixtures of the use-case tests: the in-memory unit of work of :mod:`tests.fakes`, seeded
with the shipped compliance rules as the migrations seed the database, and worlds on it."""

from __future__ import annotations

import pytest

from tests.fakes import FakeUnitOfWorkFactory
from tests.pilot import Pilot, make_pilot
from tests.unit.use_cases.world import World, build_world, new_store


@pytest.fixture
def fake_uows() -> FakeUnitOfWorkFactory:
    """An empty store but for the default compliance rules."""
    return new_store()


@pytest.fixture
def pilot(fake_uows: FakeUnitOfWorkFactory) -> Pilot:
    """CN and RU, two traders each, four confirmed invoices and a proposed cycle."""
    return make_pilot(fake_uows)


@pytest.fixture
def world(fake_uows: FakeUnitOfWorkFactory) -> World:
    """CN, RU and KZ with an operator each and traders cn0, cn1, ru0, ru1 and kz0."""
    return build_world(fake_uows)
