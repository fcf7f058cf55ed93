"""Strict requests for the API's routes (:class:`StrictRoute`): a query parameter the operation
does not declare is refused, as unknown body fields are, and a JSON body that names a key twice
is refused.

Python's ``json`` keeps the last of duplicated keys, so ``{"amount": "1", "amount": "1000"}``
would be read as 1000 while a proxy or a log reader may see 1. A misspelt query parameter
(``?stauts=settled``) would silently list everything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from clearing.domain.errors import InvalidInput

#: The position given for an error that the parser did not place.
NO_POSITION = -1
#: Where a request's undeclared query parameters are noted, in its ASGI scope.
_UNDECLARED = "clearing.undeclared_query"


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


def _query_parameters(dependant: Dependant) -> set[str]:
    """The query parameters an operation declares, its dependencies' included."""
    names = {parameter.alias for parameter in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_parameters(dependency)
    return names


class StrictRoute(APIRoute):
    """An API route that notes undeclared query parameters (for :func:`refuse_undeclared_query`)
    and parses its JSON body with :func:`parse_json`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        declared = _query_parameters(self.dependant)

        async def strict_handler(request: Request) -> Response:
            # Refused by :func:`refuse_undeclared_query` once the caller is authenticated, so
            # that a request without a key still gets its 401 first.
            request.scope[_UNDECLARED] = [n for n in request.query_params if n not in declared]
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler


def refuse_undeclared_query(request: Request) -> None:
    """The first query parameter the operation does not declare, refused naming it."""
    for name in request.scope.get(_UNDECLARED, ()):
        raise InvalidInput("is not a query parameter of this operation", field=name)
