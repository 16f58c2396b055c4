"""Known-user recommendations: ranking, exclusion, filters, tail boost, buckets, 4xx."""

from __future__ import annotations

import pytest
import torch
from fastapi.testclient import TestClient
from tailgraph.gnn.evaluate import popularity_buckets

from tests.api.conftest import runtime_of


def _user_with_history(client: TestClient) -> str:
    state = runtime_of(client).state
    counts = state.users.seen_pointer.diff()
    return state.users.ids[int(torch.argmax(counts))]


def test_recommendations_match_the_model_and_exclude_seen_items(client: TestClient) -> None:
    user = _user_with_history(client)
    response = client.get(f"/users/{user}/recommendations", params={"k": 10})
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == user and len(body["items"]) == 10
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    state = runtime_of(client).state
    u = state.users.index[user]
    seen = {state.catalogue.ids[i] for i in state.seen(u).tolist()}
    assert seen and not seen & {item["item_id"] for item in body["items"]}
    # Same ranking as the trained model's own scorer, with seen items masked out.
    raw = state.model.score(torch.tensor([u]))[0]
    raw[state.seen(u)] = -torch.inf
    expected = [state.catalogue.ids[i] for i in torch.topk(raw, 10).indices.tolist()]
    assert [item["item_id"] for item in body["items"]] == expected
    assert body["run"] == str(state.run_dir)


def test_every_interaction_of_the_run_counts_as_seen(client: TestClient) -> None:
    # Held-out interactions (validation, test, cold test, cold validation) happened too:
    # serving must not recommend them back.
    state = runtime_of(client).state
    data = state.data
    for part in ("valid", "test", "cold", "cold_valid"):
        pointer, items = data.relevant[part]
        assert len(items), part
        for u in torch.nonzero(pointer.diff()).flatten()[:20].tolist():
            held = set(items[pointer[u] : pointer[u + 1]].tolist())
            assert held <= set(state.seen(u).tolist()), (part, u)


def test_seen_items_come_back_when_not_excluded(client: TestClient) -> None:
    user = _user_with_history(client)
    state = runtime_of(client).state
    u = state.users.index[user]
    k = len(state.catalogue)
    body = client.get(
        f"/users/{user}/recommendations", params={"k": k, "exclude_seen": False}
    ).json()
    assert len(body["items"]) == k  # every item, seen ones included
    kept = client.get(f"/users/{user}/recommendations", params={"k": k}).json()
    assert len(kept["items"]) == k - len(set(state.seen(u).tolist()))


def test_popularity_bucket_follows_the_evaluation_rule(client: TestClient) -> None:
    state = runtime_of(client).state
    buckets = popularity_buckets(state.data)
    names = {0: "head", 1: "mid", 2: "tail", -1: "cold"}
    body = client.get(
        f"/users/{state.users.ids[0]}/recommendations", params={"k": 200, "exclude_seen": False}
    ).json()
    for item in body["items"]:
        i = state.catalogue.index[item["item_id"]]
        expected = "cold" if state.data.item_count[i] == 0 else names[int(buckets[i])]
        assert item["popularity"] == expected
        assert item["interactions"] == int(state.data.item_count[i])
    assert {item["popularity"] for item in body["items"]} >= {"head", "mid", "tail"}


def test_tail_boost_moves_recommendations_to_the_tail(client: TestClient) -> None:
    state = runtime_of(client).state
    mean_count = {}
    for boost in (0.0, 0.05, 1.0):
        counts = []
        for user in state.users.ids[:10]:
            body = client.get(
                f"/users/{user}/recommendations", params={"k": 10, "tail_boost": boost}
            ).json()
            counts += [item["interactions"] for item in body["items"]]
        mean_count[boost] = sum(counts) / len(counts)
    assert mean_count[0.0] > mean_count[0.05] > mean_count[1.0]


def test_entity_and_type_filters_keep_only_linked_items(client: TestClient) -> None:
    state = runtime_of(client).state
    user = state.users.ids[3]
    entity = "genre:horror"
    linked = {state.catalogue.ids[i] for i in state.catalogue.entity_items[entity].tolist()}
    body = client.get(
        f"/users/{user}/recommendations",
        params={"k": 200, "entity_id": entity, "exclude_seen": False},
    ).json()
    assert {item["item_id"] for item in body["items"]} == linked
    by_type = client.get(
        f"/users/{user}/recommendations", params={"k": 200, "entity_type": "author"}
    ).json()
    for item in by_type["items"]:
        links = client.get(f"/items/{item['item_id']}").json()["links"]
        assert any(link["type"] == "author" for link in links)
    # An entity type no item links to directly: an empty list, not an error.
    none = client.get(f"/users/{user}/recommendations", params={"entity_type": "country"})
    assert none.status_code == 200 and none.json()["items"] == []


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"k": 0}, ["query", "k"]),
        ({"k": 201}, ["query", "k"]),
        ({"k": "many"}, ["query", "k"]),
        ({"tail_boost": -0.1}, ["query", "tail_boost"]),
        ({"tail_boost": "nan"}, ["query", "tail_boost"]),
        ({"tail_boost": "inf"}, ["query", "tail_boost"]),
        ({"tail_boost": 11}, ["query", "tail_boost"]),
        ({"exclude_seen": "maybe"}, ["query", "exclude_seen"]),
        ({"entity_type": "planet"}, ["query", "entity_type"]),
        ({"entity_type": ""}, ["query", "entity_type"]),
        # A typo is not silently ignored (it used to be a 200 with the option left out).
        ({"exclude_sen": "false"}, ["query", "exclude_sen"]),
        ({"k": 5, "tailboost": 1}, ["query", "tailboost"]),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(
    client: TestClient, params: dict[str, object], loc: list[str]
) -> None:
    response = client.get("/users/u00001/recommendations", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_unknown_user_and_entity_are_404(client: TestClient) -> None:
    response = client.get("/users/nobody/recommendations")
    assert response.status_code == 404
    assert response.json()["detail"][0]["loc"] == ["path", "user_id"]
    response = client.get("/users/u00001/recommendations", params={"entity_id": "genre:opera"})
    assert response.status_code == 404
    assert response.json()["detail"][0]["loc"] == ["query", "entity_id"]
