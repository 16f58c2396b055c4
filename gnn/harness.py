"""One harness: same split, same text features, same training budget, every model.

`run_comparison` trains and evaluates the chosen models (`HarnessConfig.models`) on one
seeded split of one snapshot and returns the `metrics.json` document (`{"dataset",
"split", "seed", "text", "models": {name: metrics}}`) together with the trained Tailgraph
model and its data, for the run directory. Every model trains and is evaluated on
`train.device` (CUDA when present, by default).

Each model name has one small factory (`FACTORIES`) that builds it from the run's
`RunContext`; every model then goes through the same `train_and_evaluate`. Models built
on a trained LightGCN (the blend, attention re-ranking, the cold-start peers) ask the
context for it, so it is trained once per run and its seconds are counted once.

The text regime (`text`) is a harness setting: `full` (title, description, attributes and
the names of the item's KG entities) or `title` (title and attributes only: the catalogue
where the KG is the only source of facts). Every model of a run reads the same text.

Under torchrun (`gnn.distributed`) every rank runs this same comparison: each fits every
model on its shards of the batches, with rank 0's text features; rank 0 alone tunes,
evaluates and returns the metrics (the others return an empty `models`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from tailgraph.encoders import TextEncoder
from tailgraph.gnn import distributed
from tailgraph.gnn.data import TrainData, build_train_data
from tailgraph.gnn.evaluate import KG_DEGREE_GROUPS, evaluate
from tailgraph.gnn.features import TextFeatures, text_features
from tailgraph.gnn.kg_variants import removed_kg, shuffled_kg
from tailgraph.gnn.models.aldi import ALDI
from tailgraph.gnn.models.attention_rerank import AttentionRerank
from tailgraph.gnn.models.attr_cf import AttributeCF
from tailgraph.gnn.models.base import Recommender
from tailgraph.gnn.models.blend import TextCFBlend
from tailgraph.gnn.models.bpr_mf import BPRMF
from tailgraph.gnn.models.dropoutnet import DropoutNet
from tailgraph.gnn.models.ease import EASE
from tailgraph.gnn.models.kg_mlp import KGConcatMLP
from tailgraph.gnn.models.lightgcn import LightGCN
from tailgraph.gnn.models.mostpop import MostPop
from tailgraph.gnn.models.tailgraph import TailgraphConfig, TailgraphModel
from tailgraph.gnn.models.text_knn import TextKNN
from tailgraph.gnn.models.xsimgcl import SimGCL, XSimGCL
from tailgraph.gnn.split import Split, SplitOrder, split_interactions
from tailgraph.gnn.train import (
    TrainConfig,
    fit,
    seed_everything,
    training_device,
    validation_ndcg,
)
from tailgraph.kg.snapshot import GraphSnapshot

TextRegime = Literal["full", "title"]


@dataclass
class Fitted:
    """A trained (or built, when not trainable) and tuned model, with how it got there."""

    model: Recommender
    outcome: dict[str, Any]  # best_epoch, epochs_run, tuned values
    seconds: float


@dataclass
class RunContext:
    """What every factory may read: the run's settings, its data, and the models already
    fitted in this run (the shared LightGCN teacher)."""

    config: HarnessConfig
    data: TrainData
    checkpoint_dir: Path | None
    fitted: dict[str, Fitted] = field(default_factory=dict)

    def fit(self, name: str) -> Fitted:
        """The model `name`, built by its factory and fitted once per run."""
        if name not in self.fitted:
            seed_everything(self.config.seed)
            built = FACTORIES[name](self)  # may fit a teacher first: not counted here
            fitted = built if isinstance(built, Fitted) else train_and_tune(built, self, name)
            self.fitted[name] = fitted
        return self.fitted[name]

    def lightgcn(self) -> LightGCN:
        model = self.fit("lightgcn").model
        assert isinstance(model, LightGCN)
        return model


def _tailgraph(ctx: RunContext, **changes: Any) -> TailgraphModel:
    return TailgraphModel(ctx.data, ctx.config.tailgraph.model_copy(update=changes))


def _budget(ctx: RunContext) -> TrainConfig:
    """The run's training budget, for peers that retrain per grid setting in `tune`."""
    return ctx.config.train.model_copy(update={"seed": ctx.config.seed})


KG_SELECTION_PART = "hybrid_valid"


def kg_choice(with_kg: float, without_kg: float) -> bool:
    """Whether the product model keeps KG propagation, from the two variants' hybrid
    validation NDCG@20; a tie keeps the simpler model (no KG)."""
    return with_kg > without_kg


