"""One training and evaluation path for every device: each device present here is exercised.

On a machine without CUDA the device tests run on the CPU (and check that a run is
reproducible); with CUDA they also train on the GPU and compare with the CPU run.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import torch
from tailgraph.encoders import TextEncoder
from tailgraph.gnn.config import harness_config
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.evaluate import evaluate
from tailgraph.gnn.harness import HarnessConfig, HarnessResult, run_comparison
from tailgraph.gnn.models.tailgraph import TailgraphConfig
from tailgraph.gnn.run_dir import load_run, write_run
from tailgraph.gnn.train import TrainConfig, training_device
from tailgraph.kg.snapshot import GraphSnapshot

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
MODELS = ("tailgraph", "tailgraph_kg_attention", "lightgcn", "bpr_mf", "mostpop", "text_knn")
# KG propagation's attention dropout draws from the device's generator: that model repeats
# the CPU run exactly only on the CPU. Every other one draws all randomness on the CPU.
DEVICE_RANDOM = ("tailgraph_kg_attention",)


def test_training_device_resolves_auto_and_rejects_unusable_devices() -> None:
    assert training_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert training_device(" CPU ") == torch.device("cpu")
    # One past the last CUDA device: "not available" on a CPU machine, "only N" on a GPU one.
    with pytest.raises(ValueError, match=r"train\.device: 'cuda:"):
        training_device(f"cuda:{torch.cuda.device_count()}")
    for bad in ("tpu", "meta", "gpu"):
        with pytest.raises(ValueError, match="expected auto, cpu, cuda or cuda:N"):
            training_device(bad)
    with pytest.raises(ValueError, match=r"train\.device"):
        harness_config({"train.device": "gpu"})


def test_train_data_moves_every_tensor_and_leaves_the_original(tiny_data: TrainData) -> None:
    moved = tiny_data.to("meta")  # a device every machine has; shapes only
    for f in fields(moved):
        value, before = getattr(moved, f.name), getattr(tiny_data, f.name)
        if isinstance(value, torch.Tensor):
            assert value.is_meta and value.shape == before.shape, f.name
        elif f.name in ("seen", "relevant"):
            assert value.keys() == before.keys()
            assert all(p.is_meta and i.is_meta for p, i in value.values()), f.name
        else:
            assert value == before, f.name
    assert moved.device.type == "meta" and tiny_data.device.type == "cpu"
    assert tiny_data.to("cpu") is tiny_data


def _run(snapshot: GraphSnapshot, encoder: TextEncoder, cache: Path, device: str) -> HarnessResult:
    config = HarnessConfig(
        seed=0,
        models=MODELS,
        train=TrainConfig(epochs=3, min_epochs=3, progress=False, device=device),
        # tailgraph_kg_attention trains its content tower on sampled KG neighbourhoods.
        tailgraph=TailgraphConfig(sample_fanout=4),
    )
    return run_comparison(snapshot, config, "tiny", encoder, cache, verbose=False)


@pytest.fixture(scope="module")
def cpu_run(tiny_snapshot: GraphSnapshot, encoder: TextEncoder, cache_dir: Path) -> HarnessResult:
    return _run(tiny_snapshot, encoder, cache_dir, "cpu")


@pytest.mark.parametrize("device", DEVICES)
def test_training_on_each_device_matches_the_cpu_run_and_writes_a_cpu_run_dir(
    device: str,
    cpu_run: HarnessResult,
    tiny_snapshot: GraphSnapshot,
    encoder: TextEncoder,
    cache_dir: Path,
    tmp_path: Path,
) -> None:
    result = _run(tiny_snapshot, encoder, cache_dir, device)
    assert result.metrics["device"].startswith(device)
    assert result.model is not None
    assert all(p.device.type == device for p in result.model.parameters())
    assert result.data.device.type == device
    # Same initialisation, batches, negatives and tie-breaking on every device: the CPU run
    # is reproduced exactly on the CPU, and up to floating-point summation order on a GPU.
    for name in MODELS:
        ours, reference = result.metrics["models"][name], cpu_run.metrics["models"][name]
        for group, metric in (("overall", "ndcg@20"), ("tail", "recall@20"), ("cold", "recall@20")):
            value, expected = ours[group][metric], reference[group][metric]
            if device == "cpu":
                assert value == expected, (name, group, metric)
            elif name in DEVICE_RANDOM:
                assert 0.0 <= value <= 1.0, (name, group, metric)
            else:
                assert value == pytest.approx(expected, abs=1e-3), (name, group, metric)
    # A GPU-trained run is written from the CPU and served on the CPU.
    run = write_run(tmp_path / "run", tiny_snapshot, result.model, result.data,
                    result.metrics, {"dataset": "tiny"})  # fmt: skip
    model, data, _ = load_run(run)
    assert data.device.type == "cpu"
    again = evaluate(model.score, data, "test")["overall"]["ndcg@20"]  # type: ignore[index]
    assert again == pytest.approx(
        result.metrics["models"]["tailgraph"]["overall"]["ndcg@20"], abs=1e-5
    )
