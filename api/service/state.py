"""What one loaded run serves from: the model, its tensors, id maps, KG lookups, live overlays.

`load_state(run_dir)` builds a complete `ServingState`; the app holds one reference to
it and swaps the reference on reload, so a request that started on the old state keeps
using that object to the end (see `runtime.Runtime.reload`).

Everything a recommendation needs is precomputed here, once:

- item vectors z [N, d] (and their unit rows for cosine), log(1 + training count),
  popularity bucket per item (head/mid/tail by `gnn.evaluate.popularity_buckets`,
  "cold" for items with no training interaction and items added live);
- user vectors p_u [U, d] for every known user, from the run's own histories;
- the items each user already interacted with, as CSR (pointer + item indices): the
  run's training interactions *and* its held-out valid/test/cold interactions, which are
  real interactions in the graph too (recommending them back would be wrong in serving);
- KG lookups from the run's own KG edges: items per entity, item masks per entity
  type, node degrees (rarity, for explanations).

Live overlays (`LiveState`) change without retraining: a recorded interaction moves the
item to the front of the user's history (`TailgraphModel.user_vector`
recomputes p_u once, at write time, so reads stay a lookup) and adds it to the user's seen
items; an added item is embedded with `embed_new_items` and appended to the catalogue.
Overlay writes replace whole dict values (a row tensor, a catalogue object) so readers in
other threads see either the old or the new value, never half of one.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tailgraph.encoders import item_text
from tailgraph.gnn.data import HISTORY_LENGTH, AttributeColumn, TrainData
from tailgraph.gnn.evaluate import popularity_buckets
from tailgraph.gnn.models.tailgraph import TailgraphModel
from tailgraph.gnn.ranking import Ranked, similar
from tailgraph.gnn.run_dir import load_run, read_tables
from torch.nn import functional as F

BUCKETS = ("head", "mid", "tail")
COLD = "cold"
EMPTY = torch.zeros(0, dtype=torch.long)


class RunLoadError(ValueError):
    """A run directory that cannot be served (missing files, wrong shapes)."""


# ---- pieces ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewItem:
    """An item added through the API; kept so a reload can re-embed it with the new model."""

    id: str
    title: str
    description: str | None
    attributes: Mapping[str, Any]
    links: tuple[tuple[str, str], ...]  # (forward relation name, target item/entity id)


@dataclass(frozen=True)
class KnowledgeGraph:
    """The run's KG: entity id maps, forward relations, degrees; nodes = items then entities."""

    num_items: int
    entity_ids: list[str]
    entity_index: dict[str, int]  # entity id -> row k (KG node num_items + k)
    entity_names: list[str]
    entity_types: list[str]
    relations: dict[str, int]  # forward relation name -> id
    degree: np.ndarray  # [I + E'] undirected KG degree (rarity for explanations)

    def node_of(self, node_id: str, items: Mapping[str, int]) -> int | None:
        """KG node index of an entity id or of a trained item id."""
        if node_id in self.entity_index:
            return self.num_items + self.entity_index[node_id]
        item = items.get(node_id)
        return item if item is not None and item < self.num_items else None


