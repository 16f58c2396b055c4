"""MostPop: every user gets the items with the most training interactions."""

from __future__ import annotations

import torch
from tailgraph.gnn.models.base import Recommender


class MostPop(Recommender):
    name = "mostpop"
    trainable = False

    def score(self, users: torch.Tensor) -> torch.Tensor:
        return self.data.item_count.unsqueeze(0).expand(len(users), -1)
