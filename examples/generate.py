"""Generate the shipped example month: CN<->RU border-trade obligations for October 2026.

The example is synthetic but shaped like the real border trade around Heihe and
Blagoveshchensk: in 2024 Heihe exported 6.91bn CNY of goods to Russia and imported 24.44bn CNY,
so the CN->RU corridor (Chinese importers owing Russian exporters for soybeans, timber, coal,
fish, fertiliser...) carries about 3.5 times the value of the RU->CN corridor (Russian importers
owing Chinese exporters for vegetables, machinery, cars, clothing, medicines...). Invoices are
mostly in CNY and RUB, a few in USD and EUR; food and medicine are priority class 0 (netted
first under ``fifo``), everything else class 1; due dates fall in October to December 2026;
``sequence`` is the order of submission. A few large traders do most of the business.

The output is deterministic (fixed seed, ``random.Random``): regenerating rewrites the shipped
files byte for byte, and ``tests/unit/test_examples.py`` checks that they match. To regenerate
after changing this script, from the repository root::

    .venv/bin/python examples/generate.py            # writes examples/obligations-2026-10.csv
                                                     # and examples/rates-2026-10.json
    .venv/bin/python examples/generate.py --output-dir /tmp/example   # somewhere else

Random draws are floats, but every amount becomes integer minor units at once and is written
with :func:`clearing.domain.money.format_amount`; the rates are exact decimal strings.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from clearing.domain.money import format_amount
from clearing.domain.obligations import RECORD_COLUMNS

SEED = 20261031
MONTH = "2026-10"
OBLIGATIONS_FILE = f"obligations-{MONTH}.csv"
RATES_FILE = f"rates-{MONTH}.json"
EXAMPLES_DIRECTORY = Path(__file__).resolve().parent

#: Invoices per corridor: more and larger invoices flow CN->RU, as in the real trade.
CN_TO_RU_INVOICES = 2300
RU_TO_CN_INVOICES = 1700

#: Traders registered with each entity, per border city (id prefix, count).
CN_CITIES = (("HEIHE", 130), ("SUIFENHE", 70), ("MANZHOULI", 60), ("HARBIN", 50))
RU_CITIES = (("BLAG", 110), ("VLAD", 60), ("KHAB", 40), ("ZABK", 30))

#: An illustrative fixing for the month, in CNY per major unit (not a market quote).
RATES = {"CNY": "1", "RUB": "0.0781", "USD": "7.10", "EUR": "7.72"}
RATES_DOCUMENT = {
    "base": "CNY",
    "jurisdictions": {"CN": "CNY", "RU": "RUB"},
    "rates": RATES,
    "source": "illustrative month-end fixing for the shipped example (not a market quote)",
    "as_of": "2026-10-31T15:00:00Z",
}

#: The columns of OBLIGATIONS.csv, and one extra (ignored by `clearing net`) that shows why a
#: row has priority 0.
HEADER = (*RECORD_COLUMNS, "hs_code")

PRIORITY_GOODS = 0
OTHER_GOODS = 1


@dataclass(frozen=True)
class Goods:
    """A kind of traded goods: HS heading, priority class, how often and how large its invoices
    are (median invoice value in CNY; spread of the log-normal around it)."""

    hs_code: str
    priority: int
    weight: int
    median_cny: int
    spread: float = 0.9


#: What Russian exporters sell to Chinese importers (obligations CN->RU).
RUSSIAN_EXPORTS = (
    Goods("1201", PRIORITY_GOODS, 14, 650_000),  # soybeans
    Goods("1514", PRIORITY_GOODS, 8, 420_000),  # rapeseed oil
    Goods("1101", PRIORITY_GOODS, 6, 300_000),  # wheat flour
    Goods("0303", PRIORITY_GOODS, 7, 260_000),  # frozen fish
    Goods("1806", PRIORITY_GOODS, 5, 120_000),  # chocolate and confectionery
    Goods("0409", PRIORITY_GOODS, 2, 60_000),  # honey
    Goods("4403", OTHER_GOODS, 12, 480_000),  # logs
    Goods("4407", OTHER_GOODS, 10, 380_000),  # sawn timber
    Goods("2701", OTHER_GOODS, 9, 900_000),  # coal
    Goods("3105", OTHER_GOODS, 7, 520_000),  # fertilisers
    Goods("4703", OTHER_GOODS, 5, 450_000),  # wood pulp
    Goods("7601", OTHER_GOODS, 3, 700_000),  # unwrought aluminium
)

#: What Chinese exporters sell to Russian importers (obligations RU->CN).
CHINESE_EXPORTS = (
    Goods("0702", PRIORITY_GOODS, 10, 55_000),  # tomatoes
    Goods("0805", PRIORITY_GOODS, 8, 70_000),  # citrus fruit
    Goods("0808", PRIORITY_GOODS, 7, 60_000),  # apples
    Goods("3004", PRIORITY_GOODS, 4, 150_000),  # medicaments
    Goods("9018", PRIORITY_GOODS, 3, 180_000),  # medical instruments
    Goods("6203", OTHER_GOODS, 10, 90_000),  # clothing
    Goods("6403", OTHER_GOODS, 6, 80_000),  # footwear
    Goods("8429", OTHER_GOODS, 6, 650_000),  # excavators and loaders
    Goods("8703", OTHER_GOODS, 7, 450_000),  # passenger cars
    Goods("8704", OTHER_GOODS, 5, 600_000),  # lorries
    Goods("8517", OTHER_GOODS, 7, 160_000),  # telephones
    Goods("8471", OTHER_GOODS, 5, 140_000),  # computers
    Goods("4011", OTHER_GOODS, 5, 120_000),  # tyres
    Goods("9403", OTHER_GOODS, 4, 90_000),  # furniture
)

#: Invoice currencies and their shares per corridor (almost all trade is in CNY and RUB).
CN_TO_RU_CURRENCIES = (("CNY", 58), ("RUB", 34), ("USD", 6), ("EUR", 2))
RU_TO_CN_CURRENCIES = (("CNY", 48), ("RUB", 44), ("USD", 6), ("EUR", 2))

#: Invoices are issued during October with these payment terms (days), so every due date
#: falls between October and December 2026.
FIRST_ISSUE_DAY = date(2026, 10, 1)
PAYMENT_TERMS_DAYS = (15, 30, 45, 60)

SMALLEST_INVOICE_FEN = 500_000  # 5,000 CNY
LARGEST_INVOICE_FEN = 2_000_000_000  # 20 million CNY


@dataclass(frozen=True)
class Invoice:
    """One generated obligation before ids and sequence numbers are assigned."""

    submitted_at: tuple[int, int]  # (day of October, second of the day): submission order
    debtor_id: str
    debtor_jurisdiction: str
    creditor_id: str
    creditor_jurisdiction: str
    currency: str
    amount_minor: int
    due_date: date
    priority: int
    hs_code: str


def participant_ids(jurisdiction: str, cities: tuple[tuple[str, int], ...]) -> list[str]:
    """Ids such as ``CN-HEIHE-0001``, numbered within each city."""
    return [
        f"{jurisdiction}-{city}-{number:04d}"
        for city, count in cities
        for number in range(1, count + 1)
    ]


def trading_weights(rng: random.Random, count: int) -> list[float]:
    """Zipf-like activity: a few large traders, a long tail of small ones, in shuffled order."""
    weights = [1.0 / (rank**0.9) for rank in range(1, count + 1)]
    rng.shuffle(weights)
    return weights


def invoice_amount_minor(rng: random.Random, goods: Goods, currency: str) -> int:
    """A log-normal invoice value around the goods' median, expressed in ``currency``.

    Most invoices are in whole units; about a third carry kopecks, fen or cents.
    """
    value_fen = int(rng.lognormvariate(math.log(goods.median_cny * 100), goods.spread))
    value_fen = min(max(value_fen, SMALLEST_INVOICE_FEN), LARGEST_INVOICE_FEN)
    rate = Fraction(Decimal(RATES[currency]))
    amount_minor = int(value_fen / rate)  # exact Fraction arithmetic, truncated to minor units
    if rng.random() < 0.67:
        amount_minor -= amount_minor % 100
    return amount_minor


def generate_corridor(
    rng: random.Random,
    count: int,
    debtors: tuple[str, list[str]],
    creditors: tuple[str, list[str]],
    catalogue: tuple[Goods, ...],
    currencies: tuple[tuple[str, int], ...],
) -> list[Invoice]:
    """``count`` invoices owed by importers of ``debtors`` to exporters of ``creditors``."""
    debtor_jurisdiction, debtor_ids = debtors
    creditor_jurisdiction, creditor_ids = creditors
    debtor_weights = trading_weights(rng, len(debtor_ids))
    creditor_weights = trading_weights(rng, len(creditor_ids))
    goods_weights = [goods.weight for goods in catalogue]
    currency_codes = [code for code, _ in currencies]
    currency_weights = [share for _, share in currencies]
    invoices = []
    for _ in range(count):
        goods = rng.choices(catalogue, goods_weights)[0]
        currency = rng.choices(currency_codes, currency_weights)[0]
        issue_day = rng.randrange(31)
        terms = rng.choice(PAYMENT_TERMS_DAYS)
        invoices.append(
            Invoice(
                submitted_at=(issue_day + 1, rng.randrange(86_400)),
                debtor_id=rng.choices(debtor_ids, debtor_weights)[0],
                debtor_jurisdiction=debtor_jurisdiction,
                creditor_id=rng.choices(creditor_ids, creditor_weights)[0],
                creditor_jurisdiction=creditor_jurisdiction,
                currency=currency,
                amount_minor=invoice_amount_minor(rng, goods, currency),
                due_date=FIRST_ISSUE_DAY + timedelta(days=issue_day + terms),
                priority=goods.priority,
                hs_code=goods.hs_code,
            )
        )
    return invoices


def generate_invoices(seed: int = SEED) -> list[Invoice]:
    """The month's invoices in submission order."""
    rng = random.Random(seed)
    chinese = ("CN", participant_ids("CN", CN_CITIES))
    russian = ("RU", participant_ids("RU", RU_CITIES))
    invoices = generate_corridor(
        rng, CN_TO_RU_INVOICES, chinese, russian, RUSSIAN_EXPORTS, CN_TO_RU_CURRENCIES
    ) + generate_corridor(
        rng, RU_TO_CN_INVOICES, russian, chinese, CHINESE_EXPORTS, RU_TO_CN_CURRENCIES
    )
    invoices.sort(key=lambda invoice: invoice.submitted_at)
    return invoices


