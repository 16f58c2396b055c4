"""Export the graph to tables and to a PyG `HeteroData`, streamed page by page.

The graph DB is the source of truth; a snapshot is a frozen copy for training.
Node tables are ordered by id, so the row position of an id is its index in the
PyG tensors: `items.parquet` row k is item node k. Those tables *are* the id ↔
index maps, saved beside the edges:

    <dir>/items.parquet         id, title, description, attribute columns
    <dir>/users.parquet         id, attribute columns
    <dir>/entities.parquet      id, name, type
    <dir>/interactions.parquet  user, item (indices), ts, weight, rating, kind, key, context columns
    <dir>/kg_edges.parquet      head_type, head, relation, tail_type, tail (indices), weight
    <dir>/meta.json             counts, relation list, backend

`to_hetero_data()` builds node types `user`, `item`, `entity`, the edge type
(`user`, `interacted`, `item`) with `ts`/`weight`/`rating` edge attributes, and one
edge type per KG relation and endpoint types, e.g. (`item`, `HAS_GENRE`, `entity`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tailgraph.kg.dataset import Dataset
from tailgraph.kg.store import GraphStore
from tailgraph.kg.validate import PreparedImport

from tailgraph.atomic import atomic_dir

LABEL_TO_TYPE = {"Item": "item", "Entity": "entity", "User": "user"}
INTERACTION_FIXED = ("key", "ts", "weight", "rating", "kind")


@dataclass
class GraphSnapshot:
    items: pd.DataFrame
    users: pd.DataFrame
    entities: pd.DataFrame
    interactions: pd.DataFrame
    kg_edges: pd.DataFrame

    @property
    def num_items(self) -> int:
        return len(self.items)

    @property
    def num_users(self) -> int:
        return len(self.users)

    @property
    def num_entities(self) -> int:
        return len(self.entities)

    def relations(self) -> list[tuple[str, str, str]]:
        groups = self.kg_edges[["head_type", "relation", "tail_type"]].drop_duplicates()
        return sorted(map(tuple, groups.to_numpy().tolist()))

    def to_hetero_data(self) -> Any:
        from torch_geometric.data import HeteroData

        data = HeteroData()
        data["user"].num_nodes = self.num_users
        data["item"].num_nodes = self.num_items
        data["entity"].num_nodes = self.num_entities
        x = self.interactions
        store = data["user", "interacted", "item"]
        store.edge_index = torch.tensor(np.stack([x["user"], x["item"]]), dtype=torch.long)
        for column in ("ts", "weight", "rating"):
            store[column] = torch.tensor(x[column].to_numpy(dtype=np.float64), dtype=torch.float64)
        for (head_type, relation, tail_type), group in self.kg_edges.groupby(
            ["head_type", "relation", "tail_type"], sort=True
        ):
            edge_index = np.stack([group["head"].to_numpy(), group["tail"].to_numpy()])
            data[head_type, relation, tail_type].edge_index = torch.tensor(
                edge_index, dtype=torch.long
            )
        return data

    def save(self, out_dir: Path) -> None:
        """Write atomically: a temp dir beside `out_dir`, then rename."""
        with atomic_dir(out_dir) as tmp:
            for name in ("items", "users", "entities", "interactions", "kg_edges"):
                getattr(self, name).to_parquet(tmp / f"{name}.parquet", index=False)
            meta = {
                "items": self.num_items,
                "users": self.num_users,
                "entities": self.num_entities,
                "interactions": len(self.interactions),
                "kg_edges": len(self.kg_edges),
                "relations": [list(r) for r in self.relations()],
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> GraphSnapshot:
        """The snapshot an empty graph would give after importing `dataset`: training and
        notebooks need no database. The dataset is validated exactly as `tailgraph import`
        validates it (`ValidationFailed` on bad input), and the tables are built from the
        rows the import would write, in the graph's order (tested equal to `take_snapshot`)."""
        from tailgraph.kg.validate import validate

        return from_prepared(validate(dataset, lambda label, ids: set()))

    @classmethod
    def load(cls, directory: Path) -> GraphSnapshot:
        directory = Path(directory)
        tables = {
            name: pd.read_parquet(directory / f"{name}.parquet")
            for name in ("items", "users", "entities", "interactions", "kg_edges")
        }
        return cls(**tables)


def _stored(props: dict[str, Any]) -> dict[str, Any]:
    """What a graph keeps of a property map: setting a property to null removes it."""
    return {k: v for k, v in props.items() if v is not None}