@dataclass(frozen=True)
class Catalogue:
    """Every recommendable item: the run's items, then the ones added live. Immutable."""

    ids: list[str]
    index: dict[str, int]
    titles: list[str]
    z: torch.Tensor  # [N, d]
    unit: torch.Tensor  # [N, d] z / ‖z‖
    log_count: torch.Tensor  # [N] log(1 + training interactions)
    text: torch.Tensor  # [N, t] LM text embeddings (unit rows; zero = no text)
    count: list[int]
    bucket: list[str]
    fragments: list[str]  # per item: '{"item_id": .., ..., "score": ' (see item_fragment)
    entity_items: dict[str, torch.Tensor]  # entity id -> indices of items linked to it
    type_mask: dict[str, torch.Tensor]  # entity type -> [N] bool: linked to an entity of it
    num_trained: int
    model: TailgraphModel = field(repr=False, compare=False)  # scores with the run's formula
    added: dict[str, NewItem] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def recommend(
        self,
        vectors: torch.Tensor,
        k: int | Sequence[int],
        exclude: Sequence[torch.Tensor | None] | None = None,
        candidates: torch.Tensor | Sequence[torch.Tensor | None] | None = None,
        tail_boost: float | Sequence[float] = 0.0,
        relevance: torch.Tensor | None = None,
    ) -> list[Ranked]:
        """The best k of this catalogue for each user vector [B, d]
        (`TailgraphModel.recommend` over these items, the live-added ones included)."""
        return self.model.recommend(vectors, k, exclude, candidates, tail_boost, items=self.z,
                                    log_count=self.log_count, relevance=relevance)  # fmt: skip

    def similar(self, item: int, k: int, candidates: torch.Tensor | None = None) -> Ranked:
        """Cosine neighbours of one item (`gnn.ranking.similar`)."""
        return similar(self.unit, item, k, candidates)

    def with_items(
        self,
        items: Sequence[NewItem],
        z_new: torch.Tensor,
        text_new: torch.Tensor,
        kg: KnowledgeGraph,
    ) -> Catalogue:
        """A new catalogue with `items` appended (copy on write: readers keep the old one)."""
        start = len(self.ids)
        ids = self.ids + [item.id for item in items]
        index = dict(self.index)
        index.update({item.id: start + k for k, item in enumerate(items)})
        entity_items = dict(self.entity_items)
        new_types: dict[str, list[int]] = {}
        for k, item in enumerate(items):
            for _, target in item.links:
                if target in kg.entity_index:
                    row = torch.tensor([start + k])
                    entity_items[target] = torch.cat([entity_items.get(target, EMPTY), row])
                    kind = kg.entity_types[kg.entity_index[target]]
                    new_types.setdefault(kind, []).append(start + k)
        grow = torch.zeros(len(items), dtype=torch.bool)
        type_mask = {kind: torch.cat([mask, grow]) for kind, mask in self.type_mask.items()}
        for kind, rows in new_types.items():
            mask = type_mask.get(kind, torch.zeros(len(ids), dtype=torch.bool)).clone()
            mask[rows] = True
            type_mask[kind] = mask
        return replace(
            self,
            ids=ids,
            index=index,
            titles=self.titles + [item.title for item in items],
            z=torch.cat([self.z, z_new]),
            unit=torch.cat([self.unit, F.normalize(z_new, dim=1)]),
            log_count=torch.cat([self.log_count, torch.zeros(len(items))]),
            text=torch.cat([self.text, text_new]),
            count=self.count + [0] * len(items),
            bucket=self.bucket + [COLD] * len(items),
            fragments=self.fragments
            + [item_fragment(item.id, item.title, COLD, 0) for item in items],
            entity_items=entity_items,
            type_mask=type_mask,
            added={**self.added, **{item.id: item for item in items}},
        )


@dataclass(frozen=True)
class AttributeVocabulary:
    """User attribute values → the category codes the model's attribute tables were trained
    on (`gnn.data.AttributeColumn`s, stored in the run directory)."""

    columns: list[AttributeColumn]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def encode(self, attributes: Mapping[str, Any]) -> tuple[torch.Tensor, list[tuple[str, str]]]:
        """Codes [A] (0 = not given) and the (attribute, problem) pairs that were refused."""
        out = torch.zeros(len(self.columns), dtype=torch.long)
        problems = []
        for name, value in attributes.items():
            if name not in self.names:
                problems.append((name, f"unknown attribute; expected one of {self.names}"))
                continue
            a = self.names.index(name)
            code = self.columns[a].code(value)
            if code is None:
                known = sorted(self.columns[a].categories)[:20]
                problems.append((name, f"unknown value {value!r}; expected one of {known}"))
                continue
            out[a] = code
        return out, problems

    def describe(self) -> dict[str, list[str]]:
        return {column.name: sorted(column.categories) for column in self.columns}


@dataclass(frozen=True)
class Users:
    ids: list[str]
    index: dict[str, int]
    vectors: torch.Tensor  # [U, d] p_u from the run's histories
    seen_pointer: torch.Tensor  # [U + 1]
    seen_items: torch.Tensor  # items each user interacted with in the run, CSR

    def seen(self, user: int) -> torch.Tensor:
        return self.seen_items[self.seen_pointer[user] : self.seen_pointer[user + 1]]


@dataclass
class LiveState:
    """Per-user changes since the run was loaded (recorded interactions)."""

    history: dict[int, torch.Tensor] = field(default_factory=dict)  # user -> [L]
    seen: dict[int, torch.Tensor] = field(default_factory=dict)  # user -> item indices
    vectors: dict[int, torch.Tensor] = field(default_factory=dict)  # user -> p_u [d]


