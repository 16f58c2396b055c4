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
        to_entity = node >= data.num_items
        # Item → entity links and item → item links, kept apart: they aggregate differently.
        self.register_buffer("entity_item", item[to_entity], persistent=False)
        self.register_buffer("entity", node[to_entity] - data.num_items, persistent=False)
        self.register_buffer("entity_relation", relation[to_entity], persistent=False)
        self.register_buffer("pair_item", item[~to_entity], persistent=False)
        self.register_buffer("pair_other", node[~to_entity], persistent=False)
        self.register_buffer("pair_relation", relation[~to_entity], persistent=False)
        per_entity = torch.bincount(self.entity, minlength=data.num_entities)
        idf = torch.log1p(data.num_items / per_entity.clamp(min=1).float())
        self.register_buffer("idf", idf, persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # softplus(0.5413) = 1: every relation starts with weight one.
        nn.init.constant_(self.relation_logit, 0.5413)

    def entity_sums(
        self, cf_items: torch.Tensor, source: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per entity: (Σ s_j f_j [E, d], Σ s_j [E]) over its linked items."""
        weight = source[self.entity_item]
        sums = scatter(cf_items[self.entity_item] * weight[:, None], self.entity, 0,
                       self.num_entities, "sum")  # fmt: skip
        return sums, scatter(weight, self.entity, 0, self.num_entities, "sum")

    def forward(
        self,
        cf_items: torch.Tensor,
        source: torch.Tensor,
        extra_links: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
        num_extra: int = 0,
        only_extra: bool = False,
        entity_sums: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(k [I (+ X), d], W [I (+ X)]) for every item, then for `num_extra` new items.

        cf_items: [I, d] CF item embeddings; source: [I] float, 1 for source items.
        extra_links: (new item 0..X−1, node, forward relation id) of items added later;
        a node < I is an existing item, else the entity node I + e.
        only_extra: the new items' rows only ([X, d], [X]): the same sums, read by their
        links alone (the existing items' rows do not change when an item is added, as new
        items are not sources).
        entity_sums: `entity_sums(cf_items, source)` when the caller has it already.
        """
        num_items, size = self.num_items, self.num_items + num_extra
        relation_weight = F.softplus(self.relation_logit)
        sums, counts = entity_sums or self.entity_sums(cf_items, source)

        item, entity, relation = self.entity_item, self.entity, self.entity_relation
        pair_item, other, pair_relation = self.pair_item, self.pair_other, self.pair_relation
        own = source[item]
        if only_extra:
            assert extra_links is not None
            empty = item[:0]
            item, entity, relation, own = empty, empty, empty, own[:0]
            pair_item, other, pair_relation = empty, empty, empty
            num_items, size = 0, num_extra  # new item k is row k of the result
        if extra_links is not None:
            new_item, node, new_relation = extra_links
            new_item = new_item + num_items
            is_entity = node >= self.num_items
            item = torch.cat([item, new_item[is_entity]])
            entity = torch.cat([entity, node[is_entity] - self.num_items])
            relation = torch.cat([relation, new_relation[is_entity]])
            own = torch.cat([own, own.new_zeros(int(is_entity.sum()))])  # a new item: no source
            pair_item = torch.cat([pair_item, new_item[~is_entity]])
            other = torch.cat([other, node[~is_entity]])
            pair_relation = torch.cat([pair_relation, new_relation[~is_entity]])

        # Entity links: w_ie · m_{e∖i} = coef · (S_e − s_i f_i), coef = w_ie / Σ_{j≠i} s_j.
        others = counts[entity] - own
        link_weight = relation_weight[relation] * self.idf[entity] * (others > 0.5).float()
        coef = link_weight / others.clamp(min=1.0)
        total = scatter(link_weight, item, 0, size, "sum")
        k = scatter(coef[:, None] * sums[entity], item, 0, size, "sum")
        if num_items:
            own_share = scatter(coef * own, item, 0, size, "sum")[:num_items]
            k[:num_items] = k[:num_items] - own_share[:, None] * cf_items
        # Item–item links: the other item's own CF embedding when it is a source.
        pair_weight = relation_weight[pair_relation] * source[other]
        total = total + scatter(pair_weight, pair_item, 0, size, "sum")
        k = k + scatter(pair_weight[:, None] * cf_items[other], pair_item, 0, size, "sum")
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
