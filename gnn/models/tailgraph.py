"""Tailgraph: language-model text embeddings of items and their KG facts, fused with CF.

Towers (d = embedding size, I items, U users):

- CF       (f_u, f_i) = LightGCN(user–item training graph)  (He et al. 2020, PyG `LightGCN`)
- content  c_i = W_t t_i + b + γ_i · M k_i
           t_i: the frozen LM text embedding of the item (title, description, attributes
           and the names of its KG entities, or fewer in the `title` text regime);
           k_i, W_i = KGCF(f)_i: the CF embeddings of the warm items that share the
           item's KG entities, relation- and IDF-weighted, the item itself left out
           (`KGCFPropagation`; with `use_kg` and `kg_mode="cf"`, else no KG term);
           γ_i = σ(a · log(1 + W_i) + b) gates it by the item's KG support W_i.
           (`kg_mode="attention"`: relation-aware graph-transformer layers over the text
           features instead, `ContentTower`.)
- fusion   g_i = σ(a' · log(1 + n_i) + b'),     n_i = training interactions of item i
           z_i = g_i · 1[n_i > 0] · f_i + (1 − g_i) · c_i
  so a cold item (n_i = 0) is represented by its content alone, a popular one mostly by CF.
- user     p_u = f_u + Σ_a A_a[x_{u,a}] + W_h Σ_{j ∈ H_u} α_j z_j,
           α = softmax_j(⟨f_u + q, z_j⟩ / √d) over the L most recent items H_u
  (attention-pooled short-term interest: a new interaction changes p_u with no retraining).
- score    s(u, i) = ⟨p_u, z_i⟩ (− λ · log(1 + n_i) at serving time: the tail-boost knob).
  `user_vector`, `scores` and `recommend` are the one serving formula: the API, the
  Python facade and evaluation call them.

Loss: sampled softmax over uniformly drawn negatives (temperature τ) or BPR, plus
    λ_align · mean_i (1 − cos(c_i, sg(f_i)))  over warm positives,
which pulls the content tower toward the CF tower so cold items inherit CF
structure, plus L2 on the batch's ID embeddings. During training a random
`cold_dropout` share of items is treated as cold in each step (n_i := 0, CF part
dropped), so the gate and the content tower learn the cold regime they serve
(DropoutNet, Volkovs et al. 2017).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.base import (
    Recommender,
    SharedNegatives,
    bpr_loss,
    sampled_softmax_loss,
)
from tailgraph.gnn.models.content_tower import ContentTower
from tailgraph.gnn.models.kg_cf import KGCFPropagation
from tailgraph.gnn.models.lightgcn import fixed_graph_lightgcn, normalized_adjacency
from tailgraph.gnn.ranking import Ranked, top_k, top_k_row
from tailgraph.gnn.sampling import IncomingEdges, sample_subgraph
from torch import nn
from torch.nn import functional as F

COLD_KG_SCALES = (0.0, 0.5, 1.0)
# A text query's pseudo-session: its nearest items by LM text, softmax-weighted
# (`TailgraphModel.user_vector`; measured on the sample in docs/decisions.md).
QUERY_NEIGHBOURS = 10
QUERY_TEMPERATURE = 0.05


class TailgraphConfig(BaseModel):
    """Settings of the Tailgraph model (`--set tailgraph.<field>=…`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dim: int = 64
    cf_layers: int = 3
    kg_layers: int = 2
    heads: int = 2
    use_text: bool = True
    # KG propagation in the content tower (docs/decisions.md for the measurements):
    # "cf" propagates the CF tower's item embeddings item → entity → item (`KGCFPropagation`),
    # "attention" runs relation-aware graph-transformer layers over the text features.
    use_kg: bool = True
    # With `use_kg`, the product model (`gnn.harness`, name "tailgraph") is trained with and
    # without KG propagation and keeps the one with the higher hybrid validation NDCG@20:
    # the KG's value flips with the data (docs/decisions.md), so validation decides.
    kg_select: bool = True
    kg_mode: Literal["cf", "attention"] = "cf"
    kg_gate: bool = True  # "cf": a per-item gate on the KG term, from the item's KG support
    # "cf": no gradient from the KG term into the CF embeddings (with it, the ranking loss
    # of cold-dropout items bent the CF tower and warm accuracy dropped: docs/decisions.md)
    kg_detach: bool = True
    # "cf": which CF item rows propagate: the tower's output ("propagated") or its layer-0
    # ID embeddings ("base")
    kg_source: Literal["base", "propagated"] = "propagated"
    use_history: bool = True
    use_attributes: bool = True
    loss: Literal["softmax", "bpr"] = "softmax"
    temperature: float = 0.2
    num_negatives: int = 256  # sampled softmax: drawn once per batch, shared by its users
    align_weight: float = 0.1
    cold_dropout: float = 0.2
    l2: float = 1e-4
    dropout: float = 0.1
    # > 0: train the content tower on sampled neighbourhoods of each step's items (at most
    # this many incoming KG edges per node and hop, `gnn.sampling`) instead of the whole
    # KG — for graphs too big for full batch. Scoring and serving stay full-graph. Only with
    # `use_kg`: without propagation an item's content row reads no neighbour.
    sample_fanout: int = 0


class TailgraphModel(Recommender):
    name = "tailgraph"

    def __init__(self, data: TrainData, config: TailgraphConfig | None = None) -> None:
        super().__init__(data)
        self.config = cfg = config or TailgraphConfig()
        self.num_negatives = cfg.num_negatives if cfg.loss == "softmax" else 1
        num_nodes = data.num_users + data.num_items
        self.cf = fixed_graph_lightgcn(num_nodes, cfg.dim, cfg.cf_layers)
        # Derived tensors move with the model (`.to`) and are rebuilt, not saved.
        self.register_buffer(
            "adjacency", normalized_adjacency(data.train_edge_index(), num_nodes), persistent=False
        )
        self.content: ContentTower | None = None
        attention = cfg.use_kg and cfg.kg_mode == "attention"
        if cfg.use_text or cfg.use_kg:
            self.content = ContentTower(
                data.item_text.shape[1], cfg.dim, data.num_entities, data.num_relations,
                layers=cfg.kg_layers, heads=cfg.heads, use_kg=attention,
                dropout=cfg.dropout,
            )  # fmt: skip
        self.kg_cf: KGCFPropagation | None = None
        if cfg.use_kg and cfg.kg_mode == "cf" and data.num_relations > 0:
            self.kg_cf = KGCFPropagation(data)
            self.kg_map = nn.Linear(cfg.dim, cfg.dim, bias=False)
            self.kg_gate = nn.Linear(1, 1)
        # Weight of the KG term for items without interactions (cold and new items), chosen
        # after training on hybrid validation (`tune`); saved with the weights.
        self.register_buffer("cold_kg_scale", torch.ones(()))
        # CF sources of the KG term: the items with training interactions.
        self.register_buffer("source", (data.item_count > 0).float(), persistent=False)
        # Without text the content tower sees zeros: only the KG structure (entity IDs) speaks.
        text = (data.item_text, data.entity_text)
        if not cfg.use_text:
            text = (torch.zeros_like(text[0]), torch.zeros_like(text[1]))
        self.register_buffer("item_text", text[0], persistent=False)
        self.register_buffer("entity_text", text[1], persistent=False)
        self.gate = nn.Linear(1, 1)
        self.query = nn.Parameter(torch.zeros(cfg.dim))
        self.history_proj = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.attributes = nn.ModuleList(
            nn.Embedding(size, cfg.dim)
            for size in (data.user_attr_sizes if cfg.use_attributes else [])
        )
        self.register_buffer(
            "log_count", torch.log1p(data.item_count).unsqueeze(1), persistent=False
        )
        self.incoming = (
            IncomingEdges.build(
                data.kg_edge_index, data.kg_edge_type, data.num_items + data.num_entities
            )
            if cfg.sample_fanout > 0 and self.content is not None and self.content.use_kg
            else None
        )
        self._cache: dict[str, torch.Tensor] = {}
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.cf.reset_parameters()
        nn.init.normal_(self.cf.embedding.weight, std=0.1)
        if self.content is not None:
            self.content.reset_parameters()
        if self.kg_cf is not None:
            self.kg_cf.reset_parameters()
            nn.init.eye_(self.kg_map.weight)
            nn.init.constant_(self.kg_gate.weight, 1.0)
            nn.init.constant_(self.kg_gate.bias, 0.0)
        # Start with the gate trusting CF for popular items and content for rare ones.
        nn.init.constant_(self.gate.weight, 1.0)
        nn.init.constant_(self.gate.bias, -1.0)
        nn.init.normal_(self.query, std=0.01)
        nn.init.eye_(self.history_proj.weight)
        self.history_proj.weight.data.mul_(0.5)
        for table in self.attributes:
            nn.init.normal_(table.weight, std=0.01)

    # ---- towers ------------------------------------------------------------------------------
    def content_items(
        self, cf_items: torch.Tensor, needed: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        """c [I, d]; with `needed` (unique item ids) and `sample_fanout` set, only those rows
        are computed, on a sampled subgraph, and the other rows are zero."""
        if self.content is None:
            return None
        text = self.text_content(needed)
        if self.kg_cf is None:
            return text
        term = self.kg_term(*self.kg_cf(self._kg_input(cf_items), self.source))
        if not self.training:  # the tuned weight applies at serving; training learns with 1
            term = term * torch.where(self.source > 0, 1.0, self.cold_kg_scale).unsqueeze(1)
        return text + term

    def _kg_input(self, cf_items: torch.Tensor) -> torch.Tensor:
        if self.config.kg_source == "base":
            cf_items = self.cf.embedding.weight[self.data.num_users :]
        return cf_items.detach() if self.config.kg_detach else cf_items

    def kg_term(self, k: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
        """γ_i · M k_i with γ_i = σ(a · log(1 + W_i) + b) (or 1 without the gate)."""
        mapped = self.kg_map(k)
        if not self.config.kg_gate:
            return mapped
        return torch.sigmoid(self.kg_gate(torch.log1p(support).unsqueeze(1))) * mapped

    def text_content(self, needed: torch.Tensor | None = None) -> torch.Tensor:
        assert self.content is not None
        if needed is None or self.incoming is None:
            return self.content(
                self.item_text, self.entity_text, self.data.kg_edge_index, self.data.kg_edge_type
            )
        sub = sample_subgraph(self.incoming, needed, self.config.sample_fanout,
                              self.config.kg_layers)  # fmt: skip
        h = self.content.forward_subgraph(
            self.item_text, self.entity_text, sub.nodes, sub.edge_index, sub.edge_type
        )
        content = h.new_zeros(self.data.num_items, h.shape[1])
        return content.index_copy(0, needed, h[: len(needed)])

    def fuse(
        self, cf_items: torch.Tensor, content: torch.Tensor | None, log_count: torch.Tensor
    ) -> torch.Tensor:
        if content is None:
            return cf_items
        gate = torch.sigmoid(self.gate(log_count))
        has_cf = (log_count > 0).float()
        return gate * has_cf * cf_items + (1 - gate) * content

    def user_vectors(
        self,
        users: torch.Tensor,
        cf_users: torch.Tensor,
        items: torch.Tensor,
        history: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """p_u for `users` (training: the towers' fresh outputs); see `user_vector`."""
        return self.user_vector(history, users=users, items=items, cf_users=cf_users)

    def pool_history(
        self, base: torch.Tensor, history: torch.Tensor, items: torch.Tensor
    ) -> torch.Tensor:
        mask = history >= 0
        keys = items[history.clamp(min=0)]  # [B, L, d]
        logits = torch.einsum("bd,bld->bl", base + self.query, keys) / keys.shape[-1] ** 0.5
        weights = torch.softmax(logits.masked_fill(~mask, -torch.inf), dim=1).nan_to_num(0.0)
        return self.history_proj(torch.einsum("bl,bld->bd", weights, keys))

    def forward_all(
        self, cold_dropout: float = 0.0, needed: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        propagated = self.cf.get_embedding(self.adjacency)
        cf_users = propagated[: self.data.num_users]
        cf_items = propagated[self.data.num_users :]
        content = self.content_items(cf_items, needed)
        log_count = self.log_count
        if cold_dropout > 0:
            # Drawn on the CPU: every device drops the same items at the same step.
            dropped = (torch.rand(self.data.num_items, 1) < cold_dropout).to(log_count.device)
            log_count = log_count.masked_fill(dropped, 0.0)
        items = self.fuse(cf_items, content, log_count)
        out = {"cf_users": cf_users, "cf_items": cf_items, "items": items, "log_count": log_count}
        if content is not None:
            out["content"] = content
        return out

    # ---- training ----------------------------------------------------------------------------
    @property
    def shared_negatives(self) -> bool:
        """Sampled softmax scores one draw of negatives shared by the batch (`gnn.train`)."""
        return self.config.loss == "softmax"

    def loss(
        self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor | SharedNegatives
    ) -> torch.Tensor:
        cfg = self.config
        needed = None
        if self.incoming is not None:  # the items this step reads: positives, negatives, histories
            history = self.data.history[users]
            drawn = neg.items if isinstance(neg, SharedNegatives) else neg.reshape(-1)
            needed = torch.unique(torch.cat([pos, drawn, history[history >= 0]]))
        out = self.forward_all(cfg.cold_dropout, needed)
        items = out["items"]
        u = self.user_vectors(users, out["cf_users"], items)
        pos_scores = (u * items[pos]).sum(1)
        if isinstance(neg, SharedNegatives):
            neg_scores = (u @ items[neg.items].T).masked_fill(neg.own, -torch.inf)
            loss = sampled_softmax_loss(pos_scores, neg_scores, cfg.temperature)
        elif cfg.loss == "softmax":
            neg_scores = (u.unsqueeze(1) * items[neg]).sum(-1)
            loss = sampled_softmax_loss(pos_scores, neg_scores, cfg.temperature)
        else:
            loss = bpr_loss(pos_scores, (u * items[neg[:, 0]]).sum(1))
        base = self.cf.embedding.weight
        reg = (base[users].pow(2).sum() + base[pos + self.data.num_users].pow(2).sum()) / (
            2 * len(users)
        )
        loss = loss + cfg.l2 * reg
        if "content" in out and cfg.align_weight > 0:
            warm = out["log_count"][pos, 0] > 0
            if warm.any():
                content, target = out["content"][pos[warm]], out["cf_items"][pos[warm]].detach()
                loss = loss + cfg.align_weight * (1 - F.cosine_similarity(content, target)).mean()
        return loss

    # ---- serving -----------------------------------------------------------------------------
    def refresh(self) -> None:
        with torch.no_grad():
            self._cache = self.forward_all()
            if self.kg_cf is not None:  # what a new item's KG term reads (`embed_new_items`)
                sums = self.kg_cf.entity_sums(self._kg_input(self._cache["cf_items"]), self.source)
                self._cache["kg_entity_sums"], self._cache["kg_entity_counts"] = sums

    def cached(self) -> dict[str, torch.Tensor]:
        if not self._cache:
            self.refresh()
        return self._cache

    def score(self, users: torch.Tensor, tail_boost: float = 0.0) -> torch.Tensor:
        """Full-catalogue scores [B, I] of known users (evaluation)."""
        return self.scores(self.user_vector(users=users), tail_boost)

    # ---- the serving formula: the API, the facade and evaluation call these -------------------
    def user_vector(
        self,
        history: torch.Tensor | None = None,
        attributes: torch.Tensor | None = None,
        *,
        users: torch.Tensor | None = None,
        query: torch.Tensor | None = None,
        items: torch.Tensor | None = None,
        cf_users: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """p [B, d] = f + W_h Σ_j α_j z_j + Σ_a A_a[x_a] + Σ_m w_m z_m.

        Known users (`users` [B]): f = f_u, their CF row; `history` None reads their
        training history, `attributes` None their training codes. Visitors (`users` None):
        f = 0 (attention from the query vector alone); only what is given counts.
        history [B, L]: item indices, most recent first, −1 padded; attributes [B, A]:
        codes (0 = not given, as in training); query [B, N]: the relevance r_i of each item
        to a text query (cosine of LM texts), whose pseudo-session is its
        `QUERY_NEIGHBOURS` best items m, w = softmax(r_m / `QUERY_TEMPERATURE`).
        Without the history tower (`use_history` off) a visitor's history counts as the
        mean of its items' z. items [N, d]: the item vectors histories index (default:
        the cached z; serving passes its catalogue, which holds items added live).
        """
        cache = self.cached() if items is None or (users is not None and cf_users is None) else {}
        items = cache["items"] if items is None else items
        if users is not None:
            base = (cache["cf_users"] if cf_users is None else cf_users)[users]
            history = self.data.history[users] if history is None else history
            if attributes is None and self.attributes:
                attributes = self.data.user_attr[users]
        else:
            given = [t for t in (history, attributes, query) if t is not None]
            base = items.new_zeros(len(given[0]) if given else 1, items.shape[1])
        vector = base
        if history is not None and self.config.use_history:
            vector = vector + self.pool_history(base, history, items)
        elif history is not None and users is None:
            mask = (history >= 0).unsqueeze(2).float()
            total = (items[history.clamp(min=0)] * mask).sum(1)
            vector = vector + total / mask.sum(1).clamp(min=1)
        if attributes is not None:
            for a, table in enumerate(self.attributes):
                vector = vector + table(attributes[:, a])
        if query is not None:
            near = torch.topk(query, min(QUERY_NEIGHBOURS, query.shape[1]), dim=1)
            weights = torch.softmax(near.values / QUERY_TEMPERATURE, 1)
            vector = vector + (weights.unsqueeze(2) * items[near.indices]).sum(1)
        return vector

    def scores(
        self,
        user_vectors: torch.Tensor,
        tail_boost: float | Sequence[float] = 0.0,
        *,
        items: torch.Tensor | None = None,
        log_count: torch.Tensor | None = None,
        relevance: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """s [B, N] (or [N] for one vector [d]):

            s(u, i) = ⟨p_u, z_i⟩ + σ_u · std(r_u)_i − λ_u · log(1 + n_i).

        λ: the tail-boost knob (one, or one per row); relevance r (a text query's, see
        `user_vector`), standardised per row and rescaled to the spread σ_u of ⟨p_u, z⟩,
        so the model ranks within what the text asks for. items [N, d] and log_count [N]
        default to the cached z and the training counts.
        """
        if items is None:
            items = self.cached()["items"]
        if log_count is None:
            log_count = self.log_count[:, 0]
        # One vector: a matrix-vector product (the hot path of one request).
        scores = items @ user_vectors if user_vectors.dim() == 1 else user_vectors @ items.T
        if relevance is not None:
            n = scores.shape[-1]
            spread = scores.std(-1, keepdim=True) if n > 1 else torch.ones_like(scores[..., :1])
            spread = torch.where(spread > 0, spread, 1.0)
            mean, std = relevance.mean(-1, keepdim=True), relevance.std(-1, keepdim=True)
            scores = scores + spread * (relevance - mean) / std.clamp(min=1e-6)
        if not isinstance(tail_boost, int | float) and len(tail_boost) == 1:
            tail_boost = float(tail_boost[0])
        if isinstance(tail_boost, int | float):
            if tail_boost:
                scores.add_(log_count, alpha=-tail_boost)
        elif any(tail_boost):
            boosts = torch.as_tensor(tail_boost, dtype=scores.dtype, device=scores.device)
            scores -= boosts.unsqueeze(1) * log_count.unsqueeze(0)
        return scores

    def recommend(
        self,
        user_vectors: torch.Tensor,
        k: int | Sequence[int],
        exclude: Sequence[torch.Tensor | None] | None = None,
        candidates: torch.Tensor | Sequence[torch.Tensor | None] | None = None,
        tail_boost: float | Sequence[float] = 0.0,
        *,
        items: torch.Tensor | None = None,
        log_count: torch.Tensor | None = None,
        relevance: torch.Tensor | None = None,
    ) -> list[Ranked]:
        """The best k items per user vector [B, d]: `scores`, then masking and top-k
        (`gnn.ranking`: excluded and filtered-out items never come back). The vectors are
        the detached ones serving holds (no autograd graph is built for them)."""
        if len(user_vectors) > 1:
            scores = self.scores(user_vectors, tail_boost, items=items, log_count=log_count,
                                 relevance=relevance)  # fmt: skip
            return top_k(scores, k, exclude, candidates)
        # One request, the hot path: one row of scores, no batch bookkeeping.
        boost = tail_boost if isinstance(tail_boost, int | float) else tail_boost[0]
        row = self.scores(user_vectors[0], boost, items=items, log_count=log_count,
                          relevance=None if relevance is None else relevance[0])  # fmt: skip
        mask = candidates if isinstance(candidates, torch.Tensor) or candidates is None else (
            candidates[0]
        )  # fmt: skip
        return [
            top_k_row(
                row,
                k if isinstance(k, int) else k[0],
                None if exclude is None else exclude[0],
                None if mask is None else mask.reshape(-1),
            )
        ]

    def embed_new_items(
        self, text: torch.Tensor, links: list[list[tuple[int, int]]]
    ) -> torch.Tensor:
        """Fused vectors z [n, d] for items added after training — no retraining.

        text: [n, t] LM embeddings of the new items' text (`encoders.item_text`);
        links[k]: (node, relation id) pairs for new item k, where node indexes the KG
        graph (items 0..I−1, KG entities I..I+E'−1) and the relation id is a forward
        relation (`relation_names[:R]`); the reverse edge is added as in training.
        A new item has no interactions, so it is fused as a cold item (content only).
        """
        if self.content is None:
            raise ValueError("this model has no content tower (use_text and use_kg are off)")
        n, base = len(text), self.data.num_items + self.data.num_entities
        device = self.data.device
        text = text.to(device)
        num_forward = self.data.num_relations // 2
        src, dst, types = [], [], []
        for k, item_links in enumerate(links):
            for node, relation in item_links:
                if not 0 <= node < base:
                    raise ValueError(f"link target {node} is not a KG node (0..{base - 1})")
                if not 0 <= relation < max(num_forward, 1):
                    raise ValueError(f"relation id {relation} is not a forward relation")
                src += [base + k, node]
                dst += [node, base + k]
                types += [relation, relation + num_forward]
        text = text if self.config.use_text else torch.zeros_like(text)
        with torch.no_grad():
            if self.content.use_kg:  # attention over the KG: the new nodes join the graph
                new_edges = torch.tensor([src, dst], dtype=torch.long, device=device)
                edge_index = torch.cat([self.data.kg_edge_index, new_edges], 1)
                edge_type = torch.cat(
                    [self.data.kg_edge_type, torch.tensor(types, dtype=torch.long, device=device)]
                )
                content = self.content(
                    self.item_text, self.entity_text, edge_index, edge_type, extra_item_text=text
                )[self.data.num_items :]
            else:  # the text projection is per item: the new rows alone
                content = self.content.project(text)
            if self.kg_cf is not None:
                new_links = (
                    torch.tensor(
                        [k for k, item in enumerate(links) for _ in item], dtype=torch.long
                    ),
                    torch.tensor([node for item in links for node, _ in item], dtype=torch.long),
                    torch.tensor([rel for item in links for _, rel in item], dtype=torch.long),
                )
                cache = self.cached()
                k, support = self.kg_cf(
                    self._kg_input(cache["cf_items"]), self.source,
                    tuple(t.to(device) for t in new_links), num_extra=n, only_extra=True,
                    entity_sums=(cache["kg_entity_sums"], cache["kg_entity_counts"]),
                )  # fmt: skip
                content = content + self.cold_kg_scale * self.kg_term(k, support)
            zero_cf = torch.zeros_like(content)
            return self.fuse(zero_cf, content, torch.zeros(n, 1, device=device))

    def tune(self, validate: Callable[..., float]) -> dict[str, float]:
        """The KG term's weight for items without interactions, from `COLD_KG_SCALES`, by
        hybrid validation NDCG@20 (the served list: warm and cold items together)."""
        if self.kg_cf is None:
            return {}
        scored = []
        for scale in COLD_KG_SCALES:
            self.cold_kg_scale.fill_(scale)
            scored.append((validate("hybrid_valid"), scale))
        best = max(scored)[1]
        self.cold_kg_scale.fill_(best)
        self.refresh()
        return {"cold_kg_scale": best}

    def use_tuned(self, values: dict[str, float]) -> None:
        if "cold_kg_scale" in values:
            self.cold_kg_scale.fill_(float(values["cold_kg_scale"]))
            self.refresh()

    def config_dict(self) -> dict[str, object]:
        return self.config.model_dump()
