"""Text-only kNN: the user is the mean text embedding of their training items.

s(u, i) = cos( mean_{j ∈ H_u} t_j , t_i ) with t the frozen language-model embedding.
No training; it ranks cold items exactly like warm ones.
"""

from __future__ import annotations

import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.base import Recommender


def user_text_profiles(data: TrainData) -> torch.Tensor:
    """[U, d] normalised mean of each user's training item texts (zero if none)."""
    sums = data.item_text.new_zeros(data.num_users, data.item_text.shape[1])
    sums.index_add_(0, data.train_user, data.item_text[data.train_item])
    return torch.nn.functional.normalize(sums, dim=1)


class TextKNN(Recommender):
    name = "text_knn"
    trainable = False

    def __init__(self, data: TrainData) -> None:
        super().__init__(data)
        self.profiles = user_text_profiles(data)
        self.items = torch.nn.functional.normalize(data.item_text, dim=1)

    def score(self, users: torch.Tensor) -> torch.Tensor:
        return self.profiles[users] @ self.items.T
