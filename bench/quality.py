"""Quality benchmark: Tailgraph, its ablations and every baseline, same split, same run.

For each dataset in ../shared/data: import it into a fresh embedded graph (through
the project's own adapter + importer), snapshot it, then for each seed run the
whole harness (gnn.harness.run_comparison) and report mean ± std over seeds.
The last line is one JSON object with every figure.

    python bench/quality.py                          # both datasets, seeds 0 1 2
    python bench/quality.py --datasets ml100k_kg --seeds 0 --models tailgraph,lightgcn
    python bench/quality.py --set train.device=cuda  # every model on the GPU

`--prepare DIR` writes each dataset's snapshot and text embeddings (the harness's whole
input, for the models in `--models`) and stops; `--prepared DIR` trains from them with no
graph server and no text model — to run the benchmark on a machine that has a GPU but not
the rest. Item text embeddings travel exactly; entity text rows in float16 (see
`save_prepared`).

Data-parallel (`gnn.distributed`): `torchrun --nproc-per-node N bench/quality.py --prepared
DIR …` trains every model in N processes (each rank `--threads` threads); rank 0 evaluates,
writes the per-seed files and prints. `train.batch_size` stays the global batch, so the
run computes what one process computes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from tailgraph.encoders import TextEncoder
from tailgraph.gnn import distributed
from tailgraph.gnn.config import harness_config
from tailgraph.gnn.features import TextFeatures, text_features
from tailgraph.gnn.harness import ALL_MODELS, KG_SELECTION_PART, kg_choice, run_comparison
from tailgraph.gnn.train import training_device
from tailgraph.kg.adapters import load_dataset
from tailgraph.kg.embedded import EmbeddedServer, exit_cleanly_on_sigterm
from tailgraph.kg.importer import import_dataset
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.snapshot import GraphSnapshot, take_snapshot
from tailgraph.kg.store import open_store

REPO = Path(__file__).resolve().parents[1]
DATASETS: dict[str, tuple[str, dict[str, Any]]] = {
    "ml100k_kg": ("recbole", {"descriptions": "derived/ml-100k_llm_desc_from_colakg.json"}),
    "lastfm_hetrec_kg": ("lastfm-hetrec", {"kg": "dbpedia"}),
}
HEADLINE = (
    ("overall", "ndcg@20"), ("overall", "recall@20"), ("head", "recall@20"), ("mid", "recall@20"),
    ("tail", "recall@20"), ("cold", "recall@20"), ("cold", "ndcg@20"), ("hybrid", "ndcg@20"),
    ("hybrid", "recall@20"),
)  # fmt: skip


def load(name: str, root: Path) -> Any:
    fmt, options = DATASETS[name]
    options = {k: str(root / name / v) if k == "descriptions" else v for k, v in options.items()}
    return load_dataset(root / name, fmt, **options)


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        for model, metrics in run["models"].items():
            row = out.setdefault(model, {})
            for group, name in HEADLINE:
                block = metrics[group]["overall"] if group == "hybrid" else metrics[group]
                row.setdefault(f"{group} {name}", []).append(block.get(name, float("nan")))
            for key in ("coverage@20", "mean_popularity@20", "train_seconds", "eval_seconds"):
                row.setdefault(key, []).append(metrics[key])
            # Wall time per epoch: the training steps and rank 0's validation after each.
            epochs = metrics.get("epochs_run") or 0
            per_epoch = metrics["train_seconds"] / epochs if epochs else float("nan")
            row.setdefault("epoch_seconds", []).append(per_epoch)
    return out


def print_table(dataset: str, summary: dict[str, dict[str, list[float]]]) -> None:
    columns = [f"{g} {n}" for g, n in HEADLINE] + [
        "coverage@20",
        "mean_popularity@20",
        "train_seconds",
        "epoch_seconds",
        "eval_seconds",
    ]
    print(f"\n## {dataset} (mean ± std over seeds)\n")
    print("| model | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for model, row in summary.items():
        cells = []
        for column in columns:
            mean, std = mean_std(row[column])
            plain = column in ("mean_popularity@20", "train_seconds", "epoch_seconds",
                               "eval_seconds")  # fmt: skip
            cells.append(f"{mean:.1f}" if plain else f"{mean:.4f} ± {std:.4f}")
        print(f"| {model} | " + " | ".join(cells) + " |", flush=True)


COLD_START_PEERS = ("dropoutnet", "aldi", "clcrec", "text_knn", "kg_concat_mlp", "blend_text_cf")


def goals(runs: list[dict[str, Any]], summary: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """The issues' goals for the default model, as ratios (a goal is met at ≥ 1 unless said)."""

    def mean(model: str, column: str) -> float:
        return mean_std(summary[model][column])[0] if model in summary else float("nan")

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else float("nan")

    out: dict[str, Any] = {}
    if "tailgraph_no_kg" in summary:  # KG propagation vs the same model without it
        ref = "tailgraph_no_kg"
        # the product model (KG kept or dropped on validation) and the KG design itself
        for model, key in (("tailgraph", "vs_no_kg"), ("tailgraph_kg", "kg_vs_no_kg")):
            if model in summary:
                out[key] = {
                    column: ratio(mean(model, column), mean(ref, column))
                    for column in ("cold recall@20", "tail recall@20", "hybrid ndcg@20",
                                   "overall ndcg@20", "train_seconds")
                }  # fmt: skip
        design = "tailgraph_kg" if "tailgraph_kg" in summary else "tailgraph"
        if "tailgraph_shuffled_kg" in summary and design in summary:
            gain = mean(design, "cold recall@20") - mean(ref, "cold recall@20")
            lost = mean(design, "cold recall@20") - mean("tailgraph_shuffled_kg",
                                                         "cold recall@20")  # fmt: skip
            out["shuffled_kg_share_of_cold_gain_lost"] = lost / gain if gain > 0 else float("nan")
    selections = [run["models"]["tailgraph"].get("kg_selection") for run in runs
                  if "tailgraph" in run["models"]]  # fmt: skip
    if any(selections):
        out["kg_kept_per_seed"] = [s["use_kg"] if s else None for s in selections]
    if "lightgcn" in summary and "tailgraph" in summary:  # robustness, seed by seed
        out["seeds_at_or_above_lightgcn"] = {
            column: [
                run["models"]["tailgraph"][group][metric]
                >= run["models"]["lightgcn"][group][metric]
                for run in runs
            ]
            for column, (group, metric) in {
                "overall ndcg@20": ("overall", "ndcg@20"), "tail recall@20": ("tail", "recall@20"),
            }.items()
        }  # fmt: skip
    peers = [m for m in summary if not m.startswith("tailgraph")]
    if peers and "tailgraph" in summary:

        def best(column: str, among: list[str]) -> tuple[str | None, float]:
            scored = [(mean(m, column), m) for m in among if mean(m, column) == mean(m, column)]
            value, model = max(scored, default=(float("nan"), None))
            return model, value

        cold_peers = [m for m in peers if m in COLD_START_PEERS]
        for key, column, among in (
            ("overall_ndcg@20_vs_best_peer", "overall ndcg@20", peers),
            ("tail_recall@20_vs_best_peer", "tail recall@20", peers),
            ("cold_recall@20_vs_best_cold_start_peer", "cold recall@20", cold_peers),
            ("hybrid_ndcg@20_vs_best_peer", "hybrid ndcg@20", peers),
        ):
            model, value = best(column, among)
            out[key] = {"peer": model, "ratio": ratio(mean("tailgraph", column), value)}
    return out


