"""The same data on both backends gives the same answers: identical snapshot tables and PyG
tensors, and the same rows from every read statement in cypher/ (embedded FalkorDB and the
real Neo4j 5 test server, side by side in one test)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from tailgraph.kg.adapters import load_dataset
from tailgraph.kg.cypher_files import available_statements
from tailgraph.kg.importer import graph_counts, import_dataset
from tailgraph.kg.sample import write_sample
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.snapshot import take_snapshot
from tailgraph.kg.store import GraphStore, open_store

from tests.conftest import neo4j_settings
from tests.kg.test_neo4j_export import TRICKY
from tests.neo4j.server import Neo4jServer

pytestmark = pytest.mark.neo4j

# Writes are checked on both backends by the tests that use them (add_item: tests/api).
WRITES = ("import_", "record_", "add_", "schema")
READS = [n for n in available_statements() if not n.startswith(WRITES)]
# Statements whose lists are collect()ed without an order the statement promises; the code
# reading them sorts (encoders.item_text sorts names per relation) or compares them as a set
# (the item-add retry check of item_content).
UNORDERED_LISTS = {"item_texts": "related", "item_content": "links"}


@pytest.fixture
def both(
    server_home: Path, neo4j_server: Neo4jServer, tmp_path: Path
) -> Iterator[dict[str, GraphStore]]:
    """The tiny sample plus the tricky dataset, imported into each backend."""
    write_sample(tmp_path / "sample", size="tiny", seed=6)
    (tmp_path / "tricky").mkdir()
    for name, text in TRICKY.items():
        (tmp_path / "tricky" / name).write_text(text, encoding="utf-8")
    settings = {
        "falkordb": GraphSettings(home=server_home, graph_name=f"agree_{tmp_path.name}"),
        "neo4j": neo4j_settings(neo4j_server, tmp_path / "home"),
    }
    stores = {name: open_store(s) for name, s in settings.items()}
    try:
        for name, store in stores.items():
            store.run("MATCH (n) DETACH DELETE n")
            for source in ("sample", "tricky"):
                import_dataset(load_dataset(tmp_path / source), store, tmp_path / f"j-{name}")
        yield stores
    finally:
        for store in stores.values():
            store.run("MATCH (n) DETACH DELETE n")
            store.close()


def test_snapshots_are_identical_across_backends(both: dict[str, GraphStore]) -> None:
    assert graph_counts(both["falkordb"]) == graph_counts(both["neo4j"])
    a, b = (take_snapshot(both[name], page_size=50) for name in ("falkordb", "neo4j"))
    for table in ("items", "users", "entities", "interactions", "kg_edges"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), obj=table)
    ha, hb = a.to_hetero_data(), b.to_hetero_data()
    assert ha.node_types == hb.node_types and ha.edge_types == hb.edge_types
    for node_type in ha.node_types:
        assert ha[node_type].num_nodes == hb[node_type].num_nodes
    for edge_type in ha.edge_types:
        for key, value in ha[edge_type].items():
            # Exactly equal, missing values (NaN: an interaction without a time) included.
            torch.testing.assert_close(
                value, hb[edge_type][key], rtol=0, atol=0, equal_nan=True, msg=str(edge_type)
            )


def _params(store: GraphStore) -> dict[str, Any]:
    """A user, an item KG-linked to their history (so explain_paths has paths), an entity,
    and ids of every label (for the existing_* lookups)."""
    user = store.run("MATCH (u:User)-[:INTERACTED]->() RETURN u.id AS id ORDER BY id LIMIT 1")
    user_id = user[0]["id"]
    item_id = store.run_named("reachable_items", {"user_id": user_id, "limit": 1})[0]["item_id"]
    entity = store.run("MATCH (:Item)-[]->(e:Entity) RETURN e.id AS id ORDER BY id LIMIT 1")
    history = store.run_named("user_history", {"user_id": user_id, "limit": 50})
    ids = [row["item_id"] for row in history]
    return {
        "user_id": user_id, "item_id": item_id, "id": item_id, "entity_id": entity[0]["id"],
        "ids": [*ids, entity[0]["id"], user_id], "limit": 1000, "max_interactions": 1000,
        "skip": 0,
    }  # fmt: skip


def _canonical(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    column = UNORDERED_LISTS.get(name)
    if column is None:
        return rows
    return [{**row, column: sorted(row[column], key=json.dumps)} for row in rows]


@pytest.mark.parametrize("name", READS)
def test_every_read_statement_answers_the_same(name: str, both: dict[str, GraphStore]) -> None:
    params = _params(both["falkordb"])
    if name == "explain_paths":
        params["limit"] = 3  # fewer than the paths of a shape: which ones survive must agree
    identifiers = {"relation": "HAS_GENRE"} if name == "count_relationships" else {}
    answers = {
        backend: _canonical(name, store.run_named(name, params, **identifiers))
        for backend, store in both.items()
    }
    assert answers["falkordb"], f"{name} returned nothing"
    if name == "explain_paths":
        # One branch per path shape, each ordered then cut by LIMIT: the same set of paths.
        assert sorted(json.dumps(r, sort_keys=True) for r in answers["falkordb"]) == sorted(
            json.dumps(r, sort_keys=True) for r in answers["neo4j"]
        )
    else:
        assert answers["falkordb"] == answers["neo4j"]
