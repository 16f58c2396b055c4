"""Tensors the models train on, built once from a graph snapshot, a split and text embeddings.

Node spaces: users `0..U-1`, items `0..I-1`, entities `0..E-1` (snapshot row order).
The knowledge graph is used as one homogeneous graph over `I + E'` nodes (items
first, then the E' entities kept for propagation, see `propagation_edges`) with a
relation id per edge; every triple appears in both
directions, the reverse with its own relation id (`<REL>__rev`), so information
flows entity → item and item → entity.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from tailgraph.encoders import entity_text, item_properties_text
from tailgraph.gnn.split import Split
from tailgraph.kg.snapshot import GraphSnapshot

HISTORY_LENGTH = 20


@dataclass(frozen=True)
class AttributeColumn:
    """One user attribute the models embed: code k + 1 ↔ `categories[k]`, 0 = not given.

    Stored in the run directory, so serving codes a visitor's value exactly as training did.
    """

    name: str
    categories: list[str]
    bins: list[float] | None = None  # quantile edges, when a numeric column was binned

    @property
    def size(self) -> int:
        return len(self.categories) + 1

    def code(self, value: Any) -> int | None:
        """The code of a raw value (a number of a binned column is binned first); None when
        the value was never seen in training."""
        key = str(value)
        if self.bins is not None and isinstance(value, int | float) and not isinstance(value, bool):
            bins = np.asarray(self.bins, dtype=float)
            key = str(pd.cut(pd.Series([value]), bins, include_lowest=True)[0])
        try:
            return self.categories.index(key) + 1
        except ValueError:
            return None


@dataclass
class TrainData:
    num_users: int
    num_items: int
    num_entities: int
    train_user: torch.Tensor  # [T] long
    train_item: torch.Tensor  # [T] long
    item_text: torch.Tensor  # [I, d] float, unit rows (zero rows for items without text)
    entity_text: torch.Tensor  # [E', d] for the entities kept in the propagation graph
    kg_entities: torch.Tensor  # [E'] snapshot entity index of each KG entity node
    kg_edge_index: torch.Tensor  # [2, 2K] over I + E nodes
    kg_edge_type: torch.Tensor  # [2K]
    relation_names: list[str]
    item_count: torch.Tensor  # [I] training interactions per item
    history: torch.Tensor  # [U, L] most recent training items, -1 = padding
    user_attr: torch.Tensor  # [U, A] category codes, 0 = missing
    user_attr_columns: list[AttributeColumn]
    cold_items: torch.Tensor  # [C] long: the cold test items
    warm_mask: torch.Tensor  # [I] bool: neither a cold test nor a cold validation item
    cold_valid_items: torch.Tensor  # [Cv] long
    kg_degree: torch.Tensor  # [I] long: triples the item is in (snapshot KG, before pruning)
    # Evaluation sets: per user, item lists (CSR-like: pointer + items).
    seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    relevant: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)

    @property
    def user_attr_sizes(self) -> list[int]:
        return [column.size for column in self.user_attr_columns]

    @property
    def num_relations(self) -> int:
        return len(self.relation_names)

    @property
    def device(self) -> torch.device:
        return self.item_count.device

    def to(self, device: torch.device | str) -> TrainData:
        """A copy with every tensor on `device` (this one when nothing moves)."""
        device = torch.device(device)
        if device == self.device:
            return self
        moved: dict[str, Any] = {
            f.name: getattr(self, f.name).to(device)
            for f in fields(self)
            if isinstance(getattr(self, f.name), torch.Tensor)
        }
        for name in ("seen", "relevant"):
            moved[name] = {
                part: (pointer.to(device), items.to(device))
                for part, (pointer, items) in getattr(self, name).items()
            }
        return replace(self, **moved)

    def train_edge_index(self) -> torch.Tensor:
        """User–item bipartite graph over U + I nodes, both directions (for LightGCN)."""
        u = self.train_user
        i = self.train_item + self.num_users
        return torch.cat([torch.stack([u, i]), torch.stack([i, u])], dim=1)


def _csr(users: np.ndarray, items: np.ndarray, num_users: int) -> tuple[torch.Tensor, torch.Tensor]:
    order = np.lexsort((items, users))
    counts = np.bincount(users, minlength=num_users)
    pointer = np.concatenate([[0], np.cumsum(counts)])
    return torch.from_numpy(pointer).long(), torch.from_numpy(items[order]).long()


def item_texts(snapshot: GraphSnapshot, variant: str = "full") -> list[str]:
    """The encoder's item text for every item (template in `encoders.templates`)."""
    items = snapshot.items
    related: list[list[tuple[str, str]]] = [[] for _ in range(len(items))]
    if variant == "full" and len(snapshot.kg_edges):
        names = {
            "entity": snapshot.entities["name"].fillna("").astype(str).to_numpy(),
            "item": items["title"].fillna("").astype(str).to_numpy(),
        }
        out = snapshot.kg_edges[snapshot.kg_edges["head_type"] == "item"]
        for head, relation, tail_type, tail in out[
            ["head", "relation", "tail_type", "tail"]
        ].itertuples(index=False):
            related[head].append((relation, names[tail_type][tail]))
    return [
        item_properties_text(record, rel, variant)  # type: ignore[arg-type]
        for record, rel in zip(items.to_dict("records"), related, strict=True)
    ]


