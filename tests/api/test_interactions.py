"""Recorded interactions: written to the graph, reflected in the user's next recommendations."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from fastapi.testclient import TestClient
from tailgraph.api.service.runtime import interaction_key
from tailgraph.gnn.data import HISTORY_LENGTH
from tailgraph.kg.dataset import Dataset
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.validate import validate

from tests.api.conftest import graph_store, runtime_of


def _edges(settings: GraphSettings, user: str, item: str) -> list[dict[str, object]]:
    with graph_store(settings) as store:
        return store.run(
            "MATCH (:User {id: $u})-[r:INTERACTED]->(:Item {id: $i}) "
            "RETURN r.key AS key, r.ts AS ts, r.kind AS kind, r.rating AS rating, "
            "r.device AS device",
            {"u": user, "i": item},
        )


def test_an_interaction_is_merged_into_the_graph_and_changes_the_next_answer(
    writer: TestClient, writable_graph: GraphSettings
) -> None:
    user = "u00004"
    first = writer.get(f"/users/{user}/recommendations", params={"k": 10}).json()["items"]
    target = first[0]["item_id"]
    payload = {
        "item_id": target,
        "timestamp": 1_800_000_000,
        "rating": 5,
        "kind": "read",
        "context": {"device": "ereader"},
    }
    response = writer.post(f"/users/{user}/interactions", json=payload)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["history"][0] == target and body["timestamp"] == 1_800_000_000
    edges = _edges(writable_graph, user, target)
    assert edges == [
        {"key": body["key"], "ts": 1_800_000_000, "kind": "read", "rating": 5, "device": "ereader"}
    ]

    # Next request: the item is excluded and the user vector moved (history override).
    runtime = runtime_of(writer)
    state = runtime.state
    u = state.users.index[user]
    history = state.history(u)
    with torch.no_grad():
        expected = state.model.user_vectors(
            torch.tensor([u]), state.cf_users, state.catalogue.z, history[None]
        )[0]
    assert torch.allclose(state.user_vector(u), expected)
    assert not torch.allclose(state.user_vector(u), state.users.vectors[u])
    after = writer.get(f"/users/{user}/recommendations", params={"k": 10}).json()["items"]
    assert target not in {item["item_id"] for item in after}
    assert [i["score"] for i in after] != [i["score"] for i in first[1:]]

    # The same interaction again (a retried request): same key, still one edge.
    again = writer.post(f"/users/{user}/interactions", json=payload)
    assert again.status_code == 201 and again.json()["key"] == body["key"]
    assert len(_edges(writable_graph, user, target)) == 1
    assert again.json()["history"].count(target) == 1


def test_history_keeps_the_most_recent_items_first_without_duplicates(writer: TestClient) -> None:
    state = runtime_of(writer).state
    user = "u00005"
    run_history = [
        state.catalogue.ids[i] for i in state.history(state.users.index[user]).tolist() if i >= 0
    ]
    new = [item for item in state.catalogue.ids if item not in run_history][: HISTORY_LENGTH + 2]
    for ts, item in enumerate([*new, new[0]]):  # new[0] twice: it moves back to the front
        response = writer.post(
            f"/users/{user}/interactions", json={"item_id": item, "timestamp": 2e9 + ts}
        )
        assert response.status_code == 201
    history = response.json()["history"]
    assert history[0] == new[0] and history[1] == new[-1]
    assert len(history) == HISTORY_LENGTH == len(set(history))
    items = writer.get(f"/users/{user}/recommendations", params={"k": 200}).json()["items"]
    assert not set(new) & {item["item_id"] for item in items}


def test_the_key_matches_the_importer_so_api_and_import_dedupe(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"user_id": ["u1"], "item_id": ["i1"], "timestamp": [1700000000.5], "kind": ["read"]}
    )
    dataset = Dataset(
        items=pd.DataFrame({"item_id": ["i1"], "title": ["T"]}),
        users=pd.DataFrame({"user_id": ["u1"]}),
        interactions=frame,
    )
    prepared = validate(dataset, lambda label, ids: set())
    assert prepared.interactions[0]["key"] == interaction_key("u1", "i1", 1700000000.5, "read")
    none = Dataset(
        items=dataset.items,
        users=dataset.users,
        interactions=frame.drop(columns=["timestamp", "kind"]),
    )
    assert validate(none, lambda label, ids: set()).interactions[0]["key"] == interaction_key(
        "u1", "i1", None, None
    )


def test_interactions_with_an_item_added_live(writer: TestClient) -> None:
    item = {
        "id": "b95555",
        "title": "Spy Games",
        "links": [{"relation": "HAS_GENRE", "target": "genre:thriller"}],
    }
    assert writer.post("/items", json=item).status_code == 201
    response = writer.post("/users/u00006/interactions", json={"item_id": "b95555"})
    assert response.status_code == 201 and response.json()["history"][0] == "b95555"
    items = writer.get("/users/u00006/recommendations", params={"k": 200}).json()["items"]
    assert "b95555" not in {i["item_id"] for i in items}


@pytest.mark.parametrize(
    ("user", "body", "status", "loc"),
    [
        ("nobody", {"item_id": "b00001"}, 404, ["path", "user_id"]),
        ("u00001", {"item_id": "nope"}, 404, ["body", "item_id"]),
        ("u00001", {}, 422, ["body", "item_id"]),
        ("u00001", {"item_id": "b00001", "timestamp": -1}, 422, ["body", "timestamp"]),
        ("u00001", {"item_id": "b00001", "timestamp": "noon"}, 422, ["body", "timestamp"]),
        ("u00001", {"item_id": "b00001", "rating": "five"}, 422, ["body", "rating"]),
        ("u00001", {"item_id": "b00001", "context": {"key": "x"}}, 422, ["body", "context"]),
        (
            "u00001",
            {"item_id": "b00001", "context": {"a b": 1}},
            422,
            ["body", "context", "a b", "[key]"],
        ),
        (
            "u00001",
            {"item_id": "b00001", "context": {"d": [1]}},
            422,
            ["body", "context", "d", "bool"],
        ),
        ("u00001", {"item_id": "b00001", "kind": ""}, 422, ["body", "kind"]),
        ("u00001", {"item_id": "b00001", "colour": "red"}, 422, ["body", "colour"]),
    ],
)
def test_bad_interactions_name_the_field(
    writer: TestClient, user: str, body: dict[str, object], status: int, loc: list[object]
) -> None:
    response = writer.post(f"/users/{user}/interactions", json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"][0]["loc"] == loc


def test_nan_weight_is_422_not_500(writer: TestClient) -> None:
    response = writer.post(
        "/users/u00001/interactions",
        content=b'{"item_id": "b00001", "weight": NaN}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "weight"]
