"""Worked examples of liquidity lines in the netting (DESIGN §4b), each named as the sentence it
proves."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from clearing.domain.canonical import canonical_json, sha256_hex
from clearing.domain.errors import InvalidInput
from clearing.domain.netting import NettingResult, net
from clearing.domain.netting.digest import root_document
from clearing.domain.netting.lines import LineMovement, LineTerms
from clearing.domain.obligations import Obligation, Policy
from clearing.domain.rates import RateSet
from clearing.domain.rounding import round_half_up

BN = 10**9 * 100  # one billion major units, in minor units
DUE = date(2024, 12, 31)

RATES = RateSet(
    base="CNY",
    jurisdictions={"CN": "CNY", "RU": "RUB", "KZ": "KZT"},
    rates={"CNY": Decimal(1), "RUB": Decimal("0.0781"), "KZT": Decimal("0.0142")},
)


def owes(
    obligation_id: str, debtor: str, creditor: str, amount: int, currency: str = "CNY"
) -> Obligation:
    """``debtor`` (``"CN:importer"``) owes ``creditor`` ``amount`` minor units of ``currency``."""
    debtor_jurisdiction, debtor_id = debtor.split(":")
    creditor_jurisdiction, creditor_id = creditor.split(":")
    return Obligation(
        obligation_id,
        debtor_id,
        debtor_jurisdiction,
        creditor_id,
        creditor_jurisdiction,
        currency,
        amount,
        DUE,
    )


def line(
    line_id: str, source: str, target: str, limit: int, balance: int = 0, currency: str = "CNY"
) -> LineTerms:
    return LineTerms(line_id, source, target, currency, limit, balance)


def corridor(result: NettingResult, source: str, target: str) -> tuple[int, int, int]:
    found = next(c for c in result.corridors if (c.source, c.target) == (source, target))
    return found.submitted, found.settled, found.carried


def totals(result: NettingResult) -> dict[str, tuple[int, int]]:
    return {t.jurisdiction: (t.pay_in, t.pay_out) for t in result.jurisdictions}


def kopecks(fen: int) -> int:
    """Base CNY fen in RUB kopecks at 0.0781, half up."""
    return round_half_up(fen * 10_000, 781)


def heihe_shape() -> list[Obligation]:
    """Chinese importers owe Russian exporters 24.44bn CNY; Russian importers owe Chinese
    exporters 6.91bn CNY."""
    return [
        owes("im-1", "CN:cn-importer-1", "RU:ru-exporter-1", 1444 * BN // 100),
        owes("im-2", "CN:cn-importer-2", "RU:ru-exporter-2", 1000 * BN // 100),
        owes("ex-1", "RU:ru-importer-1", "CN:cn-exporter-1", 691 * BN // 100),
    ]


@pytest.mark.parametrize("policy", list(Policy))
def test_a_heihe_2024_month_with_a_5bn_cny_line_settles_6_91bn_and_11_91bn_and_carries_12_53bn(
    policy: Policy,
) -> None:
    result = net(heihe_shape(), RATES, policy, [line("L1", "CN", "RU", 5 * BN)])
    assert corridor(result, "RU", "CN") == (691 * BN // 100, 691 * BN // 100, 0)
    assert corridor(result, "CN", "RU") == (2444 * BN // 100, 1191 * BN // 100, 1253 * BN // 100)
    assert result.metrics.settled_value == 1882 * BN // 100
    assert result.metrics.carried_value == 1253 * BN // 100
    (moved,) = result.lines
    assert (moved.drawn, moved.repaid, moved.balance) == (5 * BN, 0, 5 * BN)
    # China's importers pay in 11.91bn; its exporters receive 6.91bn: the 5bn goes to the line.
    # Russia's exporters are paid 11.91bn in roubles, its importers pay in 6.91bn.
    assert totals(result) == {
        "CN": (1191 * BN // 100, 691 * BN // 100),
        "KZ": (0, 0),
        "RU": (kopecks(691 * BN // 100), kopecks(1191 * BN // 100)),
    }
    assert (moved.source_flow, moved.target_flow) == (5 * BN, -kopecks(5 * BN))
    assert {t.jurisdiction: t.line_flow for t in result.jurisdictions} == {
        "CN": 5 * BN,
        "KZ": 0,
        "RU": -kopecks(5 * BN),
    }


def test_without_the_line_the_same_month_settles_6_91bn_each_way_and_the_line_adds_5bn() -> None:
    plain = net(heihe_shape(), RATES)
    lined = net(heihe_shape(), RATES, Policy.FIFO, [line("L1", "CN", "RU", 5 * BN)])
    assert plain.metrics.settled_value == 1382 * BN // 100
    assert lined.metrics.settled_value - plain.metrics.settled_value == 5 * BN
    # Under fifo the oldest import that took the match still has it, and the line fills more.
    before = {s.obligation.obligation_id: s.settled for s in plain.settlements()}
    after = {s.obligation.obligation_id: s.settled for s in lined.settlements()}
    assert before == {"ex-1": 691 * BN // 100, "im-1": 691 * BN // 100, "im-2": 0}
    assert after == {"ex-1": 691 * BN // 100, "im-1": 1191 * BN // 100, "im-2": 0}


def test_a_later_reversed_cycle_repays_the_line_before_it_carries_anything() -> None:
    # The next month trade runs the other way: Russia imports 8bn, China 2bn.
    reversed_month = [
        owes("im-9", "CN:cn-importer-1", "RU:ru-exporter-1", 2 * BN),
        owes("ex-9", "RU:ru-importer-1", "CN:cn-exporter-1", 8 * BN),
    ]
    result = net(reversed_month, RATES, Policy.FIFO, [line("L1", "CN", "RU", 5 * BN, 5 * BN)])
    (moved,) = result.lines
    assert (moved.drawn, moved.repaid, moved.balance) == (0, 5 * BN, 0)
    # 2bn matches each way; 5bn more of RU->CN settles against the balance; 1bn is carried.
    assert corridor(result, "RU", "CN") == (8 * BN, 7 * BN, 1 * BN)
    assert corridor(result, "CN", "RU") == (2 * BN, 2 * BN, 0)
    # China's exporters receive 5bn more than its importers pay in: the repayment.
    assert totals(result)["CN"] == (2 * BN, 7 * BN)
    assert result.jurisdictions[0].line_flow == -5 * BN


def test_a_small_reversal_repays_part_of_the_balance_and_carries_nothing() -> None:
    month = [
        owes("im-9", "CN:cn-importer-1", "RU:ru-exporter-1", 1 * BN),
        owes("ex-9", "RU:ru-importer-1", "CN:cn-exporter-1", 4 * BN),
    ]
    result = net(month, RATES, Policy.FIFO, [line("L1", "CN", "RU", 5 * BN, 5 * BN)])
    assert (result.lines[0].repaid, result.lines[0].balance) == (3 * BN, 2 * BN)
    assert result.metrics.carried_value == 0


def test_a_line_lends_only_its_room_below_the_limit_and_the_rest_is_carried() -> None:
    result = net(heihe_shape(), RATES, Policy.FIFO, [line("L1", "CN", "RU", 5 * BN, 3 * BN)])
    assert (result.lines[0].drawn, result.lines[0].balance) == (2 * BN, 5 * BN)
    assert corridor(result, "CN", "RU")[1] == 891 * BN // 100


def test_repaying_a_line_owed_the_other_way_comes_before_drawing_on_another() -> None:
    # CN->RU has 5bn more than RU->CN. Russia's entity owes China's 3bn on L-ru: repaying it
    # settles CN->RU beyond RU->CN too, and costs no new credit; L-cn lends the last 2bn.
    lines = [line("L-cn", "CN", "RU", 10 * BN), line("L-ru", "RU", "CN", 10 * BN, 3 * BN)]
    month = [
        owes("im-1", "CN:cn-importer-1", "RU:ru-exporter-1", 6 * BN),
        owes("ex-1", "RU:ru-importer-1", "CN:cn-exporter-1", 1 * BN),
    ]
    result = net(month, RATES, Policy.FIFO, lines)
    moved = {m.line_id: (m.drawn, m.repaid, m.balance) for m in result.lines}
    assert moved == {"L-cn": (2 * BN, 0, 2 * BN), "L-ru": (0, 3 * BN, 0)}
    assert result.metrics.carried_value == 0


def test_a_line_in_the_other_entitys_currency_is_drawn_to_the_unit_and_never_beyond_its_limit() -> (
    None
):
    month = [
        owes("im-1", "CN:cn-importer-1", "RU:ru-exporter-1", 150_000_00),
        owes("ex-1", "RU:ru-importer-1", "CN:cn-exporter-1", 100_000_00),
    ]
    # A 1,000,000.00 RUB line is worth 78,100.00 CNY: it funds the whole 50,000.00 CNY excess.
    roubles = [line("L1", "CN", "RU", 1_000_000_00, currency="RUB")]
    result = net(month, RATES, Policy.FIFO, roubles)
    (moved,) = result.lines
    # 50,000.00 CNY is 640,204.865... RUB: the line owes 640,204.87.
    assert moved.drawn_value == 50_000_00
    assert moved.drawn == 640_204_87
    # Russia's end is in the line's currency: its pay-outs exceed its pay-ins by exactly that.
    assert moved.target_flow == -640_204_87
    assert result.jurisdictions[2].line_flow == -640_204_87
    assert moved.source_flow == 50_000_00
    # A line of 600,000.00 RUB (46,860.00 CNY) lends all of it and no kopeck more.
    small = net(month, RATES, Policy.FIFO, [line("L1", "CN", "RU", 600_000_00, currency="RUB")])
    assert (small.lines[0].drawn, small.lines[0].balance) == (600_000_00, 600_000_00)
    assert small.lines[0].drawn_value == 46_860_00


def test_lines_owed_both_ways_are_set_off_only_as_far_as_the_two_sides_trade_carries_it() -> None:
    # China's entity owes Russia's 100.00 and Russia's owes China's 40.00. A line moves only
    # what traders at its ends pay in and are paid, so with no trade nothing moves ...
    lines = [line("L1", "CN", "RU", 500_00, 100_00), line("L2", "RU", "CN", 500_00, 40_00)]
    idle = net([], RATES, Policy.FIFO, lines)
    assert [(m.repaid, m.balance) for m in idle.lines] == [(0, 100_00), (0, 40_00)]
    # ... and with 30.00 matched each way, the most repaid sets 30.00 of each balance off.
    matched = [owes("cn", "CN:a", "RU:b", 30_00), owes("ru", "RU:c", "CN:d", 30_00)]
    result = net(matched, RATES, Policy.FIFO, lines)
    assert [(m.repaid, m.balance) for m in result.lines] == [(30_00, 70_00), (30_00, 10_00)]
    # Nobody pays anything more at home: the pay-ins are the pay-outs, as without lines.
    assert totals(result) == totals(net(matched, RATES))
    assert result.metrics.settled_value == 60_00


def test_a_line_funds_what_a_loop_of_three_jurisdictions_leaves_unmatched() -> None:
    loop = [
        owes("cn-ru", "CN:a", "RU:b", 100_00),
        owes("ru-kz", "RU:b", "KZ:c", 80_00),
        owes("kz-cn", "KZ:c", "CN:a", 120_00),
    ]
    plain = net(loop, RATES)
    # A line of 3,000.00 KZT (42.60 CNY) from Kazakhstan to China.
    lined = net(loop, RATES, Policy.FIFO, [line("L1", "KZ", "CN", 3_000_00, currency="KZT")])
    assert plain.metrics.settled_value == 240_00
    # The loop settles 80.00 all the way round; the line lets KZ->CN settle its last 40.00.
    assert corridor(lined, "KZ", "CN") == (120_00, 120_00, 0)
    assert corridor(lined, "CN", "RU") == (100_00, 80_00, 20_00)
    assert lined.metrics.settled_value == 280_00
    # 40.00 CNY is 2,816.9014... KZT: the line owes 2,816.90 (half up, as its end's total).
    (moved,) = lined.lines
    assert (moved.drawn_value, moved.drawn) == (40_00, 2_816_90)
    assert moved.source_flow == 2_816_90
    assert moved.target_flow == -40_00


def test_when_several_lines_in_one_currency_round_up_together_that_currencys_legs_absorb_it() -> (
    None
):
    # Base JPY: a euro cent is worth 1.8 yen, a Bahraini fils 0.2 yen. Austrian importers owe
    # three cents (2 yen each); a Bahraini importer owes 57 fils (11 yen). Three one-cent euro
    # lines fund 3 yen of the 5 yen excess: each moves 1 yen, which is 0.56 cent, rounded up.
    rates = RateSet(
        "JPY",
        {"AT": "EUR", "BH": "BHD"},
        {"JPY": Decimal(1), "EUR": Decimal(180), "BHD": Decimal(200)},
    )
    trade = [owes(f"at-{n}", "AT:at-importer", "BH:bh-exporter", 1, "EUR") for n in range(3)]
    trade.append(owes("bh-1", "BH:bh-importer", "AT:at-exporter", 57, "BHD"))
    lines = [
        line("L0", "BH", "AT", 1, 0, "EUR"),
        line("L1", "AT", "BH", 1, 1, "EUR"),
        line("L2", "AT", "BH", 1, 1, "EUR"),
    ]
    result = net(trade, rates, Policy.FIFO, lines)
    moved = {m.line_id: (m.drawn, m.repaid, m.balance) for m in result.lines}
    assert moved == {"L0": (1, 0, 1), "L1": (0, 1, 0), "L2": (0, 1, 0)}
    # Austria's line flow is exactly the three cents (1.67 cents of value): its pay-out of 9 yen
    # (5.00 cents exactly) becomes 6 cents, so that pay-ins and pay-outs differ by exactly that.
    assert totals(result)["AT"] == (3, 6)
    assert result.jurisdictions[0].line_flow == -3
    legs = {
        s.obligation.obligation_id: (s.debtor_leg, s.creditor_leg) for s in result.settlements()
    }
    assert legs["bh-1"] == (45, 6)
    assert all(legs[f"at-{n}"][0] == 1 for n in range(3))


def test_two_tenge_lines_at_kazakhstan_round_together_so_its_exporter_is_paid_the_exact_value() -> (
    None
):
    # Base RUB: a euro is worth 50 roubles, a tenge 0.09. Austrian importers owe 10,000,000.00 EUR
    # to Kazakh exporters (500,000,000.00 RUB, exactly 5,555,555,555.555... KZT). One tenge line
    # owed to Austria is repaid in full; another, towards Kazakhstan, funds the rest.
    rates = RateSet(
        "RUB",
        {"AT": "EUR", "KZ": "KZT"},
        {"RUB": Decimal(1), "EUR": Decimal(50), "KZT": Decimal("0.09")},
    )
    trade = [owes("at-1", "AT:at-importer", "KZ:kz-exporter", 10_000_000_00, "EUR")]
    lines = [
        line("L0", "KZ", "AT", 14_451_485_12, 14_451_485_12, "KZT"),
        line("L1", "AT", "KZ", 10**13, 0, "KZT"),
    ]
    result = net(trade, rates, Policy.FIFO, lines)
    repaid, drawn = result.lines
    assert (repaid.repaid_value, drawn.drawn_value) == (130_063_366, 49_869_936_634)
    # Exactly 1,445,148,511.11 and 554,110,407,044.44 tiyn: rounded one at a time (up) the two
    # moved 555,555,555,557 tiyn for 555,555,555,555.56; rounded together, 555,555,555,556.
    assert (repaid.repaid, drawn.drawn) == (1_445_148_511, 554_110_407_045)
    assert result.jurisdictions[1].line_flow == -555_555_555_556
    (settled,) = result.settlements()
    assert (settled.debtor_leg, settled.creditor_leg) == (10_000_000_00, 555_555_555_556)
    assert totals(result) == {"AT": (10_000_000_00, 0), "KZ": (0, 555_555_555_556)}


def test_two_dinar_lines_fund_a_two_fils_invoice_and_the_bahraini_importer_pays_two_fils() -> None:
    # Base RUB: a Bahraini fils is worth 0.1985 RUB, so the 0.002 BHD invoice is valued 0.40 RUB,
    # 2.015 fils exactly. The two dinar lines draw 19 and 21 kopecks: 0.957 and 1.058 fils.
    rates = RateSet(
        "RUB",
        {"AT": "EUR", "BH": "BHD"},
        {"RUB": Decimal(1), "EUR": Decimal(100), "BHD": Decimal("198.5")},
    )
    trade = [owes("bh-1", "BH:bh-importer", "AT:at-exporter", 2, "BHD")]
    lines = [line("L0", "BH", "AT", 1, 0, "BHD"), line("L1", "BH", "AT", 2, 0, "BHD")]
    result = net(trade, rates, Policy.FIFO, lines)
    assert [(m.drawn_value, m.drawn, m.balance) for m in result.lines] == [(19, 1, 1), (21, 1, 1)]
    # Rounded up one at a time the lines moved 1 + 2 fils, and the importer paid 3 for 2.
    (settled,) = result.settlements()
    assert settled.debtor_leg == 2
    assert totals(result)["BH"] == (2, 0)
    assert result.jurisdictions[1].line_flow == 2


def test_lines_that_cannot_move_leave_the_result_and_the_digest_as_without_them() -> None:
    plain = net(heihe_shape(), RATES)
    idle = [
        line("L-zero", "CN", "RU", 0),  # lends nothing
        line("L-back", "RU", "CN", 5 * BN),  # RU->CN has no excess to fund
    ]
    result = net(heihe_shape(), RATES, Policy.FIFO, idle)
    assert result.digest == plain.digest
    assert (result.corridors, result.jurisdictions, result.positions, result.metrics) == (
        plain.corridors,
        plain.jurisdictions,
        plain.positions,
        plain.metrics,
    )
    assert [(m.line_id, m.moved, m.balance) for m in result.lines] == [
        ("L-back", False, 0),
        ("L-zero", False, 0),
    ]


def test_the_digest_root_names_the_lines_that_moved_and_only_those() -> None:
    lines = [line("L1", "CN", "RU", 5 * BN), line("L0", "RU", "CN", 5 * BN)]
    result = net(heihe_shape(), RATES, Policy.FIFO, lines)
    document = root_document(
        result.policy,
        result.rates,
        result.corridors,
        result.jurisdictions,
        result.metrics,
        {},
        result.lines,
    )
    assert document["lines"] == [["L1", "CN", "RU", "CNY", 5 * BN, 0, 5 * BN]]
    without = root_document(
        result.policy, result.rates, result.corridors, result.jurisdictions, result.metrics, {}
    )
    assert "lines" not in without
    assert sha256_hex(canonical_json(document)) != sha256_hex(canonical_json(without))
    # A different draw is a different digest.
    smaller = net(heihe_shape(), RATES, Policy.FIFO, [line("L1", "CN", "RU", 4 * BN)])
    assert smaller.digest != result.digest


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([line("L1", "CN", "RU", 1), line("L1", "RU", "CN", 1)], "id"),
        ([line("L1", "CN", "US", 1)], "to"),
        ([line("L1", "JP", "CN", 1)], "from"),
        ([line("L1", "CN", "RU", 1, currency="KZT")], "currency"),
    ],
)
def test_a_line_that_does_not_fit_the_rate_set_is_refused_naming_the_field(
    lines: list[LineTerms], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        net(heihe_shape(), RATES, Policy.FIFO, lines)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        (("", "CN", "RU", "CNY", 1, 0), "id"),
        (("L1", "CN", "CN", "CNY", 1, 0), "to"),
        (("L1", "CN", "RU", "CNY", -1, 0), "limit"),
        (("L1", "CN", "RU", "CNY", 1, 2), "balance"),
        (("L1", "CN", "RU", "CNY", 1, -1), "balance"),
    ],
)
def test_a_line_with_impossible_terms_cannot_be_made(
    terms: tuple[str, str, str, str, int, int], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        LineTerms(*terms)
    assert refused.value.field == field


def test_a_movement_says_whether_the_line_moved() -> None:
    assert LineMovement("L1", "CN", "RU", "CNY", 0, 1, 0).moved
    assert not LineMovement("L1", "CN", "RU", "CNY", 0, 0, 7).moved
