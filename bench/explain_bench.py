"""Explanation path query latency: `cypher/explain_paths.cypher` vs another version of it,
on the Last.fm graph, on the embedded server or a Neo4j server.

Imports `lastfm_hetrec_kg` into a fresh embedded server (or, with ``--graph-uri``, into
that Neo4j server, emptied first and at the end: use a test server, see
tests/neo4j/server.py), then for ``--calls`` (user, item) pairs — seeded-random users with
history, each with the top item of `reachable_items` — runs the statement with the user's
50 most recent items, as the API does (`explain_history`, `explain_paths` = 200), timing
each call. Both versions run on the same pairs, alternating; each pair is run once before
timing (planner caches warm). Reports the median and p90 per version and whether the two
return the same set of paths where neither hit its LIMIT.

    python bench/explain_bench.py --other explain_paths.old.cypher
    python bench/explain_bench.py --other OLD.cypher --graph-uri bolt://127.0.0.1:7687

The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tailgraph.kg.adapters import load_dataset  # noqa: E402
from tailgraph.kg.embedded import EmbeddedServer, exit_cleanly_on_sigterm  # noqa: E402
from tailgraph.kg.importer import import_dataset  # noqa: E402
from tailgraph.kg.settings import GraphSettings  # noqa: E402
from tailgraph.kg.store import GraphStore, open_store  # noqa: E402

HISTORY, LIMIT = 50, 200


def _pairs(store: GraphStore, calls: int, seed: int) -> list[tuple[list[str], str]]:
    users = [
        r["id"]
        for r in store.run(
            "MATCH (u:User)-[:INTERACTED]->() RETURN DISTINCT u.id AS id ORDER BY id"
        )
    ]
    random.Random(seed).shuffle(users)
    pairs = []
    for user in users:
        reachable = store.run_named("reachable_items", {"user_id": user, "limit": 1})
        if not reachable:
            continue
        history = store.run_named("user_recent_items", {"user_id": user, "limit": HISTORY})
        pairs.append(([r["item_id"] for r in history], reachable[0]["item_id"]))
        if len(pairs) == calls:
            break
    return pairs


def _empty(store: GraphStore) -> None:
    """Delete everything in batches (one transaction for all of Last.fm is too big for a
    small Neo4j heap)."""
    while store.run("MATCH (n) WITH n LIMIT 5000 DETACH DELETE n RETURN count(*) AS n")[0]["n"]:
        pass


def _key(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", type=Path, required=True, help="the other .cypher version")
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--graph-uri", default=None)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    exit_cleanly_on_sigterm()
    home = Path(tempfile.mkdtemp(prefix="tailgraph-explain-bench-"))
    server = None
    if args.graph_uri:
        settings = GraphSettings(graph_uri=args.graph_uri, home=home)
    else:
        server = EmbeddedServer(home)
        server.start()
        settings = GraphSettings(home=home, graph_name="explain_bench")
    store = open_store(settings)
    try:
        _empty(store)
        dataset = load_dataset(args.data / "lastfm_hetrec_kg", "lastfm-hetrec")
        import_dataset(dataset, store, home / "imports")
        pairs = _pairs(store, args.calls, args.seed)
        versions = {"current": store.statement("explain_paths"), "other": args.other.read_text()}
        seconds: dict[str, list[float]] = {name: [] for name in versions}
        same = comparable = 0
        for history, item in pairs:
            params = {"ids": history, "item_id": item, "limit": LIMIT}
            answers = {}
            for name in versions if len(seconds["current"]) % 2 == 0 else reversed(versions):
                store.run(versions[name], params)  # warm
                started = time.perf_counter()
                answers[name] = store.run(versions[name], params)
                seconds[name].append(time.perf_counter() - started)
            if max(len(a) for a in answers.values()) < LIMIT:  # no branch can have hit LIMIT
                comparable += 1
                same += _key(answers["current"]) == _key(answers["other"])
        result = {
            "bench": "explain_paths",
            "backend": store.backend,
            "calls": len(pairs),
            "median_ms": {n: round(1000 * statistics.median(s), 2) for n, s in seconds.items()},
            "p90_ms": {
                n: round(1000 * statistics.quantiles(s, n=10)[-1], 2) for n, s in seconds.items()
            },
            "same_paths_where_comparable": f"{same}/{comparable}",
        }
        print(f"{'version':10s} {'median ms':>10s} {'p90 ms':>10s}  ({len(pairs)} calls)")
        for name in versions:
            print(f"{name:10s} {result['median_ms'][name]:10.2f} {result['p90_ms'][name]:10.2f}")
        print(json.dumps(result))
    finally:
        _empty(store)
        store.close()
        if server is not None:
            server.stop()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
