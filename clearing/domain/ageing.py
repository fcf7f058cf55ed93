"""Ageing rules (DESIGN §6a): when an obligation that waits in the pool is flagged ``stale``.

Rules are data, like compliance rules, of two kinds:

* ``cycles_carried`` N flags an obligation once N cycles have carried it, that is snapshotted
  it without settling it in full (``Invoice.cycles_carried``);
* ``days_overdue`` D flags it once it has been overdue D days: D days past its due date, the
  first day after the due date being one day overdue.

Only an obligation still in the pool (:data:`~clearing.domain.invoices.POOL`: eligible, or held
by a cycle not yet settled) can be stale; a settled, released, cancelled or rejected one never
is. Of several rules of one kind the lowest threshold decides, so the rules reduce to one
:class:`StaleTest` per day, which storage can apply as a filter (its two figures compare with
two columns) and the domain applies to one invoice.

The age of what is carried (for the imbalance report) runs from the first eligibility, in whole
days, bucketed by :data:`~clearing.domain.imbalance.AGE_BUCKETS`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from clearing.domain.errors import InvalidInput
from clearing.domain.imbalance import AGE_BUCKETS
from clearing.domain.invoices import POOL, Status


class AgeingKind(enum.StrEnum):
    CYCLES_CARRIED = "cycles_carried"
    DAYS_OVERDUE = "days_overdue"


#: The largest threshold of each kind: a thousand cycles, ten years of days.
MAX_THRESHOLD = {AgeingKind.CYCLES_CARRIED: 1000, AgeingKind.DAYS_OVERDUE: 3653}


@dataclass(frozen=True, slots=True)
class AgeingRule:
    """Flag an obligation once its figure of ``kind`` reaches ``threshold``."""

    kind: AgeingKind
    threshold: int
    description: str = ""

    @property
    def name(self) -> str:
        return f"{self.kind.value}:{self.threshold}"


def check_ageing_rule(kind: AgeingKind | str, threshold: object) -> AgeingRule:
    """A rule of ``kind`` at ``threshold`` (a whole number from 1 to the kind's maximum)."""
    try:
        kind = AgeingKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in AgeingKind)
        raise InvalidInput(
            f"{kind!r} is not an ageing rule kind; use one of {kinds}", field="kind"
        ) from None
    most = MAX_THRESHOLD[kind]
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= most:
        raise InvalidInput(f"must be a whole number from 1 to {most}", field="threshold")
    return AgeingRule(kind, threshold)


def default_ageing_rules() -> list[AgeingRule]:
    """The shipped default: stale after six cycles carried, or a month overdue."""
    return [
        AgeingRule(AgeingKind.CYCLES_CARRIED, 6, "carried six cycles"),
        AgeingRule(AgeingKind.DAYS_OVERDUE, 30, "a month overdue"),
    ]


def days_overdue(due_date: date, today: date) -> int:
    """Whole days past the due date (0 on it and before)."""
    return max(0, (today - due_date).days)


@dataclass(frozen=True, slots=True)
class StaleTest:
    """The ageing rules as of one day: an obligation in the pool is stale once carried at least
    ``cycles`` cycles, or due on or before ``due_by`` (overdue by the least threshold of days).
    ``None``: no rule of that kind."""

    cycles: int | None
    due_by: date | None

    def flags(self, status: Status, cycles_carried: int, due_date: date) -> bool:
        """Whether an obligation with these figures is stale."""
        if status not in POOL:
            return False
        if self.cycles is not None and cycles_carried >= self.cycles:
            return True
        return self.due_by is not None and due_date <= self.due_by

    @property
    def flags_nothing(self) -> bool:
        return self.cycles is None and self.due_by is None


def stale_test(rules: Iterable[AgeingRule], today: date) -> StaleTest:
    """The rules reduced to their least threshold of each kind, as of ``today``."""
    rules = list(rules)
    cycles = [r.threshold for r in rules if r.kind is AgeingKind.CYCLES_CARRIED]
    days = [r.threshold for r in rules if r.kind is AgeingKind.DAYS_OVERDUE]
    return StaleTest(
        min(cycles) if cycles else None,
        today - timedelta(days=min(days)) if days else None,
    )


def flagged_by(
    rules: Iterable[AgeingRule], status: Status, cycles_carried: int, due_date: date, today: date
) -> list[AgeingRule]:
    """The rules that flag an obligation with these figures (none when it is not stale)."""
    if status not in POOL:
        return []
    figures = {
        AgeingKind.CYCLES_CARRIED: cycles_carried,
        AgeingKind.DAYS_OVERDUE: days_overdue(due_date, today),
    }
    return [rule for rule in rules if figures[rule.kind] >= rule.threshold]


def age_in_days(first_eligible_at: datetime, as_of: datetime) -> int:
    """Whole days since the first eligibility (0 for a moment after ``as_of``)."""
    return max(0, (as_of - first_eligible_at).days)


def bucket_of(first_eligible_at: datetime, as_of: datetime) -> str:
    """The label of the age bucket of an obligation first eligible at ``first_eligible_at``."""
    days = age_in_days(first_eligible_at, as_of)
    for label, _first, last in AGE_BUCKETS:
        if last is None or days <= last:
            return label
    raise AssertionError("the last bucket is open-ended")


def bucket_starts(as_of: datetime) -> list[tuple[str, datetime | None]]:
    """Each bucket's label and the moment its ages start after (exclusive), youngest first: an
    obligation is in the first bucket whose start its first eligibility is after (``None``:
    the open-ended last bucket). An age of at most ``last`` whole days means a first
    eligibility after ``as_of`` less ``last + 1`` days; storage compares the column with these
    moments instead of doing date arithmetic of its own."""
    return [
        (label, as_of - timedelta(days=last + 1) if last is not None else None)
        for label, _first, last in AGE_BUCKETS
    ]


@dataclass(frozen=True, slots=True)
class CarriedTotal:
    """What the pool carries on one corridor (debtor's jurisdiction ``source`` to creditor's
    ``target``) in one currency and one age bucket: minor units of ``currency`` still
    outstanding, the part of it overdue, and how many obligations."""

    source: str
    target: str
    currency: str
    bucket: str
    outstanding: int
    overdue: int
    obligations: int


def carried_totals(
    rows: Iterable[tuple[str, str, str, int, datetime, date]], as_of: datetime
) -> list[CarriedTotal]:
    """The totals of ``rows`` (source, target, currency, outstanding, first eligible, due date)
    by corridor, currency and age bucket, in that order (buckets youngest first)."""
    order = {label: index for index, (label, _, _) in enumerate(AGE_BUCKETS)}
    today = as_of.date()
    sums: dict[tuple[str, str, str, str], list[int]] = {}
    for source, target, currency, outstanding, first_eligible_at, due_date in rows:
        key = (source, target, currency, bucket_of(first_eligible_at, as_of))
        total = sums.setdefault(key, [0, 0, 0])
        total[0] += outstanding
        total[1] += outstanding if due_date < today else 0
        total[2] += 1
    return [
        CarriedTotal(*key, *total)
        for key, total in sorted(sums.items(), key=lambda i: (*i[0][:3], order[i[0][3]]))
    ]
