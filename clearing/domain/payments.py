"""Domestic payments an entity's bank makes or expects for a cycle, in minor units: the values
payment files (ISO 20022 pain.001, CSV) are written from, and the bank identifiers they name."""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from datetime import date

from clearing.domain.errors import InvalidInput

_BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")
_CNAPS = re.compile(r"[0-9]{12}")
_BIK = re.compile(r"04[0-9]{7}")
#: An account as ISO 20022 carries it outside IBAN (``Max34Text``), without blanks.
_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9/-]{0,33}")


class BankCodeKind(enum.StrEnum):
    """How a bank is identified: a SWIFT BIC, or a national clearing code (ISO 20022 names the
    Chinese CNAPS system ``CNAPS`` and the Russian BIK ``RUCBC``)."""

    BIC = "BIC"
    CNAPS = "CNAPS"
    RUCBC = "RUCBC"


def bank_code_kind(code: str) -> BankCodeKind:
    if _BIC.fullmatch(code):
        return BankCodeKind.BIC
    if _CNAPS.fullmatch(code):
        return BankCodeKind.CNAPS
    if _BIK.fullmatch(code):
        return BankCodeKind.RUCBC
    raise InvalidInput(
        "is not a bank code: a BIC (8 or 11 letters and digits), a CNAPS code (12 digits) "
        "or a BIK (9 digits starting 04)",
        field="bank_code",
    )


def check_bank_code(code: str | None) -> str | None:
    """A bank code as stored (capitals, no blanks), or ``None`` when none is given."""
    if code is None:
        return None
    if not isinstance(code, str):
        raise InvalidInput("must be a string", field="bank_code")
    normal = "".join(code.split()).upper()
    if not normal:
        return None
    bank_code_kind(normal)
    return normal


def check_account(account: str | None, field: str = "bank_account") -> str | None:
    """An account number as stored (no blanks; 1 to 34 letters, digits, '/' or '-'), or
    ``None`` when none is given."""
    if account is None:
        return None
    if not isinstance(account, str):
        raise InvalidInput("must be a string", field=field)
    normal = "".join(account.split())
    if not normal:
        return None
    if not _ACCOUNT.fullmatch(normal):
        raise InvalidInput(
            "must be 1 to 34 letters, digits, '/' or '-' (blanks are dropped)", field=field
        )
    return normal


# --- ISO 11649 structured creditor references ------------------------------------------------

#: At most 21 letters and digits follow ``RF`` and the two check digits.
_REFERENCE_BODY = re.compile(r"[A-Z0-9]{1,21}")
_REFERENCE_HEAD = re.compile(r"RF[0-9]{2}")
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _as_digits(text: str) -> int:
    """Letters as two digits each (A = 10 … Z = 35), digits as they are (ISO 7064 MOD 97-10)."""
    return int("".join(str(_BASE36.index(character)) for character in text))


def creditor_reference(body: str) -> str:
    """The ISO 11649 reference ``RF`` + check digits + ``body`` (1 to 21 letters and digits)."""
    if not _REFERENCE_BODY.fullmatch(body):
        raise ValueError(f"{body!r} is not 1 to 21 capital letters and digits")
    check = 98 - _as_digits(body + "RF00") % 97
    return f"RF{check:02d}{body}"


def is_creditor_reference(text: str) -> bool:
    """Whether ``text`` (blanks and case aside) is a well-formed ISO 11649 reference whose check
    digits hold."""
    reference = "".join(text.split()).upper()
    if not _REFERENCE_HEAD.fullmatch(reference[:4]):
        return False
    if not _REFERENCE_BODY.fullmatch(reference[4:]):
        return False
    return _as_digits(reference[4:] + reference[:4]) % 97 == 1


class Purpose(enum.StrEnum):
    """What a cycle's domestic payment is for; each has its own letter in its reference."""

    PAY_IN = "pay_in"  # from a participant that owes its net
    PAY_OUT = "pay_out"  # to a participant the cycle owes
    REFUND = "refund"  # a defaulter's pay-ins (or an excess) given back
    RETURN = "return"  # a bank credit that matched nothing, sent back to its payer


_PURPOSE_LETTER = {Purpose.PAY_IN: "P", Purpose.PAY_OUT: "O", Purpose.REFUND: "R"}
#: The body of every cycle payment's reference: the cycle's number, the purpose's letter and
#: nine base-36 characters.
_CYCLE_PAYMENT = re.compile(r"RF[0-9]{2}C([0-9]{1,10})([POR])[0-9A-Z]{9}")


