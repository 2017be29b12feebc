#!/usr/bin/env python3
"""What each MongoDB operation shape the control plane uses costs on the local
FerretDB, in a collection of ``--docs`` documents (real MongoDB answers all of
these from the ``_id`` index in well under a millisecond).

    source scripts/lib.sh && scripts/services.sh start
    .venv/bin/python scripts/probe_ferretdb.py --docs 8000

Prints milliseconds per call (mean of ``--calls``). Uses a scratch database
``plaza_probe_<random>``, dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from collections.abc import Callable

from pymongo import MongoClient, UpdateOne


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=8000)
    ap.add_argument("--calls", type=int, default=20)
    args = ap.parse_args()
    url = os.environ.get("PLAZA_MONGO_URL", "mongodb://127.0.0.1:27217/")
    client: MongoClient[dict[str, object]] = MongoClient(url)
    name = f"plaza_probe_{secrets.token_hex(4)}"
    c = client[name]["sessions"]
    try:
        c.insert_many([{"_id": f"s{i:07d}", "status": "active", "t": i} for i in range(args.docs)])
        step = max(1, args.docs // (6 * args.calls))
        shapes: list[tuple[str, Callable[[int], object]]] = [
            ("find_one by _id", lambda i: c.find_one({"_id": f"s{i * step:07d}"})),
            (
                "find by _id $in [1 id] + status",
                lambda i: list(c.find({"_id": {"$in": [f"s{i * step + 1:07d}"]}, "status": "x"})),
            ),
            (
                "update_one by _id, upsert ($set, $min)",
                lambda i: c.update_one(
                    {"_id": f"s{i * step + 2:07d}"},
                    {"$set": {"status": "completed"}, "$min": {"t": 0}},
                    upsert=True,
                ),
            ),
            (
                "bulk_write [UpdateOne by _id, upsert]",
                lambda i: c.bulk_write(
                    [UpdateOne({"_id": f"s{i * step + 3:07d}"}, {"$set": {"s": 1}}, upsert=True)]
                ),
            ),
            ("insert_one (new _id)", lambda i: c.insert_one({"_id": f"n{i:07d}", "s": 1})),
        ]
        print(f"FerretDB at {url}, a collection of {args.docs} documents:")
        for label, call in shapes:
            t0 = time.perf_counter()
            for i in range(args.calls):
                call(i)
            print(f"  {label}: {(time.perf_counter() - t0) / args.calls * 1000:.1f} ms")
    finally:
        client.drop_database(name)
        client.close()


if __name__ == "__main__":
    main()