# ---- the state -------------------------------------------------------------------------------
class ServingState:
    def __init__(
        self,
        run_dir: Path,
        model: TailgraphModel,
        data: TrainData,
        config: dict[str, Any],
        tables: dict[str, pd.DataFrame],
        text_model: str | None,
    ) -> None:
        self.run_dir = run_dir
        self.model = model
        self.data = data
        self.config = config
        self.text_model = text_model
        self.loaded_at = time.time()
        cache = model.cached()
        self.cf_users = cache["cf_users"]
        self.kg = _knowledge_graph(data, tables["entities"])
        self.catalogue = _catalogue(model, data, tables["items"], cache["items"], self.kg)
        self.users = _users(model, data, tables["users"], self.cf_users, cache["items"])
        self.attributes = AttributeVocabulary(data.user_attr_columns) if model.attributes else None
        self.live = LiveState()

    # -- facts --
    @property
    def dim(self) -> int:
        return int(self.catalogue.z.shape[1])

    def describe(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "dataset": self.config.get("dataset"),
            "loaded_at": self.loaded_at,
            "items": len(self.catalogue),
            "items_added": len(self.catalogue.added),
            "users": len(self.users.ids),
            "entities": len(self.kg.entity_ids),
            "relations": sorted(self.kg.relations),
            "text_model": self.text_model,
        }

    # -- users --
    def user_vector(self, user: int) -> torch.Tensor:
        live = self.live.vectors.get(user)
        return self.users.vectors[user] if live is None else live

    def seen(self, user: int) -> torch.Tensor:
        live = self.live.seen.get(user)
        run = self.users.seen(user)
        return run if live is None else torch.cat([run, live])

    def history(self, user: int) -> torch.Tensor:
        live = self.live.history.get(user)
        return self.data.history[user] if live is None else live

    def record(self, user: int, item: int) -> torch.Tensor:
        """Put `item` at the front of the user's history; returns the new history row.

        Callers serialise writes (one writer at a time); readers need no lock.
        """
        old = self.history(user)
        kept = old[(old != item) & (old >= 0)]
        row = torch.full((HISTORY_LENGTH,), -1, dtype=torch.long)
        recent = torch.cat([torch.tensor([item]), kept])[:HISTORY_LENGTH]
        row[: len(recent)] = recent
        z = self.catalogue.z
        with torch.no_grad():
            vector = self.model.user_vector(
                row[None], users=torch.tensor([user]), items=z, cf_users=self.cf_users
            )[0]
        seen = self.live.seen.get(user, EMPTY)
        if not bool((seen == item).any()):
            self.live.seen[user] = torch.cat([seen, torch.tensor([item])])
        self.live.history[user] = row
        self.live.vectors[user] = vector
        return row

    def knows_interaction(self, user: int, item: int) -> bool:
        return bool((self.seen(user) == item).any())

    # -- anonymous visitors --
    def visitor_vector(
        self,
        session: torch.Tensor | None,
        query: torch.Tensor | None,
        attributes: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The user vector [1, d] of a visitor the model does not know, and the text
        relevance [1, N] of the query (None without one), for `Catalogue.recommend`.

        The model's user tower without an ID row (`TailgraphModel.user_vector`): the
        session items (most recent first) as the history, the attribute codes, the
        query's relevance r_i = cos(q, t_i) to every item's LM text. Measured on
        sample-small (12 genre queries, share of the genre's items in the top 10):
        projecting q with `content.project` 0.44, pseudo-session alone 0.60, with the
        relevance blended into the scores 0.77, text cosine alone 0.79 — the blend keeps
        the text's precision while the model picks among the matches (docs/decisions.md).
        """
        history = None
        if session is not None and len(session):
            history = torch.full((1, HISTORY_LENGTH), -1, dtype=torch.long)
            recent = session[:HISTORY_LENGTH]
            history[0, : len(recent)] = recent
        relevance = None if query is None else (self.catalogue.text @ query)[None]
        codes = None if attributes is None else attributes[None]
        with torch.no_grad():
            vector = self.model.user_vector(history, codes, query=relevance, items=self.catalogue.z)
        return vector, relevance

    # -- filters --
    def candidates(self, entity_id: str | None, entity_type: str | None) -> torch.Tensor | None:
        """[N] bool of items linked to the entity / to an entity of the type; None = all."""
        cat = self.catalogue
        mask: torch.Tensor | None = None
        if entity_id is not None:
            mask = torch.zeros(len(cat), dtype=torch.bool)
            mask[cat.entity_items.get(entity_id, EMPTY)] = True
        if entity_type is not None:
            by_type = cat.type_mask[entity_type]
            mask = by_type if mask is None else mask & by_type
        return mask

    # -- new items --
    def resolve_links(
        self, links: Sequence[tuple[str, str]]
    ) -> tuple[list[tuple[int, int]], list[tuple[int, str, str]]]:
        """(KG node, relation id) pairs, and (link position, field, problem) for refusals."""
        resolved, problems = [], []
        for k, (relation, target) in enumerate(links):
            relation_id = self.kg.relations.get(relation)
            if relation_id is None:
                problems.append(
                    (
                        k,
                        "relation",
                        f"unknown relation {relation!r}; expected one "
                        f"of {sorted(self.kg.relations)}",
                    )
                )
            node = self.kg.node_of(target, self.catalogue.index)
            if node is None:
                if target in self.catalogue.added:
                    problems.append(
                        (
                            k,
                            "target",
                            f"{target!r} was added after training; "
                            "links to it are possible after the next training run",
                        )
                    )
                else:
                    problems.append((k, "target", f"no entity or trained item {target!r}"))
            if relation_id is not None and node is not None:
                resolved.append((node, relation_id))
        return resolved, problems

    def related_names(self, links: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """(relation, target name) pairs for the item text template, as in training."""
        out = []
        for relation, target in links:
            if target in self.kg.entity_index:
                name = self.kg.entity_names[self.kg.entity_index[target]]
            else:
                name = self.catalogue.titles[self.catalogue.index[target]]
            out.append((relation, name))
        return out

    def item_text(self, item: NewItem) -> str:
        """The text of an added item, by the training template (`encoders.item_text`)."""
        return item_text(
            item.title, item.description, dict(item.attributes), self.related_names(item.links)
        )

    def embed(self, text: torch.Tensor, links: list[list[tuple[int, int]]]) -> torch.Tensor:
        return self.model.embed_new_items(text, links)

    def add_items(self, items: Sequence[NewItem], z_new: torch.Tensor, text: torch.Tensor) -> None:
        """Append embedded items; callers serialise writes."""
        self.catalogue = self.catalogue.with_items(items, z_new, text, self.kg)


def item_fragment(item_id: str, title: str, bucket: str, count: int) -> str:
    """The JSON of a `ScoredItem` up to its score, encoded once per item at load time: a
    response then costs one string join, not twenty model validations."""
    head = json.dumps({"item_id": item_id, "title": title, "popularity": bucket,
                       "interactions": count})  # fmt: skip
    return head[:-1] + ', "score": '


# ---- building ----------------------------------------------------------------------------------
def _knowledge_graph(data: TrainData, entities: pd.DataFrame) -> KnowledgeGraph:
    num_nodes = data.num_items + data.num_entities
    edge_index = data.kg_edge_index.numpy()
    # Every triple is stored in both directions: half the summed degree is the undirected one.
    degree = (
        np.bincount(edge_index[0], minlength=num_nodes)
        if edge_index.size
        else np.zeros(num_nodes, dtype=np.int64)
    )
    ids = entities["id"].astype(str).tolist()
    num_forward = data.num_relations // 2
    return KnowledgeGraph(
        num_items=data.num_items,
        entity_ids=ids,
        entity_index={entity: k for k, entity in enumerate(ids)},
        entity_names=entities["name"].fillna("").astype(str).tolist(),
        entity_types=entities["type"].fillna("").astype(str).tolist(),
        relations={name: k for k, name in enumerate(data.relation_names[:num_forward])},
        degree=degree,
    )


def _catalogue(
    model: TailgraphModel, data: TrainData, items: pd.DataFrame, z: torch.Tensor, kg: KnowledgeGraph
) -> Catalogue:
    if len(items) != data.num_items or z.shape[0] != data.num_items:
        raise RunLoadError(
            f"items.parquet has {len(items)} rows and z {z.shape[0]}; expected {data.num_items}"
        )
    ids = items["id"].astype(str).tolist()
    count = data.item_count.long()
    code = popularity_buckets(data)
    bucket = [
        COLD if n == 0 or b < 0 else BUCKETS[b]
        for n, b in zip(count.tolist(), code.tolist(), strict=True)
    ]
    # Item ↔ entity links of the KG (both directions are stored; keep item -> entity).
    src, dst = data.kg_edge_index
    link = (src < data.num_items) & (dst >= data.num_items)
    pairs = (
        np.unique(np.stack([dst[link].numpy() - data.num_items, src[link].numpy()], axis=1), axis=0)
        if bool(link.any())
        else np.zeros((0, 2), dtype=np.int64)
    )
    entity_items: dict[str, torch.Tensor] = {}
    type_mask: dict[str, torch.Tensor] = {
        kind: torch.zeros(data.num_items, dtype=torch.bool) for kind in set(kg.entity_types)
    }
    if len(pairs):
        starts = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]])
        for start, end in zip(starts, np.r_[starts[1:], len(pairs)], strict=True):
            entity = int(pairs[start, 0])
            rows = torch.from_numpy(pairs[start:end, 1].copy())
            entity_items[kg.entity_ids[entity]] = rows
            type_mask[kg.entity_types[entity]][rows] = True
    z = z.detach().float().contiguous()
    titles = items["title"].fillna("").astype(str).tolist()
    return Catalogue(
        ids=ids,
        index={item: k for k, item in enumerate(ids)},
        titles=titles,
        z=z,
        unit=F.normalize(z, dim=1),
        log_count=torch.log1p(data.item_count.float()),
        text=data.item_text.float().contiguous(),
        count=count.tolist(),
        bucket=bucket,
        fragments=[
            item_fragment(i, t, b, n)
            for i, t, b, n in zip(ids, titles, bucket, count.tolist(), strict=True)
        ],
        entity_items=entity_items,
        type_mask=type_mask,
        num_trained=data.num_items,
        model=model,
    )


def _seen_csr(data: TrainData) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (user, item) interaction the run knows: training plus the held-out sets."""
    users = [data.train_user]
    items = [data.train_item]
    for csr in (
        data.seen.get("test"),
        data.relevant.get("test"),
        data.relevant.get("cold"),
        data.relevant.get("cold_valid"),
        data.relevant.get("valid"),
    ):
        if csr is None:
            continue
        pointer, rows = csr
        users.append(torch.repeat_interleave(torch.arange(len(pointer) - 1), pointer.diff()))
        items.append(rows)
    pairs = torch.unique(torch.stack([torch.cat(users), torch.cat(items)], 1), dim=0)
    counts = torch.bincount(pairs[:, 0], minlength=data.num_users)
    pointer = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])
    return pointer, pairs[:, 1].contiguous()