def entity_texts(snapshot: GraphSnapshot) -> list[str]:
    return [
        entity_text(name, type_)
        for name, type_ in zip(snapshot.entities["name"], snapshot.entities["type"], strict=True)
    ]


def propagation_edges(snapshot: GraphSnapshot, entity_has_text: np.ndarray) -> pd.DataFrame:
    """The KG edges worth propagating over.

    Two prunings, both measured (docs/decisions.md):
    - an entity without text linked to fewer than two items carries nothing that
      transfers between items (its ID embedding would be trained by one item only):
      it is dropped, with its edges;
    - a triple whose reverse (tail → head) is also stored under another relation
      (Freebase stores `film → director` and `director → film`) is redundant once every
      edge is used in both directions: only the first relation name of the pair is kept.
    """
    edges = snapshot.kg_edges
    if edges.empty:
        return edges
    item_entity = pd.concat([
        edges.loc[(edges.head_type == "item") & (edges.tail_type == "entity"), ["head", "tail"]]
        .set_axis(["item", "entity"], axis=1),
        edges.loc[(edges.head_type == "entity") & (edges.tail_type == "item"), ["tail", "head"]]
        .set_axis(["item", "entity"], axis=1),
    ]).drop_duplicates()  # fmt: skip
    items_per_entity = np.bincount(item_entity["entity"], minlength=snapshot.num_entities)
    keep_entity = (items_per_entity >= 2) | entity_has_text
    keep = np.ones(len(edges), dtype=bool)
    for side in ("head", "tail"):
        is_entity = (edges[f"{side}_type"] == "entity").to_numpy()
        index = edges[side].to_numpy()
        keep[is_entity] &= keep_entity[index[is_entity]]
    edges = edges[keep]
    # Key each endpoint as (type, index) to find mirrored pairs.
    head = edges["head_type"] + ":" + edges["head"].astype(str)
    tail = edges["tail_type"] + ":" + edges["tail"].astype(str)
    pair = pd.DataFrame({"a": np.minimum(head, tail), "b": np.maximum(head, tail),
                         "relation": edges["relation"].to_numpy()}, index=edges.index)  # fmt: skip
    first = pair.groupby(["a", "b"])["relation"].transform("min")
    return edges[(pair["relation"] == first).to_numpy()]


def kg_graph(
    snapshot: GraphSnapshot, entity_has_text: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor, list[str], torch.Tensor]:
    """(edge_index over I + E' nodes, edge_type, relation names, kept entity indices [E'])."""
    edges = propagation_edges(snapshot, entity_has_text)
    if edges.empty:
        empty = torch.zeros(0, dtype=torch.long)
        return torch.zeros(2, 0, dtype=torch.long), empty, [], empty
    # Only entities left in the graph become nodes (position = row in `kept`).
    used = np.unique(np.concatenate([
        edges.loc[edges.head_type == "entity", "head"].to_numpy(),
        edges.loc[edges.tail_type == "entity", "tail"].to_numpy(),
    ]))  # fmt: skip
    position = np.full(snapshot.num_entities, -1, dtype=np.int64)
    position[used] = np.arange(len(used))

    def node(kind: pd.Series, index: pd.Series) -> np.ndarray:
        out = index.to_numpy().copy()
        is_entity = (kind == "entity").to_numpy()
        out[is_entity] = snapshot.num_items + position[out[is_entity]]
        return out

    head = node(edges["head_type"], edges["head"])
    tail = node(edges["tail_type"], edges["tail"])
    relations = sorted(edges["relation"].unique())
    rel_id = {r: k for k, r in enumerate(relations)}
    forward = edges["relation"].map(rel_id).to_numpy()
    edge_index = np.concatenate([np.stack([head, tail]), np.stack([tail, head])], axis=1)
    edge_type = np.concatenate([forward, forward + len(relations)])
    names = relations + [f"{r}__rev" for r in relations]
    return (
        torch.from_numpy(edge_index).long(),
        torch.from_numpy(edge_type).long(),
        names,
        torch.from_numpy(used).long(),
    )