def select_kg(with_kg: Fitted, without_kg: Fitted) -> Fitted:
    """The product model: of the model trained with KG propagation and the same model
    without it, the one with the higher hybrid validation NDCG@20 (`kg_choice`). Its
    seconds are both trainings'; `outcome["kg_selection"]` records the two scores."""
    # Rank 0's scores (under torchrun only its models are tuned): every rank chooses alike.
    scores = distributed.from_main(
        lambda: {
            label: validation_ndcg(fitted.model, fitted.model.data, KG_SELECTION_PART)
            for label, fitted in (("with_kg", with_kg), ("without_kg", without_kg))
        }
    )
    use_kg = kg_choice(scores["with_kg"], scores["without_kg"])
    chosen = with_kg if use_kg else without_kg
    selection = {"part": KG_SELECTION_PART, **scores, "use_kg": use_kg}
    outcome = {**chosen.outcome, "kg_selection": selection}
    return Fitted(chosen.model, outcome, with_kg.seconds + without_kg.seconds)


def _product(ctx: RunContext) -> Recommender | Fitted:
    """The product model: with `use_kg` and `kg_select`, `select_kg` of the next two."""
    cfg = ctx.config.tailgraph
    if cfg.use_kg and cfg.kg_select:
        return select_kg(ctx.fit("tailgraph_kg"), ctx.fit("tailgraph_no_kg"))
    return _tailgraph(ctx)


# A factory returns the model to fit, or (a selection among fitted models) a `Fitted`.
FACTORIES: dict[str, Callable[[RunContext], Recommender | Fitted]] = {
    "tailgraph": _product,
    "tailgraph_kg": lambda ctx: _tailgraph(ctx, use_kg=True),
    "tailgraph_no_kg": lambda ctx: _tailgraph(ctx, use_kg=False),
    "tailgraph_kg_attention": lambda ctx: _tailgraph(ctx, use_kg=True, kg_mode="attention"),
    "tailgraph_shuffled_kg": lambda ctx: TailgraphModel(
        shuffled_kg(ctx.data, ctx.config.seed), ctx.config.tailgraph
    ),
    "tailgraph_removed_kg": lambda ctx: TailgraphModel(removed_kg(ctx.data), ctx.config.tailgraph),
    "tailgraph_no_text": lambda ctx: _tailgraph(ctx, use_text=False),
    "mostpop": lambda ctx: MostPop(ctx.data),
    "bpr_mf": lambda ctx: BPRMF(ctx.data),
    "lightgcn": lambda ctx: LightGCN(ctx.data),
    "text_knn": lambda ctx: TextKNN(ctx.data),
    "blend_text_cf": lambda ctx: TextCFBlend(ctx.lightgcn(), TextKNN(ctx.data)),
    "kg_concat_mlp": lambda ctx: KGConcatMLP(ctx.data),
    "attention_rerank": lambda ctx: AttentionRerank(ctx.lightgcn()),
    "attr_cf": lambda ctx: AttributeCF(ctx.data),
    # Peers (issue 11).
    "ease": lambda ctx: EASE(ctx.data),
    "xsimgcl": lambda ctx: XSimGCL(ctx.data, train=_budget(ctx)),
    "simgcl": lambda ctx: SimGCL(ctx.data, train=_budget(ctx)),
    "dropoutnet": lambda ctx: DropoutNet(ctx.lightgcn(), train=_budget(ctx)),
    "aldi": lambda ctx: ALDI(ctx.lightgcn(), train=_budget(ctx)),
}
PRODUCT = ("tailgraph",)
ABLATIONS = ("tailgraph_kg", "tailgraph_no_kg", "tailgraph_shuffled_kg", "tailgraph_removed_kg",
             "tailgraph_kg_attention", "tailgraph_no_text")  # fmt: skip
BASELINES = tuple(name for name in FACTORIES if not name.startswith("tailgraph"))
# Peers whose grid retrains them per setting (up to 3 trainings each): `tailgraph demo`
# leaves them to `tailgraph train --compare` and bench/quality.py.
RETRAINED_PEERS = ("xsimgcl", "simgcl", "dropoutnet", "aldi")
ALL_MODELS = (*PRODUCT, *ABLATIONS, *BASELINES)


