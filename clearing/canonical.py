"""Canonical JSON (sorted keys, no whitespace, UTF-8) and the SHA-256 digests built on it.

Digests must be reproducible by anyone with the same data: both clearing entities, auditors,
and ``clearing net``. :func:`canonical_json` is the definition; :func:`encode_columns` is a fast
encoder for large column-oriented documents that produces byte-for-byte the same text.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

# json.dumps(ensure_ascii=False) escapes only these characters in strings.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def canonical_json(document: Any) -> bytes:
    """The canonical encoding of a JSON document."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode_column(values: Sequence[str] | Sequence[int]) -> str:
    """Encode a homogeneous list of strings or ints exactly as :func:`canonical_json` would."""
    if not values:
        return "[]"
    if isinstance(values[0], str):
        texts: Sequence[str] = values  # type: ignore[assignment]
        # Search the values without the separators, which are quotes themselves.
        if _NEEDS_ESCAPE.search("".join(texts)) is None:
            return '["' + '","'.join(texts) + '"]'
        return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))
    return "[" + ",".join(map(str, values)) + "]"


def encode_columns(columns: Mapping[str, Sequence[str] | Sequence[int]]) -> str:
    """Encode ``{name: column}`` canonically; every column is homogeneous (all str or all int)."""
    return encode_object({name: encode_column(column) for name, column in columns.items()})


def encode_object(encoded_members: Mapping[str, str]) -> str:
    """Assemble a JSON object, in sorted key order, from members already canonically encoded."""
    parts = [
        f"{json.dumps(name, ensure_ascii=False)}:{encoded_members[name]}"
        for name in sorted(encoded_members)
    ]
    return "{" + ",".join(parts) + "}"
