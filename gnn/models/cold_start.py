"""Shared parts of the content → CF-space cold-start peers (DropoutNet, ALDI).

- The **teacher**: a trained LightGCN (the harness's `RunContext.lightgcn()`, trained once
  per run), frozen. Its propagated embeddings are copied once into the student's buffers;
  nothing of the student trains them.
- **Selection on cold validation**: the harness's warm validation cannot select a content
  student (ALDI's warm scores are its teacher's). The students select on NDCG@20 on the
  split's cold validation items (`cold_valid`: items held out of training like the cold
  test items, disjoint from them), ranked among themselves — what both official codes
  select on (ALDI: cold validation NDCG; DropoutNet: warm + cold recall) — through
  `Recommender.validation_parts`, which early stopping and `tune` read.
- **Towers**: the official ones — Linear → BatchNorm → tanh blocks, then a linear output,
  truncated-normal(0.01) weights and zero biases.
"""

from __future__ import annotations

import itertools

import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.lightgcn import LightGCN
from torch import nn


def teacher_embeddings(teacher: LightGCN) -> tuple[torch.Tensor, torch.Tensor]:
    """Detached copies of the trained teacher's propagated (users [U, d], items [I, d])."""
    teacher.eval()
    teacher.refresh()
    users, items = teacher.cached()
    return users.detach().clone(), items.detach().clone()


def cold_parts(data: TrainData) -> tuple[str, ...]:
    """("cold_valid",) when the split holds cold validation items, else ()."""
    return ("cold_valid",) if len(data.cold_valid_items) > 0 else ()


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
