"""The fast column encoders write exactly the bytes of canonical JSON, and the streaming digest
equals the SHA-256 of the canonical document."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clearing.domain.canonical import canonical_json, column_json, digest_encoded, sha256_hex

any_int = st.integers(min_value=-(2**70), max_value=2**70)
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(st.lists(int64, min_size=1, max_size=200))
def test_an_int64_column_is_encoded_as_canonical_json(values: list[int]) -> None:
    assert column_json(values) == canonical_json(values)


@given(st.lists(any_int, min_size=1, max_size=50))
def test_a_column_of_integers_beyond_64_bits_is_encoded_as_canonical_json(
    values: list[int],
) -> None:
    assert column_json(values) == canonical_json(values)


@given(st.lists(st.text(max_size=12), min_size=1, max_size=50))
def test_a_column_of_any_text_is_encoded_as_canonical_json(values: list[str]) -> None:
    assert column_json(values) == canonical_json(values)


def test_an_empty_column_is_an_empty_list() -> None:
    assert column_json([]) == b"[]"


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=5),
        st.one_of(st.lists(int64, max_size=20), st.lists(st.text(max_size=5), max_size=20)),
        max_size=5,
    )
)
def test_a_streamed_digest_equals_the_digest_of_the_whole_canonical_document(
    columns: dict[str, list[int] | list[str]],
) -> None:
    document = {"summary": {"base": "CNY", "n": 1}, "columns": columns}
    encoded = {
        "summary": canonical_json(document["summary"]),
        "columns": {name: column_json(values) for name, values in columns.items()},
    }
    assert digest_encoded(encoded) == sha256_hex(canonical_json(document))