def _users(
    model: TailgraphModel,
    data: TrainData,
    users: pd.DataFrame,
    cf_users: torch.Tensor,
    z: torch.Tensor,
) -> Users:
    if len(users) != data.num_users:
        raise RunLoadError(f"users.parquet has {len(users)} rows; expected {data.num_users}")
    ids = users["id"].astype(str).tolist()
    with torch.no_grad():
        vectors = (
            torch.cat(
                [
                    model.user_vector(users=batch, items=z, cf_users=cf_users)
                    for batch in torch.arange(data.num_users).split(4096)
                ]
            )
            if data.num_users
            else torch.zeros(0, z.shape[1])
        )
    pointer, seen = _seen_csr(data)
    return Users(ids, {user: k for k, user in enumerate(ids)}, vectors.contiguous(), pointer, seen)


def _text_model(run_dir: Path) -> str | None:
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    text = metrics.get("text") or {}
    return text.get("model") if isinstance(text, dict) else None


def load_state(run_dir: Path) -> ServingState:
    """Load a run directory into a complete serving state (raises `RunLoadError`)."""
    run_dir = Path(run_dir)
    required = (
        "config.json",
        "model.safetensors",
        "data.safetensors",
        "items.parquet",
        "users.parquet",
        "entities.parquet",
    )
    try:
        missing = [name for name in required if not (run_dir / name).is_file()]
    except OSError as exc:  # e.g. a name too long for the file system
        raise RunLoadError(f"{run_dir}: cannot read ({exc.strerror or exc})") from exc
    if missing:
        raise RunLoadError(f"{run_dir}: not a run directory (missing {', '.join(missing)})")
    try:
        model, data, config = load_run(run_dir)
        tables = read_tables(run_dir)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise RunLoadError(f"{run_dir}: cannot load the run ({exc})") from exc
    state = ServingState(run_dir, model, data, config, tables, _text_model(run_dir))
    if not math.isfinite(float(state.catalogue.z.abs().sum())):
        raise RunLoadError(f"{run_dir}: item vectors contain NaN or infinity")
    return state
