"""The product model keeps KG propagation only where it wins on hybrid validation."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from tailgraph.gnn.features import TextFeatures
from tailgraph.gnn.harness import HarnessConfig, kg_choice, run_comparison
from tailgraph.gnn.models.tailgraph import TailgraphConfig
from tailgraph.gnn.train import TrainConfig
from tailgraph.kg.snapshot import GraphSnapshot

TRAIN = TrainConfig(epochs=4, min_epochs=1, patience=2, progress=False)
ROOT = Path(__file__).resolve().parents[2]


def _quality_module():  # bench/ is scripts, not a package
    spec = importlib.util.spec_from_file_location("quality_bench", ROOT / "bench" / "quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_tie_keeps_the_model_without_kg() -> None:
    assert kg_choice(0.2, 0.1) and not kg_choice(0.1, 0.2) and not kg_choice(0.1, 0.1)


@pytest.mark.slow
def test_product_model_is_the_variant_with_the_higher_hybrid_validation_ndcg(
    tiny_snapshot: GraphSnapshot, tiny_features: TextFeatures
) -> None:
    config = HarnessConfig(seed=2, train=TRAIN,
                           models=("tailgraph", "tailgraph_kg", "tailgraph_no_kg"))  # fmt: skip
    result = run_comparison(tiny_snapshot, config, "tiny", verbose=False,
                            features=lambda variant: tiny_features)  # fmt: skip
    models = result.metrics["models"]
    selection = models["tailgraph"]["kg_selection"]
    # The scores are the halves' own hybrid validation figures, and the rule picks.
    for label, name in (("with_kg", "tailgraph_kg"), ("without_kg", "tailgraph_no_kg")):
        assert selection[label] == models[name]["valid"]["hybrid_valid"]["ndcg@20"]
    assert selection["use_kg"] == kg_choice(selection["with_kg"], selection["without_kg"])
    chosen = models["tailgraph_kg" if selection["use_kg"] else "tailgraph_no_kg"]
    for block in ("overall", "tail", "cold"):
        assert models["tailgraph"][block] == chosen[block]
    assert models["tailgraph"]["hybrid"] == chosen["hybrid"]
    # The product model is the chosen fitted model itself, trained once; both trainings count.
    assert result.model is not None and result.model.config.use_kg == selection["use_kg"]
    assert models["tailgraph"]["train_seconds"] >= models["tailgraph_kg"]["train_seconds"]
    # The benchmark, given the two halves from separate processes, derives the same choice.
    halves = {name: models[name] for name in ("tailgraph_kg", "tailgraph_no_kg")}
    _quality_module().derive_selection(halves)
    derived = halves["tailgraph"]
    assert derived["kg_selection"]["use_kg"] == selection["use_kg"]
    assert derived["overall"] == models["tailgraph"]["overall"]


@pytest.mark.slow
def test_selection_off_trains_the_configured_model_only(
    tiny_snapshot: GraphSnapshot, tiny_features: TextFeatures
) -> None:
    for kg_select, use_kg in ((False, True), (True, False)):
        config = HarnessConfig(
            seed=2, train=TRAIN, models=("tailgraph",),
            tailgraph=TailgraphConfig(use_kg=use_kg, kg_select=kg_select),
        )  # fmt: skip
        result = run_comparison(tiny_snapshot, config, "tiny", verbose=False,
                                features=lambda variant: tiny_features)  # fmt: skip
        assert "kg_selection" not in result.metrics["models"]["tailgraph"]
        assert result.model is not None and result.model.config.use_kg == use_kg
