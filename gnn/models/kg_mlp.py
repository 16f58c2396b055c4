"""Source-document method (b): concat(item text, mean KG neighbour embedding) → MLP scorer.

x_i = [ t_i ; mean_{e ∈ N(i)} E_e ]   (t frozen text embedding, E learned entity embeddings)
q_i = MLP(x_i),  s(u, i) = ⟨p_u, q_i⟩  with a learned user embedding p_u, BPR loss.
The item side depends only on text and KG links, so it scores cold items too.
"""

from __future__ import annotations

import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.base import Recommender, bpr_loss
from torch import nn
from torch_geometric.utils import scatter


class KGConcatMLP(Recommender):
    name = "kg_concat_mlp"

    def __init__(self, data: TrainData, dim: int = 64, l2: float = 1e-4) -> None:
        super().__init__(data)
        self.user = nn.Embedding(data.num_users, dim)
        self.entity = nn.Embedding(max(data.num_entities, 1), dim)
        text_dim = data.item_text.shape[1]
        self.mlp = nn.Sequential(
            nn.Linear(text_dim + dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim)
        )
        # item -> entity links (either direction in the KG)
        src, dst = data.kg_edge_index
        keep = (src < data.num_items) & (dst >= data.num_items)
        self.link_item, self.link_entity = src[keep], dst[keep] - data.num_items
        self.l2 = l2
        self._items: torch.Tensor | None = None
        nn.init.normal_(self.user.weight, std=0.1)
        nn.init.normal_(self.entity.weight, std=0.1)

    def item_vectors(self) -> torch.Tensor:
        neighbours = scatter(
            self.entity(self.link_entity), self.link_item, dim=0,
            dim_size=self.data.num_items, reduce="mean",
        )  # fmt: skip
        return self.mlp(torch.cat([self.data.item_text, neighbours], dim=1))

    def loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        items = self.item_vectors()
        u, p, n = self.user(users), items[pos], items[neg[:, 0]]
        reg = u.pow(2).sum() / (2 * len(users))
        return bpr_loss((u * p).sum(1), (u * n).sum(1)) + self.l2 * reg

    def refresh(self) -> None:
        with torch.no_grad():
            self._items = self.item_vectors()

    def score(self, users: torch.Tensor) -> torch.Tensor:
        if self._items is None:
            self.refresh()
        assert self._items is not None
        return self.user(users) @ self._items.T
