"""A floor for ``clearing net``'s file work: read OBLIGATIONS.csv with Arrow and write a
RESULT.json-shaped document of the same size with orjson, nothing else.

Run as its own process, as ``clearing net`` is, so that both pay for starting Python and
importing what they use::

    python benchmarks/file_floor.py OBLIGATIONS.csv OUTPUT.json

It reads every column as a string with ``pyarrow.csv.read_csv``; builds one dict per obligation
with RESULT.json's keys (``obligation_id``, ``currency``, the amounts as decimal strings and the
two legs), where every amount is the row's amount text as read (no arithmetic), and one dict per
participant with the keys of a position; dumps the document with ``orjson.dumps`` and writes it.
It prints the seconds of each phase as one JSON object on standard output.

Not imported by the other scripts; it uses nothing of the engine.
"""

from __future__ import annotations

import sys
import time

_STARTED = time.perf_counter()

import orjson  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
from pyarrow import csv as arrow_csv  # noqa: E402

COLUMNS = (
    "obligation_id",
    "debtor_id",
    "debtor_jurisdiction",
    "creditor_id",
    "creditor_jurisdiction",
    "currency",
    "amount",
    "due_date",
    "priority",
    "sequence",
)


def main(argv: list[str]) -> None:
    source, target = argv
    phases: dict[str, float] = {"imports": time.perf_counter() - _STARTED}

    started = time.perf_counter()
    table = arrow_csv.read_csv(
        source,
        convert_options=arrow_csv.ConvertOptions(
            column_types={name: pa.string() for name in COLUMNS}
        ),
    )
    phases["read"] = time.perf_counter() - started

    started = time.perf_counter()
    ids = table.column("obligation_id").to_pylist()
    currencies = table.column("currency").to_pylist()
    amounts = table.column("amount").to_pylist()
    obligations = [
        {
            "obligation_id": oid,
            "currency": currency,
            "outstanding": amount,
            "settled": amount,
            "remaining": amount,
            "value": amount,
            "settled_value": amount,
            "debtor_leg": {"currency": currency, "amount": amount},
            "creditor_leg": {"currency": currency, "amount": amount},
        }
        for oid, currency, amount in zip(ids, currencies, amounts, strict=True)
    ]
    participants = pc.unique(
        pa.chunked_array(table.column("debtor_id").chunks + table.column("creditor_id").chunks)
    ).to_pylist()
    example = amounts[0] if amounts else "0.00"
    positions = [
        {
            "participant_id": name,
            "jurisdiction": name[:2],
            "currency": "CNY",
            "pay_in": example,
            "pay_out": example,
            "net": example,
        }
        for name in participants
    ]
    document = {
        "digest": "0" * 64,
        "base": "CNY",
        "policy": "fifo",
        "obligations": obligations,
        "positions": positions,
    }
    phases["build"] = time.perf_counter() - started

    started = time.perf_counter()
    data = orjson.dumps(document)
    phases["dump"] = time.perf_counter() - started

    started = time.perf_counter()
    with open(target, "wb") as handle:
        handle.write(data)
        handle.write(b"\n")
    phases["write"] = time.perf_counter() - started
    sys.stdout.write(orjson.dumps({"phases": phases, "bytes": len(data) + 1}).decode() + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
