"""Explanations: KG paths from the user's history to an item, ranked, as sentences."""

from __future__ import annotations

import math
import re
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tailgraph.api.service.explain import (
    Node,
    Step,
    display_name,
    explainable,
    rank_paths,
    sentence,
)
from tailgraph.kg.settings import GraphSettings

from tests.api.conftest import graph_store, import_sample, runtime_of
from tests.conftest import SHARED_DATA, neo4j_settings
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
    assert sentence([a, t], [Step("SIMILAR_TO", True)]) == "You liked A, which is similar to T."
    assert sentence([a, t], [Step("FILM_FILM_SEQUEL", True)]) == "You liked A, whose sequel is T."
    assert sentence([a, t], [Step("FILM_ACTOR_FILM", False)]) == "You liked A, the film of T."
    assert sentence([a, t], [Step("FILM_PRODUCTION_COMPANY_FILMS", True)]) == (
        "You liked A, whose films include T."
    )
    assert sentence([a, t], [Step("WRITES", False)]) == "You liked A; T writes it."
    # Three hops were "whose genre Fantasy is the writes of Clara Tanaka".
    assert sentence(
        [a, author, genre, t],
        [Step("WRITTEN_BY", True), Step("WRITES", True), Step("HAS_GENRE", False)],
    ) == ("You liked A; T is connected to it through author Ann and genre Noir.")
    assert sentence([a, m, t], [Step("SIMILAR_TO", True), Step("SIMILAR_TO", False)]) == (
        "You liked A; T is connected to it through M."
    )
    wk = Node("wk", "Item", "Andrew W.K.", None)
    assert sentence([a, genre, wk], [Step("R", True), Step("R", False)]) == (
        "You liked A, which shares genre Noir with Andrew W.K."
    )


def test_an_opaque_id_is_never_shown_as_a_name() -> None:
    # ML-100K's Freebase entities have no names ("shares freebase m.06nm1 with Batman").
    liked, target = _node("Item", "a"), _node("Item", "t")
    director = Node("m.0d_skg", "Entity", "", "film.director")
    country = Node("m.09c7w0", "Entity", "", "freebase")
    mid_as_name = Node("m.06nm1", "Entity", "m.06nm1", "film.actor")
    back, fwd = Step("FILM_DIRECTOR_FILM", False), Step("FILM_FILM_COUNTRY", True)
    paths = [([liked, director, target], [Step("FILM_FILM_DIRECTED_BY", True), back]),
             ([liked, country, target], [fwd, Step("FILM_FILM_COUNTRY", False)]),
             ([liked, mid_as_name, target], [Step("R", True), Step("R", False)])]  # fmt: skip
    ranked = rank_paths(paths, {"a"}, "t", {}, limit=5)
    sentences = sorted(p.sentence for p in ranked)
    # The untyped entity ("freebase": a country, an award?) says nothing: skipped.
    assert sentences == [
        "You liked A, which shares a director with T.",
        "You liked A, which shares an actor with T.",
    ]
    assert display_name(mid_as_name) is None and display_name(director) is None
    assert all("m." not in s for s in sentences)


def test_a_path_that_names_its_entity_ranks_before_a_nameless_one() -> None:
    # ML-100K with DBpedia names: the same director as a Freebase MID and as a DBpedia name.
    liked, target = _node("Item", "a"), _node("Item", "t")
    mid = Node("m.0d_skg", "Entity", "", "film.director")
    named = Node("dbpedia:Jane_Doe", "Entity", "Jane Doe", "director")
    steps = [Step("R", True), Step("R", False)]
    degree = {("Entity", "m.0d_skg"): 3, ("Entity", "dbpedia:Jane_Doe"): 3}
    ranked = rank_paths([([liked, mid, target], steps), ([liked, named, target], steps)],
                        {"a"}, "t", degree, limit=2)  # fmt: skip
    assert [p.sentence for p in ranked] == [
        "You liked A, which shares director Jane Doe with T.",
        "You liked A, which shares a director with T.",
    ]
    assert ranked[1].cost == pytest.approx(ranked[0].cost + 1.0)


def _dataset_vocabulary() -> dict[str, tuple[set[str], set[str]]]:
    """Relation types and entity types of both public datasets (as imported) and the sample."""
    from tailgraph.kg.adapters import load_dataset
    from tailgraph.kg.sample import generate_sample

    datasets = {
        "ml100k": load_dataset(SHARED_DATA / "ml100k_kg", "recbole"),
        "lastfm": load_dataset(SHARED_DATA / "lastfm_hetrec_kg", "lastfm-hetrec", kg="both"),
        "sample": generate_sample("small", seed=0),
    }
    return {
        name: (set(d.triples["relation"]), set(d.entities["type"])) for name, d in datasets.items()
    }


# The templates, as patterns: what may stand around the relation phrase.
_ONE_HOP = [
    r"You liked A, whose (?P<noun>[a-z ]+) (?:is|include) T\.",
    r"You liked A, (?:the|one of the) (?P<noun>[a-z ]+) of T\.",
    r"You liked A, which is (?P<passive>[a-z ]+) T\.",
    r"You liked A; T is (?P<passive>[a-z ]+) it\.",
    r"You liked A, which (?P<verb>[a-z]+) T\.",
    r"You liked A; T (?P<verb>[a-z]+) it\.",
]


@pytest.mark.slow
def test_sentences_read_well_for_every_relation_and_entity_type_of_the_datasets() -> None:
    a, t = _node("Item", "a"), _node("Item", "t")
    prepositions = {"by", "to", "of", "in", "with", "from", "on", "at", "for", "as", "about"}
    for dataset, (relations, types) in _dataset_vocabulary().items():
        assert relations and types, dataset
        for relation in sorted(relations):
            for forward in (True, False):
                text = sentence([a, t], [Step(relation, forward)])
                match = next((m for p in _ONE_HOP if (m := re.fullmatch(p, text))), None)
                assert match is not None, (dataset, relation, text)
                words = text.rstrip(".").replace(",", "").replace(";", "").split()
                assert all(x != y for x, y in pairwise(words)), text
                noun = match.groupdict().get("noun")
                if noun:  # a noun phrase: no dangling preposition, no verb in front
                    assert noun.split()[-1] not in prepositions, (relation, text)
                    assert noun.split()[0] not in ("has", "have", "is"), (relation, text)
                passive = match.groupdict().get("passive")
                if passive:
                    assert passive.split()[-1] in prepositions, (relation, text)
        for kind in sorted(types):
            unnamed, named = Node("x", "Entity", "", kind), Node("y", "Entity", "Jane Doe", kind)
            two = sentence([a, unnamed, t], [Step("R", True), Step("R", False)])
            three = sentence([a, named, unnamed, t], [Step("R", True)] * 3)
            if not explainable([a, unnamed, t]):
                assert two == "You liked A, which shares a related entity with T."
                continue
            noun = re.fullmatch(r"You liked A, which shares (?:a|an) ([a-z ]+) with T\.", two)
            assert noun is not None, (dataset, kind, two)
            article = two.split()[5]
            assert article == ("an" if noun.group(1)[0] in "aeiou" else "a"), two
            assert three == (
                f"You liked A; T is connected to it through {noun.group(1)} Jane Doe and "
                f"{article} {noun.group(1)}."
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
