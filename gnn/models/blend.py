"""Source-document method (a): linear blend of text similarity and a CF score.

f(u, i) = α · cos(user_text_u, item_text_i) + (1 − α) · z(CF(u, i)),
where user_text is the mean of the user's history text embeddings, CF is a
trained LightGCN, and z standardises each user's CF scores (mean 0, std 1 over
the catalogue) so α weighs comparable scales; the cosine is standardised the
same way. α is chosen on validation NDCG@20 over a grid.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from tailgraph.gnn.models.base import Recommender
from tailgraph.gnn.models.lightgcn import LightGCN
from tailgraph.gnn.models.text_knn import TextKNN

ALPHAS = tuple(round(0.1 * k, 1) for k in range(11))


def standardise(scores: torch.Tensor) -> torch.Tensor:
    return (scores - scores.mean(1, keepdim=True)) / scores.std(1, keepdim=True).clamp(min=1e-8)


class TextCFBlend(Recommender):
    name = "blend_text_cf"
    trainable = False

    def __init__(self, cf: LightGCN, text: TextKNN, alpha: float = 0.5) -> None:
        super().__init__(cf.data)
        self.cf, self.text, self.alpha = cf, text, alpha

    def score(self, users: torch.Tensor) -> torch.Tensor:
        cf = standardise(self.cf.score(users))
        text = standardise(self.text.score(users))
        return self.alpha * text + (1 - self.alpha) * cf

    def equals(self) -> str | None:
        return {0.0: self.cf.name, 1.0: self.text.name}.get(self.alpha)

    def tune(self, validate: Callable[[], float]) -> dict[str, float]:  # type: ignore[override]
        best = (-1.0, self.alpha)
        for alpha in ALPHAS:
            self.alpha = alpha
            best = max(best, (validate(), alpha))
        self.alpha = best[1]
        return {"alpha": self.alpha}
