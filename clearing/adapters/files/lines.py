"""The ``LINES.json`` file of ``clearing net --lines`` (DESIGN §10): the liquidity lines a run
may draw on or repay.

``{"lines": [{"id": "L1", "from": "CN", "to": "RU", "currency": "CNY",
"limit": "5000000000.00", "balance": "0.00"}]}``: a line funds the corridor ``from -> to``;
``balance`` is what ``from``'s entity already owes ``to``'s. Amounts are decimal strings in
major units of the line's currency, checked as every amount is (zero is allowed: a limit of 0
lends nothing). Bad input raises :class:`~clearing.adapters.files.netting.FileInputError`
naming the file and the field (``lines[0].limit``); nothing is half-read. Other keys are
ignored.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from clearing.adapters.files.netting import FileInputError
from clearing.domain.errors import InvalidInput
from clearing.domain.money import check_currency, exponent, parse_amount, shown
from clearing.domain.netting.lines import LineTerms, checked_lines
from clearing.domain.rates import RateSet, check_jurisdiction

_IDENTIFIER = re.compile(r"[^\s\x00-\x1f]{1,128}")
_ZERO = re.compile(r"0+(?:\.(?P<fraction>0+))?")
LINE_KEYS = ("id", "from", "to", "currency", "limit", "balance")


def read_lines(path: str | Path, rates: RateSet) -> tuple[LineTerms, ...]:
    """Read a ``LINES.json`` file, checking every line against ``rates``; the lines in id
    order."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as error:
        raise FileInputError(path, None, None, f"cannot be read ({error.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FileInputError(
            path, getattr(error, "lineno", None), None, "is not valid JSON"
        ) from None
    return parse_lines(document, rates, path)


def parse_lines(
    document: Any, rates: RateSet, path: str | Path = "<input>"
) -> tuple[LineTerms, ...]:
    """The lines of a parsed ``LINES.json`` document (see the module's documentation)."""
    if not isinstance(document, dict) or not isinstance(document.get("lines"), list):
        raise FileInputError(path, None, "lines", 'expected {"lines": [ ... ]}')
    terms: list[LineTerms] = []
    first: dict[str, int] = {}
    for index, item in enumerate(document["lines"]):
        line = _line(item, index, rates, path)
        earlier = first.setdefault(line.line_id, index)
        if earlier != index:
            raise FileInputError(
                path,
                None,
                f"lines[{index}].id",
                f"duplicate id {line.line_id!r} (lines[{earlier}])",
            )
        terms.append(line)
    return checked_lines(terms, rates)


def _line(item: Any, index: int, rates: RateSet, path: str | Path) -> LineTerms:
    def fail(key: str, message: str) -> FileInputError:
        return FileInputError(path, None, f"lines[{index}].{key}", message)

    if not isinstance(item, dict):
        raise FileInputError(path, None, f"lines[{index}]", "must be an object")
    for key in LINE_KEYS:
        if key not in item:
            raise fail(key, "is missing")
        if not isinstance(item[key], str):
            raise fail(key, f"must be a string, not {shown(item[key])}")
    line_id = item["id"]
    if not _IDENTIFIER.fullmatch(line_id):
        raise fail("id", "must be 1 to 128 characters with no spaces" if line_id else "is empty")
    for key in ("from", "to"):
        try:
            check_jurisdiction(item[key], field=key)
        except InvalidInput as error:
            raise fail(key, error.message) from None
        if item[key] not in rates.jurisdictions:
            raise fail(key, f"jurisdiction {item[key]} has no currency in the rates file")
    if item["from"] == item["to"]:
        raise fail("to", f"a line joins two jurisdictions, not {item['from']} to itself")
    currency = item["currency"]
    try:
        check_currency(currency)
    except InvalidInput as error:
        raise fail("currency", error.message) from None
    allowed = sorted({rates.jurisdictions[item["from"]], rates.jurisdictions[item["to"]]})
    if currency not in allowed:
        raise fail(
            "currency",
            f"{currency} is not the currency of {item['from']} or {item['to']} "
            f"({' or '.join(allowed)})",
        )
    amounts = {}
    for key in ("limit", "balance"):
        try:
            amounts[key] = _amount_or_zero(item[key], currency, key)
        except InvalidInput as error:
            raise fail(key, error.message) from None
    if amounts["balance"] > amounts["limit"]:
        raise fail("balance", f"{item['balance']} is above the line's limit of {item['limit']}")
    return LineTerms(
        line_id, item["from"], item["to"], currency, amounts["limit"], amounts["balance"]
    )


def _amount_or_zero(text: str, currency: str, field: str) -> int:
    """An amount as every amount is parsed, except that zero is allowed."""
    zero = _ZERO.fullmatch(text)
    if zero is None:
        return parse_amount(text, currency, field=field)
    places = exponent(currency)
    if len(zero["fraction"] or "") > places:
        raise InvalidInput(
            f"{shown(text)} has more decimal places than {currency} allows ({places})",
            field=field,
        )
    return 0
