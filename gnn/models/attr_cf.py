"""Source-document method (d): CF with user attributes added to the user vector.

p_u = e_u + Σ_a A_a[x_{u,a}] (one embedding table per categorical attribute,
code 0 = missing), s(u, i) = ⟨p_u, q_i⟩, BPR loss — a factorisation machine
restricted to user-side features.
"""

from __future__ import annotations

import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.bpr_mf import BPRMF
from torch import nn


class AttributeCF(BPRMF):
    name = "attr_cf"

    def __init__(self, data: TrainData, dim: int = 64, l2: float = 0.0) -> None:
        super().__init__(data, dim, l2)
        self.attributes = nn.ModuleList(nn.Embedding(size, dim) for size in data.user_attr_sizes)
        for table in self.attributes:
            nn.init.xavier_normal_(table.weight)

    def user_vectors(self, users: torch.Tensor) -> torch.Tensor:
        vector = self.user(users)
        codes = self.data.user_attr[users]
        for a, table in enumerate(self.attributes):
            vector = vector + table(codes[:, a])
        return vector