def write_obligations(path: Path, invoices: list[Invoice]) -> None:
    """Write ``OBLIGATIONS.csv`` (DESIGN §10) with ids and sequence in submission order."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for sequence, invoice in enumerate(invoices, start=1):
            writer.writerow(
                (
                    f"INV-{MONTH}-{sequence:06d}",
                    invoice.debtor_id,
                    invoice.debtor_jurisdiction,
                    invoice.creditor_id,
                    invoice.creditor_jurisdiction,
                    invoice.currency,
                    format_amount(invoice.amount_minor, invoice.currency),
                    invoice.due_date.isoformat(),
                    invoice.priority,
                    sequence,
                    invoice.hs_code,
                )
            )


def write_rates(path: Path) -> None:
    """Write ``RATES.json`` (DESIGN §10)."""
    path.write_text(json.dumps(RATES_DOCUMENT, indent=2) + "\n", encoding="utf-8")


def generate(output_directory: Path = EXAMPLES_DIRECTORY) -> tuple[Path, Path]:
    """Write the example obligations and rates into ``output_directory``; return both paths."""
    output_directory.mkdir(parents=True, exist_ok=True)
    obligations_path = output_directory / OBLIGATIONS_FILE
    rates_path = output_directory / RATES_FILE
    write_obligations(obligations_path, generate_invoices())
    write_rates(rates_path)
    return obligations_path, rates_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=EXAMPLES_DIRECTORY,
        help="where to write the two files (default: the examples/ directory)",
    )
    arguments = parser.parse_args()
    for path in generate(arguments.output_dir):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
