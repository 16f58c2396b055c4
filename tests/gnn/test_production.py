"""A serving run: selection on the held-out split, then a refit on every interaction."""

from __future__ import annotations

import pytest
import torch
from tailgraph.gnn.features import TextFeatures
from tailgraph.gnn.harness import HarnessConfig
from tailgraph.gnn.production import train_for_serving
from tailgraph.gnn.train import TrainConfig
from tailgraph.kg.snapshot import GraphSnapshot


@pytest.mark.slow
def test_serving_run_trains_on_every_interaction_for_the_chosen_epochs(
    tiny_snapshot: GraphSnapshot, tiny_features: TextFeatures
) -> None:
    config = HarnessConfig(seed=1, train=TrainConfig(epochs=6, min_epochs=2, patience=2,
                                                     progress=False))  # fmt: skip
    result = train_for_serving(tiny_snapshot, config, "tiny", lambda variant: tiny_features,
                               verbose=False)  # fmt: skip
    data, model = result.data, result.model
    assert model is not None
    interactions = len(tiny_snapshot.interactions)
    # Nothing held out: every interaction trains, no item is cold, popularity is real.
    assert len(data.train_user) == interactions
    assert len(data.cold_items) == 0 and bool(data.warm_mask.all())
    counts = torch.bincount(torch.tensor(tiny_snapshot.interactions["item"].to_numpy()),
                            minlength=tiny_snapshot.num_items)  # fmt: skip
    assert torch.equal(data.item_count.long(), counts)
    selection = result.metrics["models"]["tailgraph"]
    serving = result.metrics["serving"]
    assert serving["epochs"] == selection["best_epoch"] and serving["interactions"] == interactions
    # The KG choice and the values tuned on validation are the served model's.
    assert model.config.use_kg == serving["use_kg"] == selection["kg_selection"]["use_kg"]
    tuned = selection["tuned"]
    assert set(tuned) == ({"cold_kg_scale"} if model.config.use_kg else set())
    if model.config.use_kg:
        assert float(model.cold_kg_scale) == tuned["cold_kg_scale"]
    scores = model.score(torch.arange(3))
    assert scores.shape == (3, tiny_snapshot.num_items) and torch.isfinite(scores).all()
