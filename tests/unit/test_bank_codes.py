"""Bank identifiers for payment files: a BIC, a CNAPS code or a BIK, normalised as stored; an
account as ISO 20022 carries it; anything else refused naming the field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.domain.errors import InvalidInput
from clearing.domain.payments import BankCodeKind, bank_code_kind, check_account, check_bank_code

LETTERS = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=1)
ALNUM = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=1)


@st.composite
def bics(draw: st.DrawFn) -> str:
    bank = "".join(draw(LETTERS) for _ in range(6))
    location = "".join(draw(ALNUM) for _ in range(2))
    branch = "".join(draw(ALNUM) for _ in range(3)) if draw(st.booleans()) else ""
    return bank + location + branch


@given(bics())
def test_a_bic_of_eight_or_eleven_characters_is_a_bic(code: str) -> None:
    assert bank_code_kind(code) is BankCodeKind.BIC
    assert check_bank_code(f" {code.lower()} ") == code


@given(st.text("0123456789", min_size=12, max_size=12))
def test_twelve_digits_are_a_cnaps_code(code: str) -> None:
    assert bank_code_kind(code) is BankCodeKind.CNAPS


@given(st.text("0123456789", min_size=7, max_size=7))
def test_nine_digits_starting_04_are_a_bik(rest: str) -> None:
    assert bank_code_kind("04" + rest) is BankCodeKind.RUCBC
    assert check_bank_code(f"04 {rest}") == "04" + rest


@pytest.mark.parametrize(
    "code",
    ["12345", "123456789", "0452522", "BKCHCN", "BKCH1NBJ", "BKCHCNBJX", "1041000000045", "БИК"],
)
def test_anything_else_is_refused_naming_the_bank_code(code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_bank_code(code)
    assert refused.value.field == "bank_code"


def test_no_bank_code_and_a_blank_one_are_none() -> None:
    assert check_bank_code(None) is None
    assert check_bank_code("   ") is None


@pytest.mark.parametrize(
    ("given_account", "stored"),
    [("40702 810 4000 0000 0225", "40702810400000000225"), ("CN-0001/7", "CN-0001/7")],
)
def test_an_account_is_stored_without_blanks(given_account: str, stored: str) -> None:
    assert check_account(given_account) == stored


@pytest.mark.parametrize("account", ["1" * 35, "acc!", "-leading", "счёт"])
def test_an_account_iso_20022_cannot_carry_is_refused_naming_the_field(account: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_account(account, "account")
    assert refused.value.field == "account"