def from_prepared(prepared: PreparedImport) -> GraphSnapshot:
    """Snapshot tables from import-ready rows, as `take_snapshot` reads them back."""
    item_rows = sorted(
        ({"id": r["id"], "props": _stored({"id": r["id"], "title": r["title"],
                                             "description": r["description"], **r["attrs"]})}
         for r in prepared.items), key=lambda row: row["id"],
    )  # fmt: skip
    user_rows = sorted(
        ({"id": r["id"], "props": _stored({"id": r["id"], **r["attrs"]})} for r in prepared.users),
        key=lambda row: row["id"],
    )
    entity_rows = sorted(
        ({"id": r["id"], "name": r["name"], "type": r["type"]} for r in prepared.entities),
        key=lambda row: row["id"],
    )
    interaction_rows = sorted(
        ({"user_id": r["user_id"], "item_id": r["item_id"],
          "props": _stored({"key": r["key"], "ts": r["ts"], "weight": r["weight"],
                            "rating": r["rating"], "kind": r["kind"], **r["ctx"]})}
         for r in prepared.interactions), key=lambda row: row["props"]["key"],
    )  # fmt: skip
    edge_rows = sorted(  # triple groups are keyed by the labels: (Item|Entity, REL, …)
        ({"head_label": head, "head": r["head"], "relation": relation,
          "tail_label": tail, "tail": r["tail"], "weight": r.get("weight")}
         for (head, relation, tail), rows in prepared.triples.items() for r in rows),
        key=lambda row: (row["head_label"], row["head"], row["relation"], row["tail_label"],
                         row["tail"]),
    )  # fmt: skip
    return snapshot_from_rows(item_rows, user_rows, entity_rows, interaction_rows, edge_rows)


def _props_frame(rows: list[dict[str, Any]], fixed: tuple[str, ...]) -> pd.DataFrame:
    """Rows of {id, props} → a frame with `fixed` columns first, then attribute columns."""
    records = [{**row["props"], "id": row["id"]} for row in rows]
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=list(fixed))
    for column in fixed:
        if column not in frame.columns:
            frame[column] = None
    others = sorted(c for c in frame.columns if c not in fixed)
    return frame[list(fixed) + others]


def take_snapshot(store: GraphStore, page_size: int = 20_000) -> GraphSnapshot:
    """Stream nodes and edges out of the graph in pages of `page_size` rows."""

    def rows(name: str) -> list[dict[str, Any]]:
        return list(store.stream_named(name, page_size=page_size))

    return snapshot_from_rows(
        rows("snapshot_items"), rows("snapshot_users"), rows("snapshot_entities"),
        rows("snapshot_interactions"), rows("snapshot_kg_edges"),
    )  # fmt: skip


def snapshot_from_rows(
    item_rows: list[dict[str, Any]],
    user_rows: list[dict[str, Any]],
    entity_rows: list[dict[str, Any]],
    interaction_rows: list[dict[str, Any]],
    edge_rows: list[dict[str, Any]],
) -> GraphSnapshot:
    """The tables from the rows of the `snapshot_*` statements (in their order)."""
    items = _props_frame(item_rows, ("id", "title", "description"))
    users = _props_frame(user_rows, ("id",))
    entities = pd.DataFrame.from_records(entity_rows, columns=["id", "name", "type"])
    index = {
        "item": {v: i for i, v in enumerate(items["id"])},
        "user": {v: i for i, v in enumerate(users["id"])},
        "entity": {v: i for i, v in enumerate(entities["id"])},
    }

    records = []
    for row in interaction_rows:
        props = row["props"]
        records.append(
            {
                "user": index["user"][row["user_id"]],
                "item": index["item"][row["item_id"]],
                **{k: props.get(k) for k in INTERACTION_FIXED},
                **{k: v for k, v in props.items() if k not in INTERACTION_FIXED},
            }
        )
    interactions = pd.DataFrame.from_records(
        records, columns=None if records else ["user", "item", *INTERACTION_FIXED]
    )
    for column in ("ts", "weight", "rating"):
        interactions[column] = pd.to_numeric(interactions[column], errors="coerce").astype(float)

    edges = []
    for row in edge_rows:
        head_type, tail_type = LABEL_TO_TYPE[row["head_label"]], LABEL_TO_TYPE[row["tail_label"]]
        edges.append(
            {
                "head_type": head_type,
                "head": index[head_type][row["head"]],
                "relation": row["relation"],
                "tail_type": tail_type,
                "tail": index[tail_type][row["tail"]],
                "weight": row["weight"],
            }
        )
    kg_edges = pd.DataFrame.from_records(
        edges, columns=["head_type", "head", "relation", "tail_type", "tail", "weight"]
    )
    kg_edges["weight"] = pd.to_numeric(kg_edges["weight"], errors="coerce").astype(float)
    return GraphSnapshot(items, users, entities, interactions, kg_edges)
