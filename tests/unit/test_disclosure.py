"""Disclosure per entity (DESIGN §5, §7): each entity sees the obligations of the corridors that
touch it and its own positions, only leaf hashes of the rest, and from that alone recomputes the
root digest every entity approves."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given

from clearing.domain.netting import net
from clearing.domain.netting.disclosure import disclosed_digest, disclosure
from tests.unit.budget import costly
from tests.unit.line_strategies import LinedInstance, lined_instances
from tests.unit.strategies import Instance, instances


@given(instances(max_obligations=30))
def test_every_entity_recomputes_the_approved_digest_from_its_disclosure_alone(
    instance: Instance,
) -> None:
    result = net(instance.obligations, instance.rates, instance.policy)
    for entity in instance.codes:
        record = json.loads(json.dumps(disclosure(result, "cyc_1", entity)))

        assert disclosed_digest(record) == result.digest


@costly()
@given(lined_instances(min_obligations=1))
def test_every_entity_recomputes_the_digest_of_a_run_whose_lines_moved_from_its_disclosure(
    lined: LinedInstance,
) -> None:
    instance = lined.instance
    result = net(instance.obligations, instance.rates, instance.policy, lined.lines)
    for entity in instance.codes:
        record = json.loads(json.dumps(disclosure(result, "cyc_1", entity)))

        assert disclosed_digest(record) == result.digest


@given(instances(min_obligations=1, max_obligations=30))
def test_an_entity_sees_no_obligation_and_no_position_of_a_corridor_between_two_others(
    instance: Instance,
) -> None:
    result = net(instance.obligations, instance.rates, instance.policy)
    for entity in instance.codes:
        record = disclosure(result, "cyc_1", entity)
        rows = [dict(zip(record["columns"], row, strict=True)) for row in record["obligations"]]
        shown = {row["obligation_id"] for row in rows}
        expected = {
            o.obligation_id
            for o in instance.obligations
            if entity in (o.debtor_jurisdiction, o.creditor_jurisdiction)
        }
        assert shown == expected
        others = {
            p
            for o in instance.obligations
            if entity not in (o.debtor_jurisdiction, o.creditor_jurisdiction)
            for p in (o.obligation_id, o.debtor_id, o.creditor_id)
        }
        own_parties = {p for row in rows for p in (row["debtor_id"], row["creditor_id"])}
        without_rates = {key: value for key, value in record.items() if key != "rates"}
        assert (others - own_parties - shown) & texts_in(without_rates) == set()
        assert {p[0] for p in record["positions"]} == {
            p.participant_id for p in result.positions if p.jurisdiction == entity
        }


@given(instances(min_obligations=1, max_obligations=30))
def test_a_disclosure_with_a_changed_amount_does_not_give_the_approved_digest(
    instance: Instance,
) -> None:
    result = net(instance.obligations, instance.rates, instance.policy)
    entity = instance.obligations[0].debtor_jurisdiction
    record: dict[str, Any] = json.loads(json.dumps(disclosure(result, "cyc_1", entity)))
    where = record["columns"].index("settled_value")
    record["obligations"][0][where] += 1

    assert disclosed_digest(record) != result.digest


def texts_in(document: Any) -> set[str]:
    """Every string in a JSON document, keys included."""
    if isinstance(document, str):
        return {document}
    if isinstance(document, dict):
        return {text for key, value in document.items() for text in {key} | texts_in(value)}
    if isinstance(document, list):
        return {text for value in document for text in texts_in(value)}
    return set()