def user_attributes(users: pd.DataFrame) -> tuple[torch.Tensor, list[AttributeColumn]]:
    """Categorical codes per attribute column (numbers binned into quantiles); 0 = missing."""
    codes, kept = [], []
    for column in (c for c in users.columns if c != "id"):
        values, edges = users[column], None
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > 12:
            binned, edges = pd.qcut(values, q=8, duplicates="drop", retbins=True)
            values = binned.astype(str)
        cat = pd.Categorical(values.astype("string").fillna("<NA>"))
        if len(cat.categories) < 2 or len(cat.categories) > 0.5 * len(users):
            continue  # constant or id-like (e.g. zip codes): no signal to share
        codes.append(cat.codes.astype(np.int64) + 1)
        bins = None if edges is None else [float(e) for e in edges]
        kept.append(AttributeColumn(str(column), [str(c) for c in cat.categories], bins))
    if not codes:
        return torch.zeros(len(users), 0, dtype=torch.long), []
    return torch.from_numpy(np.stack(codes, axis=1)), kept


def recent_history(
    users: np.ndarray, items: np.ndarray, ts: np.ndarray, num_users: int, length: int
) -> torch.Tensor:
    """The `length` most recent items per user (by timestamp, else input order), -1 padded."""
    order = np.lexsort((np.arange(len(users)), np.nan_to_num(ts, nan=0.0), users))
    history = np.full((num_users, length), -1, dtype=np.int64)
    users_sorted, items_sorted = users[order], items[order]
    ends = np.searchsorted(users_sorted, np.arange(num_users), side="right")
    starts = np.concatenate([[0], ends[:-1]])
    for u in range(num_users):
        recent = items_sorted[max(starts[u], ends[u] - length) : ends[u]][::-1]
        history[u, : len(recent)] = recent
    return torch.from_numpy(history)


def build_train_data(
    snapshot: GraphSnapshot,
    split: Split,
    item_text: torch.Tensor,
    entity_text: torch.Tensor,
) -> TrainData:
    x = snapshot.interactions
    users = x["user"].to_numpy()
    items = x["item"].to_numpy()
    ts = x["ts"].to_numpy(dtype=float)
    tr = split.train
    num_users, num_items = snapshot.num_users, snapshot.num_items
    has_text = (entity_text.abs().sum(1) > 0).numpy()
    kg_index, kg_type, relation_names, kg_entities = kg_graph(snapshot, has_text)
    attr, attr_columns = user_attributes(snapshot.users)
    warm = torch.ones(num_items, dtype=torch.bool)
    warm[torch.from_numpy(split.cold_items).long()] = False
    warm[torch.from_numpy(split.cold_valid_items).long()] = False

    data = TrainData(
        num_users=num_users,
        num_items=num_items,
        num_entities=len(kg_entities),
        train_user=torch.from_numpy(users[tr]).long(),
        train_item=torch.from_numpy(items[tr]).long(),
        item_text=item_text.float(),
        entity_text=entity_text.float()[kg_entities],
        kg_entities=kg_entities,
        kg_edge_index=kg_index,
        kg_edge_type=kg_type,
        relation_names=relation_names,
        item_count=torch.from_numpy(np.bincount(items[tr], minlength=num_items)).float(),
        history=recent_history(users[tr], items[tr], ts[tr], num_users, HISTORY_LENGTH),
        user_attr=attr,
        user_attr_columns=attr_columns,
        cold_items=torch.from_numpy(split.cold_items).long(),
        warm_mask=warm,
        cold_valid_items=torch.from_numpy(split.cold_valid_items).long(),
        kg_degree=torch.from_numpy(item_kg_degree(snapshot)),
    )
    none = np.array([], dtype=np.int64)
    seen = {
        "valid": tr,
        "test": np.concatenate([tr, split.valid]),
        "cold": none,
        "cold_valid": none,
        "hybrid": np.concatenate([tr, split.valid, split.cold_valid]),
        "hybrid_valid": tr,
    }
    relevant = {
        "valid": split.valid,
        "test": split.test,
        "cold": split.cold_test,
        "cold_valid": split.cold_valid,
        "hybrid": np.concatenate([split.test, split.cold_test]),
        "hybrid_valid": np.concatenate([split.valid, split.cold_valid]),
    }
    for name, rows in seen.items():
        data.seen[name] = _csr(users[rows], items[rows], num_users)
    for name, rows in relevant.items():
        data.relevant[name] = _csr(users[rows], items[rows], num_users)
    return data


def item_kg_degree(snapshot: GraphSnapshot) -> np.ndarray:
    """[I] the number of KG triples each item is in (as head or tail), before any pruning."""
    edges = snapshot.kg_edges
    degree = np.zeros(snapshot.num_items, dtype=np.int64)
    for side in ("head", "tail"):
        is_item = (edges[f"{side}_type"] == "item").to_numpy()
        degree += np.bincount(edges[side].to_numpy()[is_item], minlength=snapshot.num_items)
    return degree
