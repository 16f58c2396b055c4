"""Content tower: frozen language-model text embeddings propagated over the KG with R-GCN.

Items and entities form one graph of I + E nodes. Layer-0 features:

    h⁰_v = W_t · t_v + b_v     (t_v: frozen LM text embedding, zero when v has no text;
                                b_v: a learned entity ID embedding — zero for items, so
                                an item's representation never depends on its own ID)

Then L relation-aware message-passing layers (R-GCN, Schlichtkrull et al. 2018,
PyG `RGCNConv` with basis decomposition), residual, with every triple present in
both directions:

    h^{l+1}_v = h^l_v + tanh( W_0^l h^l_v + Σ_r Σ_{w ∈ N_r(v)} (1/|N_r(v)|) W_r^l h^l_w )

c_i = h^L_i for item nodes. Inductive: an item added after training needs only its
text and its KG links (`embed_new_items`); no parameter belongs to an item.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import RGCNConv


class ContentTower(nn.Module):
    def __init__(
        self,
        text_dim: int,
        dim: int,
        num_entities: int,
        num_relations: int,
        layers: int = 2,
        num_bases: int = 8,
        use_kg: bool = True,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.project = nn.Linear(text_dim, dim)
        self.entity = nn.Embedding(max(num_entities, 1), dim)
        self.use_kg = use_kg and num_relations > 0
        self.convs = nn.ModuleList(
            RGCNConv(dim, dim, num_relations, num_bases=min(num_bases, num_relations))
            for _ in range(layers if self.use_kg else 0)
        )
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.project.reset_parameters()
        nn.init.normal_(self.entity.weight, std=0.05)
        for conv in self.convs:
            conv.reset_parameters()

    def forward(
        self,
        item_text: torch.Tensor,
        entity_text: torch.Tensor,
        edge_index: torch.Tensor,
        edge_type: torch.Tensor,
    ) -> torch.Tensor:
        """Content embeddings of all item nodes [I, dim]."""
        num_items = item_text.shape[0]
        items = self.project(item_text)
        if not self.use_kg:
            return items
        entities = self.project(entity_text) + self.entity.weight[: entity_text.shape[0]]
        h = torch.cat([items, entities])
        for conv in self.convs:
            h = h + torch.tanh(conv(self.dropout(h), edge_index, edge_type))
        return h[:num_items]
