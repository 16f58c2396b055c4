"""Content tower: frozen language-model text embeddings propagated over the KG.

Items and entities form one graph of I + E nodes; every triple is present in both
directions, the reverse edge with its own relation id. Layer-0 features:

    h⁰_v = W_t · t_v + b_v     (t_v: frozen LM text embedding, zero when v has no text;
                                b_v: a learned entity ID embedding — zero for items, so
                                an item's representation never depends on its own ID)

Then L relation-aware graph-transformer layers (PyG `TransformerConv`, Shi et al.
2021) with the relation embedding r_{(w,v)} as edge feature, residual:

    α_{vw}   = softmax_w( (W_q h_v)ᵀ (W_k h_w + W_e r_{vw}) / √d )
    h^{l+1}_v = h^l_v + tanh( W_s h^l_v + Σ_{w ∈ N(v)} α_{vw} (W_v h_w + W_e r_{vw}) )

Both the attention (which neighbours matter) and the message (what they say)
depend on the relation, as in KGAT's relation-aware attention, in a single
message-passing pass over all edges. R-GCN was measured first and rejected for
speed (docs/decisions.md): without pyg-lib it loops over relation types.

c_i = h^L_i for item nodes. Inductive: an item added after training needs only its
text and its KG links (`forward(..., extra_items=...)`); no parameter belongs to an item.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch_geometric.nn import TransformerConv
from torch_geometric.utils import softmax


class RelationTransformerConv(TransformerConv):
    """`TransformerConv` for edge features that are relation embeddings.

    The stock layer applies `lin_edge` to every edge's feature, an [M, d] × [d, H·C]
    product (and its backward) per layer and step. With r_{vw} = R[type], W_e r is the
    same for every edge of a relation, so `ContentTower` projects the R relation rows once
    and hands each edge its row: the same function (tested against the stock layer), and
    the per-edge product — a large share of a training step on Last.fm's KG — is gone.
    `edge_attr` here is that projected, gathered [M, H, C] tensor; the message is PyG's.
    """

    def message(
        self,
        query_i: torch.Tensor,
        key_j: torch.Tensor,
        value_j: torch.Tensor,
        edge_attr: torch.Tensor,
        index: torch.Tensor,
        ptr: torch.Tensor | None,
        size_i: int | None,
    ) -> torch.Tensor:
        key_j = key_j + edge_attr
        alpha = (query_i * key_j).sum(dim=-1) / math.sqrt(self.out_channels)
        alpha = softmax(alpha, index, ptr, size_i)
        self._alpha = alpha
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        return (value_j + edge_attr) * alpha.view(-1, self.heads, 1)

    def relation_features(self, relations: torch.Tensor, edge_type: torch.Tensor) -> torch.Tensor:
        """W_e r for each edge: projected once per relation, then gathered."""
        assert self.lin_edge is not None
        projected = self.lin_edge(relations).view(-1, self.heads, self.out_channels)
        return projected[edge_type]


class ContentTower(nn.Module):
    def __init__(
        self,
        text_dim: int,
        dim: int,
        num_entities: int,
        num_relations: int,
        layers: int = 2,
        heads: int = 2,
        use_kg: bool = True,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.project = nn.Linear(text_dim, dim)
        self.entity = nn.Embedding(max(num_entities, 1), dim)
        self.use_kg = use_kg and num_relations > 0
        self.relation = nn.Embedding(max(num_relations, 1), dim)
        self.convs = nn.ModuleList(
            RelationTransformerConv(
                dim, dim, heads=heads, concat=False, edge_dim=dim, dropout=dropout
            )
            for _ in range(layers if self.use_kg else 0)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.project.reset_parameters()
        nn.init.normal_(self.entity.weight, std=0.05)
        nn.init.normal_(self.relation.weight, std=0.1)
        for conv in self.convs:
            conv.reset_parameters()

    def _propagate(
        self, h: torch.Tensor, edge_index: torch.Tensor, edge_type: torch.Tensor
    ) -> torch.Tensor:
        """The residual graph-transformer layers: h ← h + tanh(conv(h))."""
        for conv in self.convs:
            edge_attr = conv.relation_features(self.relation.weight, edge_type)
            h = h + torch.tanh(conv(h, edge_index, edge_attr))
        return h

    def forward(
        self,
        item_text: torch.Tensor,
        entity_text: torch.Tensor,
        edge_index: torch.Tensor,
        edge_type: torch.Tensor,
        extra_item_text: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Content embeddings [I (+ X), dim] of the item nodes, then of `extra_item_text` rows.

        Extra items (added after training) are nodes I + E, I + E + 1, ... of the graph,
        so `edge_index` may link them to existing entities and items.
        """
        num_items = item_text.shape[0]
        items = self.project(item_text)
        extra = self.project(extra_item_text) if extra_item_text is not None else None
        if not self.use_kg:
            return items if extra is None else torch.cat([items, extra])
        entities = self.project(entity_text) + self.entity.weight[: entity_text.shape[0]]
        parts = [items, entities] if extra is None else [items, entities, extra]
        h = torch.cat(parts)
        h = self._propagate(h, edge_index, edge_type)
        if extra is None:
            return h[:num_items]
        return torch.cat([h[:num_items], h[num_items + entity_text.shape[0] :]])

    def forward_subgraph(
        self,
        item_text: torch.Tensor,
        entity_text: torch.Tensor,
        nodes: torch.Tensor,
        edge_index: torch.Tensor,
        edge_type: torch.Tensor,
    ) -> torch.Tensor:
        """h^L [n, dim] of the graph nodes `nodes` (global ids: items, then entities) over a
        subgraph of theirs (`gnn.sampling`; `edge_index` in positions of `nodes`)."""
        num_items = item_text.shape[0]
        is_item = nodes < num_items
        h = torch.empty(len(nodes), self.project.out_features, device=item_text.device)
        h[is_item] = self.project(item_text[nodes[is_item]])
        entity = nodes[~is_item] - num_items
        h[~is_item] = self.project(entity_text[entity]) + self.entity(entity)
        return self._propagate(h, edge_index, edge_type)
