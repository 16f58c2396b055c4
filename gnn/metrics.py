"""Full-ranking top-K metrics (no sampled negatives).

For one user with relevant set R and ranked list L (top K, positions 1..K):

    Recall@K  = |L ∩ R| / |R|
    HitRate@K = 1[|L ∩ R| > 0]
    NDCG@K    = DCG / IDCG,  DCG = Σ_{p ≤ K, L_p ∈ R} 1 / log2(p + 1),
                             IDCG = Σ_{p ≤ min(|R|, K)} 1 / log2(p + 1)

(the standard definition, as in RecBole; KGAT's variant normalises differently).
Each metric is averaged over the users with |R| > 0.

Catalogue coverage@K = |∪_u L_u| / |candidate items|; mean popularity@K = the
mean training interaction count of all recommended items.
"""

from __future__ import annotations

import torch


def discounts(k: int, device: torch.device | None = None) -> torch.Tensor:
    return 1.0 / torch.log2(torch.arange(2, k + 2, dtype=torch.float64, device=device))


def user_metrics(hits: torch.Tensor, n_relevant: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
    """Per-user Recall/NDCG/Hit at `k`.

    hits: bool [U, >=k] whether the item at each rank is relevant; n_relevant: [U] = |R|.
    Users with |R| = 0 get NaN (excluded from means).
    """
    hits_k = hits[:, :k].to(torch.float64)
    n_rel = n_relevant.to(torch.float64)
    n_hits = hits_k.sum(1)
    disc = discounts(k, hits.device)
    dcg = (hits_k * disc).sum(1)
    ideal_len = torch.clamp(n_relevant, max=k)
    idcg = torch.cumsum(disc, 0)[torch.clamp(ideal_len - 1, min=0)]
    valid = n_relevant > 0
    nan = torch.tensor(float("nan"), dtype=torch.float64, device=hits.device)
    return {
        f"recall@{k}": torch.where(valid, n_hits / n_rel.clamp(min=1), nan),
        f"ndcg@{k}": torch.where(valid, dcg / idcg, nan),
        f"hit@{k}": torch.where(valid, (n_hits > 0).to(torch.float64), nan),
    }


def mean_ignoring_nan(values: torch.Tensor) -> float:
    valid = ~torch.isnan(values)
    return float(values[valid].mean()) if valid.any() else float("nan")
