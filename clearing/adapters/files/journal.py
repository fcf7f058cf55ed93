"""The journal as JSON lines: one exported entry per line (DESIGN §10), read back for audit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from clearing.domain.errors import InvalidInput


def read_json_lines(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line; a bad line raises naming it."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as error:
            raise InvalidInput(f"line {number}: not JSON ({error.msg})", field="line") from None
        if not isinstance(document, dict):
            raise InvalidInput(f"line {number}: not a JSON object", field="line")
        yield number, document
