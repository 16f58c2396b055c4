"""Anonymous visitors: session items, a free-text query (real encoder), attributes; 4xx."""

from __future__ import annotations

import pytest
import torch
from fastapi.testclient import TestClient
from tailgraph.encoders import query_text

from tests.api.conftest import runtime_of


def _horror_items(client: TestClient) -> set[str]:
    state = runtime_of(client).state
    return {state.catalogue.ids[i] for i in state.catalogue.entity_items["genre:horror"].tolist()}


def test_session_items_steer_and_are_excluded(client: TestClient) -> None:
    horror = sorted(_horror_items(client))
    session = horror[:3]
    body = client.post("/recommendations", json={"item_ids": session, "k": 10}).json()
    returned = [item["item_id"] for item in body["items"]]
    assert body["user_id"] is None and len(returned) == 10
    assert not set(session) & set(returned)
    # Three horror books in the session: horror dominates the answer (chance: 1 in 7).
    assert len(set(returned) & set(horror)) >= 4
    kept = client.post(
        "/recommendations", json={"item_ids": session, "k": 10, "exclude_seen": False}
    ).json()
    assert set(session) & {item["item_id"] for item in kept["items"]}


def test_free_text_query_is_encoded_by_the_real_encoder(client: TestClient) -> None:
    query = "a frightening horror story in a haunted house"
    body = client.post("/recommendations", json={"query": query, "k": 5}).json()
    returned = [item["item_id"] for item in body["items"]]
    assert len(set(returned) & _horror_items(client)) >= 3
    # The same ranking, computed by hand from the real MiniLM embedding of the query:
    # pseudo-session of its 10 nearest items by text, plus standardised text relevance.
    runtime = runtime_of(client)
    state = runtime.state
    embedding = runtime.encoders.get(state.text_model).encode([query_text(query)])[0]
    relevance = state.catalogue.text @ embedding
    near = torch.topk(relevance, 10)
    weights = torch.softmax(near.values / 0.05, 0)
    with torch.no_grad():
        vector = (weights[:, None] * state.catalogue.z[near.indices]).sum(0)
        model = state.catalogue.z @ vector
    scores = model + model.std() * (relevance - relevance.mean()) / relevance.std()
    expected = torch.topk(scores, 5).indices.tolist()
    assert returned == [state.catalogue.ids[i] for i in expected]


def test_attributes_alone_and_everything_together(client: TestClient) -> None:
    state = runtime_of(client).state
    attrs = {"age_group": "18-24", "country": "Japan"}
    alone = client.post("/recommendations", json={"attributes": attrs, "k": 5})
    assert alone.status_code == 200 and len(alone.json()["items"]) == 5
    other = client.post(
        "/recommendations", json={"attributes": {"age_group": "55+", "country": "Brazil"}, "k": 5}
    )
    assert alone.json()["items"] != other.json()["items"]
    together = client.post(
        "/recommendations",
        json={
            "item_ids": [state.catalogue.ids[0]],
            "query": "war",
            "attributes": attrs,
            "k": 5,
            "entity_type": "genre",
            "tail_boost": 0.01,
        },
    )
    assert together.status_code == 200 and len(together.json()["items"]) == 5


@pytest.mark.parametrize(
    ("body", "status", "loc"),
    [
        ({}, 422, ["body"]),
        ({"k": 5}, 422, ["body"]),
        ({"query": "   "}, 422, ["body", "query"]),
        ({"query": "x" * 2001}, 422, ["body", "query"]),
        ({"item_ids": ["b00001", "nope"]}, 404, ["body", "item_ids", 1]),
        ({"item_ids": ["b00001"] * 201}, 422, ["body", "item_ids"]),
        ({"item_ids": [""]}, 422, ["body", "item_ids", 0]),
        ({"attributes": {"shoe_size": 42}}, 422, ["body", "attributes", "shoe_size"]),
        ({"attributes": {"age_group": "7-11"}}, 422, ["body", "attributes", "age_group"]),
        ({"attributes": {"bad key": "x"}}, 422, ["body", "attributes", "bad key", "[key]"]),
        ({"query": "war", "k": 0}, 422, ["body", "k"]),
        ({"query": "war", "tail_boost": -1}, 422, ["body", "tail_boost"]),
        ({"query": "war", "entity_id": "genre:opera"}, 404, ["body", "entity_id"]),
        ({"query": "war", "entity_type": "planet"}, 422, ["body", "entity_type"]),
        ({"query": "war", "colour": "red"}, 422, ["body", "colour"]),
        ({"query": 42}, 422, ["body", "query"]),
    ],
)
def test_bad_anonymous_requests_name_the_field(
    client: TestClient, body: dict[str, object], status: int, loc: list[object]
) -> None:
    response = client.post("/recommendations", json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"][0]["loc"] == loc


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/recommendations", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    nan = client.post(
        "/recommendations",
        content=b'{"query": "war", "tail_boost": NaN}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 422