def cycle_payment_reference(
    cycle_number: int, cycle_id: str, participant_id: str, purpose: Purpose
) -> str:
    """The ISO 11649 reference of one domestic payment of a cycle, a pay-in, pay-out or
    refund (a return has :func:`return_reference`): what a payer quotes when it pays in, and
    the end-to-end id of a pay-out or refund, which the bank's statement echoes. The cycle's
    number, the purpose's letter, then nine base-36 characters of a hash of the cycle and the
    participant (the same every time it is asked for, and different for every payment of a
    cycle in practice)."""
    seed = f"{cycle_id}\x1f{participant_id}"
    return creditor_reference(f"C{cycle_number}{_PURPOSE_LETTER[purpose]}{_hashed(seed)}")


#: Bank entry ids are ``bnk_`` and hexadecimal digits; a return's reference carries them.
_ENTRY_ID = re.compile(r"bnk_([0-9a-f]{1,20})")
_RETURN = re.compile(r"RF[0-9]{2}S([0-9A-F]{1,20})")


def return_reference(entry_id: str) -> str:
    """The ISO 11649 reference the transfer sending a suspense credit back quotes: the letter
    ``S`` and the bank entry's id (so that the bank's debit finds it again)."""
    found = _ENTRY_ID.fullmatch(entry_id)
    if found is None:
        raise ValueError(f"{entry_id!r} is not a bank entry id")
    return creditor_reference(f"S{found.group(1).upper()}")


def returned_entry_of(reference: str) -> str | None:
    """The id of the bank entry a return's reference names, or ``None``."""
    found = _RETURN.fullmatch(reference)
    return f"bnk_{found.group(1).lower()}" if found else None


def _hashed(text: str) -> str:
    """Nine base-36 characters of the SHA-256 of ``text``."""
    number = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    digits = ""
    for _ in range(9):
        number, place = divmod(number, 36)
        digits += _BASE36[place]
    return digits


def pay_in_reference(cycle_number: int, cycle_id: str, participant_id: str) -> str:
    """The reference a participant quotes when it pays in its net for a cycle."""
    return cycle_payment_reference(cycle_number, cycle_id, participant_id, Purpose.PAY_IN)


def cycle_payment_of(reference: str) -> tuple[int, Purpose] | None:
    """The cycle number and purpose a cycle payment's reference names, or ``None`` when it is
    not one (its check digits are not verified here: see :func:`is_creditor_reference`)."""
    found = _CYCLE_PAYMENT.fullmatch(reference)
    if found is None:
        return None
    letter = found.group(2)
    purpose = next(p for p, known in _PURPOSE_LETTER.items() if known == letter)
    return int(found.group(1)), purpose


#: How far a reference written in groups (``RF18 5390 0754 7034``) may spread over words.
_MOST_WORDS = 7


def reference_in(text: str) -> str | None:
    """The first ISO 11649 reference whose check digits hold in a bank's remittance text,
    written whole or in blank-separated groups, case aside; ``None`` when there is none."""
    words = text.upper().replace(",", " ").replace(";", " ").split()
    for start, word in enumerate(words):
        if not _REFERENCE_HEAD.match(word):
            continue
        # The longest run of words that is a valid reference: groups of four are common.
        candidates = [
            "".join(words[start:end])
            for end in range(min(len(words), start + _MOST_WORDS), start, -1)
        ]
        for candidate in candidates:
            if len(candidate) <= 25 and is_creditor_reference(candidate):
                return candidate
    return None


@dataclass(frozen=True, slots=True)
class Instruction:
    """One domestic payment an entity's bank must make or expect, in minor units."""

    entity: str
    participant_id: str
    name: str
    bank_account: str | None
    direction: str  # "pay_in" (expected from the participant), "pay_out" or "refund" (to it)
    currency: str
    amount: int
    reference: str


@dataclass(frozen=True, slots=True)
class Transfer:
    """One domestic credit transfer from the entity's settlement account to a participant."""

    participant_id: str
    name: str
    bank_account: str
    bank_code: str
    currency: str
    amount: int  # minor units of currency
    reference: str
    purpose: str  # "pay_out" or "refund"


@dataclass(frozen=True, slots=True)
class Debtor:
    """The clearing entity as payer: its settlement account at its bank."""

    entity: str
    name: str
    account: str
    bank_code: str


@dataclass(frozen=True, slots=True)
class PaymentOrder:
    """What an entity's bank is asked to pay for a cycle, and on which day."""

    cycle_id: str
    debtor: Debtor
    transfers: tuple[Transfer, ...]
    execution_date: date
