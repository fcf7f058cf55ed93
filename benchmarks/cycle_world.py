"""The world the cycle benchmark runs in: the CN and RU entities with an operator each, the
traders, and a deterministic set of eligible invoices skewed like the Heihe border trade.

About three quarters of the invoices are owed by Chinese importers to Russian exporters, in CNY,
RUB and USD, and a few large traders do most of the business. Traders and invoices are COPYed
straight into their tables (setup, not timed); every amount is an integer in minor units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import Engine

from clearing.adapters.persistence.database import make_engine
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.domain.access import Principal
from clearing.domain.compliance import default_rules, screen
from clearing.domain.ledger import GENESIS_HASH
from clearing.use_cases import keys
from clearing.use_cases import participants as participants_use_cases

from common import JURISDICTIONS, zipf_weights
from database import INVOICE_COLUMNS, copy_into, plain_url

#: Share of invoices owed by Chinese importers to Russian exporters (the rest run RU->CN).
CN_TO_RU_SHARE = 0.75
CURRENCY_SHARES = {"CNY": 0.5, "RUB": 0.3, "USD": 0.2}
#: Median invoice in major units of its currency, by currency, and the lognormal spread.
MEDIAN_MAJOR = {"CNY": 60_000, "RUB": 700_000, "USD": 8_000}
SPREAD = 1.1
HS_CODES = ("8471", "8517", "7208", "2709", "8703", "4011", "1201", "0303", "3004", "9018")
ISSUE_DATE = date(2026, 10, 1)

#: Tables a run fills; emptied (with journal triggers bypassed) before the next run.
#: The columns of an eligible invoice's row: those of any invoice, and when it became eligible.
ELIGIBLE_COLUMNS = (*INVOICE_COLUMNS, "first_eligible_at")
RUN_TABLES = (
    "invoice_events",
    "cycle_steps",
    "cycle_obligations",
    "cycle_positions",
    "cycle_approvals",
    "pay_ins",
    "refunds",
    "bank_entries",
    "journal_postings",
    "journal_entries",
    "line_movements",
    "cycle_lines",
    "cycles",
    "invoices",
)


@dataclass
class World:
    url: str
    engine: Engine
    uows: SqlUnitOfWorkFactory
    operators: dict[str, Principal]
    participants: dict[str, list[str]]


def build_world(url: str, participants: int) -> World:
    engine = make_engine(url)
    uows = SqlUnitOfWorkFactory(engine)
    operators: dict[str, Principal] = {}
    for code, currency in JURISDICTIONS.items():
        participants_use_cases.add_entity(uows(), code, currency)
        _key, operators[code] = keys.create_key(uows(), "operator", entity=code)
    ids: dict[str, list[str]] = {
        code: [f"{code}-{index:010X}" for index in range(participants // len(JURISDICTIONS))]
        for code in JURISDICTIONS
    }
    stamp = datetime.now(UTC)
    with psycopg.connect(plain_url(url)) as connection, connection.cursor() as cursor:
        copy_into(
            cursor,
            "participants",
            ("id", "entity", "name", "created_at"),
            (
                (participant_id, code, f"{code} trader {number}", stamp)
                for code, members in ids.items()
                for number, participant_id in enumerate(members)
            ),
        )
        connection.commit()
    return World(url, engine, uows, operators, ids)


def activity(rng: np.random.Generator, count: int, size: int) -> np.ndarray[Any, Any]:
    """``size`` trader indexes in ``range(count)``, Zipf-like: a few trade a lot."""
    weights = zipf_weights(count)
    order = rng.permutation(count)
    return order[rng.choice(count, size=size, p=weights / weights.sum())]


def invoice_rows(world: World, obligations: int, seed: int) -> list[tuple[Any, ...]]:
    """A deterministic set of eligible invoices, as rows of :data:`ELIGIBLE_COLUMNS`."""
    rng = np.random.default_rng(seed)
    cn, ru = world.participants["CN"], world.participants["RU"]
    cn_owes = rng.random(obligations) < CN_TO_RU_SHARE
    cn_pick = activity(rng, len(cn), obligations)
    ru_pick = activity(rng, len(ru), obligations)
    currencies = list(CURRENCY_SHARES)
    currency_pick = rng.choice(len(currencies), size=obligations, p=list(CURRENCY_SHARES.values()))
    spread = rng.lognormal(0.0, SPREAD, size=obligations)
    days = rng.integers(0, 120, size=obligations)
    hs_pick = rng.integers(0, len(HS_CODES), size=obligations)
    priority = {code: screen(code, (), default_rules()).priority for code in HS_CODES}
    stamp = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = []
    for index in range(obligations):
        currency = currencies[int(currency_pick[index])]
        amount = max(100, int(MEDIAN_MAJOR[currency] * 100 * float(spread[index])))
        china, russia = cn[int(cn_pick[index])], ru[int(ru_pick[index])]
        importer, exporter = (china, russia) if cn_owes[index] else (russia, china)
        hs_code = HS_CODES[int(hs_pick[index])]
        rows.append(
            (
                f"inv_{seed:04d}_{index:09d}",
                f"B{seed}-{index}",
                exporter,
                exporter[:2],
                importer,
                importer[:2],
                currency,
                amount,
                amount,
                ISSUE_DATE,
                ISSUE_DATE + timedelta(days=int(days[index])),
                hs_code,
                "",
                "eligible",
                priority[hs_code],
                stamp,
                stamp,
                stamp,
            )
        )
    return rows


def reset_run(world: World, rows: Sequence[tuple[Any, ...]]) -> None:
    """Empty what a run filled (journal triggers bypassed), reset the head, COPY the invoices."""
    with psycopg.connect(plain_url(world.url)) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(f"TRUNCATE {', '.join(RUN_TABLES)} RESTART IDENTITY")
            cursor.execute(
                "UPDATE ledger_head SET seq = 0, hash = %s WHERE id = 1", (GENESIS_HASH,)
            )
            copy_into(cursor, "invoices", ELIGIBLE_COLUMNS, rows)
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
