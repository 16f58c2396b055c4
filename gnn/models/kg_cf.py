"""Collaborative signal propagated through the knowledge graph: item → entity → item.

An item i with links L(i) = {(e, r)} to KG entities (and {(j, r)} to other items)
receives what users taught the warm items that share its entities:

    m_{e∖i} = Σ_{j ∈ N(e), j ≠ i} s_j f_j / Σ_{j ∈ N(e), j ≠ i} s_j
                                          (the mean CF embedding of e's other source items)
    w_{ie}  = softplus(θ_r) · idf_e · 1[e has another source item],
    idf_e   = log(1 + I / |N(e)|)          (an entity shared by a few items says more
                                            about each than one shared by thousands)
    k_i     = Σ_{(e,r) ∈ L(i)} w_{ie} m_{e∖i} / Σ w_{ie}      (item–item links add w·f_j)

with f the CF tower's item embeddings, s_j = 1 for the items that have training
interactions (the sources) and 0 for the rest. Leaving the item itself out of its
entities' means makes k_i the same function for a warm item in training and for a cold
item at serving time: neither reads its own CF row. The relation weights θ are the
only parameters: scalar, per relation, no attention (LightKG, Cui et al. KDD 2025,
found attention over KG neighbours adds little under sparsity). The total weight
W_i = Σ w_{ie} says how much support the item has (0 when no entity of it has a source).

A new item's links (`extra_links`) are read against the same entity means, so an item
added after training gets exactly what training-time propagation would give it.
"""

from __future__ import annotations

import torch
from tailgraph.gnn.data import TrainData
from torch import nn
from torch.nn import functional as F
from torch_geometric.utils import scatter


class KGCFPropagation(nn.Module):
    def __init__(self, data: TrainData) -> None:
        super().__init__()
        self.num_items = data.num_items
        self.num_entities = data.num_entities
        num_forward = max(data.num_relations // 2, 1)
        self.relation_logit = nn.Parameter(torch.zeros(num_forward))
        item, node, relation = item_links(data)
        self.register_buffer("item", item, persistent=False)
        self.register_buffer("node", node, persistent=False)  # < I: an item, else entity I + e
        self.register_buffer("relation", relation, persistent=False)
        is_entity = node >= data.num_items
        per_entity = torch.bincount(node[is_entity] - data.num_items, minlength=data.num_entities)
        idf = torch.log1p(data.num_items / per_entity.clamp(min=1).float())
        self.register_buffer("idf", idf, persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # softplus(0.5413) = 1: every relation starts with weight one.
        nn.init.constant_(self.relation_logit, 0.5413)

    def entity_sums(
        self, cf_items: torch.Tensor, source: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(Σ s_j f_j [E, d], Σ s_j [E]) over each entity's linked items."""
        is_entity = self.node >= self.num_items
        entity = self.node[is_entity] - self.num_items
        item = self.item[is_entity]
        weight = source[item]
        sums = scatter(cf_items[item] * weight[:, None], entity, 0, self.num_entities, "sum")
        counts = scatter(weight, entity, 0, self.num_entities, "sum")
        return sums, counts

    def forward(
        self,
        cf_items: torch.Tensor,
        source: torch.Tensor,
        extra_links: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
        num_extra: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(k [I (+ X), d], W [I (+ X)]) for every item, then for `num_extra` new items.

        cf_items: [I, d] CF item embeddings; source: [I] float, 1 for source items.
        extra_links: (new item 0..X−1, node, forward relation id) of items added later.
        """
        sums, counts = self.entity_sums(cf_items, source)
        item, node, relation = self.item, self.node, self.relation
        own = source[item]
        if extra_links is not None:
            new_item, new_node, new_relation = extra_links
            item = torch.cat([item, new_item + self.num_items])
            node = torch.cat([node, new_node])
            relation = torch.cat([relation, new_relation])
            own = torch.cat([own, own.new_zeros(len(new_item))])  # a new item is no source
        is_entity = node >= self.num_items
        entity = (node - self.num_items).clamp(min=0)
        last = self.num_items - 1
        others = torch.where(is_entity, counts[entity] - own, source[node.clamp(max=last)])
        message = torch.where(
            is_entity[:, None],
            (sums[entity] - own[:, None] * cf_items[item.clamp(max=last)])
            / others.clamp(min=1e-12)[:, None],
            cf_items[node.clamp(max=last)],
        )
        idf = torch.where(is_entity, self.idf[entity], torch.ones_like(others))
        weight = F.softplus(self.relation_logit)[relation] * idf * (others > 0.5).float()
        size = self.num_items + num_extra
        total = scatter(weight, item, 0, size, "sum")
        k = scatter(weight[:, None] * message, item, 0, size, "sum")
        return k / total.clamp(min=1e-12)[:, None], total


def item_links(data: TrainData) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(item, node, forward relation) for every KG triple with an item at one end.

    node < I is another item (the triple is listed from both of its items), node ≥ I an
    entity node I + e. Triples between two entities carry no item's CF and are left out.
    """
    num_forward = data.num_relations // 2
    forward = data.kg_edge_type < num_forward
    head, tail = data.kg_edge_index[:, forward]
    relation = data.kg_edge_type[forward]
    head_item, tail_item = head < data.num_items, tail < data.num_items
    parts = [
        (head[head_item], tail[head_item], relation[head_item]),
        (tail[tail_item], head[tail_item], relation[tail_item]),
    ]
    item, node, rel = (torch.cat(p) for p in zip(*parts, strict=True))
    return item, node, rel
