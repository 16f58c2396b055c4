"""Every file in cypher/ executes on a real server (each backend runs its own variant:
FalkorDB a NAME.falkordb.cypher where one exists, Neo4j the plain file); `tailgraph cypher`
prints it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tailgraph.kg.adapters import load_dataset
from tailgraph.kg.cypher_files import (
    CYPHER_DIR,
    available_statements,
    fill_identifiers,
    statement_path,
)
from tailgraph.kg.embedded import EmbeddedServer
from tailgraph.kg.importer import import_dataset
from tailgraph.kg.sample import write_sample
from tailgraph.kg.store import GraphStore

# Parameters for the statements that take any; the sample's ids are used where ids are needed.
PARAMS = {
    "limit": 10, "max_interactions": 1000, "skip": 0,
    "ids": ["nope"], "rows": [], "id": "nope", "links_N": ["nope"],
    "item": {"id": "new", "title": "New", "description": None, "attrs": {}},
}  # fmt: skip
ALL_FILES = sorted(p.name for p in CYPHER_DIR.glob("*.cypher"))
BACKEND_NAMES = ("falkordb", "neo4j")


@pytest.fixture
def sample_graph(store: GraphStore, tmp_path: Path) -> GraphStore:
    write_sample(tmp_path / "s", size="tiny", seed=1)
    import_dataset(load_dataset(tmp_path / "s"), store, tmp_path / "j")
    return store


def _ids(store: GraphStore) -> dict[str, str]:
    user = store.run("MATCH (u:User)-[:INTERACTED]->() RETURN u.id AS id ORDER BY id LIMIT 1")
    item = store.run("MATCH (i:Item)-[]->(:Entity) RETURN i.id AS id ORDER BY id LIMIT 1")
    entity = store.run("MATCH (:Item)-[]->(e:Entity) RETURN e.id AS id ORDER BY id LIMIT 1")
    return {"user_id": user[0]["id"], "item_id": item[0]["id"], "entity_id": entity[0]["id"]}


def test_every_statement_has_a_file_and_there_are_exploration_queries() -> None:
    names = set(available_statements())
    for required in (
        "schema_counts", "most_popular_items", "least_popular_items", "item_neighbourhood",
        "user_history", "reachable_items", "tail_items_for_entity",
    ):  # fmt: skip
        assert required in names


def test_every_file_is_the_statement_of_some_backend() -> None:
    """Each file runs on a backend below: no variant is dead, none is for an unknown backend."""
    chosen = {
        statement_path(name, backend).name
        for name in available_statements()
        for backend in BACKEND_NAMES
    }
    assert chosen == set(ALL_FILES)
    variants = {name for name in ALL_FILES if name.count(".") == 2}
    assert all(name.split(".")[1] in BACKEND_NAMES for name in variants)


@pytest.mark.parametrize("name", available_statements())
def test_cypher_file_executes(name: str, sample_graph: GraphStore) -> None:
    text = sample_graph.statement(name)
    params = {**PARAMS, **_ids(sample_graph)}
    if "__RELATION__" in text:
        text = fill_identifiers(text, head="Item", relation="HAS_GENRE", tail="Entity")
    if name == "schema":
        assert sample_graph.run_script(name) >= 1
        return
    rows = sample_graph.run(text, params)
    assert isinstance(rows, list)
    if name in {
        "schema_counts", "relationship_counts", "most_popular_items", "least_popular_items",
        "item_neighbourhood", "user_history", "reachable_items", "tail_items_for_entity",
        "snapshot_items", "snapshot_users", "snapshot_entities", "snapshot_interactions",
        "snapshot_kg_edges", "item_texts", "entity_texts",
    }:  # fmt: skip
        assert rows, f"{name} returned nothing on the sample graph"


def test_exploration_results_are_consistent(sample_graph: GraphStore) -> None:
    ids = _ids(sample_graph)
    top = sample_graph.run_named("most_popular_items", {"limit": 5})
    counts = [row["interactions"] for row in top]
    assert counts == sorted(counts, reverse=True)
    bottom = sample_graph.run_named("least_popular_items", {"limit": 5})
    assert bottom[0]["interactions"] == 0  # the sample has items no one touched
    history = {r["item_id"] for r in sample_graph.run_named("user_history", {**ids, "limit": 1000})}
    reachable = sample_graph.run_named("reachable_items", {**ids, "limit": 50})
    assert reachable and not {r["item_id"] for r in reachable} & history
    assert all(r["shared_entities"] >= 1 and r["via"] for r in reachable)
    tail = sample_graph.run_named(
        "tail_items_for_entity", {**ids, "max_interactions": 2, "limit": 50}
    )
    assert all(r["interactions"] <= 2 for r in tail)


def test_cli_cypher_prints_table_and_json(
    sample_graph: GraphStore, cli_env: dict[str, str]
) -> None:
    env = {**os.environ, **cli_env}
    run = [
        sys.executable,
        "-m",
        "tailgraph.api.cli",
        "cypher",
        "most_popular_items",
        "--param",
        "limit=3",
    ]
    as_json = subprocess.run([*run, "--json"], capture_output=True, text=True, env=env, check=True)
    rows = json.loads(as_json.stdout)
    assert len(rows) == 3 and set(rows[0]) == {"item_id", "title", "interactions"}
    table = subprocess.run(run, capture_output=True, text=True, env=env, check=True)
    assert rows[0]["item_id"] in table.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "tailgraph.api.cli", "cypher", "no_such_query"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert missing.returncode != 0 and "Known names" in missing.stderr


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tailgraph.api.cli", *args],
        capture_output=True, text=True, env={**os.environ, **env}, check=False,
    )  # fmt: skip


def test_cli_cypher_params_are_strings_unless_typed(
    sample_graph: GraphStore, cli_env: dict[str, str], tmp_path: Path
) -> None:
    # An id that looks like a number (ML-100K's items are "1".."1682") stays a string.
    sample_graph.run(
        "CREATE (:Item {id: '50', title: 'Fifty'})-[:HAS_GENRE]->"
        "(:Entity {id: 'g_fifty', name: 'Fiftyish', type: 'genre'})"
    )
    found = _cli(cli_env, "cypher", "item_neighbourhood", "-p", "item_id=50", "--json")
    assert found.returncode == 0, found.stderr
    assert [row["id"] for row in json.loads(found.stdout)] == ["g_fifty"]
    # Declared by the statement (`$limit: int`): converted.
    declared = _cli(cli_env, "cypher", "most_popular_items", "-p", "limit=2", "--json")
    assert declared.returncode == 0, declared.stderr
    assert len(json.loads(declared.stdout)) == 2
    # Typed on the command line, for a file that declares nothing.
    own = tmp_path / "own.cypher"
    own.write_text("MATCH (i:Item) RETURN i.id AS id ORDER BY id LIMIT $n\n")
    typed = _cli(cli_env, "cypher", str(own), "-p", "n:int=3", "--json")
    assert typed.returncode == 0, typed.stderr
    assert len(json.loads(typed.stdout)) == 3
    bad = _cli(cli_env, "cypher", str(own), "-p", "n:int=three")
    assert bad.returncode != 0
    assert bad.stderr.strip() == "error: --param n: expected an int, found 'three'"


def test_cli_cypher_says_0_rows_and_names_missing_parameters(
    sample_graph: GraphStore, cli_env: dict[str, str]
) -> None:
    empty = _cli(cli_env, "cypher", "item_neighbourhood", "-p", "item_id=no-such-item")
    assert empty.returncode == 0, empty.stderr
    assert "item_neighbourhood: 0 rows" in empty.stdout
    missing = _cli(cli_env, "cypher", "reachable_items", "-p", "limit=5")
    assert missing.returncode != 0
    assert missing.stderr.strip() == (
        "error: missing parameter(s) user_id (string): pass -p NAME=VALUE for each"
    )
    typo = _cli(cli_env, "cypher", "most_popular_items", "-p", "limt=5")
    assert typo.returncode != 0
    assert "limt: not a parameter of this statement; expected limit" in typo.stderr


def test_cli_cypher_unknown_statement_starts_no_server(tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"
    env = {"TAILGRAPH_HOME": str(home), "TAILGRAPH_GRAPH_URI": "embedded"}
    try:
        typo = _cli(env, "cypher", "most_popular_itemz", "-p", "limit=3")
        assert typo.returncode != 0 and "Known names" in typo.stderr
        assert not EmbeddedServer(home).status().running
    finally:
        EmbeddedServer(home).stop()
