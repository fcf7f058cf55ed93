"""The netting benchmark's instance: a deterministic CN<->RU snapshot shaped like real border
trade, as columns; the same snapshot as the core's input columns (Arrow and numpy, built straight
from the instance, never through ``Obligation`` values); and its OBLIGATIONS.csv and RATES.json
files (DESIGN §10).

Most value flows CN->RU (about 3.5 times RU->CN), invoices are in CNY, RUB, USD and EUR, and a
few large traders do most of the business. Every amount is an integer in minor units.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from clearing.domain.money import exponent
from clearing.domain.netting.columns import EPOCH, ObligationColumns
from clearing.domain.obligations import RECORD_COLUMNS, Obligation

from common import BASE, zipf_weights
from common import rates_document as pair_rates_document

Int64Array = npt.NDArray[np.int64]

RATES = {"CNY": "1", "RUB": "0.0781", "USD": "7.10", "EUR": "7.72"}
#: Share of invoices by currency (CNY and RUB dominate CN<->RU trade).
CURRENCY_SHARES = {"CNY": 0.55, "RUB": 0.35, "USD": 0.07, "EUR": 0.03}
#: Share of invoices in the CN->RU corridor, and median invoice value per corridor (CNY), so
#: that CN->RU carries about 3.5 times the value of RU->CN (Heihe 2024: 24.44bn vs 6.91bn).
CN_TO_RU_SHARE = 0.6
MEDIAN_INVOICE_CNY = {("CN", "RU"): 300_000, ("RU", "CN"): 130_000}
INVOICE_SPREAD = 1.0
SMALLEST_INVOICE_FEN = 500_000
LARGEST_INVOICE_FEN = 2_000_000_000
PRIORITY_GOODS_SHARE = 0.3
FIRST_DUE_DATE = date(2026, 10, 1)
DUE_DATE_SPAN_DAYS = 92


@dataclass
class Instance:
    """One generated snapshot as columns (amounts in minor units of their invoice currency)."""

    size: int
    obligation_id: list[str]
    debtor_id: list[str]
    debtor_jurisdiction: list[str]
    creditor_id: list[str]
    creditor_jurisdiction: list[str]
    currency: list[str]
    amount_minor: Int64Array
    due_date: list[date]
    #: ``due_date`` as days since 1970-01-01.
    due_days: Int64Array
    priority: Int64Array
    sequence: Int64Array

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """The obligations as tuples in the order of ``RECORD_COLUMNS`` (amounts in minor units)."""
        return zip(
            self.obligation_id,
            self.debtor_id,
            self.debtor_jurisdiction,
            self.creditor_id,
            self.creditor_jurisdiction,
            self.currency,
            self.amount_minor.tolist(),
            self.due_date,
            self.priority.tolist(),
            self.sequence.tolist(),
            strict=True,
        )

    def obligations(self) -> list[Obligation]:
        return [Obligation(*row) for row in self.rows()]

    def columns(self) -> ObligationColumns:
        """The snapshot as the core's input columns, built straight from these columns: Arrow
        strings for the text, fresh int64 arrays for the rest (no ``Obligation`` in between)."""

        def text(values: list[str]) -> pa.Array:
            return pa.array(values, pa.string())

        return ObligationColumns(
            obligation_id=text(self.obligation_id),
            debtor_id=text(self.debtor_id),
            debtor_jurisdiction=text(self.debtor_jurisdiction),
            creditor_id=text(self.creditor_id),
            creditor_jurisdiction=text(self.creditor_jurisdiction),
            currency=text(self.currency),
            outstanding=self.amount_minor.copy(),
            due_date=self.due_days.copy(),
            priority=self.priority.copy(),
            sequence=self.sequence.copy(),
        )


def rate_fraction(currency: str) -> Fraction:
    """Base minor units per minor unit of ``currency``, exactly."""
    return Fraction(Decimal(RATES[currency])) * Fraction(
        10 ** exponent(BASE), 10 ** exponent(currency)
    )


def zipf_choice(rng: np.random.Generator, population: int, count: int) -> Int64Array:
    """``count`` draws from ``range(population)`` with Zipf-like weights (few large traders)."""
    weights = rng.permutation(zipf_weights(population))
    choices: Int64Array = rng.choice(population, size=count, p=weights / weights.sum())
    return choices


def generate_instance(size: int, participants: int, seed: int) -> Instance:
    """A deterministic CN<->RU instance of ``size`` obligations among ``participants`` traders."""
    rng = np.random.default_rng([seed, size])
    per_side = {"CN": participants // 2, "RU": participants - participants // 2}
    participant_names = {
        code: np.array([f"{code}-{number:06d}" for number in range(1, count + 1)], dtype=object)
        for code, count in per_side.items()
    }
    cn_to_ru = rng.random(size) < CN_TO_RU_SHARE
    debtor_side = np.where(cn_to_ru, "CN", "RU")
    creditor_side = np.where(cn_to_ru, "RU", "CN")

    debtor_id = np.empty(size, dtype=object)
    creditor_id = np.empty(size, dtype=object)
    median_fen = np.empty(size, dtype=np.float64)
    for (source, target), median in MEDIAN_INVOICE_CNY.items():
        mask = debtor_side == source
        count = int(mask.sum())
        debtor_id[mask] = participant_names[source][zipf_choice(rng, per_side[source], count)]
        creditor_id[mask] = participant_names[target][zipf_choice(rng, per_side[target], count)]
        median_fen[mask] = median * 100
    value_fen = np.exp(rng.normal(np.log(median_fen), INVOICE_SPREAD))
    value_fen = np.clip(value_fen, SMALLEST_INVOICE_FEN, LARGEST_INVOICE_FEN).astype(np.int64)

    codes = list(CURRENCY_SHARES)
    currency_index = rng.choice(len(codes), size=size, p=list(CURRENCY_SHARES.values()))
    amount_minor = np.empty(size, dtype=np.int64)
    for index, code in enumerate(codes):
        mask = currency_index == index
        factor = rate_fraction(code)  # invoice minor units = value / factor, rounded down
        amount_minor[mask] = value_fen[mask] * factor.denominator // factor.numerator
    dates = [FIRST_DUE_DATE + timedelta(days=offset) for offset in range(DUE_DATE_SPAN_DAYS)]
    due_offsets = rng.integers(0, DUE_DATE_SPAN_DAYS, size=size)
    first_day = (FIRST_DUE_DATE - EPOCH).days
    priority = (rng.random(size) >= PRIORITY_GOODS_SHARE).astype(np.int64)
    # Ids and sequence numbers in submission order; the snapshot itself is in shuffled order.
    submission = np.arange(1, size + 1, dtype=np.int64)
    shuffled = rng.permutation(size)
    currency_names = np.array(codes, dtype=object)[currency_index]
    return Instance(
        size=size,
        obligation_id=[f"OB-{number:08d}" for number in submission[shuffled].tolist()],
        debtor_id=debtor_id[shuffled].tolist(),
        debtor_jurisdiction=debtor_side[shuffled].tolist(),
        creditor_id=creditor_id[shuffled].tolist(),
        creditor_jurisdiction=creditor_side[shuffled].tolist(),
        currency=currency_names[shuffled].tolist(),
        amount_minor=amount_minor[shuffled],
        due_date=[dates[offset] for offset in due_offsets[shuffled].tolist()],
        due_days=(first_day + due_offsets[shuffled]).astype(np.int64),
        priority=priority[shuffled],
        sequence=submission[shuffled],
    )


def rates_document() -> dict[str, Any]:
    return pair_rates_document(RATES, source="benchmarks/run.py", as_of="2026-10-31T15:00:00Z")


def write_files(instance: Instance, directory: Path) -> tuple[Path, Path]:
    """Write the instance as OBLIGATIONS.csv and RATES.json (DESIGN §10)."""
    obligations_path = directory / f"obligations-{instance.size}.csv"
    rates_path = directory / "rates.json"
    rates_path.write_text(json.dumps(rates_document()), encoding="utf-8")
    header = ",".join(RECORD_COLUMNS)
    # Every benchmark currency has two decimal places.
    assert all(exponent(code) == 2 for code in RATES)
    lines = [
        f"{oid},{debtor},{dj},{creditor},{cj},{cur},{amount // 100}.{amount % 100:02d},"
        f"{due.isoformat()},{priority},{sequence}"
        for oid, debtor, dj, creditor, cj, cur, amount, due, priority, sequence in instance.rows()
    ]
    obligations_path.write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return obligations_path, rates_path
