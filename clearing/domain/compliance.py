"""The compliance gate (DESIGN §8): rules are data, screening is a pure function.

Three kinds of rule: ``blocked_goods`` (an HS code prefix that may not be cleared),
``priority_goods`` (an HS code prefix netted first under ``fifo``) and ``blocked_party`` (a
participant id on the screening list). Screening a clean invoice never holds it back.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from clearing.domain.errors import InvalidInput

#: Priority classes: lower is netted first.
PRIORITY_CLASS = 0
STANDARD_CLASS = 1

_HS_CODE = re.compile(r"[0-9]{2,10}")


class RuleKind(enum.StrEnum):
    BLOCKED_GOODS = "blocked_goods"
    PRIORITY_GOODS = "priority_goods"
    BLOCKED_PARTY = "blocked_party"


@dataclass(frozen=True, slots=True)
class Rule:
    kind: RuleKind
    value: str
    description: str = ""

    @property
    def name(self) -> str:
        return f"{self.kind.value}:{self.value}"


@dataclass(frozen=True, slots=True)
class Screening:
    """The outcome of screening: rejected (with the rule and reason) or a priority class."""

    rejected_by: Rule | None
    reason: str
    priority: int


def normalise_hs_code(text: str, *, field: str = "hs_code") -> str:
    """An HS code as 2 to 10 digits; dots and spaces (``9018.90``) are accepted and dropped."""
    if not isinstance(text, str):
        raise InvalidInput("must be a string of 2 to 10 digits", field=field)
    digits = text.replace(".", "").replace(" ", "")
    if not _HS_CODE.fullmatch(digits):
        raise InvalidInput(f"{text!r} is not an HS code of 2 to 10 digits", field=field)
    return digits


def check_rule(kind: RuleKind | str, value: str) -> Rule:
    """Validate a rule's value for its kind."""
    try:
        kind = RuleKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in RuleKind)
        raise InvalidInput(
            f"{kind!r} is not a rule kind; use one of {kinds}", field="kind"
        ) from None
    if kind is RuleKind.BLOCKED_PARTY:
        if not value or len(value) > 128:
            raise InvalidInput("a participant id is required", field="value")
        return Rule(kind, value)
    return Rule(kind, normalise_hs_code(value, field="value"))


def screen(hs_code: str, parties: Iterable[str], rules: Iterable[Rule]) -> Screening:
    """Screen an invoice's goods and parties against ``rules``."""
    rules = list(rules)
    party_set = set(parties)
    for rule in rules:
        if rule.kind is RuleKind.BLOCKED_PARTY and rule.value in party_set:
            return Screening(rule, f"party {rule.value} is on the screening list", STANDARD_CLASS)
    blocked = _longest_prefix(hs_code, rules, RuleKind.BLOCKED_GOODS)
    if blocked is not None:
        detail = f" ({blocked.description})" if blocked.description else ""
        return Screening(
            blocked,
            f"HS code {hs_code} falls under blocked heading {blocked.value}{detail}",
            STANDARD_CLASS,
        )
    priority = _longest_prefix(hs_code, rules, RuleKind.PRIORITY_GOODS)
    return Screening(None, "", PRIORITY_CLASS if priority is not None else STANDARD_CLASS)


def _longest_prefix(hs_code: str, rules: list[Rule], kind: RuleKind) -> Rule | None:
    matches = [r for r in rules if r.kind is kind and hs_code.startswith(r.value)]
    return max(matches, key=lambda r: len(r.value)) if matches else None


def default_rules() -> list[Rule]:
    """The shipped default: arms blocked; food, pharmaceuticals and medical instruments first."""
    rules = [Rule(RuleKind.BLOCKED_GOODS, "93", "arms and ammunition")]
    rules += [
        Rule(RuleKind.PRIORITY_GOODS, f"{chapter:02d}", "food and agricultural products")
        for chapter in range(1, 25)
    ]
    rules.append(Rule(RuleKind.PRIORITY_GOODS, "30", "pharmaceutical products"))
    rules.append(Rule(RuleKind.PRIORITY_GOODS, "9018", "medical instruments"))
    return rules


#: Screening of an invoice: ``(hs_code, exporter_id, importer_id) -> Screening``.
Screen = Callable[[str, str, str], Screening]


def screener(rules: Iterable[Rule]) -> Screen:
    """:func:`screen` against ``rules``, each outcome worked out once: screening is a pure
    function of the goods, the rules and those of the parties on the screening list, and a
    batch or a cut-off repeats few goods."""
    rules = list(rules)
    outcomes: dict[tuple[str, str | None, str | None], Screening] = {}
    listed = {rule.value for rule in rules if rule.kind is RuleKind.BLOCKED_PARTY}

    def screened(hs_code: str, exporter_id: str, importer_id: str) -> Screening:
        key = (
            hs_code,
            exporter_id if exporter_id in listed else None,
            importer_id if importer_id in listed else None,
        )
        found = outcomes.get(key)
        if found is None:
            found = outcomes[key] = screen(hs_code, (exporter_id, importer_id), rules)
        return found

    return screened
