"""Masking and top-k over a score matrix: the one place a served list is cut.

Scores come from the model (`TailgraphModel.scores`, s(u, i) = ⟨p_u, z_i⟩ − λ·log(1 + n_i));
this module only removes what a list must not hold and takes the best k:

- `candidates`: items allowed (an entity filter); the others get −∞;
- `exclude`: items never to return (already seen); they get −∞;
- `topk` per row; slots that come back −∞ are dropped, so a list never holds an excluded
  item even when fewer than k candidates are left.

`top_k_row` answers one request (the common case: direct indexing, no batch bookkeeping),
`top_k` a micro-batch of requests with their own k, filters and exclusions (one `topk` for
all rows). The scores are modified in place.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

Ranked = tuple[torch.Tensor, torch.Tensor]
"""(scores [≤k], item indices [≤k]), best first."""

_EMPTY = torch.zeros(0, dtype=torch.long)
_MINUS_INF = torch.tensor(-torch.inf)


def top_k(
    scores: torch.Tensor,
    k: int | Sequence[int],
    exclude: Sequence[torch.Tensor | None] | None = None,
    candidates: torch.Tensor | Sequence[torch.Tensor | None] | None = None,
) -> list[Ranked]:
    """Best `k` items per row of `scores` [B, N]: [(values, indices)] in row order.

    k: one k, or one per row; exclude: per row an index tensor (or None); candidates: [N]
    or [B, N] bool for every row, or per row an [N] bool (or None); None = every item.
    """
    if isinstance(candidates, torch.Tensor):
        scores.masked_fill_(~candidates, -torch.inf)
    elif candidates is not None:
        for row, mask in enumerate(candidates):
            if mask is not None:
                scores[row].masked_fill_(~mask, -torch.inf)
    if exclude is not None:
        lists = [_EMPTY if e is None else e for e in exclude]
        lengths = torch.tensor([len(e) for e in lists], dtype=torch.long)
        if bool(lengths.any()):
            rows = torch.repeat_interleave(torch.arange(len(lists)), lengths)
            scores.index_put_((rows, torch.cat(lists)), _MINUS_INF)
    sizes = [k] * len(scores) if isinstance(k, int) else list(k)
    values, indices = torch.topk(scores, min(max(sizes), scores.shape[1]), dim=1)
    # Excluded slots (−∞) sort last: each row keeps a prefix, two views per row.
    finite = (values > -torch.inf).sum(dim=1).tolist()
    return [
        (values[row, : min(size, n)], indices[row, : min(size, n)])
        for row, (size, n) in enumerate(zip(sizes, finite, strict=True))
    ]


def top_k_row(
    scores: torch.Tensor,
    k: int,
    exclude: torch.Tensor | None = None,
    candidates: torch.Tensor | None = None,
) -> Ranked:
    """`top_k` of one row of scores [N] (one request: direct indexing, no batch bookkeeping
    — a third fewer tensor ops than the batched path, measurable at this size)."""
    if candidates is not None:
        scores.masked_fill_(~candidates, -torch.inf)
    if exclude is not None and len(exclude):
        scores[exclude] = -torch.inf
    values, indices = torch.topk(scores, min(k, scores.shape[0]))
    keep = values > -torch.inf
    return values[keep], indices[keep]


def similar(
    unit_items: torch.Tensor, item: int, k: int, candidates: torch.Tensor | None = None
) -> Ranked:
    """Cosine neighbours of one item over unit-normalised item vectors (itself excluded)."""
    scores = unit_items @ unit_items[item]
    scores[item] = -torch.inf
    return top_k_row(scores, k, None, candidates)
