"""A serving run: the product model trained on every interaction, nothing held out.

An evaluation run (`gnn.harness.run_comparison`) holds out cold items and each user's
latest interactions; serving that model would show the catalogue's most popular held-out
item as "cold, 0 interactions" and never use a tenth of what users did. So a serving run
has two phases:

1. **selection** — the harness on the usual held-out split, for the product model only:
   early stopping picks the number of epochs, `tune` picks the post-training values
   (e.g. the KG term's weight for items without interactions), the KG selection keeps or
   drops KG propagation (`gnn.harness.select_kg`), and the run's metrics are measured
   here, on data the served model never saw;
2. **refit** — the same model, seed and budget, trained on every interaction for exactly
   the chosen number of epochs, with the chosen values applied; this is what is served.

The metrics of a serving run therefore describe the selection model; the served model,
trained on more data, has no held-out set left to measure it on (`metrics["serving"]`
says so).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tailgraph.gnn import distributed
from tailgraph.gnn.data import build_train_data
from tailgraph.gnn.features import TextFeatures
from tailgraph.gnn.harness import HarnessConfig, HarnessResult, run_comparison
from tailgraph.gnn.models.tailgraph import TailgraphModel
from tailgraph.gnn.split import split_interactions
from tailgraph.gnn.train import fit, seed_everything, training_device
from tailgraph.kg.snapshot import GraphSnapshot


def train_for_serving(
    snapshot: GraphSnapshot,
    config: HarnessConfig,
    dataset_name: str,
    features: Callable[[str], TextFeatures],
    verbose: bool = True,
) -> HarnessResult:
    """The two phases above; returns the refitted model and its data (every interaction
    in training), with the selection run's metrics."""
    product = config.model_copy(update={"models": ("tailgraph",)})
    selection = run_comparison(snapshot, product, dataset_name, verbose=verbose,
                               features=features)  # fmt: skip
    # Under torchrun rank 0 alone holds the selection's metrics; every rank refits with them.
    chosen = distributed.from_main(lambda: selection.metrics["models"]["tailgraph"])
    epochs = max(int(chosen["best_epoch"]), 1)
    started = time.perf_counter()
    seed_everything(config.seed)
    everything = split_interactions(
        snapshot.interactions, snapshot.num_items, config.seed, cold_fraction=0.0,
        ratios=(1.0, 0.0, 0.0),
    )  # fmt: skip
    text = distributed.from_main(lambda: features(config.text))
    data = build_train_data(snapshot, everything, text.items, text.entities)
    data = data.to(distributed.init_from_env(training_device(config.train.device)))
    selected = chosen.get("kg_selection", {}).get("use_kg", config.tailgraph.use_kg)
    model = TailgraphModel(data, config.tailgraph.model_copy(update={"use_kg": selected}))
    budget = config.train.model_copy(
        update={"seed": config.seed, "epochs": epochs, "min_epochs": epochs, "checkpoint_dir": ""}
    )
    fit(model, data, budget)
    model.use_tuned(chosen.get("tuned", {}))
    serving: dict[str, Any] = {
        "trained_on": "every interaction",
        "interactions": len(everything.train),
        "epochs": epochs,
        "tuned": chosen.get("tuned", {}),
        "use_kg": selected,
        "seconds": round(time.perf_counter() - started, 2),
        "metrics_from": "the selection model on the held-out split (the served model has "
        "no held-out set left)",
    }
    if verbose:
        print(f"refit on all {len(everything.train):,} interactions: {epochs} epochs "
              f"({serving['seconds']:.0f} s)", flush=True)  # fmt: skip
    metrics = {**selection.metrics, "serving": serving}
    return HarnessResult(metrics, model, data, everything)
