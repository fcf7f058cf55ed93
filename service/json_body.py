"""Request bodies parsed as strict JSON: an object that names a key twice is refused.

Python's ``json`` keeps the last of duplicated keys, so ``{"amount": "1", "amount": "1000"}``
would be read as 1000 while a proxy or a log reader may see 1. Routes of the API use
:class:`StrictJsonRoute`, whose requests parse their body with :func:`parse_json`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

#: The position given for an error that the parser did not place.
NO_POSITION = -1


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            # A JSONDecodeError is what FastAPI turns into a 422 naming the body; the hook
            # does not know where the key stands, so its position is NO_POSITION.
            raise json.JSONDecodeError(f"duplicate key {json.dumps(key)}", "", NO_POSITION)
        found[key] = value
    return found


def parse_json(body: bytes) -> Any:
    """The JSON document in ``body``; duplicate keys in any object are a decode error."""
    return json.loads(body, object_pairs_hook=_refuse_duplicate_keys)


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """An API route whose JSON body is parsed by :func:`parse_json`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
