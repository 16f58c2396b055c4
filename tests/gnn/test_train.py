"""The trainer's negative sampler and early stopping on a tiny real graph."""

from __future__ import annotations

import pytest
import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.bpr_mf import BPRMF
from tailgraph.gnn.train import NegativeSampler, TrainConfig, fit


@pytest.mark.parametrize("dense", [True, False])
def test_negatives_are_warm_and_never_the_users_training_items(
    tiny_data: TrainData, dense: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not dense:  # the binary-search membership test of large catalogues
        monkeypatch.setattr(NegativeSampler, "DENSE_LIMIT", 0)
    warm = torch.nonzero(tiny_data.warm_mask).flatten()
    sampler = NegativeSampler(tiny_data, warm, torch.Generator().manual_seed(0))
    assert (sampler.dense is not None) == dense
    users = tiny_data.train_user[:64]
    negatives = sampler.sample(users, 32)
    assert negatives.shape == (64, 32)
    assert tiny_data.warm_mask[negatives].all()
    seen = set(zip(tiny_data.train_user.tolist(), tiny_data.train_item.tolist(), strict=True))
    for user, row in zip(users.tolist(), negatives.tolist(), strict=True):
        assert not any((user, item) in seen for item in row)
    # Both membership tests draw the same negatives from the same generator state.
    again = NegativeSampler(tiny_data, warm, torch.Generator().manual_seed(0)).sample(users, 32)
    assert torch.equal(again, negatives)


def test_fit_keeps_the_best_epoch_and_respects_min_epochs(tiny_data: TrainData) -> None:
    model = BPRMF(tiny_data)
    result = fit(model, tiny_data, TrainConfig(epochs=6, min_epochs=6, patience=1, progress=False))
    assert result.epochs_run == 6  # patience 1 could not stop it before min_epochs
    assert result.best_valid_ndcg == max(result.curve)
    assert result.curve[result.best_epoch - 1] == result.best_valid_ndcg