def report_dataset(label: str, runs: list[dict[str, Any]], prep_s: float | None) -> dict[str, Any]:
    """Print one condition's table and goals; return its entry of the final JSON."""
    summary = summarise(runs)
    print_table(label, summary)
    entry = {
        "split": runs[0]["split"],
        "import_snapshot_seconds": None if prep_s is None else round(prep_s, 1),
        "device": runs[0].get("device"),
        "wall_seconds": [run.get("wall_seconds") for run in runs],
        "peak_rss_mb": [run.get("peak_rss_mb") for run in runs],
        "peak_gpu_mb": [run.get("peak_gpu_mb") for run in runs],
        "models": {
            model: {col: [round(v, 5) for v in mean_std(vals)] for col, vals in row.items()}
            for model, row in summary.items()
        },
        "goals": goals(runs, summary),
    }
    print(json.dumps(entry["goals"]), flush=True)
    return entry


def condition(name: str, text: str, tag: str) -> str:
    """The label of one condition (dataset, text regime, optional tag such as a split)."""
    return f"{name}-{text}" + (f"-{tag}" if tag else "")


def derive_selection(models: dict[str, Any]) -> None:
    """The product model of a seed whose two halves ran as separate processes: with
    `tailgraph_kg` and `tailgraph_no_kg` but no `tailgraph` in the results, add the one
    `select_kg` keeps, by the same rule (`kg_choice`) on the same validation figures
    (`valid.hybrid_valid.ndcg@20`, computed as `validation_ndcg` computes it), with both
    trainings' seconds."""
    if "tailgraph" in models or not {"tailgraph_kg", "tailgraph_no_kg"} <= models.keys():
        return
    with_kg, without = models["tailgraph_kg"], models["tailgraph_no_kg"]
    scores = {
        label: m["valid"][KG_SELECTION_PART]["ndcg@20"]
        for label, m in (("with_kg", with_kg), ("without_kg", without))
    }
    use_kg = kg_choice(scores["with_kg"], scores["without_kg"])
    chosen = with_kg if use_kg else without
    models["tailgraph"] = {
        **chosen,
        "train_seconds": with_kg["train_seconds"] + without["train_seconds"],
        "kg_selection": {"part": KG_SELECTION_PART, **scores, "use_kg": use_kg,
                         "derived_from": "separate runs"},
    }  # fmt: skip


