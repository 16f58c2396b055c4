"""Explanations: KG paths from the user's history to an item, ranked, as sentences."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tailgraph.api.service.explain import Node, Step, rank_paths, sentence
from tailgraph.kg.settings import GraphSettings

from tests.api.conftest import graph_store, import_sample, runtime_of
from tests.conftest import neo4j_settings
from tests.neo4j.server import Neo4jServer


def test_explanation_paths_link_the_history_to_the_item(
    writer: TestClient, writable_graph: GraphSettings
) -> None:
    client = writer
    user = "u00003"
    top = client.get(f"/users/{user}/recommendations", params={"k": 3}).json()["items"]
    with graph_store(writable_graph) as store:
        history = {
            r["item_id"] for r in store.run_named("user_history", {"user_id": user, "limit": 1000})
        }
    explained = 0
    for item in top:
        response = client.get(f"/users/{user}/recommendations/{item['item_id']}/explanation")
        assert response.status_code == 200
        body = response.json()
        assert body["title"] == item["title"] and body["history_considered"] == min(
            len(history), 50
        )
        costs = [path["cost"] for path in body["paths"]]
        assert costs == sorted(costs) and len(costs) <= 3
        for path in body["paths"]:
            nodes = path["nodes"]
            assert nodes[0]["id"] in history and nodes[-1]["id"] == item["item_id"]
            assert 1 <= path["hops"] == len(path["steps"]) == len(nodes) - 1 <= 3
            assert path["sentence"].startswith(f"You liked {nodes[0]['name']}")
            assert nodes[-1]["name"] in path["sentence"]
        explained += bool(body["paths"])
    assert explained >= 2  # the sample's books share authors, genres, themes


def test_paths_prefer_short_hops_through_rare_entities(writer: TestClient) -> None:
    client = writer
    state = runtime_of(client).state
    user = "u00003"
    items = client.get(f"/users/{user}/recommendations", params={"k": 10}).json()["items"]
    for item in items:
        body = client.get(
            f"/users/{user}/recommendations/{item['item_id']}/explanation", params={"limit": 20}
        ).json()
        for path in body["paths"]:
            interior = path["nodes"][1:-1]
            degree = [
                int(state.kg.degree[state.kg.num_items + state.kg.entity_index[n["id"]]])
                for n in interior
                if n["label"] == "Entity"
            ]
            assert len(degree) == sum(n["label"] == "Entity" for n in interior)
            expected = path["hops"] + 0.5 * sum(math.log1p(d) for d in degree)
            if all(n["label"] == "Entity" for n in interior):
                assert path["cost"] == pytest.approx(expected, abs=1e-3)


def test_a_recorded_interaction_shows_up_in_explanations(writer: TestClient) -> None:
    user, liked, target = "u00007", "b00001", "b00055"  # both horror, about cults
    before = writer.get(
        f"/users/{user}/recommendations/{target}/explanation", params={"limit": 20}
    ).json()
    assert (
        writer.post(
            f"/users/{user}/interactions", json={"item_id": liked, "timestamp": 2e9}
        ).status_code
        == 201
    )
    after = writer.get(
        f"/users/{user}/recommendations/{target}/explanation", params={"limit": 20}
    ).json()
    assert after["history_considered"] >= before["history_considered"]
    starts = {path["nodes"][0]["id"] for path in after["paths"]}
    assert liked in starts


def test_explanation_errors(client: TestClient) -> None:
    for path, loc, status in [
        ("/users/nobody/recommendations/b00001/explanation", ["path", "user_id"], 404),
        ("/users/u00001/recommendations/nope/explanation", ["path", "item_id"], 404),
        ("/users/u00001/recommendations/b00001/explanation?limit=0", ["query", "limit"], 422),
        ("/users/u00001/recommendations/b00001/explanation?limit=21", ["query", "limit"], 422),
    ]:
        response = client.get(path)
        assert response.status_code == status
        assert response.json()["detail"][0]["loc"] == loc


def _node(label: str, id_: str, type_: str | None = None) -> Node:
    return Node(id_, label, id_.title(), type_)


def test_ranking_prefers_a_rare_entity_and_a_short_path() -> None:
    liked, target = _node("Item", "a"), _node("Item", "t")
    hub, rare = _node("Entity", "g", "genre"), _node("Entity", "w", "author")
    e1, e2 = _node("Entity", "x", "author"), _node("Entity", "y", "genre")
    fwd, back = Step("R", True), Step("R", False)
    paths = [
        ([liked, hub, target], [fwd, back]),
        ([liked, rare, target], [fwd, back]),
        ([liked, e1, e2, target], [fwd, fwd, back]),
    ]
    degree = {("Entity", "g"): 5000, ("Entity", "w"): 3, ("Entity", "x"): 3, ("Entity", "y"): 3}
    ranked = rank_paths(paths, {"a"}, "t", degree, limit=3)
    assert [[n.id for n in p.nodes] for p in ranked] == [
        ["a", "w", "t"],
        ["a", "x", "y", "t"],
        ["a", "g", "t"],
    ]
    assert ranked[0].sentence == "You liked A, which shares author W with T."


def test_sentences_for_each_path_shape() -> None:
    a, t = _node("Item", "a"), _node("Item", "t")
    m = _node("Item", "m")
    author, genre = _node("Entity", "ann", "author"), _node("Entity", "noir", "genre")
    assert sentence([a, t], [Step("ASSOCIATED_BAND", True)]) == (
        "You liked A, whose associated band is T."
    )
    assert sentence([a, t], [Step("ASSOCIATED_BAND", False)]) == (
        "You liked A, the associated band of T."
    )
    assert sentence(
        [a, author, genre, t],
        [Step("WRITTEN_BY", True), Step("WRITES", True), Step("HAS_GENRE", False)],
    ) == ("You liked A, whose author Ann writes Noir, the genre of T.")
    assert sentence([a, m, t], [Step("SIMILAR_TO", True), Step("SIMILAR_TO", False)]) == (
        "You liked A: A similar to M; T similar to M."
    )


@pytest.mark.neo4j
def test_explanations_are_the_same_on_both_backends(
    make_client: Any, server_home: Path, neo4j_server: Neo4jServer, tmp_path: Path
) -> None:
    graphs = {
        "falkordb": GraphSettings(home=server_home, graph_name=f"explain_{tmp_path.name}"),
        "neo4j": neo4j_settings(neo4j_server, tmp_path / "home"),
    }
    clients = {}
    for name, settings in graphs.items():
        import_sample(settings, tmp_path / f"journal-{name}")
        clients[name] = make_client(settings)
    try:
        for user in ("u00003", "u00007", "u00021"):
            top = clients["falkordb"].get(f"/users/{user}/recommendations", params={"k": 5})
            for item in top.json()["items"]:
                path = f"/users/{user}/recommendations/{item['item_id']}/explanation"
                # limit 1..20 ranks from at most explain_paths (200) paths per shape
                answers = {n: c.get(path, params={"limit": 20}).json() for n, c in clients.items()}
                assert answers["falkordb"] == answers["neo4j"]
    finally:
        for settings in graphs.values():
            with graph_store(settings) as store:
                store.run("MATCH (n) DETACH DELETE n")
