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

import numpy as np
import numpy.typing as npt

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


# --- streaming digests of large documents -----------------------------------------------------

#: A canonically encoded JSON value: bytes, chunks of bytes, or an object of such members.
Encoded = bytes | Sequence[bytes] | Mapping[str, "Encoded"]

_POWERS_OF_TEN = np.array([10**k for k in range(1, 20)], dtype=np.uint64)


def column_json(values: Sequence[str] | Sequence[int]) -> bytes:
    """UTF-8 bytes of a homogeneous list, byte for byte as :func:`canonical_json` would write it.

    Integer columns that fit in 64 bits are formatted by numpy, all digits of all values at once,
    instead of one ``str()`` per value.
    """
    if not values or isinstance(values[0], str):
        return encode_column(values).encode("utf-8")
    try:
        array = np.array(values, dtype=np.int64)
    except OverflowError:
        return encode_column(values).encode("utf-8")
    return _int64_json(array)


def _int64_json(values: npt.NDArray[np.int64]) -> bytes:
    if values.min() == np.iinfo(np.int64).min:  # its magnitude does not fit: rare, be simple
        return ("[" + ",".join(map(str, values.tolist())) + "]").encode("ascii")
    negative = values < 0
    magnitude = np.abs(values).astype(np.uint64)
    lengths = np.searchsorted(_POWERS_OF_TEN, magnitude, side="right") + 1
    width = int(lengths.max())
    cells = np.empty((len(values), width + 2), dtype=np.uint8)
    cells[:, 0] = ord("-")
    cells[:, -1] = ord(",")
    remaining = magnitude.copy()
    for column in range(width, 0, -1):
        cells[:, column] = (remaining % 10).astype(np.uint8) + ord("0")
        remaining //= 10
    keep = np.empty(cells.shape, dtype=bool)
    keep[:, 0] = negative
    keep[:, 1:-1] = np.arange(width) >= (width - lengths)[:, None]
    keep[:, -1] = True
    keep[-1, -1] = False  # no comma after the last value
    return b"[" + cells[keep].tobytes() + b"]"


def digest_encoded(document: Encoded) -> str:
    """SHA-256 hex of an encoded document, fed to the hash piece by piece (no giant string)."""
    digest = hashlib.sha256()
    _feed(digest, document)
    return digest.hexdigest()


def _feed(digest: Any, node: Encoded) -> None:
    if isinstance(node, bytes):
        digest.update(node)
    elif isinstance(node, Mapping):
        digest.update(b"{")
        for position, name in enumerate(sorted(node)):
            if position:
                digest.update(b",")
            digest.update(json.dumps(name, ensure_ascii=False).encode("utf-8") + b":")
            _feed(digest, node[name])
        digest.update(b"}")
    else:
        for chunk in node:
            digest.update(chunk)
