"""Full-ranking evaluation of any scorer on the split's valid/test/cold sets.

Protocol (same for every model):
- warm sets (`valid`, `test`): candidates are all items except the held-out cold
  items; the user's training items (and, for `test`, validation items) are excluded;
- popularity buckets: warm items ranked by training interaction count, head = top
  20 %, tail = bottom 50 %, mid = the rest; a test interaction counts in the bucket of
  its item, and the bucket metric uses the same top-K list with only that bucket's
  items as relevant;
- `cold`: candidates are the cold items only (none has a training interaction), the
  relevant items are the user's interactions with them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.metrics import mean_ignoring_nan, user_metrics

Scorer = Callable[[torch.Tensor], torch.Tensor]
"""users [B] -> scores [B, I] (higher is better)"""

KS = (10, 20)


def popularity_buckets(data: TrainData) -> torch.Tensor:
    """Bucket per item: 0 head, 1 mid, 2 tail, -1 cold (not a warm candidate); on the CPU."""
    warm = torch.nonzero(data.warm_mask.cpu()).flatten()
    counts = data.item_count.cpu()[warm].numpy()
    order = np.lexsort((warm.numpy(), -counts))  # most popular first, ties by index
    n = len(warm)
    n_head, n_tail = round(0.2 * n), round(0.5 * n)
    bucket = torch.full((data.num_items,), -1, dtype=torch.long)
    ranked = warm[torch.from_numpy(order)]
    bucket[ranked[:n_head]] = 0
    bucket[ranked[n_head : n - n_tail]] = 1
    bucket[ranked[n - n_tail :]] = 2
    return bucket


def item_keys(num_items: int, device: torch.device) -> torch.Tensor:
    """[I] fixed pseudo-random numbers in [0, 1), one per item (for `tie_break`)."""
    generator = torch.Generator().manual_seed(0)
    return torch.rand(num_items, generator=generator, dtype=torch.float64).to(device)


def tie_break(users: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """[B, I] in [0, 1): frac(a_u · b_i), a fixed pseudo-random number per (user, item).

    a_u = 10⁴ + 10⁶ · frac(u · φ⁻¹) (golden-ratio scrambling), b_i = `keys[i]`. One
    float64 product and its fraction: exactly the same on every device and in every
    batching (a seeded random draw would depend on both), and as cheap as drawing one.
    """
    user_keys = 1e4 + torch.frac(users.to(torch.float64) * 0.6180339887498949) * 1e6
    return torch.frac(user_keys[:, None] * keys[None, :])


def _dense(
    csr: tuple[torch.Tensor, torch.Tensor], users: torch.Tensor, num_items: int
) -> torch.Tensor:
    """[B, I] bool: row b marks the items of user `users[b]` in the CSR lists."""
    pointer, items = csr
    starts = pointer[users]
    counts = pointer[users + 1] - starts
    device = users.device
    rows = torch.repeat_interleave(torch.arange(len(users), device=device), counts)
    # Position of each entry inside its user's slice, then its index in `items`.
    within = torch.arange(len(rows), device=device) - torch.repeat_interleave(
        counts.cumsum(0) - counts, counts
    )
    mask = torch.zeros(len(users), num_items, dtype=torch.bool, device=device)
    mask[rows, items[torch.repeat_interleave(starts, counts) + within]] = True
    return mask


def evaluate(
    scorer: Scorer,
    data: TrainData,
    part: str = "test",
    batch_size: int = 512,
    ks: tuple[int, ...] = KS,
    with_buckets: bool = True,
) -> dict[str, object]:
    """Metrics of `scorer` on `part` ("valid", "test" or "cold"), on the data's device."""
    max_k = max(ks)
    device = data.device
    pointer, _ = data.relevant[part]
    users = torch.nonzero(pointer[1:] - pointer[:-1] > 0).flatten()
    if part == "cold":
        candidates = torch.zeros(data.num_items, dtype=torch.bool, device=device)
        candidates[data.cold_items] = True
    else:
        candidates = data.warm_mask
    buckets = popularity_buckets(data).to(device) if with_buckets and part != "cold" else None
    groups = {"overall": None} if buckets is None else {
        "overall": None, "head": 0, "mid": 1, "tail": 2,
    }  # fmt: skip
    per_user: dict[str, dict[str, list[torch.Tensor]]] = {g: {} for g in groups}
    popularity_sum, popularity_n = {k: 0.0 for k in ks}, {k: 0 for k in ks}
    covered = {k: torch.zeros(data.num_items, dtype=torch.bool, device=device) for k in ks}
    bucket_slots = torch.zeros(3, dtype=torch.float64, device=device)

    # Exact ties (MostPop over cold items, equal counts) are broken pseudo-randomly, not by
    # item index, which would leak whatever order the ids happen to have.
    keys = item_keys(data.num_items, device)
    with torch.no_grad():
        for start in range(0, len(users), batch_size):
            batch = users[start : start + batch_size]
            scores = scorer(batch).double().clone()
            scale = scores.abs().max().clamp(min=1e-12)
            scores += tie_break(batch, keys) * scale * 1e-9
            scores[:, ~candidates] = -torch.inf
            scores[_dense(data.seen[part], batch, data.num_items)] = -torch.inf
            top = torch.topk(scores, max_k, dim=1).indices
            relevant = _dense(data.relevant[part], batch, data.num_items)
            for k in ks:
                covered[k][top[:, :k].reshape(-1)] = True
                popularity_sum[k] += float(data.item_count[top[:, :k]].sum())
                popularity_n[k] += top[:, :k].numel()
            if buckets is not None:
                slots = buckets[top[:, :max_k]].reshape(-1)
                bucket_slots += torch.bincount(slots[slots >= 0], minlength=3).to(torch.float64)
            for group, bucket_id in groups.items():
                rel = relevant if bucket_id is None else relevant & (buckets == bucket_id)
                hits = rel.gather(1, top)
                for k in ks:
                    for name, values in user_metrics(hits, rel.sum(1), k).items():
                        per_user[group].setdefault(name, []).append(values)

    out: dict[str, object] = {}
    for group, metrics in per_user.items():
        out[group] = {name: mean_ignoring_nan(torch.cat(v)) for name, v in metrics.items()}
    n_candidates = int(candidates.sum())
    for k in ks:
        out[f"coverage@{k}"] = float(covered[k].sum()) / max(n_candidates, 1)
        out[f"mean_popularity@{k}"] = popularity_sum[k] / max(popularity_n[k], 1)
    if buckets is not None:
        share = bucket_slots / bucket_slots.sum().clamp(min=1)
        out[f"recommended_share@{max_k}"] = dict(
            zip(("head", "mid", "tail"), share.tolist(), strict=True)
        )
    out["users"] = len(users)
    return out
