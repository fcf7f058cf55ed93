"""Running a use case once per idempotency key (DESIGN §10).

The use case runs inside a unit of work that :func:`answer_once` has already opened, so it
joins that transaction (see :class:`~clearing.use_cases.ports.UnitOfWork`): its answer is
recorded under the key in the same transaction as its changes, and a request that repeats the
key waits on the key's lock, then gets that first answer. Only successful answers are recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from clearing.domain.access import Principal
from clearing.domain.errors import Conflict
from clearing.domain.idempotency import StoredAnswer, check_key
from clearing.use_cases.ports import UnitOfWork, UnitOfWorkFactory

Result = TypeVar("Result")

#: How often a request that lost a race to a concurrent one is run again.
ATTEMPTS = 3


def answer_once(
    uows: UnitOfWorkFactory,
    principal: Principal,
    key: str | None,
    request_hash: str,
    run: Callable[[UnitOfWork], Result],
    answer: Callable[[Result], Any],
) -> Any:
    """``answer(run(uow))``, run once per ``key``: a repeat with the same ``request_hash`` gets
    the first answer; with another, :class:`Conflict`. Without a key it simply runs."""
    if key is None:
        return answer(run(uows()))
    check_key(key)
    for attempt in range(1, ATTEMPTS + 1):
        with uows() as uow:
            uow.idempotency.lock(principal.id, key)
            stored = uow.idempotency.get(principal.id, key)
            if stored is not None:
                if stored.request_hash != request_hash:
                    raise Conflict(
                        "this Idempotency-Key was used with another request",
                        field="Idempotency-Key",
                    )
                return stored.answer
            try:
                first = answer(run(uow))
                uow.idempotency.add(principal.id, key, StoredAnswer(request_hash, first))
                uow.commit()
            except Conflict:
                if attempt < ATTEMPTS:
                    continue
                raise
            return first
    raise AssertionError("unreachable: the last attempt returns or raises")
