#!/usr/bin/env python3
"""DynamoDB write units of a contract recording (.build/contract/calls.jsonl, written by scripts/with-moto.sh).

moto's ReturnConsumedCapacity is not usable for this (TransactWriteItems returns none, UpdateItem 0.5), so the units
are counted per the AWS pricing rules from the recorded requests: a standard write (PutItem, UpdateItem, DeleteItem)
costs 1 WCU per KB of item size, a transactional write 2 WCU per item per KB; the recording holds no item sizes, so
every item is counted as <= 1 KB (the state items are; a run record listing many jobs can be larger). Conditional
writes that fail still consume their units and are counted. Prints totals per role: WCU as written, WCU if the same
items were written one by one without transactions, and the transactions' sizes.

usage: wcu.py [calls.jsonl] [--stack PREFIX]
"""
import collections
import json
import sys

WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = args[0] if args else ".build/contract/calls.jsonl"
    stack = sys.argv[sys.argv.index("--stack") + 1] if "--stack" in sys.argv else None
    if stack in args:
        args.remove(stack)
    totals = collections.defaultdict(lambda: {"wcu": 0, "singles": 0, "transactions": 0, "items": collections.Counter()})
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            call = json.loads(line)
            if call.get("service") != "dynamodb" or (stack and not call.get("stack", "").startswith(stack)):
                continue
            role = call.get("role") or "?"
            operation = call.get("operation")
            row = totals[role]
            if operation == "TransactWriteItems":
                items = len(call.get("requirements") or [])
                row["wcu"] += 2 * items
                row["singles"] += items
                row["transactions"] += 1
                row["items"][items] += 1
            elif operation in WRITES:
                row["wcu"] += 1
                row["singles"] += 1
    print("| Role | WCU (as written) | WCU without transactions | Transactions (items: count) |")
    print("|---|---|---|---|")
    for role, row in sorted(totals.items()):
        sizes = ", ".join(f"{size}: {count}" for size, count in sorted(row["items"].items())) or "-"
        print(f"| {role} | {row['wcu']} | {row['singles']} | {row['transactions']} ({sizes}) |")


if __name__ == "__main__":
    main()
