"""Fault injection for the crash tests, off unless ``CLEARING_TEST_KILL_AT`` is set.

``CLEARING_TEST_KILL_AT=before-commit`` makes the process SIGKILL itself when the first
transaction of a unit of work is about to commit (its changes written but not committed);
``after-commit``, right after that commit, before the answer is sent. A crash test starts the
server with it and sends the one request whose transition it wants to interrupt.
"""

from __future__ import annotations

import os
import signal
from types import TracebackType
from typing import Any, Self, cast

from clearing.use_cases.ports import UnitOfWork, UnitOfWorkFactory

KILL_AT = "CLEARING_TEST_KILL_AT"
POINTS = ("before-commit", "after-commit")


def from_environment(uows: UnitOfWorkFactory) -> UnitOfWorkFactory:
    """``uows``, or, when ``CLEARING_TEST_KILL_AT`` names a point, units of work that kill the
    process there."""
    point = os.environ.get(KILL_AT)
    if not point:
        return uows
    if point not in POINTS:
        raise ValueError(f"{KILL_AT} must be one of {', '.join(POINTS)}, not {point!r}")
    return lambda: cast(UnitOfWork, _KillingUnitOfWork(uows(), point))


class _KillingUnitOfWork:
    def __init__(self, inner: UnitOfWork, point: str) -> None:
        self._inner = inner
        self._point = point
        self._depth = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> Self:
        self._inner.__enter__()
        self._depth += 1
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth -= 1
        self._inner.__exit__(kind, value, traceback)

    def commit(self) -> None:
        outermost = self._depth == 1  # an inner block's commit joins the outer transaction
        if outermost and self._point == "before-commit":
            _kill()
        self._inner.commit()
        if outermost and self._point == "after-commit":
            _kill()


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
