"""The fast column encoder is byte-for-byte the canonical JSON of DESIGN §4 step 7."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from clearing.domain.canonical import (
    canonical_json,
    encode_column,
    encode_columns,
    encode_object,
    sha256_hex,
)

#: Text that needs escaping (quotes, backslashes, control characters), non-ASCII text, astral
#: characters, and the separators the fast path joins on. Surrogates are not valid UTF-8.
tricky = st.sampled_from(['"', "\\", "\x00", "\x1f", "\n", "\t", "\x7f", "é", "中", "😀", '","'])
texts = st.one_of(
    st.text(max_size=6),
    st.lists(st.one_of(tricky, st.text(max_size=2)), max_size=3).map("".join),
)
integers = st.one_of(st.integers(-(2**70), 2**70), st.integers(-5, 5))
columns = st.one_of(st.lists(texts, max_size=6), st.lists(integers, max_size=6))


@given(columns)
def test_a_column_is_encoded_exactly_as_canonical_json(column: list[str] | list[int]) -> None:
    assert encode_column(column).encode("utf-8") == canonical_json(column)


@given(st.dictionaries(texts, columns, max_size=6))
def test_columns_are_encoded_exactly_as_canonical_json(
    document: dict[str, list[str] | list[int]],
) -> None:
    assert encode_columns(document).encode("utf-8") == canonical_json(document)


members = st.one_of(st.none(), st.booleans(), integers, texts, columns)


@given(st.dictionaries(texts, members, max_size=5))
def test_an_object_assembled_from_encoded_members_is_canonical(document: dict[str, object]) -> None:
    encoded = {key: canonical_json(value).decode("utf-8") for key, value in document.items()}
    assert encode_object(encoded).encode("utf-8") == canonical_json(document)


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_unicode() -> None:
    assert canonical_json({"b": [1, 2], "a": '中"x'}) == '{"a":"中\\"x","b":[1,2]}'.encode()
    assert json.loads(canonical_json({"z": None, "é": True})) == {"z": None, "é": True}


def test_sha256_hex_is_the_hex_sha256() -> None:
    assert sha256_hex(b"") == hashlib.sha256(b"").hexdigest()
    assert sha256_hex(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
