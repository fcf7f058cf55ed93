"""Idempotent requests (DESIGN §10): the same key with the same request gets the first answer.

The key is scoped to the caller; a request is identified by a hash its edge computes (method,
path and canonical JSON body for HTTP). The answer is opaque here: whatever the edge recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clearing.domain.errors import InvalidInput

MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The first successful answer to an idempotent request, as JSON, with the request's hash."""

    request_hash: str
    answer: Any


def check_key(key: str) -> str:
    """An idempotency key: 1 to 200 printable characters."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"must be 1 to {MAX_KEY_LENGTH} printable characters", field="Idempotency-Key"
        )
    return key
