"""API latency and throughput: known-user recommendations over real HTTP, against two ceilings.

Setup (cached under ``--work-dir``, default ``.bench/api``, so a re-run skips it):
the Last.fm HetRec + DBpedia dataset (the largest in ``../shared/data``) is imported
with ``kg.adapters.load_dataset(path, "lastfm-hetrec")`` into a fresh embedded graph
server under the work dir, snapshotted, and Tailgraph is trained for a few epochs
(quality is irrelevant here: the serving cost depends on the catalogue size and the
embedding width, not on how good the vectors are). The run directory is written with
``gnn.run_dir.write_run``, exactly what ``tailgraph train`` produces.

Measurements, all in one invocation:

1. **HTTP, recommendations**: ``tailgraph serve`` (``api.service.serve``) in its own
   process on loopback; a separate load-generating process (a minimal keep-alive
   HTTP/1.1 client on asyncio, one connection per concurrent client, so the generator
   costs far less CPU than the server) sends ``GET /users/{id}/recommendations?k=20``
   for users drawn uniformly with a fixed seed, at concurrency 1, 16 and 64; each level
   is bounded by a request count and a time limit. p50/p99 latency and requests/s.
2. **HTTP floor**: the same server, the same generator, ``GET /health`` (a constant
   answer) at the same concurrency levels: what the HTTP stack alone can do.
3. **In-process ceiling**: the same requests scored by the service's own scorer without
   HTTP, one request at a time and in batches of 64 (batched matmul + top-k with the
   seen-item exclusion): what the arithmetic alone can do.

    nice -n 10 python bench/api_bench.py                  # first run also imports + trains
    nice -n 10 python bench/api_bench.py --requests 3000 --workers 2

The last line of output is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "lastfm_hetrec_kg"
GRAPH_NAME = "lastfm_bench"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- setup: import + short training, cached --------------------------------------------------
def prepare_run(data_dir: Path, work_dir: Path, epochs: int, rebuild: bool) -> Path:
    """Import the dataset into the bench's own embedded server and train a short run."""
    from gnn.harness import HarnessConfig, run_comparison
    from gnn.run_dir import write_run
    from gnn.train import TrainConfig
    from kg.adapters import load_dataset
    from kg.embedded import EmbeddedServer
    from kg.importer import import_dataset
    from kg.settings import GraphSettings
    from kg.snapshot import take_snapshot
    from kg.store import open_store

    run_dir = work_dir / "run"
    home = work_dir / "home"
    if rebuild:
        shutil.rmtree(work_dir, ignore_errors=True)
    EmbeddedServer(home).start()
    settings = GraphSettings(home=home, graph_name=GRAPH_NAME)
    if (run_dir / "embeddings.safetensors").exists():
        log(f"reusing run {run_dir}")
        return run_dir
    with open_store(settings) as store:
        counts = store.run("MATCH (i:Item) RETURN count(i) AS n")
        if not counts or not counts[0]["n"]:
            started = time.perf_counter()
            import_dataset(load_dataset(data_dir, "lastfm-hetrec"), store, work_dir / "journal")
            log(f"imported {data_dir.name} in {time.perf_counter() - started:.0f} s")
        snapshot = take_snapshot(store)
    log(
        f"snapshot: {snapshot.num_items} items, {snapshot.num_users} users, "
        f"{len(snapshot.interactions)} interactions, {len(snapshot.kg_edges)} KG edges"
    )
    started = time.perf_counter()
    config = HarnessConfig(
        seed=0,
        models=("tailgraph",),
        # Few, large batches: the serving cost does not depend on how well the model trained.
        train=TrainConfig(epochs=epochs, patience=epochs, batch_size=16384, progress=False),
    )
    result = run_comparison(snapshot, config, "lastfm-hetrec", cache_dir=work_dir / "embeddings")
    assert result.model is not None
    write_run(
        run_dir,
        snapshot,
        result.model,
        result.data,
        result.metrics,
        {"dataset": "lastfm-hetrec", "harness": config.as_dict()},
    )
    log(f"trained and wrote {run_dir} in {time.perf_counter() - started:.0f} s")
    return run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work-dir", type=Path, default=REPO / ".bench" / "api")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rebuild", action="store_true", help="Re-import and re-train.")
    parser.add_argument("--prepare-only", action="store_true")
    args = parser.parse_args()
    run_dir = prepare_run(args.data, args.work_dir, args.epochs, args.rebuild)
    if args.prepare_only:
        print(json.dumps({"run_dir": str(run_dir)}))
        return


if __name__ == "__main__":
    main()
