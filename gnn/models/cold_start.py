"""Shared parts of the content → CF-space cold-start peers (DropoutNet, ALDI).

- The **teacher**: a trained LightGCN (the harness's `trained_lightgcn()`), frozen. Its
  propagated embeddings are copied once into the student's buffers; nothing of the student
  trains them.
- **Pseudo-cold validation**: the harness validates on warm items, where ALDI's scores are
  its teacher's and DropoutNet's use the CF input, so neither warm validation nor early
  stopping on it can select a content student. A seeded 10 % of the items that have
  training interactions is therefore held out of the student's training (every training
  pair whose positive or negative is one of them is masked out of its loss) and serves as
  its cold validation set: each such item's training interactions are the relevant pairs,
  ranked among the held-out items from content alone — the protocol of `gnn.evaluate`'s
  `cold` part, on items the student never saw. Both official codes select on cold items
  (ALDI: cold validation NDCG; DropoutNet: warm + cold recall).
- **Towers**: the official ones — Linear → BatchNorm → tanh blocks, then a linear output,
  truncated-normal(0.01) weights and zero biases.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.evaluate import Scorer, evaluate
from tailgraph.gnn.models.lightgcn import LightGCN
from torch import nn

PSEUDO_COLD_FRACTION = 0.1


def teacher_embeddings(teacher: LightGCN) -> tuple[torch.Tensor, torch.Tensor]:
    """Detached copies of the trained teacher's propagated (users [U, d], items [I, d])."""
    teacher.eval()
    teacher.refresh()
    users, items = teacher.cached()
    return users.detach().clone(), items.detach().clone()


def csr(
    users: torch.Tensor, items: torch.Tensor, num_users: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(pointer [U + 1], items sorted by user) — the layout of `TrainData.relevant`."""
    order = torch.argsort(users * (int(items.max()) + 1 if len(items) else 1) + items)
    counts = torch.bincount(users, minlength=num_users)
    pointer = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    return pointer, items[order]


class PseudoColdValidation:
    """Held-out training items and the validation view that ranks them as cold items."""

    def __init__(self, data: TrainData, seed: int, fraction: float = PSEUDO_COLD_FRACTION):
        trained = torch.nonzero(data.item_count.cpu() > 0).flatten()
        generator = torch.Generator().manual_seed(seed)
        n = max(1, round(fraction * len(trained)))
        items = trained[torch.randperm(len(trained), generator=generator)[:n]].sort().values
        device = data.device
        self.items = items.to(device)
        self.mask = torch.zeros(data.num_items, dtype=torch.bool, device=device)
        self.mask[self.items] = True
        rows = self.mask[data.train_item]
        relevant = csr(data.train_user[rows], data.train_item[rows], data.num_users)
        nothing = torch.zeros(0, dtype=torch.long, device=device)
        seen = csr(nothing, nothing, data.num_users)
        self.view = replace(data, cold_items=self.items, relevant={"cold": relevant},
                            seen={"cold": seen})  # fmt: skip

    def keep(self, items: torch.Tensor) -> torch.Tensor:
        """True where `items` (any shape) may train the student (not held out)."""
        return ~self.mask[items]

    def ndcg(self, scorer: Scorer) -> float:
        """NDCG@20 of `scorer` ranking the held-out items among themselves."""
        metrics = evaluate(scorer, self.view, "cold", with_buckets=False, ks=(20,))
        return float(metrics["overall"]["ndcg@20"])  # type: ignore[index]


def truncated_normal_(weight: torch.Tensor, std: float) -> None:
    nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)


def tower(sizes: list[int], batch_norm_momentum: float = 0.1, eps: float = 1e-5) -> nn.Sequential:
    """sizes[0] → … → sizes[-1]: (Linear, BatchNorm1d, tanh) blocks, then a Linear output."""
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes[:-1]):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b, momentum=batch_norm_momentum, eps=eps),
                   nn.Tanh()]  # fmt: skip
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def reset_tower(module: nn.Sequential) -> None:
    for layer in module:
        if isinstance(layer, nn.Linear):
            truncated_normal_(layer.weight, 0.01)
            nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm1d):
            layer.reset_parameters()
            layer.reset_running_stats()
