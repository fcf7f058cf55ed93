"""Worked examples of the netting core (DESIGN §4), each named as the sentence it proves."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from clearing.domain.errors import InvalidInput
from clearing.domain.netting import NettingResult, net
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet

BN = 10**9 * 100  # one billion major units, in minor units (fen, kopecks, tenge tiyn)

RATES = RateSet(
    base="CNY",
    jurisdictions={"CN": "CNY", "RU": "RUB", "KZ": "KZT"},
    rates={"CNY": Decimal(1), "RUB": Decimal("0.0781"), "KZT": Decimal("0.0142")},
    source="test",
    as_of="2026-11-20T10:00:00Z",
)


def owes(
    obligation_id: str,
    debtor: str,
    creditor: str,
    amount: int,
    currency: str = "CNY",
    *,
    due: date = date(2026, 11, 30),
    priority: int = 0,
    sequence: int = 0,
) -> Obligation:
    """``debtor`` (``"CN:importer"``) owes ``creditor`` ``amount`` minor units of ``currency``."""
    debtor_jurisdiction, debtor_id = debtor.split(":")
    creditor_jurisdiction, creditor_id = creditor.split(":")
    return Obligation(
        obligation_id=obligation_id,
        debtor_id=debtor_id,
        debtor_jurisdiction=debtor_jurisdiction,
        creditor_id=creditor_id,
        creditor_jurisdiction=creditor_jurisdiction,
        currency=currency,
        outstanding=amount,
        due_date=due,
        priority=priority,
        sequence=sequence,
    )


def settled(result: NettingResult) -> dict[str, int]:
    return {s.obligation.obligation_id: s.settled for s in result.settlements()}


def corridor(result: NettingResult, source: str, target: str) -> tuple[int, int, int]:
    found = next(c for c in result.corridors if (c.source, c.target) == (source, target))
    return found.submitted, found.settled, found.carried


def totals(result: NettingResult) -> dict[str, tuple[int, int]]:
    return {t.jurisdiction: (t.pay_in, t.pay_out) for t in result.jurisdictions}


@pytest.mark.parametrize("policy", list(Policy))
def test_one_obligation_alone_settles_nothing(policy: Policy) -> None:
    result = net([owes("inv-1", "CN:harbin-imports", "RU:amur-timber", 1_000_00)], RATES, policy)
    only = result.settlement(0)
    assert (only.value, only.settled_value, only.settled) == (1_000_00, 0, 0)
    assert only.remaining == 1_000_00
    assert (only.debtor_leg, only.creditor_leg) == (0, 0)
    assert result.positions == ()
    assert totals(result) == {"CN": (0, 0), "KZ": (0, 0), "RU": (0, 0)}
    assert corridor(result, "CN", "RU") == (1_000_00, 0, 1_000_00)
    assert result.metrics.settled_value == 0
    assert result.metrics.carried_value == 1_000_00
    assert result.metrics.netting_efficiency == "0.000000"
    assert result.metrics.obligations_settled == 0


def test_an_empty_snapshot_settles_nothing_and_still_has_a_digest() -> None:
    result = net([], RATES)
    assert result.corridors == ()
    assert result.metrics.submitted_value == 0
    assert result.metrics.netting_efficiency == "0.000000"
    assert len(result.digest) == 64


@pytest.mark.parametrize("policy", list(Policy))
def test_a_perfectly_balanced_cn_ru_pair_settles_fully(policy: Policy) -> None:
    rates = RateSet("CNY", {"CN": "CNY", "RU": "RUB"}, {"CNY": Decimal(1), "RUB": Decimal("0.08")})
    result = net(
        [
            owes("cn-buys", "CN:heihe-foods", "RU:blago-grain", 100_00, "CNY"),
            owes("ru-buys", "RU:blago-grain-imports", "CN:heihe-machines", 1_250_00, "RUB"),
        ],
        rates,
        policy,
    )
    assert settled(result) == {"cn-buys": 100_00, "ru-buys": 1_250_00}
    assert all(s.remaining == 0 for s in result.settlements())
    # A matched CN<->RU pair of 100 each settles 200 (both directions count).
    assert result.metrics.settled_value == 200_00
    assert result.metrics.submitted_value == 200_00
    assert result.metrics.netting_efficiency == "1.000000"
    assert result.metrics.obligations_settled == 2
    assert totals(result) == {"CN": (100_00, 100_00), "RU": (1_250_00, 1_250_00)}
    assert {(p.participant_id, p.net) for p in result.positions} == {
        ("heihe-foods", -100_00),
        ("heihe-machines", 100_00),
        ("blago-grain", 1_250_00),
        ("blago-grain-imports", -1_250_00),
    }


@pytest.mark.parametrize("policy", list(Policy))
def test_a_cn_ru_kz_cn_loop_settles_although_no_pair_balances(policy: Policy) -> None:
    result = net(
        [
            owes("cn-ru", "CN:a", "RU:b", 100_00),
            owes("ru-kz", "RU:b", "KZ:c", 80_00),
            owes("kz-cn", "KZ:c", "CN:a", 120_00),
        ],
        RATES,
        policy,
    )
    # No corridor has a reverse, yet the loop settles its smallest link all the way round.
    assert corridor(result, "CN", "RU") == (100_00, 80_00, 20_00)
    assert corridor(result, "RU", "KZ") == (80_00, 80_00, 0)
    assert corridor(result, "KZ", "CN") == (120_00, 80_00, 40_00)
    assert settled(result) == {"cn-ru": 80_00, "ru-kz": 80_00, "kz-cn": 80_00}
    assert result.metrics.settled_value == 240_00
    assert result.metrics.carried_value == 60_00
    for pay_in, pay_out in totals(result).values():
        assert pay_in == pay_out > 0


@pytest.mark.parametrize("policy", list(Policy))
def test_a_heihe_2024_shaped_month_settles_6_91bn_each_way_and_carries_17_53bn(
    policy: Policy,
) -> None:
    # Chinese exports to Russia: Russian importers owe Chinese exporters 6.91bn CNY (RU->CN);
    # Chinese imports from Russia: Chinese importers owe Russian exporters 24.44bn CNY (CN->RU).
    exports = [
        owes("ex-1", "RU:ru-importer-1", "CN:cn-exporter-1", 250 * BN // 100, due=date(2024, 3, 1)),
        owes("ex-2", "RU:ru-importer-2", "CN:cn-exporter-2", 300 * BN // 100, due=date(2024, 5, 1)),
        owes("ex-3", "RU:ru-importer-1", "CN:cn-exporter-3", 141 * BN // 100, due=date(2024, 9, 1)),
    ]
    imports = [
        owes(
            "im-1", "CN:cn-importer-1", "RU:ru-exporter-1", 1000 * BN // 100, due=date(2024, 2, 1)
        ),
        owes("im-2", "CN:cn-importer-2", "RU:ru-exporter-2", 800 * BN // 100, due=date(2024, 4, 1)),
        owes("im-3", "CN:cn-importer-1", "RU:ru-exporter-3", 400 * BN // 100, due=date(2024, 6, 1)),
        owes("im-4", "CN:cn-importer-3", "RU:ru-exporter-1", 244 * BN // 100, due=date(2024, 8, 1)),
    ]
    result = net(exports + imports, RATES, policy)
    assert corridor(result, "RU", "CN") == (691 * BN // 100, 691 * BN // 100, 0)
    assert corridor(result, "CN", "RU") == (2444 * BN // 100, 691 * BN // 100, 1753 * BN // 100)
    assert result.metrics.settled_value == 1382 * BN // 100
    assert result.metrics.carried_value == 1753 * BN // 100
    assert result.metrics.netting_efficiency == "0.440829"
    assert all(settled(result)[o.obligation_id] == o.outstanding for o in exports)
    # In Russia the 6.91bn CNY is paid in and out in roubles: 6.91bn / 0.0781, half up.
    kopecks = (2 * 691 * BN * 10_000 // 100 + 781) // (2 * 781)
    assert kopecks == 8_847_631_241_997
    assert totals(result) == {
        "CN": (691 * BN // 100, 691 * BN // 100),
        "KZ": (0, 0),
        "RU": (kopecks, kopecks),
    }
    matched = settled(result)
    if policy is Policy.FIFO:
        # The oldest import takes the whole match; the rest waits.
        assert matched == {**matched, "im-1": 691 * BN // 100, "im-2": 0, "im-3": 0, "im-4": 0}
    elif policy is Policy.PRO_RATA:
        # Each import settles 6.91 / 24.44 of its value, to the fen (largest remainder).
        for o in imports:
            share = Fraction(o.outstanding * 691, 2444)
            assert matched[o.obligation_id] in (math.floor(share), math.ceil(share))
        assert sum(matched[o.obligation_id] for o in imports) == 691 * BN // 100
    else:
        # Set-off settles the same value; which imports carry it is its own choice.
        assert sum(matched[o.obligation_id] for o in imports) == 691 * BN // 100


def test_rounding_never_creates_or_loses_a_minor_unit() -> None:
    # Three Russian importers each owe 1.00 CNY; 1 RUB = 0.03 CNY, so each discharges
    # 33.3333... RUB at home while the 3.00 CNY they settle is exactly 100.00 RUB.
    rates = RateSet("CNY", {"CN": "CNY", "RU": "RUB"}, {"CNY": Decimal(1), "RUB": Decimal("0.03")})
    result = net(
        [
            owes("r1", "RU:p1", "CN:x", 1_00),
            owes("r2", "RU:p2", "CN:x", 1_00),
            owes("r3", "RU:p3", "CN:x", 1_00),
            owes("c1", "CN:y", "RU:q", 3_00),
        ],
        rates,
    )
    legs = {
        s.obligation.obligation_id: (s.debtor_leg, s.creditor_leg) for s in result.settlements()
    }
    # RUB 100.00 is split 33.34 + 33.33 + 33.33: the leftover kopeck goes to the first in order.
    assert legs == {
        "r1": (33_34, 1_00),
        "r2": (33_33, 1_00),
        "r3": (33_33, 1_00),
        "c1": (3_00, 100_00),
    }
    assert totals(result) == {"CN": (3_00, 3_00), "RU": (100_00, 100_00)}
    assert sum(p.net for p in result.positions if p.jurisdiction == "RU") == 0


@pytest.mark.parametrize("policy", list(Policy))
def test_a_one_kopeck_obligation_that_values_to_zero_fen_is_never_settled_for_free(
    policy: Policy,
) -> None:
    result = net(
        [
            owes("kopeck", "RU:tiny", "CN:seller", 1, "RUB", due=date(2026, 1, 1), priority=0),
            owes("ru-cn", "RU:big", "CN:seller", 50_00, due=date(2026, 12, 1)),
            owes("cn-ru", "CN:buyer", "RU:tiny", 100_00),
        ],
        RATES,
        policy,
    )
    kopeck = next(s for s in result.settlements() if s.obligation.obligation_id == "kopeck")
    # 1 kopeck = 0.0781 fen, which rounds to 0: it can neither settle nor be paid for.
    assert (kopeck.value, kopeck.settled_value, kopeck.settled) == (0, 0, 0)
    assert (kopeck.debtor_leg, kopeck.creditor_leg, kopeck.remaining) == (0, 0, 1)
    assert settled(result)["ru-cn"] == 50_00
    assert result.metrics.obligations_settled == 2
    tiny = next(p for p in result.positions if p.participant_id == "tiny")
    assert tiny.pay_in == 0


def test_a_zero_valued_obligation_alone_against_a_large_one_settles_nothing() -> None:
    result = net(
        [owes("kopeck", "RU:tiny", "CN:seller", 1, "RUB"), owes("cn-ru", "CN:b", "RU:s", 100_00)],
        RATES,
    )
    assert settled(result) == {"kopeck": 0, "cn-ru": 0}
    assert result.positions == ()


def test_fifo_fills_priority_goods_first_then_by_due_date_sequence_and_id() -> None:
    result = net(
        [
            owes("z-late", "CN:a", "RU:b", 30_00, due=date(2026, 12, 31), priority=0),
            owes("food", "CN:a", "RU:b", 40_00, due=date(2027, 6, 1), priority=-1),
            owes("b-soon", "CN:a", "RU:b", 30_00, due=date(2026, 11, 1), sequence=2),
            owes("c-soon", "CN:a", "RU:b", 30_00, due=date(2026, 11, 1), sequence=1),
            owes("a-soon", "CN:a", "RU:b", 30_00, due=date(2026, 11, 1), sequence=2),
            owes("back", "RU:c", "CN:d", 115_00),
        ],
        RATES,
        Policy.FIFO,
    )
    # Order: food (priority), then c-soon (sequence 1), a-soon and b-soon (id), then z-late.
    assert settled(result) == {
        "food": 40_00,
        "c-soon": 30_00,
        "a-soon": 30_00,
        "b-soon": 15_00,
        "z-late": 0,
        "back": 115_00,
    }


def test_pro_rata_splits_the_matched_value_in_proportion_to_value() -> None:
    result = net(
        [
            owes("small", "CN:a", "RU:b", 30_00),
            owes("large", "CN:a", "RU:b", 70_00),
            owes("back", "RU:c", "CN:d", 50_00),
        ],
        RATES,
        Policy.PRO_RATA,
    )
    assert settled(result) == {"small": 15_00, "large": 35_00, "back": 50_00}


def test_pro_rata_gives_a_tied_leftover_unit_to_the_first_in_fifo_order() -> None:
    result = net(
        [
            owes("b", "CN:a", "RU:b", 1, due=date(2026, 11, 2)),
            owes("a", "CN:a", "RU:b", 1, due=date(2026, 11, 3)),
            owes("back", "RU:c", "CN:d", 1),
        ],
        RATES,
        Policy.PRO_RATA,
    )
    assert settled(result) == {"a": 0, "b": 1, "back": 1}


def test_a_participant_on_both_sides_pays_only_its_net() -> None:
    result = net(
        [owes("buy", "CN:trader", "RU:x", 100_00), owes("sell", "RU:y", "CN:trader", 100_00)],
        RATES,
    )
    trader = next(p for p in result.positions if p.participant_id == "trader")
    assert (trader.pay_in, trader.pay_out, trader.net) == (100_00, 100_00, 0)
    # CN nets to nothing; RU's two participants still pay in and out: half the gross is saved.
    assert result.metrics.domestic_liquidity_saved == "0.500000"


def test_a_partly_matched_invoice_is_settled_rounded_down_in_its_own_currency() -> None:
    # USD 1.00 = 7.10 CNY; only 3.55 CNY is matched, i.e. exactly 0.50 USD; 3.56 CNY would be
    # 0.5014... USD, rounded down to 0.50.
    rates = RateSet(
        "CNY",
        {"CN": "CNY", "RU": "RUB"},
        {"CNY": Decimal(1), "RUB": Decimal("0.0781"), "USD": Decimal("7.10")},
    )
    result = net(
        [owes("usd", "CN:a", "RU:b", 1_00, "USD"), owes("back", "RU:c", "CN:d", 3_56)], rates
    )
    usd = next(s for s in result.settlements() if s.obligation.obligation_id == "usd")
    assert (usd.value, usd.settled_value, usd.settled, usd.remaining) == (7_10, 3_56, 50, 50)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obligations", "field"),
    [
        ([owes("x", "CN:a", "RU:b", 1), owes("x", "RU:b", "CN:a", 1)], "obligation_id"),
        ([owes("", "CN:a", "RU:b", 1)], "obligation_id"),
        ([owes("x", "CN:a", "CN:b", 1)], "creditor_jurisdiction"),
        ([owes("x", "US:a", "RU:b", 1)], "debtor_jurisdiction"),
        ([owes("x", "CN:a", "US:b", 1)], "creditor_jurisdiction"),
        ([owes("x", "CN:a", "RU:b", 1, "USD")], "currency"),
        ([owes("x", "CN:a", "RU:b", 1, "ZZZ")], "currency"),
        ([owes("x", "CN:a", "RU:b", 0)], "outstanding"),
        ([owes("x", "CN:a", "RU:b", -5)], "outstanding"),
    ],
)
def test_a_bad_snapshot_is_rejected_naming_the_field(
    obligations: list[Obligation], field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        net(obligations, RATES)
    assert error.value.field == field


def test_an_unknown_policy_is_rejected_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as error:
        net([], RATES, "largest_first")
    assert error.value.field == "policy"


@pytest.mark.parametrize(
    ("base", "jurisdictions", "rates", "field"),
    [
        ("CNY", {"CN": "CNY"}, {"CNY": "1"}, "jurisdictions"),
        ("CNY", {"CN": "CNY", "RU": "RUB"}, {"CNY": "1"}, "rates"),
        ("CNY", {"CN": "CNY", "RU": "RUB"}, {"CNY": "2", "RUB": "0.0781"}, "rates"),
        ("CNY", {"cn": "CNY", "RU": "RUB"}, {"CNY": "1", "RUB": "0.0781"}, "jurisdictions.cn"),
        ("CNY", {"CN": "XAU", "RU": "RUB"}, {"CNY": "1", "RUB": "0.0781"}, "jurisdictions.CN"),
        ("ZZZ", {"CN": "CNY", "RU": "RUB"}, {"CNY": "1", "RUB": "0.0781"}, "base"),
    ],
)
def test_a_bad_rate_set_is_rejected_naming_the_field(
    base: str, jurisdictions: dict[str, str], rates: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        RateSet(base, jurisdictions, {c: Decimal(r) for c, r in rates.items()})
    assert error.value.field == field


def test_a_rate_set_survives_its_json_form() -> None:
    again = RateSet.from_json(RATES.to_json())
    assert again == RATES
    assert again.to_json() == RATES.to_json()
    assert RATES.to_json()["rates"] == {"CNY": "1", "KZT": "0.0142", "RUB": "0.0781"}


def test_a_tied_leftover_unit_of_the_legs_goes_to_the_lower_obligation_id() -> None:
    # Two Russian importers each owe 1.00 CNY = 33.333... RUB; together 2.00 CNY = 66.67 RUB.
    # The leftover kopeck is tied; it goes to "a" although "b" is due first
    # (clearing.domain.rounding).
    rates = RateSet("CNY", {"CN": "CNY", "RU": "RUB"}, {"CNY": Decimal(1), "RUB": Decimal("0.03")})
    result = net(
        [
            owes("a", "RU:p1", "CN:x", 1_00, due=date(2026, 12, 1)),
            owes("b", "RU:p2", "CN:x", 1_00, due=date(2026, 11, 1)),
            owes("c", "CN:y", "RU:q", 2_00),
        ],
        rates,
    )
    legs = {s.obligation.obligation_id: s.debtor_leg for s in result.settlements()}
    assert (legs["a"], legs["b"]) == (33_34, 33_33)
    assert totals(result)["RU"] == (66_67, 66_67)


def test_a_participant_in_two_jurisdictions_is_refused_even_where_nothing_of_it_settles() -> None:
    obligations = [
        owes("A", "CN:heihe", "RU:blag", 100_00),
        owes("B", "RU:blag", "CN:heihe", 100_00),
        # Its one-way corridor settles nothing, but "blag" cannot be at home in KZ as well.
        owes("C", "KZ:blag", "CN:suifen", 50_00),
    ]
    with pytest.raises(InvalidInput, match="'blag' appears in more than one jurisdiction"):
        net(obligations, RATES)
