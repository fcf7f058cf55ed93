"""What every repository shares: the clock stamped on rows, and what text can be stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, SQLColumnExpression, Text, false, func, literal, or_

from clearing.domain.access import Scope

Value = TypeVar("Value")


def now() -> datetime:
    return datetime.now(UTC)


#: Joins keys into one text parameter. Stored keys hold no control characters; a key that did
#: would split into parts that can only find other keys that really exist.
_KEY_SEPARATOR = "\x1f"


def text_array(values: Sequence[str]) -> ColumnElement[Any]:
    """``values`` as one PostgreSQL ``text[]``, sent as a single text parameter: psycopg adapts
    a list of a thousand strings element by element in Python, milliseconds per statement."""
    return func.string_to_array(literal(_KEY_SEPARATOR.join(values), Text()), _KEY_SEPARATOR)


def storable(*values: str | None) -> bool:
    """Whether every value could be stored: PostgreSQL text cannot hold NUL, so a key with one
    matches nothing (and must not reach the driver, which would refuse it)."""
    return not any(value is not None and "\x00" in value for value in values)


def in_scope(
    scope: Scope, *parties: tuple[SQLColumnExpression[str], SQLColumnExpression[str]]
) -> ColumnElement[bool] | None:
    """:meth:`Scope.admits` as a SQL condition on an object whose parties are these
    ``(participant column, entity column)`` pairs: true if any party is in scope; ``None``
    when the scope restricts nothing. Lists filter in SQL so that a page is a page."""
    if scope.everything:
        return None
    if scope.entity is not None:
        return or_(*(entity == scope.entity for _participant, entity in parties))
    if scope.participant_id is not None:
        return or_(*(participant == scope.participant_id for participant, _entity in parties))
    return false()


def from_row(kind: type[Value], row: Any) -> Value:
    """A domain value (a dataclass) from a row whose columns carry its fields' names."""
    return kind(**{field.name: getattr(row, field.name) for field in fields(kind)})  # type: ignore[arg-type]