def summarise_files(
    outs: list[Path], datasets: list[str], texts: list[str], tag: str, seeds: list[int]
) -> None:
    """Report per-seed JSON files; several `--out` folders (e.g. baselines and ours run as
    separate processes) are merged model by model, after checking that each seed's split
    is the same in all of them."""
    report: dict[str, Any] = {"bench": "quality", "seeds": seeds, "datasets": {}}
    for label in (condition(n, t, tag) for n in datasets for t in texts):
        runs = []
        for seed in seeds:
            parts = [
                json.loads(f.read_text())
                for f in (out / f"{label}-seed{seed}.json" for out in outs)
                if f.exists()
            ]
            if not parts:
                print(f"# {label} seed {seed}: no results in {[str(o) for o in outs]}")
                continue
            run = {**parts[0], "models": {}}
            for part in parts:
                if part["split"] != run["split"]:
                    raise SystemExit(f"{label} seed {seed}: different splits in {outs}")
                run["models"].update(part["models"])
            derive_selection(run["models"])
            run["wall_seconds"] = sum(p.get("wall_seconds") or 0.0 for p in parts)
            run["peak_rss_mb"] = max(p.get("peak_rss_mb") or 0.0 for p in parts)
            gpu = [p["peak_gpu_mb"] for p in parts if p.get("peak_gpu_mb") is not None]
            run["peak_gpu_mb"] = max(gpu) if gpu else None
            runs.append(run)
        if runs:
            report["datasets"][label] = report_dataset(label, runs, None)
    sys.stdout.write(json.dumps(report) + "\n")


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


Features = Callable[[str], TextFeatures]


def import_and_snapshot(name: str, data_root: Path, home: Path) -> GraphSnapshot:
    settings = GraphSettings(home=home, graph_name=name)
    with open_store(settings) as store:
        import_dataset(load(name, data_root), store, home / "imports")
        return take_snapshot(store)


def save_prepared(
    out: Path, snapshot: GraphSnapshot, features: Features, variants: list[str]
) -> None:
    """Snapshot + text embeddings. Item rows are float32 (what training reads); entity rows
    only where an entity has text, in float16 — they feed only the KG-propagation ablation,
    and this keeps Last.fm's inputs small enough to send to a GPU machine."""
    snapshot.save(out / "snapshot")
    for variant in variants:
        text = features(variant)
        rows = torch.nonzero(text.entities.abs().sum(1) > 0).flatten()
        tensors = {
            "items": text.items.float().contiguous(),
            "entity_rows": rows,
            "entity_text": text.entities[rows].half().contiguous(),
        }
        save_file(tensors, str(out / f"text-{variant}.safetensors"))
        info = {"model": text.model, "stats": text.stats, "entities": len(text.entities)}
        (out / f"text-{variant}.json").write_text(json.dumps(info, indent=2))


def load_prepared(directory: Path) -> tuple[GraphSnapshot, Features]:
    if not (directory / "snapshot").is_dir():
        raise SystemExit(f"{directory}: no prepared snapshot (make one with --prepare)")
    snapshot = GraphSnapshot.load(directory / "snapshot")

    def features(variant: str) -> TextFeatures:
        path = directory / f"text-{variant}.safetensors"
        if not path.exists():
            raise SystemExit(f"{path}: not prepared (--prepare with a model that reads it)")
        tensors = load_file(str(path))
        info = json.loads((directory / f"text-{variant}.json").read_text())
        entities = torch.zeros(info["entities"], tensors["items"].shape[1])
        entities[tensors["entity_rows"]] = tensors["entity_text"].float()
        return TextFeatures(tensors["items"], entities, variant, info["stats"], info["model"])

    return snapshot, features


