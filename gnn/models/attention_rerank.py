"""Source-document method (c): attention re-ranking over recent behaviour, on top of CF.

With LightGCN item embeddings e and the user's L most recent training items H_u:

    a(u, i) = Σ_{j ∈ H_u} softmax_j(⟨e_i, e_j⟩ / √d) · ⟨e_i, e_j⟩
    f(u, i) = z(CF(u, i)) + β · z(a(u, i))

i.e. a DIN-style target attention that scores a candidate by how strongly it
matches what the user did most recently; z standardises per user, β is chosen
on validation NDCG@20.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from tailgraph.gnn.models.base import Recommender
from tailgraph.gnn.models.blend import standardise
from tailgraph.gnn.models.lightgcn import LightGCN

BETAS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)


class AttentionRerank(Recommender):
    name = "attention_rerank"
    trainable = False

    def __init__(self, cf: LightGCN, beta: float = 0.5) -> None:
        super().__init__(cf.data)
        self.cf, self.beta = cf, beta

    def attention_scores(self, users: torch.Tensor, chunk: int = 32) -> torch.Tensor:
        # [B, I, L] intermediates: chunk users so memory stays ~chunk·I·L floats.
        return torch.cat(
            [self._attention(users[s : s + chunk]) for s in range(0, len(users), chunk)]
        )

    def _attention(self, users: torch.Tensor) -> torch.Tensor:
        _, items = self.cf.cached()
        history = self.data.history[users]  # [B, L]
        mask = history >= 0
        hist = items[history.clamp(min=0)]  # [B, L, d]
        sim = torch.einsum("bld,id->bil", hist, items) / items.shape[1] ** 0.5  # [B, I, L]
        sim = sim.masked_fill(~mask.unsqueeze(1), -torch.inf)
        weights = torch.softmax(sim, dim=2).nan_to_num(0.0)
        return (weights * sim.nan_to_num(0.0, neginf=0.0)).sum(2)

    def score(self, users: torch.Tensor) -> torch.Tensor:
        base = standardise(self.cf.score(users))
        if self.beta == 0:
            return base
        return base + self.beta * standardise(self.attention_scores(users))

    def equals(self) -> str | None:
        return self.cf.name if self.beta == 0 else None

    def tune(self, validate: Callable[[], float]) -> dict[str, float]:  # type: ignore[override]
        best = (-1.0, self.beta)
        for beta in BETAS:
            self.beta = beta
            best = max(best, (validate(), beta))
        self.beta = best[1]
        return {"beta": self.beta}
