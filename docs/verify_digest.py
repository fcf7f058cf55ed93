"""Recompute the version-2 digest of a `clearing net` run from its OBLIGATIONS.csv and RESULT.json
as docs/digest.md specifies, with Python's standard library alone. It prints the digest; usage:
python docs/verify_digest.py OBLIGATIONS.csv RESULT.json   (exit 1 if RESULT.json's differs)"""

import csv
import hashlib
import json
import struct
import sys
from collections import defaultdict
from pathlib import Path

CORRIDOR = """obligation_id debtor_id debtor_jurisdiction creditor_id creditor_jurisdiction currency
    outstanding due_date priority sequence value settled_value settled debtor_leg creditor_leg"""
POSITIONS = "participant_id currency pay_in pay_out"
LINE, ID = ("drawn", "repaid", "balance"), lambda line: line["id"]  # the root's moved lines
AMOUNTS = {"outstanding", "settled", "value", "settled_value", "amount", "pay_in", "pay_out"}
AMOUNTS |= {"submitted", "submitted_value", "drawn", "repaid", "balance"}  # and nothing else


def minor(item):  # RESULT.json with its amounts as integers: "1234.50" is 123450 minor units
    if isinstance(item, dict):  # (amounts have exactly their currency's number of decimals)
        return {k: int(v.replace(".", "")) if k in AMOUNTS else minor(v) for k, v in item.items()}
    return [minor(value) for value in item] if isinstance(item, list) else item


def encode(value):  # struct.error outside [-2**63, 2**63): such a run cannot be digested
    if isinstance(value, int):
        return struct.pack("<q", value)
    return struct.pack("<I", len(value.encode("utf-8"))) + value.encode("utf-8")


def leaf(columns, rows, key):  # str order is code point order, which is UTF-8 byte order
    rows = sorted(rows, key=lambda row: row[key])
    data = b"".join(encode(row[name]) for name in columns.split() for row in rows)
    return hashlib.sha256(data).hexdigest()


def compute(obligations, result):
    """The digest from OBLIGATIONS.csv's rows ({column: stripped cell}) and RESULT.json's object."""
    result, corridors, leaves = minor(result), defaultdict(list), {}
    outcome = {o["obligation_id"]: o for o in result["obligations"]}
    for row in obligations:  # the snapshot from the CSV, the outcome from RESULT.json
        o = outcome[row["obligation_id"]]
        row = row | o | {n: o[n]["amount"] for n in ("debtor_leg", "creditor_leg")}
        row |= {n: int(row.get(n) or 0) for n in ("priority", "sequence")}
        corridors[row["debtor_jurisdiction"], row["creditor_jurisdiction"]].append(row)
    for (debtors, creditors), rows in corridors.items():
        leaves[f"corridor:{debtors}>{creditors}"] = leaf(CORRIDOR, rows, "obligation_id")
    # A leaf per jurisdiction with positions: someone pays in or is paid (if only 0 after rounding).
    for code in {p["jurisdiction"] for p in result["positions"]}:
        rows = [p for p in result["positions"] if p["jurisdiction"] == code]
        leaves[f"positions:{code}"] = leaf(POSITIONS, rows, "participant_id")
    codes, rates, m = result["rates"]["jurisdictions"], result["rates"]["rates"], result["metrics"]
    used = {result["base"], *codes.values(), *(row["currency"] for row in obligations)}
    exact = {c: r.rstrip("0").rstrip(".") if "." in r else r for c, r in rates.items()}
    flows = {(c["from"], c["to"]): [c["submitted"], c["settled"]] for c in result["corridors"]}
    totals = {t["jurisdiction"]: [t["pay_in"], t["pay_out"]] for t in result["jurisdictions"]}
    metrics = {n: result[n] for n in ("submitted_value", "settled_value")}
    metrics |= {n: m[n] for n in ("netting_efficiency", "domestic_liquidity_saved")}
    metrics["obligations_settled"] = m["cross_border_payments_avoided"]
    root = {"version": 2, "base": result["base"], "policy": result["policy"], "leaves": leaves}
    root |= {"jurisdictions": codes, "rates": {c: exact[c] for c in used}, "metrics": metrics}
    root["corridors"] = [[*pair, *flows[pair]] for pair in sorted(corridors)]
    root["totals"] = [[code, currency, *totals[code]] for code, currency in sorted(codes.items())]
    if moved := sorted((n for n in result.get("lines", []) if n["drawn"] or n["repaid"]), key=ID):
        root["lines"] = [[n[k] for k in ("id", "from", "to", "currency", *LINE)] for n in moved]
    canonical = json.dumps(root, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def digest(csv_path, result_path):
    """The digest from the two files (a BOM, padded cells and extra columns are fine)."""
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        table = [[cell.strip() for cell in cells] for cells in csv.reader(handle)]
    rows = [dict(zip(table[0], cells, strict=False)) for cells in table[1:] if any(cells)]
    return compute(rows, json.loads(Path(result_path).read_text(encoding="utf-8")))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(recomputed := digest(*sys.argv[1:]))
    claimed = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")).get("digest")
    if recomputed != claimed:
        sys.exit(f"MISMATCH: RESULT.json's digest is {claimed}, not the one recomputed above")
    print("OK: RESULT.json's digest is the one recomputed above")
