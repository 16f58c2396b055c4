"""API latency and throughput: known-user recommendations over real HTTP, against two ceilings.

Setup (cached under ``--work-dir``, default ``.bench/api``, so a re-run skips it):
the Last.fm HetRec + DBpedia dataset (the largest in ``../shared/data``) is imported
with ``kg.adapters.load_dataset(path, "lastfm-hetrec")`` into a fresh embedded graph
server under the work dir, snapshotted, and Tailgraph is trained for a few epochs
(quality is irrelevant here: the serving cost depends on the catalogue size and the
embedding width, not on how good the vectors are). The run directory is written with
``gnn.run_dir.write_run``, exactly what ``tailgraph train`` produces.

Measurements, all in one invocation:

1. **HTTP, recommendations**: `api.service.serve` (what `tailgraph serve` runs) in its own
   process on loopback — two of them side by side, micro-batching on and off
   (`--configs`); a separate load-generating process (a minimal keep-alive HTTP/1.1
   client on asyncio, one connection per concurrent client, far cheaper per request than
   the server) sends `GET /users/{id}/recommendations?k=20` for users drawn uniformly
   with a fixed seed, at concurrency 1, 16 and 64; each level is bounded by a request
   count and a time limit. p50/p99 latency and requests/s; for the batched server, the
   mean number of requests per matmul at each level (from its `/metrics` histogram).
2. **HTTP floor**: the same servers, the same generator, `GET /health` (a constant
   answer) at the same levels, interleaved with (1) so that changes in the machine's
   background load hit both alike: what the HTTP stack alone can do. (1) and (2) run
   `--rounds` times (default 3); medians are reported, and the ratio is the median of the
   per-round ratios (each round pairs the two endpoints a few seconds apart).
3. **In-process ceiling**: the same requests scored by the service's own scorer without
   HTTP, one at a time and in batches of 64 (matmul + top-k with the seen-item
   exclusion): what the arithmetic alone can do.

    nice -n 10 python bench/api_bench.py                # first run also imports + trains
    nice -n 10 python bench/api_bench.py --requests 2000 --workers 2 --configs batched

The last line of output is one JSON object with all figures (plus the load average
before and after: the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "lastfm_hetrec_kg"
GRAPH_NAME = "lastfm_bench"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- setup: import + short training, cached --------------------------------------------------
def prepare_run(data_dir: Path, work_dir: Path, epochs: int, rebuild: bool) -> Path:
    """Import the dataset into the bench's own embedded server and train a short run.

    The server stays up for the measurements (the API's /ready pings the graph); `main`
    stops it at the end.
    """
    from tailgraph.gnn.harness import HarnessConfig, run_comparison
    from tailgraph.gnn.run_dir import write_run
    from tailgraph.gnn.train import TrainConfig
    from tailgraph.kg.adapters import load_dataset
    from tailgraph.kg.embedded import EmbeddedServer
    from tailgraph.kg.importer import import_dataset
    from tailgraph.kg.settings import GraphSettings
    from tailgraph.kg.snapshot import take_snapshot
    from tailgraph.kg.store import open_store

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


# ---- load generator (its own process) ---------------------------------------------------
async def _client(
    host: str,
    port: int,
    paths: list[bytes],
    latencies: list[float],
    errors: list[str],
    deadline: float,
) -> None:
    """One keep-alive connection sending its share of `paths` one after another."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for path in paths:
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: bench\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(head.split(b"\r\n", 1)[0].decode() + " " + body[:80].decode())
    finally:
        writer.close()


async def _load(
    host: str, port: int, paths: list[bytes], concurrency: int, time_limit: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    shares = [paths[k::concurrency] for k in range(concurrency)]
    started = time.perf_counter()
    deadline = started + time_limit
    await asyncio.gather(
        *(_client(host, port, share, latencies, errors, deadline) for share in shares)
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    n = len(ordered)
    return {
        "requests": n,
        "errors": len(errors),
        "first_errors": errors[:3],
        "seconds": round(elapsed, 3),
        "rps": round(n / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(1e3 * ordered[n // 2], 3) if n else None,
        "p99_ms": round(1e3 * ordered[min(n - 1, int(0.99 * n))], 3) if n else None,
        "mean_ms": round(1e3 * statistics.fmean(ordered), 3) if n else None,
    }


def _loadgen_main(args: list[str]) -> None:
    """`--loadgen HOST PORT CONCURRENCY TIME_LIMIT PATHS_FILE`: one level, JSON on stdout."""
    host, port, concurrency, limit, paths_file = args
    paths = [line.encode() for line in Path(paths_file).read_text().splitlines() if line]
    result = asyncio.run(_load(host, int(port), paths, int(concurrency), float(limit)))
    print(json.dumps(result))


def run_level(
    host: str, port: int, paths: list[str], concurrency: int, time_limit: float, scratch: Path
) -> dict[str, Any]:
    """Run one load level in a separate process (so it does not share the server's GIL)."""
    paths_file = scratch / f"paths-{concurrency}.txt"
    paths_file.write_text("\n".join(paths))
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--loadgen",
            host,
            str(port),
            str(concurrency),
            str(time_limit),
            str(paths_file),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=time_limit + 60,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- the server under test ---------------------------------------------------------------
def start_server(
    run_dir: Path, work_dir: Path, port: int, workers: int, micro_batch: bool, name: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TAILGRAPH_HOME": str(work_dir / "home"),
        "TAILGRAPH_GRAPH_NAME": GRAPH_NAME,
        "TAILGRAPH_API_LOAD_ENCODER": "false",  # the bench never encodes text
        "TAILGRAPH_API_MICRO_BATCH": "true" if micro_batch else "false",
        "HF_HUB_OFFLINE": "1",
    }
    code = (
        "from tailgraph.api.service import serve; "
        f"serve({str(run_dir)!r}, host='127.0.0.1', port={port}, workers={workers})"
    )
    log_file = work_dir / f"server-{name}.log"
    log = log_file.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=log, stderr=log, start_new_session=True
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited; see {log_file}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"GET /ready HTTP/1.1\r\nHost: bench\r\n\r\n")
                if conn.recv(64).startswith(b"HTTP/1.1 200"):
                    return process
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server did not become ready in 180 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def scoring_batches(port: int) -> tuple[float, float]:
    """(requests, batches) scored so far, from the server's batch-size histogram."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    values = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for key in values:
            if line.startswith(f"tailgraph_scoring_batch_size_{key} "):
                values[key] = float(line.split()[1])
    return values["sum"], values["count"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- in-process ceiling ---------------------------------------------------------------
def scoring_ceiling(run_dir: Path, users: list[str], k: int, batch: int) -> dict[str, Any]:
    """The service's own scorer on the same requests, no HTTP: batch 1 and batched."""
    import torch
    from tailgraph.api.service.state import load_state

    torch.set_num_threads(1)  # as the server (TAILGRAPH_API_TORCH_THREADS default)
    state = load_state(run_dir)
    cat = state.catalogue
    index = [state.users.index[u] for u in users]
    for u in index[:200]:  # warm-up
        cat.recommend(state.user_vector(u)[None], k, [state.seen(u)])
    single = []
    started = time.perf_counter()
    for u in index:
        t0 = time.perf_counter()
        cat.recommend(state.user_vector(u)[None], k, [state.seen(u)])
        single.append(time.perf_counter() - t0)
    single_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, len(index), batch):
        rows = index[start : start + batch]
        vectors = torch.stack([state.user_vector(u) for u in rows])
        cat.recommend(vectors, k, [state.seen(u) for u in rows])
    batched_seconds = time.perf_counter() - started
    single.sort()
    return {
        "items": len(cat),
        "dim": state.dim,
        "batch_1": {
            "rps": round(len(index) / single_seconds, 1),
            "p50_ms": round(1e3 * single[len(single) // 2], 4),
            "p99_ms": round(1e3 * single[int(0.99 * len(single))], 4),
        },
        f"batch_{batch}": {"rps": round(len(index) / batched_seconds, 1)},
    }


def measure_servers(
    run_dir: Path,
    args: argparse.Namespace,
    configs: dict[str, bool],
    rec_paths: list[str],
    health_paths: list[str],
    levels: list[int],
    scratch: Path,
) -> dict[str, dict[str, dict[str, list[dict[str, Any]]]]]:
    """Start one server per config, side by side, and run every level on each in turn.

    Levels alternate between the servers and between the two endpoints, so a change in
    the machine's background load hits every configuration and both endpoints alike; the
    whole sequence runs `--rounds` times (results per level: one entry per round).
    """
    servers: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
    http: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
    try:
        for name, micro_batch in configs.items():
            port = free_port()
            servers[name] = (
                port,
                start_server(run_dir, args.work_dir, port, args.workers, micro_batch, name),
            )
            http[name] = {"recommend": {}, "trivial": {}}
        for port, _ in servers.values():
            # Warm-up: first requests pay for lazy imports and allocator growth.
            run_level("127.0.0.1", port, rec_paths[: args.warmup], 4, args.time_limit, scratch)
            run_level("127.0.0.1", port, health_paths[: args.warmup], 4, args.time_limit, scratch)
        for round_no in range(args.rounds):
            for concurrency in levels:
                for name, (port, _) in servers.items():
                    for endpoint, paths in (("recommend", rec_paths), ("trivial", health_paths)):
                        before = scoring_batches(port) if endpoint == "recommend" else None
                        result = run_level(
                            "127.0.0.1", port, paths, concurrency, args.time_limit, scratch
                        )
                        after = scoring_batches(port) if before is not None else None
                        if before is not None and after is not None and after[1] > before[1]:
                            # requests per matmul actually formed under this load
                            result["mean_batch"] = round(
                                (after[0] - before[0]) / (after[1] - before[1]), 2
                            )
                        http[name][endpoint].setdefault(str(concurrency), []).append(result)
                        log(
                            f"round {round_no + 1} {name:<10} {endpoint:<10} c={concurrency:<3} "
                            f"{result['rps']:>8} req/s  p50 {result['p50_ms']} ms  "
                            f"p99 {result['p99_ms']} ms  errors {result['errors']}"
                            + (f"  mean batch {result['mean_batch']}"
                               if "mean_batch" in result else "")
                        )  # fmt: skip
    finally:
        for _, process in servers.values():
            stop_server(process)
    return http


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--loadgen":
        _loadgen_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work-dir", type=Path, default=REPO / ".bench" / "api")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rebuild", action="store_true", help="Re-import and re-train.")
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--requests", type=int, default=4000, help="Per level and endpoint.")
    parser.add_argument("--time-limit", type=float, default=30.0, help="Seconds per level.")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument(
        "--rounds", type=int, default=3, help="Repeat every level; medians are reported."
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--configs", default="batched,unbatched", help="Server runs: batched and/or unbatched."
    )
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from tailgraph.kg.embedded import EmbeddedServer, exit_cleanly_on_sigterm

    exit_cleanly_on_sigterm()  # a killed run still stops its graph server

    graph_server = EmbeddedServer(args.work_dir / "home")
    try:
        run_dir = prepare_run(args.data, args.work_dir, args.epochs, args.rebuild)
        if not args.prepare_only:
            measure(args, run_dir)
        else:
            print(json.dumps({"run_dir": str(run_dir)}))
    finally:
        graph_server.stop()


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One level of one endpoint over all rounds: medians, summed errors, every round."""
    keys = ["rps", "p50_ms", "p99_ms"] + (["mean_batch"] if "mean_batch" in rounds[0] else [])
    out: dict[str, Any] = {k: round(statistics.median(r[k] for r in rounds), 3) for k in keys}
    out["errors"] = sum(r["errors"] for r in rounds)
    out["rounds"] = rounds
    return out


def measure(args: argparse.Namespace, run_dir: Path) -> None:
    import pandas as pd

    user_ids = pd.read_parquet(run_dir / "users.parquet")["id"].astype(str).tolist()
    rng = random.Random(args.seed)
    users = [rng.choice(user_ids) for _ in range(args.requests)]
    rec_paths = [f"/users/{quote(u, safe='')}/recommendations?k={args.k}" for u in users]
    health_paths = ["/health"] * args.requests
    levels = [int(c) for c in args.concurrency.split(",")]
    load_before = os.getloadavg()

    scratch = args.work_dir / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    configs = {
        name: {"batched": True, "unbatched": False}[name] for name in args.configs.split(",")
    }
    log(f"-- servers: workers={args.workers}, configurations {list(configs)}")
    measured = measure_servers(run_dir, args, configs, rec_paths, health_paths, levels, scratch)
    servers: dict[str, Any] = {}
    for name, http in measured.items():
        # Each round pairs the two endpoints a few seconds apart: the median of the paired
        # ratios is robust to the shared machine's load swinging between rounds.
        ratio = {
            c: round(statistics.median(
                rec["rps"] / triv["rps"]
                for rec, triv in zip(http["recommend"][c], http["trivial"][c], strict=True)
            ), 3)
            for c in http["recommend"]
        }  # fmt: skip
        summary = {
            endpoint: {c: summarise(rounds) for c, rounds in levels_.items()}
            for endpoint, levels_ in http.items()
        }
        p99_16 = summary["recommend"].get("16", {}).get("p99_ms")
        servers[name] = {
            "micro_batch": configs[name],
            "http": summary,
            "recommend_over_trivial_rps": ratio,
            "goals": {
                "p99_ms_at_16_le_25": p99_16 is not None and p99_16 <= 25.0,
                "rps_ratio_at_16_ge_0.7": ratio.get("16", 0.0) >= 0.7,
            },
        }
        for c in ratio:
            log(
                f"{name:<10} c={c:<3} median of {args.rounds} rounds: recommend "
                f"{summary['recommend'][c]['rps']} req/s (p99 {summary['recommend'][c]['p99_ms']}"
                f" ms), trivial {summary['trivial'][c]['rps']} req/s, ratio {ratio[c]}"
            )
    load_after = os.getloadavg()
    ceiling = scoring_ceiling(run_dir, users, args.k, 64)
    log(f"in-process scoring: {ceiling}")
    report = {
        "bench": "api_bench",
        "dataset": "lastfm-hetrec (DBpedia KG)",
        "run_dir": str(run_dir),
        "items": ceiling["items"],
        "users": len(user_ids),
        "dim": ceiling["dim"],
        "k": args.k,
        "workers": args.workers,
        "requests_per_level": args.requests,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "servers": servers,
        "in_process_scoring": ceiling,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
