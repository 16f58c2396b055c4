"""Training checkpoints: an interrupted run resumes to the uninterrupted result, on real data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tailgraph.gnn import train as gnn_train
from tailgraph.gnn.checkpoint import describe
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.tailgraph import TailgraphModel
from tailgraph.gnn.train import TrainConfig, TrainResult, fit, seed_everything

CONFIG = TrainConfig(epochs=4, min_epochs=4, batch_size=256, progress=False, seed=3)


def _model(data: TrainData) -> TailgraphModel:
    # As the harness does: seed, then build (the initialisation comes from the seed).
    seed_everything(CONFIG.seed)
    return TailgraphModel(data)  # cold dropout and dropout draw from the global generator


def _fit(
    data: TrainData, checkpoint: Path | None, config: TrainConfig = CONFIG
) -> tuple[TailgraphModel, TrainResult]:
    model = _model(data)
    return model, fit(model, data, config, checkpoint)


def test_an_interrupted_run_resumes_to_the_uninterrupted_result(
    tiny_data: TrainData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, expected = _fit(tiny_data, None)

    # Crash while validating epoch 3: the checkpoint of epoch 2 is what survives.
    real_validation = gnn_train.validation_ndcg
    calls = {"n": 0}

    def crash_on_third(model: object, data: TrainData) -> float:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_validation(model, data)  # type: ignore[arg-type]

    checkpoint = tmp_path / "tailgraph.safetensors"
    monkeypatch.setattr(gnn_train, "validation_ndcg", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        _fit(tiny_data, checkpoint)
    monkeypatch.setattr(gnn_train, "validation_ndcg", real_validation)
    assert describe(checkpoint)["epoch"] == 2

    # A fresh process would build the model from scratch, then find the checkpoint.
    torch.manual_seed(12345)  # the global generator is restored from the checkpoint too
    resumed_model, resumed = _fit(tiny_data, checkpoint)
    assert resumed.curve == expected.curve  # the same batches, negatives and dropout draws
    assert (resumed.best_epoch, resumed.epochs_run) == (expected.best_epoch, 4)
    # Weights agree to float summation order: two uninterrupted CPU runs differ by ~1e-5
    # (multi-threaded sparse products); a wrong restored state would differ by far more.
    for name, value in reference.state_dict().items():
        assert torch.allclose(resumed_model.state_dict()[name], value, atol=1e-4), name
    assert describe(checkpoint)["epoch"] == 4


def test_a_completed_checkpoint_restores_without_training(
    tiny_data: TrainData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = tmp_path / "tailgraph.safetensors"
    trained, first = _fit(tiny_data, checkpoint)

    def no_training(*_: object) -> torch.Tensor:
        raise AssertionError("a completed checkpoint must not train again")

    monkeypatch.setattr(TailgraphModel, "loss", no_training)
    restored, again = _fit(tiny_data, checkpoint)
    assert again.curve == first.curve and again.best_epoch == first.best_epoch
    for name, value in trained.state_dict().items():
        assert torch.equal(restored.state_dict()[name], value), name


@pytest.mark.parametrize(
    "change", [{"lr": CONFIG.lr / 2}, {"epochs": 3, "min_epochs": 3}, {"patience": 2}]
)
def test_a_checkpoint_for_other_settings_is_not_resumed(
    tiny_data: TrainData, tmp_path: Path, change: dict[str, float]
) -> None:
    # A finished run is not reused under a changed budget either: it would report a model
    # trained for more epochs than the settings say.
    checkpoint = tmp_path / "tailgraph.safetensors"
    _fit(tiny_data, checkpoint)
    before = describe(checkpoint)["fingerprint"]
    other = CONFIG.model_copy(update=change)
    _, result = _fit(tiny_data, checkpoint, other)
    assert result.epochs_run == other.epochs and len(result.curve) == other.epochs  # afresh
    assert describe(checkpoint)["fingerprint"] != before  # and overwrote the old one
