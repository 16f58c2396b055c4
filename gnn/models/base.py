"""The interface every recommender in the harness implements.

`score(users)` returns full-catalogue scores [B, I]; trainable models also
implement `loss(users, pos_items, neg_items)` and are fitted by `gnn.train.fit`.
`refresh()` recomputes cached full-graph propagation after training, so scoring
many user batches does not re-run the GNN per batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from tailgraph.gnn.data import TrainData
from torch import nn


def bpr_loss(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Bayesian personalised ranking: −mean log σ(s⁺ − s⁻) (Rendle et al., 2009)."""
    return -torch.nn.functional.logsigmoid(pos - neg).mean()


def sampled_softmax_loss(pos: torch.Tensor, neg: torch.Tensor, temperature: float) -> torch.Tensor:
    """−mean log( e^{s⁺/τ} / (e^{s⁺/τ} + Σ_j e^{s⁻_j/τ}) ) with uniformly sampled negatives.

    pos: [B], neg: [B, N]. Uniform negatives make this an unbiased-in-expectation
    surrogate of the full softmax over the catalogue (no popularity-sampling bias).
    """
    logits = torch.cat([pos.unsqueeze(1), neg], dim=1) / temperature
    return -torch.log_softmax(logits, dim=1)[:, 0].mean()


@dataclass(frozen=True)
class SharedNegatives:
    """One draw of negatives for a whole batch: every user's candidates are `items` [N],
    except where `own` [B, N] marks one of that user's training items (left out)."""

    items: torch.Tensor
    own: torch.Tensor

    def to(self, device: torch.device) -> SharedNegatives:
        return SharedNegatives(self.items.to(device), self.own.to(device))


class Recommender(nn.Module):
    name: str = "recommender"
    trainable: bool = True

    def __init__(self, data: TrainData) -> None:
        super().__init__()
        self.data = data

    def loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score(self, users: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def refresh(self) -> None:
        """Recompute cached embeddings (called after training and before scoring)."""

    # The validation parts whose NDCG@20, summed, select this model (early stopping, `tune`
    # grids): "valid" (warm), "cold_valid", "hybrid_valid" (`gnn.evaluate`). A cold-start
    # model whose warm scores are its teacher's selects on the cold validation items.
    validation_parts: tuple[str, ...] = ("valid",)

    def tune(self, validate: Callable[..., float]) -> dict[str, float]:
        """Post-training tuning on validation (e.g. a blend weight); returns chosen values.

        `validate(part)` is NDCG@20 on a validation part: "valid" (warm), "cold_valid" or
        "hybrid_valid" (`gnn.evaluate`), after `refresh()`; `validate()` is the model's own
        criterion (`validation_parts`).
        """
        return {}

    def equals(self) -> str | None:
        """The simpler model this one reduces to after tuning (a blend whose weight went
        to 0 ranks exactly as its CF part), else None; the report says so."""
        return None

    def use_tuned(self, values: dict[str, float]) -> None:
        """Apply the values `tune` chose, to a model trained again with the same settings
        (`gnn.production`); a model that tunes nothing ignores them."""