def run_seeds(
    name: str, text: str, snapshot: GraphSnapshot, features: Features, args: argparse.Namespace
) -> list[dict[str, Any]]:
    label = condition(name, text, args.tag)
    runs = []
    for seed in args.seeds:
        raw: dict[str, Any] = {"seed": seed, "models": args.models, "text": text}
        for pair in args.set:
            key, _, value = pair.partition("=")
            raw[key] = value
        config = harness_config(raw)
        if distributed.is_main():
            print(f"# {label} seed {seed}", flush=True)
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        seed_started = time.perf_counter()
        result = run_comparison(snapshot, config, name, features=features)
        if not distributed.is_main():
            continue  # rank 0 evaluated; it reports
        # Peak RSS is per process: run one dataset per process to read it per dataset.
        metrics = {
            **result.metrics,
            "wall_seconds": round(time.perf_counter() - seed_started, 1),
            "peak_rss_mb": _peak_rss_mb(),
            "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)
            if result.metrics["device"].startswith("cuda")
            else None,
        }
        runs.append(metrics)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{label}-seed{seed}.json").write_text(json.dumps(metrics, indent=2))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--models", default=",".join(ALL_MODELS))
    parser.add_argument("--text", nargs="+", default=["full", "title"], help="text regimes")
    parser.add_argument(
        "--tag", default="", help="label for a variant condition, e.g. 'random' with "
        "--set split_order=random (part of the result file names)"
    )  # fmt: skip
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        action="extend",
        help="harness overrides key=value (repeatable)",
    )
    parser.add_argument("--cache", type=Path, default=REPO / ".bench" / "embeddings")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / ".bench" / "quality")
    parser.add_argument(
        "--merge", nargs="*", type=Path, default=[], help="with --summarise: more result folders"
    )
    parser.add_argument(
        "--summarise",
        action="store_true",
        help="train nothing: report the per-seed JSON files already in --out (seeds run "
        "as separate processes, e.g. side by side on two cores)",
    )
    inputs = parser.add_mutually_exclusive_group()
    inputs.add_argument("--prepare", type=Path, help="write snapshots + text embeddings, stop")
    inputs.add_argument("--prepared", type=Path, help="train from a --prepare folder")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()  # a killed run still stops its graph server
    if distributed.launched():
        if args.prepared is None:
            raise SystemExit("under torchrun, train from a --prepare folder: --prepared DIR")
        settings = harness_config(dict(pair.partition("=")[::2] for pair in args.set))
        distributed.init_from_env(training_device(settings.train.device))
    if args.summarise:
        summarise_files([args.out, *args.merge], args.datasets, args.text, args.tag, args.seeds)
        return
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {"bench": "quality", "seeds": args.seeds, "datasets": {}}
    with contextlib.ExitStack() as stack:
        home: Path | None = None
        encoder: TextEncoder | None = None
        if args.prepared is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tg-quality-")))
            server = EmbeddedServer(home)
            server.start()
            stack.callback(server.stop)
            encoder = TextEncoder()
        for name in args.datasets:
            started = time.perf_counter()
            if args.prepared is not None:
                snapshot, features = load_prepared(args.prepared / name)
            else:
                assert home is not None
                snapshot = import_and_snapshot(name, args.data, home)

                def features(variant: str, snapshot: GraphSnapshot = snapshot) -> TextFeatures:
                    return text_features(snapshot, variant, encoder, args.cache)

            if args.prepare is not None:
                save_prepared(args.prepare / name, snapshot, features, args.text)
                print(f"# {name}: prepared in {args.prepare / name}", flush=True)
                continue
            prep_s = None if args.prepared else time.perf_counter() - started
            for text in args.text:
                runs = run_seeds(name, text, snapshot, features, args)
                if not distributed.is_main():
                    continue
                label = condition(name, text, args.tag)
                report["datasets"][label] = report_dataset(label, runs, prep_s)
    if args.prepare is not None or not distributed.is_main():
        return
    report["processes"] = distributed.world_size()
    report["peak_rss_mb"] = _peak_rss_mb()
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
