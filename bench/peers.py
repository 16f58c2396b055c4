"""Peer parity: RecBole's reference models on our exact split, scored by our rules, one table.

For each dataset in ../shared/data: import it into a fresh embedded graph (as
bench/quality.py does), snapshot it, write the harness's split as RecBole benchmark
files (`gnn.export_recbole`: same seed, same cold items, cold items removed from the
RecBole dataset so both sides rank the same warm candidates), then train each
RecBole model in RecBole's own virtual environment (a subprocess: RecBole 1.2.1
needs numpy < 2, pandas < 2.3, scipy < 1.12). The worker dumps the best model's
full-ranking top-20 per test user; they are scored here with `gnn.evaluate` (overall,
head/mid/tail buckets, coverage, popularity), beside RecBole's own test metrics as a
cross-check. Optionally our in-harness LightGCN / BPR-MF / MostPop run on the same
snapshot and seed, and the last line's JSON holds the NDCG@20 parity check.

    python bench/peers.py --datasets ml100k_kg --seeds 0 --threads 1
    python bench/peers.py --models Pop,BPR,LightGCN --ours ""     # RecBole rows only

Budget (same as ours): max epochs and patience from `gnn.train.TrainConfig`,
validation NDCG@20 every epoch, embedding size 64, our learning rate and batch size;
every other hyper-parameter is RecBole's default for the model. RecBole stops when
more than `stopping_step` validations in a row did not improve, we stop at `patience`:
`stopping_step = patience - 1`. RecBole has no `min_epochs`.

The RecBole environment is created on first use under `.bench/recbole-venv` with the
same torch build as the project's (a CPU wheel here). KGIN imports `torch_scatter`
for one `scatter_mean`; a 20-line shim (`.bench/recbole-shims`, on PYTHONPATH of the
worker only) provides it with `Tensor.scatter_add_`. KGAT needs dgl, which has no
build for torch 2.13: it is reported as not run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".bench" / "recbole-venv"
SHIMS = REPO / ".bench" / "recbole-shims"
WORK = REPO / ".bench" / "peers"
RECBOLE_REQUIREMENTS = ("recbole==1.2.1", "numpy<2", "pandas<2.3", "scipy<1.12", "setuptools<81")
PEERS = ("Pop", "BPR", "LightGCN", "CKE", "KGIN", "KGAT")
NOT_RUN = {"KGAT": "needs dgl, which has no build for torch 2.13"}
KG_MODELS = {"CKE", "KGIN", "KGAT"}
# Our in-harness model that each RecBole model is compared with.
COUNTERPART = {"mostpop": "Pop", "bpr_mf": "BPR", "lightgcn": "LightGCN"}
TOP_K = 20

SHIM = '''"""torch_scatter.scatter_mean/scatter_sum for RecBole's KGIN (shim: bench/peers.py)."""
import torch


def scatter_sum(src, index, dim=-1, out=None, dim_size=None):
    dim = dim % src.dim()
    if index.dim() == 1 and src.dim() > 1:
        shape = [1] * src.dim()
        shape[dim] = -1
        index = index.view(shape).expand_as(src)
    size = list(src.shape)
    size[dim] = dim_size if dim_size is not None else int(index.max()) + 1 if index.numel() else 0
    result = src.new_zeros(size).scatter_add_(dim, index, src)
    return result if out is None else out.add_(result)


def scatter_mean(src, index, dim=-1, out=None, dim_size=None):
    total = scatter_sum(src, index, dim, None, dim_size)
    count = scatter_sum(torch.ones_like(src), index, dim, None, dim_size).clamp_(min=1)
    result = total / count
    return result if out is None else out.copy_(result)
