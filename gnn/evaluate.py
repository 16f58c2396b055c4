"""Full-ranking evaluation of any scorer on the split's evaluation sets.

Protocol (same for every model); each part names its relevant interactions, its
candidate items and the items masked out per user:

| part           | relevant                  | candidates               | masked per user  |
|----------------|---------------------------|--------------------------|------------------|
| `valid`        | warm validation           | warm items               | train            |
| `test`         | warm test                 | warm items               | train, valid     |
| `cold`         | cold test items' inter.   | cold test items          | —                |
| `cold_valid`   | cold valid. items' inter. | cold validation items    | —                |
| `hybrid`       | warm test + cold test     | every item               | train, valid (1) |
| `hybrid_valid` | warm valid + cold valid   | every item but cold test | train            |

(1) and the user's cold-validation interactions, which are validation data too.

Warm items are those with no held-out role (they may still have no training
interaction). `hybrid` is what a served list is: warm and cold items ranked together.

Groups (the same top-K list, only the group's items counted as relevant):
- warm and hybrid parts: popularity buckets — warm items ranked by training
  interaction count, head = top 20 %, tail = bottom 50 %, mid = the rest — and, in the
  hybrid parts, `cold` for the held-out items;
- cold parts: the item's KG degree (triples it is in, in the snapshot): `kg_degree_0`,
  `kg_degree_1-2`, `kg_degree_3-5`, `kg_degree_6+`.
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
PARTS = ("valid", "test", "cold", "cold_valid", "hybrid", "hybrid_valid")
KG_DEGREE_GROUPS = {"kg_degree_0": (0, 0), "kg_degree_1-2": (1, 2), "kg_degree_3-5": (3, 5),
                    "kg_degree_6+": (6, None)}  # fmt: skip


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


def candidate_mask(data: TrainData, part: str) -> torch.Tensor:
    """[I] bool: the items `part` ranks (see the table above)."""
    if part in ("valid", "test"):
        return data.warm_mask
    mask = torch.zeros(data.num_items, dtype=torch.bool, device=data.device)
    if part == "cold":
        mask[data.cold_items] = True
    elif part == "cold_valid":
        mask[data.cold_valid_items] = True
    elif part == "hybrid":
        mask[:] = True
    elif part == "hybrid_valid":
        mask[:] = True
        mask[data.cold_items] = False
    else:
        raise ValueError(f"evaluation part must be one of {PARTS}; got {part!r}")
    return mask


def item_groups(data: TrainData, part: str) -> dict[str, torch.Tensor]:
    """Group name → [I] bool mask of its items, for `part` (see the module docstring)."""
    device = data.device
    if part in ("cold", "cold_valid"):
        degree = data.kg_degree
        return {
            name: (degree >= low) & (degree <= high if high is not None else True)
            for name, (low, high) in KG_DEGREE_GROUPS.items()
        }
    bucket = popularity_buckets(data).to(device)
    groups = {name: bucket == b for b, name in enumerate(("head", "mid", "tail"))}
    if part.startswith("hybrid"):
        groups["cold"] = candidate_mask(data, part) & ~data.warm_mask
    return groups


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
    """Metrics of `scorer` on `part` (one of `PARTS`), on the data's device.

    `{"overall": {recall@k, ndcg@k, hit@k}, <group>: {...}, coverage@k, mean_popularity@k,
    users}`, plus `recommended_share@K` (head/mid/tail[/cold]) outside the cold parts;
    groups only `with_buckets`.
    """
    max_k = max(ks)
    device = data.device
    pointer, _ = data.relevant[part]
    users = torch.nonzero(pointer[1:] - pointer[:-1] > 0).flatten()
    candidates = candidate_mask(data, part)
    masks = item_groups(data, part) if with_buckets else {}
    groups: dict[str, torch.Tensor | None] = {"overall": None, **masks}
    per_user: dict[str, dict[str, list[torch.Tensor]]] = {g: {} for g in groups}
    popularity_sum, popularity_n = {k: 0.0 for k in ks}, {k: 0 for k in ks}
    covered = {k: torch.zeros(data.num_items, dtype=torch.bool, device=device) for k in ks}
    share_groups = {} if part.startswith("cold") else masks
    slots = {name: 0.0 for name in share_groups}

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
            for name, mask in share_groups.items():
                slots[name] += float(mask[top].sum())
            for group, mask in groups.items():
                rel = relevant if mask is None else relevant & mask
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
    if share_groups:
        total = max(sum(slots.values()), 1.0)
        out[f"recommended_share@{max_k}"] = {name: n / total for name, n in slots.items()}
    out["users"] = len(users)
    return out
