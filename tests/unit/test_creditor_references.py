"""ISO 11649 creditor references: generated with check digits that hold, recognised whatever
their spacing and case, and one per payer of a cycle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.domain.payments import creditor_reference, is_creditor_reference, pay_in_reference

BODIES = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=21)


def test_the_standards_example_is_reproduced() -> None:
    assert creditor_reference("539007547034") == "RF18539007547034"
    assert is_creditor_reference("RF18 5390 0754 7034")


@given(BODIES)
def test_every_generated_reference_checks_and_keeps_its_body(body: str) -> None:
    reference = creditor_reference(body)
    assert is_creditor_reference(reference)
    assert is_creditor_reference(reference.lower())
    assert reference[4:] == body
    assert len(reference) <= 25


@given(
    st.text("0123456789", min_size=1, max_size=21),
    st.integers(min_value=0, max_value=20),
    st.sampled_from("0123456789"),
)
def test_a_reference_with_one_digit_mistyped_does_not_check(
    body: str, place: int, replacement: str
) -> None:
    reference = creditor_reference(body)
    index = 4 + place % len(body)
    if reference[index] == replacement:
        return
    changed = reference[:index] + replacement + reference[index + 1 :]
    assert not is_creditor_reference(changed)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "RF",
        "RF1",
        "XX18539007547034",
        "RF18" + "1" * 22,
        "RF1853900754703!",
        "RF\u0661\u06685390",
    ],
)
def test_what_is_not_a_reference_is_refused(text: str) -> None:
    assert not is_creditor_reference(text)


@given(st.integers(min_value=1, max_value=2**31 - 1))
def test_a_cycles_payers_get_distinct_references_that_check(number: int) -> None:
    payers = [f"CN-{n:010X}" for n in range(200)]
    references = {pay_in_reference(number, f"cyc_{number:016x}", p) for p in payers}
    assert len(references) == len(payers)
    assert all(is_creditor_reference(r) for r in references)
    assert pay_in_reference(number, f"cyc_{number:016x}", payers[0]) in references
