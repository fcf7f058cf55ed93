"""RESULT.json written from columns is the same document as the one built value by value."""

from __future__ import annotations

import json
from unittest.mock import patch

from hypothesis import given

from clearing.adapters.files import result as result_writer
from clearing.adapters.files.netting import result_document
from clearing.domain.netting import net
from tests.unit.budget import costly
from tests.unit.line_strategies import LinedInstance, lined_instances
from tests.unit.strategies import Instance, instances
from tests.unit.test_netting_examples import RATES, owes


@given(instances())
def test_the_columnar_writer_writes_the_document_of_the_row_writer(instance: Instance) -> None:
    result = net(instance.obligations, instance.rates, instance.policy)
    with patch.object(result_writer, "READABLE_RESULT_SIZE", -1):
        written = b"".join(result_writer.result_json(result))
    assert written.endswith(b"\n")
    assert json.loads(written) == result_document(result)


def test_ids_that_json_must_escape_are_escaped_in_the_columnar_writer() -> None:
    obligations = [
        owes('q"1\\\n\u00e9', "CN:a", "RU:b", 1000_00),
        owes("plain", "RU:b", "CN:a", 50_000_00, "RUB"),
    ]
    result = net(obligations, RATES)
    with patch.object(result_writer, "READABLE_RESULT_SIZE", -1):
        written = json.loads(b"".join(result_writer.result_json(result)))
    assert written == result_document(result)
    assert {o["obligation_id"] for o in written["obligations"]} == {'q"1\\\n\u00e9', "plain"}


@costly()
@given(lined_instances())
def test_both_writers_write_the_lines_when_asked_and_only_then(lined: LinedInstance) -> None:
    instance = lined.instance
    result = net(instance.obligations, instance.rates, instance.policy, lined.lines)
    for size in (-1, 10**9):  # the columnar writer, then the readable one
        with patch.object(result_writer, "READABLE_RESULT_SIZE", size):
            written = json.loads(b"".join(result_writer.result_json(result, with_lines=True)))
            without = json.loads(b"".join(result_writer.result_json(result, with_lines=False)))
        assert written == result_document(result, with_lines=True)
        assert [line["id"] for line in written["lines"]] == sorted(t.line_id for t in lined.lines)
        assert "lines" not in without
        assert without == {k: v for k, v in written.items() if k != "lines"}
