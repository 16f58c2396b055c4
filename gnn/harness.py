"""One harness: same split, same text features, same training budget, every model.

`run_comparison` trains and evaluates Tailgraph, its ablations and every
baseline on one seeded split of one snapshot and returns the `metrics.json`
document (`{"dataset", "split", "seed", "models": {name: metrics}}`) together
with the trained Tailgraph model and its data, for the run directory. Every model
trains and is evaluated on `train.device` (CUDA when present, by default).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from tailgraph.encoders import TextEncoder
from tailgraph.gnn.data import TrainData, build_train_data
from tailgraph.gnn.evaluate import evaluate
from tailgraph.gnn.features import TextFeatures, text_features
from tailgraph.gnn.models.attention_rerank import AttentionRerank
from tailgraph.gnn.models.attr_cf import AttributeCF
from tailgraph.gnn.models.base import Recommender
from tailgraph.gnn.models.blend import TextCFBlend
from tailgraph.gnn.models.bpr_mf import BPRMF
from tailgraph.gnn.models.kg_mlp import KGConcatMLP
from tailgraph.gnn.models.lightgcn import LightGCN
from tailgraph.gnn.models.mostpop import MostPop
from tailgraph.gnn.models.tailgraph import TailgraphConfig, TailgraphModel
from tailgraph.gnn.models.text_knn import TextKNN
from tailgraph.gnn.split import Split, split_interactions
from tailgraph.gnn.train import TrainConfig, fit, seed_everything, training_device, validation_ndcg
from tailgraph.kg.snapshot import GraphSnapshot

BASELINES = (
    "mostpop", "bpr_mf", "lightgcn", "text_knn",
    "blend_text_cf", "kg_concat_mlp", "attention_rerank", "attr_cf",
)  # fmt: skip
ABLATIONS = ("tailgraph_kg", "tailgraph_no_text", "tailgraph_title_only")
ALL_MODELS = ("tailgraph", *ABLATIONS, *BASELINES)


@dataclass
class HarnessConfig:
    seed: int = 0
    cold_fraction: float = 0.1
    models: Sequence[str] = ALL_MODELS
    train: TrainConfig = field(default_factory=TrainConfig)
    tailgraph: TailgraphConfig = field(default_factory=TailgraphConfig)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


@dataclass
class HarnessResult:
    metrics: dict[str, Any]
    model: TailgraphModel | None
    data: TrainData
    split: Split


def _log(message: str, verbose: bool) -> None:
    if verbose:
        print(message, flush=True)


def run_comparison(
    snapshot: GraphSnapshot,
    config: HarnessConfig,
    dataset_name: str,
    encoder: TextEncoder | None = None,
    cache_dir: Path | None = None,
    verbose: bool = True,
    features: Callable[[str], TextFeatures] | None = None,
) -> HarnessResult:
    """`features(variant)` gives the text embeddings ("full", "title_only"); by default they
    come from `encoder` through the cache in `cache_dir`."""
    seed_everything(config.seed)
    device = training_device(config.train.device)
    if features is None:
        encoder = encoder or TextEncoder()

        def features(variant: str) -> TextFeatures:
            return text_features(snapshot, variant, encoder, cache_dir)

    full = features("full")
    split = split_interactions(snapshot.interactions, snapshot.num_items, config.seed,
                               config.cold_fraction)  # fmt: skip
    data = build_train_data(snapshot, split, full.items, full.entities).to(device)
    title_data: TrainData | None = None

    def title_only() -> TrainData:
        nonlocal title_data
        if title_data is None:
            titles = features("title_only")
            title_data = build_train_data(snapshot, split, titles.items, full.entities)
            title_data = title_data.to(device)
        return title_data

    def checkpoint_path(name: str) -> Path | None:
        folder = config.train.checkpoint_dir
        return Path(folder) / f"seed{config.seed}-{name}.safetensors" if folder else None

    lightgcn: LightGCN | None = None
    lightgcn_fit: dict[str, Any] = {}

    def trained_lightgcn() -> LightGCN:
        # Trained once per run; the blend and re-ranking baselines build on the same one.
        nonlocal lightgcn
        if lightgcn is None:
            seed_everything(config.seed)
            lightgcn = LightGCN(data)
            result = fit(lightgcn, data, replace(config.train, seed=config.seed),
                         checkpoint_path("lightgcn"))  # fmt: skip
            lightgcn_fit.update(best_epoch=result.best_epoch, epochs_run=result.epochs_run,
                                seconds=result.seconds)  # fmt: skip
        return lightgcn

    tg = config.tailgraph
    builders: dict[str, Callable[[], tuple[Recommender, TrainData]]] = {
        "tailgraph": lambda: (TailgraphModel(data, tg), data),
        "tailgraph_kg": lambda: (TailgraphModel(data, replace(tg, use_kg=True)), data),
        "tailgraph_no_text": lambda: (TailgraphModel(data, replace(tg, use_text=False)), data),
        "tailgraph_title_only": lambda: (TailgraphModel(title_only(), tg), title_only()),
        "mostpop": lambda: (MostPop(data), data),
        "bpr_mf": lambda: (BPRMF(data), data),
        "lightgcn": lambda: (trained_lightgcn(), data),
        "text_knn": lambda: (TextKNN(data), data),
        "blend_text_cf": lambda: (TextCFBlend(trained_lightgcn(), TextKNN(data)), data),
        "kg_concat_mlp": lambda: (KGConcatMLP(data), data),
        "attention_rerank": lambda: (AttentionRerank(trained_lightgcn()), data),
        "attr_cf": lambda: (AttributeCF(data), data),
    }
    results: dict[str, Any] = {}
    ours: TailgraphModel | None = None
    for name in config.models:
        started = time.perf_counter()
        seed_everything(config.seed)
        model, model_data = builders[name]()
        if name == "lightgcn":
            outcome = {k: v for k, v in lightgcn_fit.items() if k != "seconds"}
        elif not model.trainable:
            model.eval()
            model.refresh()
            outcome = {"best_epoch": 0, "epochs_run": 0}
        else:
            result = fit(model, model_data, replace(config.train, seed=config.seed),
                         checkpoint_path(name))  # fmt: skip
            outcome = {"best_epoch": result.best_epoch, "epochs_run": result.epochs_run}
        tuned = model.tune(lambda m=model, d=model_data: validation_ndcg(m, d))
        synchronize(device)
        train_seconds = time.perf_counter() - started
        started = time.perf_counter()
        metrics = evaluate(model.score, model_data, "test")
        metrics["cold"] = evaluate(model.score, model_data, "cold")["overall"]
        synchronize(device)
        metrics["train_seconds"] = round(train_seconds, 2)
        metrics["eval_seconds"] = round(time.perf_counter() - started, 2)
        metrics["tuned"] = tuned
        metrics.update(outcome)
        results[name] = metrics
        if name == "tailgraph":
            assert isinstance(model, TailgraphModel)
            ours = model
        _log(
            f"{name:<22} ndcg@20 {metrics['overall']['ndcg@20']:.4f}  "  # type: ignore[index]
            f"tail recall@20 {metrics['tail']['recall@20']:.4f}  "  # type: ignore[index]
            f"cold recall@20 {metrics['cold'].get('recall@20', float('nan')):.4f}  "  # type: ignore[attr-defined]
            f"({train_seconds:.0f} s)",
            verbose,
        )
    document = {
        "dataset": dataset_name,
        "split": split.describe(),
        "seed": config.seed,
        "text": {"model": full.model, "stats": full.stats},
        "device": str(device),
        "models": results,
    }
    return HarnessResult(document, ours, data, split)


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock timings include it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def torch_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
