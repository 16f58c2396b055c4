"""Top-k scoring from in-memory tensors: one matmul, masks, one `topk` — no loop over items.

    s(u, i) = ⟨p_u, z_i⟩ − λ · log(1 + n_i)

(`TailgraphModel.score` with its serving-time tail-boost knob λ, n_i = training
interactions of item i). Excluded items (already seen, outside the requested entity
filter) get −∞ before `topk`; slots that come back −∞ are dropped, so a request never
receives an excluded item even when fewer than k candidates are left.

The functions take a batch of users, so the same code answers one request (B = 1) and
the in-process ceiling of `bench/api_bench.py` (B = 64).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def exclusion_rows(excluded: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row index lists → (row, column) index tensors for one `index_put_`."""
    lengths = torch.tensor([len(e) for e in excluded], dtype=torch.long)
    rows = torch.repeat_interleave(torch.arange(len(excluded)), lengths)
    columns = torch.cat(list(excluded)) if excluded else torch.zeros(0, dtype=torch.long)
    return rows, columns


def top_k(
    users: torch.Tensor,
    items: torch.Tensor,
    log_count: torch.Tensor,
    k: int,
    tail_boost: torch.Tensor | float = 0.0,
    excluded: Sequence[torch.Tensor] | None = None,
    candidates: torch.Tensor | None = None,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Best `k` items per user: [(scores [≤k], item indices [≤k])] in user order.

    users [B, d] user vectors; items [N, d] item vectors; log_count [N];
    tail_boost: a float or [B] per-user λ; excluded: B index tensors (items never to
    return); candidates: [B, N] or [N] bool (items allowed), None = all.
    """
    if len(users) == 1 and not isinstance(tail_boost, torch.Tensor):
        # One request (the common case): matrix-vector product and direct indexing, no
        # batch bookkeeping — a third fewer tensor ops, measurable at this size.
        scores = items @ users[0]
        if tail_boost:
            scores = scores - tail_boost * log_count
        if candidates is not None:
            scores.masked_fill_(~candidates.reshape(-1), -torch.inf)
        if excluded is not None and len(excluded[0]):
            scores[excluded[0]] = -torch.inf
        values, indices = torch.topk(scores, min(k, scores.shape[0]))
        keep = values > -torch.inf
        return [(values[keep], indices[keep])]
    return top_k_of(users @ items.T, log_count, k, tail_boost, excluded, candidates)


def top_k_of(
    scores: torch.Tensor,
    log_count: torch.Tensor,
    k: int,
    tail_boost: torch.Tensor | float = 0.0,
    excluded: Sequence[torch.Tensor] | None = None,
    candidates: torch.Tensor | None = None,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """`top_k` from precomputed scores [B, N] (which it may modify in place)."""
    if isinstance(tail_boost, torch.Tensor):
        scores = scores - tail_boost.unsqueeze(1) * log_count.unsqueeze(0)
    elif tail_boost:
        scores = scores - tail_boost * log_count.unsqueeze(0)
    if candidates is not None:
        scores.masked_fill_(~candidates, -torch.inf)
    if excluded is not None and any(len(e) for e in excluded):
        rows, columns = exclusion_rows(excluded)
        scores.index_put_((rows, columns), torch.tensor(-torch.inf))
    values, indices = torch.topk(scores, min(k, scores.shape[1]), dim=1)
    out = []
    for row_values, row_indices in zip(values, indices, strict=True):
        keep = row_values > -torch.inf
        out.append((row_values[keep], row_indices[keep]))
    return out


def similar(
    unit_items: torch.Tensor, item: int, k: int, candidates: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine neighbours of one item over unit-normalised z (the item itself excluded)."""
    scores = unit_items @ unit_items[item]
    scores[item] = -torch.inf
    if candidates is not None:
        scores = scores.masked_fill(~candidates, -torch.inf)
    values, indices = torch.topk(scores, min(k, scores.shape[0]))
    keep = values > -torch.inf
    return values[keep], indices[keep]
