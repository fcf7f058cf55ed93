"""Checks shared by the use cases: free text, page sizes and cursors; each error names its
field."""

from __future__ import annotations

import unicodedata
from typing import Any

from clearing.domain.errors import InvalidInput

MAX_PAGE = 500

#: Cycle numbers are stored as 32-bit integers, journal sequences as 64-bit ones: a cursor
#: outside these ranges names nothing and is refused before it reaches the database.
MAX_CYCLE_NUMBER = 2**31 - 1
MAX_JOURNAL_SEQ = 2**63 - 1


_TEXT_LIMITS = {"invoice_number": 64, "description": 2000, "reason": 2000, "name": 200}


#: Unicode categories never wanted in stored text: controls, format characters (the bidi
#: overrides U+202A-U+202E and isolates U+2066-U+2069 that can make text read backwards,
#: zero-width characters), surrogates, private use and unassigned code points, and the line
#: and paragraph separators U+2028 and U+2029 (line breaks to JavaScript and ``splitlines``).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def has_unsafe_characters(text: str, *, allow_newlines: bool = False) -> bool:
    """Whether ``text`` holds a control, format (bidi, zero-width) or unassigned character."""
    if text.isprintable():
        # Printable text (checked in C) has none of them: each is not printable.
        return False
    return any(
        unicodedata.category(character) in _UNSAFE_CATEGORIES
        and not (allow_newlines and character == "\n")
        for character in text
    )


def check_text(value: Any, field: str, *, required: bool = True) -> str:
    limit = _TEXT_LIMITS.get(field, 200)
    if not isinstance(value, str):
        raise InvalidInput("must be a string", field=field)
    text = value.strip()
    if required and not text:
        raise InvalidInput("is required", field=field)
    if len(text) > limit:
        raise InvalidInput(f"is longer than {limit} characters", field=field)
    if has_unsafe_characters(text, allow_newlines=field == "description"):
        raise InvalidInput("contains control or bidirectional formatting characters", field=field)
    return text


def optional_text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or has_unsafe_characters(value):
        raise InvalidInput(f"must be at most {limit} printable characters", field=field)
    return value.strip() or None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"must be between 1 and {MAX_PAGE}", field="limit")
    return limit


def check_cursor(value: int | None, field: str, maximum: int) -> int | None:
    """A numeric page cursor: absent, or between 0 and ``maximum`` (the stored column's range)."""
    if value is not None and not 0 <= value <= maximum:
        raise InvalidInput(f"must be between 0 and {maximum}", field=field)
    return value


def check_id_cursor(value: str | None) -> str | None:
    """A page cursor that is the id of the last item of the page before (ids are at most 64
    printable characters)."""
    if value is not None and not (value.isprintable() and len(value) <= 64):
        raise InvalidInput("is not a cursor from a previous page", field="cursor")
    return value
