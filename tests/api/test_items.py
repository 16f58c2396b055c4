"""Items: details, similar items, and new items that are recommendable on the next request."""

from __future__ import annotations

import pytest
import torch
from fastapi.testclient import TestClient
from tailgraph.encoders import item_text
from tailgraph.kg.settings import GraphSettings
from torch.nn import functional as F

from tests.api.conftest import graph_store, runtime_of


def test_item_details_list_its_kg_links(client: TestClient) -> None:
    body = client.get("/items/b00001").json()
    assert body["item_id"] == "b00001" and body["title"] and not body["added_live"]
    relations = {link["relation"] for link in body["links"]}
    assert {"HAS_GENRE", "WRITTEN_BY"} <= relations
    assert all(link["name"] for link in body["links"])
    missing = client.get("/items/nope")
    assert missing.status_code == 404 and missing.json()["detail"][0]["loc"] == ["path", "item_id"]


def test_similar_items_are_cosine_neighbours(client: TestClient) -> None:
    body = client.get("/items/b00001/similar", params={"k": 5}).json()
    returned = [item["item_id"] for item in body["items"]]
    assert "b00001" not in returned and len(returned) == 5
    state = runtime_of(client).state
    unit = F.normalize(state.catalogue.z, dim=1)
    cosine = unit @ unit[state.catalogue.index["b00001"]]
    cosine[state.catalogue.index["b00001"]] = -2
    expected = [state.catalogue.ids[i] for i in torch.topk(cosine, 5).indices.tolist()]
    assert returned == expected
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True) and -1 <= scores[-1] <= scores[0] <= 1
    genre = client.get(
        "/items/b00001/similar", params={"k": 50, "entity_id": "genre:horror"}
    ).json()
    horror = state.catalogue.entity_items["genre:horror"].tolist()
    assert {state.catalogue.index[i["item_id"]] for i in genre["items"]} <= set(horror)