'''


# --------------------------------------------------------------------------- worker side
# Runs in the RecBole venv: imports only RecBole, torch, numpy.


def worker(job_path: Path) -> None:
    job = json.loads(job_path.read_text())
    import numpy as np
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_logger, init_seed
    from recbole.utils.case_study import full_sort_topk

    torch.set_num_threads(job["threads"])
    config = Config(model=job["model"], dataset=job["config"]["dataset"],
                    config_dict=job["config"])  # fmt: skip
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)  # RecBole's per-epoch log, under <work>/log/
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    curve: list[float] = []
    started = time.perf_counter()
    trainer.fit(train_data, valid_data, saved=True, show_progress=False,
                callback_fn=lambda epoch, score: curve.append(float(score)))  # fmt: skip
    train_seconds = time.perf_counter() - started
    test = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
    model = trainer.model
    model.eval()

    uid_field, iid_field = dataset.uid_field, dataset.iid_field
    users = np.unique(test_data._dataset.inter_feat[uid_field].numpy())
    tops = []
    with torch.no_grad():
        for start in range(0, len(users), 1024):
            _, index = full_sort_topk(users[start : start + 1024], model, test_data, TOP_K)
            tops.append(index.cpu().numpy())
    top = np.concatenate(tops) if tops else np.zeros((0, TOP_K), dtype=np.int64)
    user_tokens = dataset.field2id_token[uid_field][users].astype(np.int64)
    item_tokens = dataset.field2id_token[iid_field][top].astype(np.int64)
    best = int(np.argmax(curve)) + 1 if curve else 0
    result = {
        "model": job["model"],
        "recbole_test": {k: float(v) for k, v in test.items()},
        "best_valid_ndcg@20": float(trainer.best_valid_score),
        "best_epoch": best,
        "epochs_run": len(curve),
        "train_seconds": round(train_seconds, 2),
        "users": user_tokens.tolist(),
        "top": item_tokens.tolist(),
        "n_items_recbole": int(dataset.item_num - 1),
        "n_users_recbole": int(dataset.user_num - 1),
        "inter_counts": [len(d._dataset.inter_feat) for d in (train_data, valid_data, test_data)],
    }
    Path(job["out"]).write_text(json.dumps(result))


# --------------------------------------------------------------------------- project side


def ensure_venv(python_version: str, torch_version: str) -> Path:
    """Create `.bench/recbole-venv` (once) with the project's torch build and RecBole's pins."""
    python = VENV / "bin" / "python"
    marker = VENV / ".tailgraph-peers"
    wanted = json.dumps([torch_version, *RECBOLE_REQUIREMENTS])
    SHIMS.joinpath("torch_scatter").mkdir(parents=True, exist_ok=True)
    SHIMS.joinpath("torch_scatter", "__init__.py").write_text(SHIM)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print(f"# creating {VENV.relative_to(REPO)} (RecBole 1.2.1, torch {torch_version})", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    # The exact torch the project runs (its local build tag included: never a CUDA wheel).
    subprocess.run([*pip, f"torch=={torch_version}"], check=True)
    subprocess.run([*pip, *RECBOLE_REQUIREMENTS, f"torch=={torch_version}"], check=True)
    marker.write_text(wanted)
    return python


def run_peer(python: Path, model: str, config: dict[str, Any], work: Path, threads: int) -> dict:
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    job = {"model": model, "config": config, "threads": threads,
           "out": str(work / f"{model}.result.json")}  # fmt: skip
    job_path = work / f"{model}.job.json"
    job_path.write_text(json.dumps(job))
    env = {**os.environ, "PYTHONPATH": str(SHIMS), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1",
           "PYTHONWARNINGS": "ignore"}  # fmt: skip
    log = work / f"{model}.log"
    started = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.run([str(python), str(Path(__file__).resolve()), "worker",
                               str(job_path)], cwd=work, env=env, stdout=out,
                              stderr=subprocess.STDOUT).returncode  # fmt: skip
    if code != 0:
        tail = log.read_text().strip().splitlines()[-1:] or ["(no output)"]
        return {"error": f"exit {code}: {tail[0][:300]} (log: {log})"}
    result = json.loads(Path(job["out"]).read_text())
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    return result


def peer_config(export: Any, model: str, seed: int, train: Any, work: Path) -> dict[str, Any]:
    from tailgraph.gnn.export_recbole import recbole_config

    overrides: dict[str, Any] = {
        "seed": seed,
        "reproducibility": True,
        "use_gpu": False,
        "device": "cpu",
        "show_progress": False,
        "checkpoint_dir": str(work / "saved"),
        "epochs": train.epochs,
        "stopping_step": max(train.patience - 1, 0),
        "eval_step": 1,
        "learning_rate": train.lr,
        "train_batch_size": train.batch_size,
        "embedding_size": 64,
        "eval_batch_size": 4096,
    }
    if model == "Pop":
        # One counting pass without sampled negatives (they would be counted too). Batches of
        # one: Pop.calculate_loss does `item_cnt[item] += 1` with fancy indexing, which counts
        # an item once per *batch*, so at 2048 the head items all tie at the number of batches.
        overrides.update(epochs=1, train_neg_sample_args=None, train_batch_size=1)
    if model in KG_MODELS:
        overrides["kg_embedding_size"] = 64
    return recbole_config(export, **overrides)


def topk_scorer(users: list[int], top: list[list[int]], num_items: int) -> Any:
    """A scorer that reproduces the given top-K lists (rank r scores K - r, the rest far below)."""
    import torch

    table = torch.full((max(users, default=-1) + 1, num_items), -1e6, dtype=torch.float64)
    for user, items in zip(users, top, strict=True):
        table[user, torch.tensor(items, dtype=torch.long)] = torch.arange(
            len(items), 0, -1, dtype=torch.float64
        )

    def score(batch: Any) -> Any:
        out = torch.full((len(batch), num_items), -1e6, dtype=torch.float64)
        known = batch < len(table)
        out[known] = table[batch[known]]
        return out

    return score


def score_by_our_rules(result: dict[str, Any], data: Any) -> dict[str, Any]:
    from tailgraph.gnn.evaluate import evaluate

    scorer = topk_scorer(result["users"], result["top"], data.num_items)
    return evaluate(scorer, data, "test")


def plain_data(snapshot: Any, split: Any) -> Any:
    """Our evaluation tensors for the split (no text needed to score given top-K lists)."""
    import torch
    from tailgraph.gnn.data import build_train_data

    return build_train_data(snapshot, split, torch.zeros(snapshot.num_items, 1),
                            torch.zeros(snapshot.num_entities, 1))  # fmt: skip


COLUMNS = (
    ("overall", "ndcg@10"), ("overall", "ndcg@20"), ("overall", "recall@10"),
    ("overall", "recall@20"), ("overall", "hit@10"), ("overall", "hit@20"),
    ("head", "recall@20"), ("mid", "recall@20"), ("tail", "recall@20"),
)  # fmt: skip


def row_of(metrics: dict[str, Any]) -> dict[str, float]:
    row = {f"{g} {n}": float(metrics[g][n]) for g, n in COLUMNS}
    row["coverage@20"] = float(metrics["coverage@20"])
    row["mean_popularity@20"] = float(metrics["mean_popularity@20"])
    return row


def print_table(dataset: str, rows: dict[str, dict[str, Any]], seeds: list[int]) -> None:
    import statistics

    columns = [f"{g} {n}" for g, n in COLUMNS] + ["coverage@20", "mean_popularity@20"]
    extra = ["RecBole's own ndcg@20", "best/run epochs", "train s"]
    print(f"\n## {dataset}: RecBole runs (`recbole:`) beside ours, same split, "
          f"seeds {seeds} (mean)\n")  # fmt: skip
    print("| model | " + " | ".join(columns + extra) + " |")
    print("|---|" + "---|" * (len(columns) + len(extra)))
    for name, runs in rows.items():
        if "error" in runs:
            print(f"| {name} | not run: {runs['error']} |")
            continue
        cells = []
        for column in columns:
            value = statistics.fmean(r[column] for r in runs["runs"])
            cells.append(f"{value:.1f}" if column == "mean_popularity@20" else f"{value:.4f}")
        own = [r.get("recbole ndcg@20") for r in runs["runs"]]
        cells.append(f"{statistics.fmean(own):.4f}" if None not in own else "—")
        cells.append(", ".join(f"{r['best_epoch']}/{r['epochs_run']}" for r in runs["runs"]))
        cells.append(f"{statistics.fmean(r['train_seconds'] for r in runs['runs']):.0f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def parity(rows: dict[str, dict[str, Any]], tolerance: float = 0.05) -> dict[str, Any]:
    import statistics

    out: dict[str, Any] = {}
    for ours, theirs in COUNTERPART.items():
        a, b = rows.get(f"ours: {ours}"), rows.get(f"recbole: {theirs}")
        if not a or not b or "runs" not in a or "runs" not in b:
            continue
        mine = statistics.fmean(r["overall ndcg@20"] for r in a["runs"])
        peer = statistics.fmean(r["overall ndcg@20"] for r in b["runs"])
        relative = (mine - peer) / peer if peer else float("nan")
        out[ours] = {
            "ours": round(mine, 5),
            "recbole": round(peer, 5),
            "relative": round(relative, 4),
            "within": abs(relative) <= tolerance,
        }
    return out


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        worker(Path(sys.argv[2]))
        return

    sys.path.insert(0, str(REPO / "bench"))
    import tempfile

    import torch
    from quality import DATASETS, load  # type: ignore[import-not-found]
    from tailgraph.gnn.config import harness_config
    from tailgraph.gnn.export_recbole import export_recbole
    from tailgraph.gnn.harness import run_comparison
    from tailgraph.gnn.split import split_interactions
    from tailgraph.gnn.train import TrainConfig
    from tailgraph.kg.embedded import EmbeddedServer, exit_cleanly_on_sigterm
    from tailgraph.kg.importer import import_dataset
    from tailgraph.kg.settings import GraphSettings
    from tailgraph.kg.snapshot import take_snapshot
    from tailgraph.kg.store import open_store

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--models", default=",".join(PEERS), help="RecBole models")
    parser.add_argument(
        "--ours",
        default="mostpop,bpr_mf,lightgcn",
        help="our in-harness models to run on the same split ('' for none)",
    )
    parser.add_argument("--cold-fraction", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    parser.add_argument("--patience", type=int, default=TrainConfig().patience)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=REPO / ".bench" / "embeddings")
    parser.add_argument("--out", type=Path, default=WORK)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()  # a killed run still stops its graph server
    torch.set_num_threads(args.threads)
    train = TrainConfig(epochs=args.epochs, patience=args.patience)
    models = [m for m in args.models.split(",") if m]
    ours = [m for m in args.ours.split(",") if m]
    python = None
    if any(m not in NOT_RUN for m in models):
        python = ensure_venv(f"{sys.version_info.major}.{sys.version_info.minor}",
                             torch.__version__)  # fmt: skip
    report: dict[str, Any] = {"bench": "peers", "seeds": args.seeds, "epochs": args.epochs,
                              "patience": args.patience, "datasets": {}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="tailgraph-peers-") as home:
        server = EmbeddedServer(Path(home))
        server.start()
        try:
            for name in args.datasets:
                settings = GraphSettings(home=Path(home), graph_name=name)
                with open_store(settings) as store:
                    import_dataset(load(name, args.data), store, Path(home) / "imports")
                    snapshot = take_snapshot(store)
                rows: dict[str, dict[str, Any]] = {}
                split_info: dict[str, Any] = {}
                for seed in args.seeds:
                    split = split_interactions(snapshot.interactions, snapshot.num_items, seed,
                                               args.cold_fraction)  # fmt: skip
                    split_info[str(seed)] = split.describe()
                    export = export_recbole(snapshot, args.out / "data" / f"seed{seed}", name,
                                            split=split)  # fmt: skip
                    data = plain_data(snapshot, split)
                    print(f"# {name} seed {seed}: exported {export.counts}", flush=True)
                    for model in models:
                        key = f"recbole: {model}"
                        if model in NOT_RUN:
                            rows[key] = {"error": NOT_RUN[model]}
                            continue
                        if model in KG_MODELS and not export.has_kg:
                            rows[key] = {"error": "dataset has no KG"}
                            continue
                        work = args.out / "work" / name / f"seed{seed}" / model
                        assert python is not None
                        config = peer_config(export, model, seed, train, work)
                        result = run_peer(python, model, config, work, args.threads)
                        if "error" in result:
                            rows[key] = {"error": result["error"]}
                            print(f"{key:<20} {result['error']}", flush=True)
                            continue
                        row = row_of(score_by_our_rules(result, data))
                        row.update(
                            {"recbole ndcg@20": result["recbole_test"].get("ndcg@20")},
                            recbole_test=result["recbole_test"], best_epoch=result["best_epoch"],
                            epochs_run=result["epochs_run"],
                            train_seconds=result["train_seconds"],
                        )  # fmt: skip
                        rows.setdefault(key, {"runs": []})["runs"].append(row)
                        print(f"{key:<20} ndcg@20 ours-rules {row['overall ndcg@20']:.4f} "
                              f"recbole {row['recbole ndcg@20']:.4f}  "
                              f"({result['train_seconds']:.0f} s, "
                              f"{result['best_epoch']}/{result['epochs_run']} epochs)",
                              flush=True)  # fmt: skip
                    if ours:
                        config = harness_config({"seed": seed, "models": ",".join(ours),
                                                 "cold_fraction": args.cold_fraction,
                                                 "train.epochs": args.epochs,
                                                 "train.patience": args.patience,
                                                 "train.progress": False})  # fmt: skip
                        result = run_comparison(snapshot, config, name, cache_dir=args.cache)
                        for model, metrics in result.metrics["models"].items():
                            row = row_of(metrics)
                            row.update(best_epoch=metrics["best_epoch"],
                                       epochs_run=metrics["epochs_run"],
                                       train_seconds=metrics["train_seconds"])  # fmt: skip
                            rows.setdefault(f"ours: {model}", {"runs": []})["runs"].append(row)
                print_table(name, rows, args.seeds)
                check = parity(rows)
                print(json.dumps({"dataset": name, "parity_ndcg@20": check}), flush=True)
                report["datasets"][name] = {"split": split_info, "rows": rows,
                                            "parity_ndcg@20": check}  # fmt: skip
        finally:
            server.stop()
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
