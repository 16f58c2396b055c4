"""EASE (Steck, WWW 2019, "Embarrassingly Shallow Autoencoders for Sparse Data").

X ∈ {0, 1}^{U×n} is the binary user × item training matrix over the n items that have
training interactions. EASE is the item–item weight matrix B that solves

    min_B ‖X − X B‖²_F + λ ‖B‖²_F   subject to diag(B) = 0,

whose closed form, with G = XᵀX and P = (G + λI)⁻¹, is

    B = I − P · diag(1 / diag(P)),   i.e.  B_ij = −P_ij / P_jj (i ≠ j),  B_jj = 0;

s(u, ·) = X_u B. Column j of B is the ridge regression of item j's column on all other
items' columns (the constraint rules out the trivial B = I).

- An item with no training interaction (every cold item, and a warm item whose
  interactions all fell into validation/test) has a zero column in X, so its row and
  column of B are zero: it is left out of the inverse, and scores 0 — EASE is ID-only,
  like LightGCN, and has nothing to say about cold items.
- Precision: G and the inverse are computed in float64 (Cholesky factorisation, then
  `cholesky_inverse`; peak ≈ 2 n² doubles), B is kept in float32 for scoring
  (docs/decisions.md, issue 11).
- λ is chosen on validation NDCG@20 (`tune`) over `LAMBDAS`: three values (as many as
  every tuned model gets), a factor 2 apart, the default (first) in the middle; each
  value's validation score is reported, so an optimum at the edge shows
  (docs/decisions.md, issue 11).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.base import Recommender

LAMBDAS = (200.0, 100.0, 400.0)


def gram(data: TrainData, items: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """G = XᵀX [n, n] for the binary user × `items` matrix X (a sparse × dense product)."""
    x = binary_matrix(data, items, dtype)
    return torch.sparse.mm(x.to_sparse().T, x)


def binary_matrix(data: TrainData, items: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """X [U, n]: 1 where the user has a training interaction with `items[j]` (repeats: 1)."""
    column = torch.full((data.num_items,), -1, dtype=torch.long, device=items.device)
    column[items] = torch.arange(len(items), device=items.device)
    x = torch.zeros(data.num_users, len(items), dtype=dtype, device=items.device)
    x[data.train_user, column[data.train_item]] = 1.0
    return x


def ease_weights(g: torch.Tensor, lam: float) -> torch.Tensor:
    """B = I − P·diag(1/diag(P)), P = (G + λI)⁻¹, in G's dtype; G is overwritten."""
    a = g
    a.diagonal().add_(lam)
    factor = torch.linalg.cholesky(a)
    del a
    p = torch.cholesky_inverse(factor)
    del factor
    p.div_(-p.diagonal().clone())  # column j divided by −P_jj
    p.diagonal().zero_()
    return p


class EASE(Recommender):
    name = "ease"
    trainable = False

    def __init__(
        self, data: TrainData, lam: float = LAMBDAS[0], dtype: torch.dtype = torch.float64
    ) -> None:
        super().__init__(data)
        self.lam, self.dtype = lam, dtype
        self.items = torch.nonzero(data.item_count > 0).flatten()
        self.x = binary_matrix(data, self.items, torch.float32)
        self._weights: torch.Tensor | None = None  # float32 B for `_weights_lam`
        self._weights_lam: float | None = None

    def weights(self) -> torch.Tensor:
        """B [n, n] (float32) for the current λ, computed once per λ."""
        if self._weights is None or self._weights_lam != self.lam:
            # G is rebuilt per λ (a sparse product, cheap) rather than kept: one n × n matrix
            # less at the peak of the inverse.
            self._weights = None  # free the old B before the new inverse
            self._weights = ease_weights(gram(self.data, self.items, self.dtype), self.lam).float()
            self._weights_lam = self.lam
        return self._weights

    def refresh(self) -> None:
        self.weights()

    def score(self, users: torch.Tensor) -> torch.Tensor:
        scores = self.x.new_zeros(len(users), self.data.num_items)
        scores[:, self.items] = self.x[users] @ self.weights()
        return scores

    def tune(self, validate: Callable[[], float]) -> dict[str, float]:  # type: ignore[override]
        """λ with the best `validate()` (validation NDCG@20) over `LAMBDAS`."""
        best: tuple[float, float, torch.Tensor] | None = None
        scores = []
        for lam in LAMBDAS:
            self.lam = lam
            score = validate()
            scores.append(score)
            if best is None or score > best[0]:
                best = (score, lam, self.weights())
        assert best is not None
        self.lam, self._weights, self._weights_lam = best[1], best[2], best[1]
        valid = {f"valid_{k}": round(s, 5) for k, s in enumerate(scores)}
        return {"lambda": self.lam, "valid_ndcg@20": best[0], **valid}

    def use_tuned(self, values: dict[str, float]) -> None:
        if "lambda" in values:
            self.lam = float(values["lambda"])