@pytest.mark.parametrize(
    ("path", "params", "status", "loc"),
    [
        ("/items/nope/similar", {}, 404, ["path", "item_id"]),
        ("/items/b00001/similar", {"k": 0}, 422, ["query", "k"]),
        ("/items/b00001/similar", {"entity_id": "x:y"}, 404, ["query", "entity_id"]),
        ("/items/b00001/similar", {"entity_type": "planet"}, 422, ["query", "entity_type"]),
    ],
)
def test_similar_items_errors(
    client: TestClient, path: str, params: dict[str, object], status: int, loc: list[str]
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status
    assert response.json()["detail"][0]["loc"] == loc


NEW_ITEM = {
    "id": "b90001",
    "title": "The Lighthouse Haunting",
    "description": "A chilling horror novel about a haunted lighthouse and the cult that "
    "gathers on the cliffs.",
    "attributes": {"year": 2031, "language": "English"},
    "links": [
        {"relation": "HAS_GENRE", "target": "genre:horror"},
        {"relation": "ABOUT", "target": "theme:haunted-houses"},
        {"relation": "WRITTEN_BY", "target": "author:hana-yamada"},
    ],
}


def test_a_new_item_is_written_embedded_and_recommendable_at_once(
    writer: TestClient, writable_graph: GraphSettings
) -> None:
    user = "u00002"
    before = writer.get(
        f"/users/{user}/recommendations", params={"k": 200, "entity_id": "author:hana-yamada"}
    ).json()
    assert "b90001" not in {item["item_id"] for item in before["items"]}

    response = writer.post("/items", json=NEW_ITEM)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["added_live"] and body["popularity"] == "cold" and body["interactions"] == 0
    assert {link["target"] for link in body["links"]} == {
        link["target"] for link in NEW_ITEM["links"]
    }

    # In the graph: the node with its text and attributes, and its three KG triples.
    with graph_store(writable_graph) as store:
        node = store.run("MATCH (i:Item {id: 'b90001'}) RETURN i.title AS title, i.year AS year")
        assert node == [{"title": NEW_ITEM["title"], "year": 2031}]
        links = store.run("MATCH (:Item {id: 'b90001'})-[r]->(e:Entity) RETURN type(r) AS t")
        assert sorted(r["t"] for r in links) == ["ABOUT", "HAS_GENRE", "WRITTEN_BY"]

    # Its vector is the inductive content tower's (embed_new_items, no retraining).
    runtime = runtime_of(writer)
    state = runtime.state
    related = state.related_names(
        [(link["relation"], link["target"]) for link in NEW_ITEM["links"]]
    )
    text = runtime.encoders.get(state.text_model).encode(
        [item_text(NEW_ITEM["title"], NEW_ITEM["description"], NEW_ITEM["attributes"], related)]
    )
    kg = state.kg
    nodes = [
        (kg.num_items + kg.entity_index[link["target"]], kg.relations[link["relation"]])
        for link in NEW_ITEM["links"]
    ]
    expected = state.model.embed_new_items(text, [nodes])[0]
    assert torch.allclose(state.catalogue.z[state.catalogue.index["b90001"]], expected, atol=1e-5)

    # Recommendable on the very next request: candidates for a user, similar items, queries.
    after = writer.get(
        f"/users/{user}/recommendations", params={"k": 200, "entity_id": "author:hana-yamada"}
    ).json()
    assert "b90001" in {item["item_id"] for item in after["items"]}
    assert next(i for i in after["items"] if i["item_id"] == "b90001")["popularity"] == "cold"
    similar = writer.get("/items/b90001/similar", params={"k": 5}).json()["items"]
    horror = set(state.catalogue.entity_items["genre:horror"].tolist())
    assert sum(state.catalogue.index[i["item_id"]] in horror for i in similar) >= 3
    query = writer.post(
        "/recommendations", json={"query": "haunted lighthouse horror", "k": 3}
    ).json()
    assert "b90001" in {item["item_id"] for item in query["items"]}
    by_type = writer.get(
        f"/users/{user}/recommendations", params={"k": 200, "entity_type": "theme"}
    ).json()
    assert "b90001" in {item["item_id"] for item in by_type["items"]}


def test_new_item_errors(writer: TestClient, writable_graph: GraphSettings) -> None:
    def post(**changes: object) -> tuple[int, list[object]]:
        response = writer.post("/items", json={**NEW_ITEM, **changes})
        return response.status_code, response.json()["detail"][0]["loc"]

    assert post(links=[{"relation": "SUNG_BY", "target": "genre:horror"}]) == (
        422,
        ["body", "links", 0, "relation"],
    )
    assert post(links=[{"relation": "HAS_GENRE", "target": "genre:opera"}]) == (
        404,
        ["body", "links", 0, "target"],
    )
    assert post(links=[{"relation": "HAS_GENRE__rev", "target": "genre:horror"}])[0] == 422
    assert post(id="b00001") == (409, ["body", "id"])
    assert post(title="   ") == (422, ["body", "title"])
    assert post(title="") == (422, ["body", "title"])
    assert post(attributes={"title": "x"}) == (422, ["body", "attributes"])
    assert post(attributes={"bad-key": 1}) == (422, ["body", "attributes", "bad-key", "[key]"])
    assert post(links=[{"relation": "HAS_GENRE"}]) == (422, ["body", "links", 0, "target"])
    assert post(id="") == (422, ["body", "id"])
    assert post(extra=1) == (422, ["body", "extra"])
    # An id already in the graph (imported after the run was trained): 409, nothing changed.
    with graph_store(writable_graph) as store:
        store.run("CREATE (:Item {id: 'b99999', title: 'Imported later'})")
    assert post(id="b99999") == (409, ["body", "id"])
    assert writer.get("/items/b99999").status_code == 404
    # Links to an item added live are refused until a training run knows it.
    assert writer.post("/items", json=NEW_ITEM).status_code == 201
    status, loc = post(id="b90002", links=[{"relation": "HAS_GENRE", "target": "b90001"}])
    assert (status, loc) == (422, ["body", "links", 0, "target"])
    # A trained item is a valid target (the KG links items to items too).
    linked = writer.post(
        "/items",
        json={**NEW_ITEM, "id": "b90002", "links": [{"relation": "ABOUT", "target": "b00003"}]},
    )
    assert linked.status_code == 201, linked.text
    assert linked.json()["links"][0]["name"] == writer.get("/items/b00003").json()["title"]