class HarnessConfig(BaseModel):
    """Everything that decides a comparison run (`--set key=value`, `--config FILE`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    cold_fraction: float = Field(0.1, ge=0, lt=1, description="Share of items held out as "
                                 "cold test items.")  # fmt: skip
    cold_valid_fraction: float = Field(
        0.1, ge=0, lt=1, description="Share of items held out as cold validation items."
    )
    split_order: SplitOrder = Field(
        "auto", description="auto: by time when every interaction has a timestamp."
    )
    text: TextRegime = "full"
    models: tuple[str, ...] = ALL_MODELS
    train: TrainConfig = Field(default_factory=TrainConfig)
    tailgraph: TailgraphConfig = Field(default_factory=TailgraphConfig)

    @field_validator("models", mode="before")
    @classmethod
    def _known_models(cls, value: Any) -> tuple[str, ...]:
        models = tuple(m.strip() for m in value.split(",")) if isinstance(value, str) else value
        unknown = sorted(set(models) - set(FACTORIES))
        if unknown:
            raise ValueError(f"unknown {unknown}; expected some of {list(ALL_MODELS)}")
        return tuple(models)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@dataclass
class HarnessResult:
    metrics: dict[str, Any]
    model: TailgraphModel | None
    data: TrainData
    split: Split


def train_and_tune(model: Recommender, ctx: RunContext, name: str) -> Fitted:
    """`fit` (early stopping on validation; builds caches of untrainable models), then the
    model's own post-training tuning on validation."""
    config = ctx.config
    started = time.perf_counter()
    checkpoint = (
        ctx.checkpoint_dir / f"seed{config.seed}-{config.text}-{name}.safetensors"
        if ctx.checkpoint_dir is not None
        else None
    )
    result = fit(model, model.data, config.train.model_copy(update={"seed": config.seed}),
                 checkpoint)  # fmt: skip
    # Tuning reads validation: rank 0's, as evaluation is.
    tuned = (
        model.tune(lambda part=None: validation_ndcg(model, model.data, part))
        if distributed.is_main()
        else {}
    )
    synchronize(model.data.device)
    outcome = {"best_epoch": result.best_epoch, "epochs_run": result.epochs_run, "tuned": tuned}
    if model.equals() is not None:
        outcome["equals"] = model.equals()
    return Fitted(model, outcome, time.perf_counter() - started)


def evaluate_model(model: Recommender) -> dict[str, Any]:
    """Every evaluation block of one model: warm test (with popularity buckets), cold test
    (with KG-degree groups), hybrid test, and the validation figures selection can read."""
    data, score = model.data, model.score
    metrics: dict[str, Any] = evaluate(score, data, "test")
    cold = evaluate(score, data, "cold")
    metrics["cold"] = cold["overall"]
    metrics["cold_by_kg_degree"] = {g: cold[g] for g in KG_DEGREE_GROUPS}
    metrics["hybrid"] = evaluate(score, data, "hybrid")
    metrics["valid"] = {
        part: evaluate(score, data, part, with_buckets=False, ks=(20,))["overall"]
        for part in ("valid", "cold_valid", "hybrid_valid")
    }
    return metrics


def run_comparison(
    snapshot: GraphSnapshot,
    config: HarnessConfig,
    dataset_name: str,
    encoder: TextEncoder | None = None,
    cache_dir: Path | None = None,
    verbose: bool = True,
    features: Callable[[str], TextFeatures] | None = None,
) -> HarnessResult:
    """`features(variant)` gives the text embeddings of a text regime ("full", "title");
    by default they come from `encoder` through the cache in `cache_dir`."""
    seed_everything(config.seed)
    device = distributed.init_from_env(training_device(config.train.device))
    if features is None:
        encoder = encoder or TextEncoder()

        def features(variant: str) -> TextFeatures:
            return text_features(snapshot, variant, encoder, cache_dir)

    text = distributed.from_main(lambda: features(config.text))  # one encoding, every rank
    split = split_interactions(
        snapshot.interactions, snapshot.num_items, config.seed, config.cold_fraction,
        cold_valid_fraction=config.cold_valid_fraction, order=config.split_order,
    )  # fmt: skip
    data = build_train_data(snapshot, split, text.items, text.entities).to(device)
    folder = config.train.checkpoint_dir
    ctx = RunContext(config, data, Path(folder) if folder else None)
    results: dict[str, Any] = {}
    for name in config.models:
        fitted = ctx.fit(name)
        if not distributed.is_main():
            continue
        started = time.perf_counter()
        metrics = evaluate_model(fitted.model)
        synchronize(device)
        metrics["train_seconds"] = round(fitted.seconds, 2)
        metrics["eval_seconds"] = round(time.perf_counter() - started, 2)
        metrics.update(fitted.outcome)
        results[name] = metrics
        if verbose:
            print(summary_line(name, metrics, fitted.seconds), flush=True)
    ours = ctx.fitted["tailgraph"].model if "tailgraph" in ctx.fitted else None
    assert ours is None or isinstance(ours, TailgraphModel)
    document = {
        "dataset": dataset_name,
        "split": split.describe(),
        "seed": config.seed,
        "text": {"regime": config.text, "model": text.model, "stats": text.stats},
        "device": str(device),
        "processes": distributed.world_size(),
        "models": results,
    }
    return HarnessResult(document, ours, data, split)


def summary_line(name: str, metrics: dict[str, Any], seconds: float) -> str:
    def figure(value: float | None) -> str:
        return "  n/a " if value is None else f"{value:.4f}"

    return (
        f"{name:<22} ndcg@20 {figure(metrics['overall'].get('ndcg@20'))}  "
        f"tail recall@20 {figure(metrics['tail'].get('recall@20'))}  "
        f"cold recall@20 {figure(metrics['cold'].get('recall@20'))}  "
        f"hybrid ndcg@20 {figure(metrics['hybrid']['overall'].get('ndcg@20'))}  "
        f"({seconds:.0f} s)"
    )


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock timings include it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def torch_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
