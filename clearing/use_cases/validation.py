"""Checks shared by the use cases: free text and page sizes; each error names its field."""

from __future__ import annotations

import re
from typing import Any

from clearing.domain.errors import InvalidInput

MAX_PAGE = 500


_TEXT_LIMITS = {"invoice_number": 64, "description": 2000, "reason": 2000, "name": 200}


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_text(value: Any, field: str, *, required: bool = True) -> str:
    limit = _TEXT_LIMITS.get(field, 200)
    if not isinstance(value, str):
        raise InvalidInput("must be a string", field=field)
    text = value.strip()
    if required and not text:
        raise InvalidInput("is required", field=field)
    if len(text) > limit:
        raise InvalidInput(f"is longer than {limit} characters", field=field)
    if _CONTROL.search(text if field != "description" else text.replace("\n", "")):
        raise InvalidInput("contains control characters", field=field)
    return text


def optional_text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or _CONTROL.search(value):
        raise InvalidInput(f"must be at most {limit} printable characters", field=field)
    return value.strip() or None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"must be between 1 and {MAX_PAGE}", field="limit")
    return limit
